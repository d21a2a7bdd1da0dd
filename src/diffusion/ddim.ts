/**
 * DDIM sampling: Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", eq. 12, over a
 * sub-sequence of timesteps τ, with the ε-parameterisation of the reference implementation
 * (ermongroup/ddim `functions/denoising.py`, generalized_steps):
 *
 *   x̂_0     = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t
 *   σ_t(η)  = η·√((1−ᾱ_{t'})/(1−ᾱ_t))·√(1 − ᾱ_t/ᾱ_{t'})                      (eq. 16)
 *   x_{t'}  = √ᾱ_{t'}·x̂_0 + √(1 − ᾱ_{t'} − σ_t²)·ε̂ + σ_t·z,   z ~ N(0, I)
 *
 * where t' is the previous timestep of τ and ᾱ_{−1} = 1 after the first one (so the last step
 * returns x̂_0 exactly, σ = 0). η = 0 is the deterministic DDIM; η = 1 matches DDPM's β̃ variance.
 * Shapes: x, ε̂, z are B×D float32 (C order); every sample of a batch is at the same t.
 */
import { spacedTimesteps } from './grid.ts';
import { predictX0, solveOnGrid, type GridSolver, type SamplerFn, type X0Clip } from './sampler.ts';
import type { Schedule } from './schedule.ts';

/**
 * The DDIM timestep sub-sequence τ, ascending: the reference's "uniform" skip,
 * `range(0, T, T // S)` (grid.ts `uniform` spacing). For T = 1000: S = 50 → 0, 20, …, 980.
 */
export function ddimTimesteps(T: number, steps: number): Int32Array {
  return Int32Array.from(spacedTimesteps(T, steps, 'uniform').reverse());
}

/**
 * One DDIM step from t to tPrev (tPrev = −1: to x_0), writing x_{tPrev} to `out` (may alias x)
 * and x̂_0 to `x0Out` when given. z is needed only when σ_t(η) > 0. float64 arithmetic.
 * Returns σ_t so the caller knows whether noise was used.
 */
export function ddimStep(sched: Schedule, x: Float32Array, eps: Float32Array, t: number, tPrev: number, eta: number,
  z: Float32Array | null, clip: X0Clip, out: Float32Array, x0Out?: Float32Array): number {
  if (!(Number.isInteger(t) && t >= 0 && t < sched.T && Number.isInteger(tPrev) && tPrev >= -1 && tPrev < t)) {
    throw new RangeError(`ddimStep: need −1 ≤ tPrev < t < ${sched.T}, got t = ${t}, tPrev = ${tPrev}`);
  }
  if (eps.length !== x.length || out.length !== x.length) throw new RangeError(`ddimStep: x, ε̂ and out lengths differ (${x.length}, ${eps.length}, ${out.length})`);
  const at = sched.alphaBar[t]!;
  const an = tPrev < 0 ? 1 : sched.alphaBar[tPrev]!;
  return ddimUpdate(at, an, x, eps, eta, z, clip, out, x0Out);
}

/**
 * The DDIM update between two noise levels given as ᾱ (at: current, an: next; an = 1 is the clean
 * end). Returns σ_t(η). float64 arithmetic on float32 inputs.
 */
function ddimUpdate(at: number, an: number, x: Float32Array, eps: Float32Array, eta: number, z: Float32Array | null,
  clip: X0Clip, out: Float32Array, x0Out?: Float32Array): number {
  const sigma = sigmaEta(at, an, eta);
  if (sigma > 0 && (z === null || z.length !== x.length)) throw new RangeError(`ddim: σ_t = ${sigma} > 0 needs noise z of length ${x.length}`);
  const sqrtAt = Math.sqrt(at);
  const sqrt1mAt = Math.sqrt(1 - at);
  const sqrtAn = Math.sqrt(an);
  const dirVar = 1 - an - sigma * sigma;
  if (dirVar < -1e-12) throw new RangeError(`ddim: η = ${eta} makes σ_t² exceed 1 − ᾱ_{t'} (use η ≤ 1)`);
  const dirCoef = Math.sqrt(Math.max(dirVar, 0));
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    let e = eps[i]!;
    let x0 = (xi - sqrt1mAt * e) / sqrtAt;
    if (clip === 'clamp' && (x0 < -1 || x0 > 1)) {
      x0 = x0 < -1 ? -1 : 1;
      e = (xi - sqrtAt * x0) / sqrt1mAt;
    }
    out[i] = sqrtAn * x0 + dirCoef * e + (sigma > 0 ? sigma * z![i]! : 0);
    if (x0Out) x0Out[i] = x0;
  }
  return sigma;
}

/** σ_t(η) of DDIM eq. 16 for the step t → tPrev (ᾱ_{−1} = 1). */
export function ddimSigma(sched: Schedule, t: number, tPrev: number, eta: number): number {
  return sigmaEta(sched.alphaBar[t]!, tPrev < 0 ? 1 : sched.alphaBar[tPrev]!, eta);
}

function sigmaEta(at: number, an: number, eta: number): number {
  if (!(eta >= 0 && Number.isFinite(eta))) throw new RangeError(`ddim: η must be finite and ≥ 0, got ${eta}`);
  return eta * Math.sqrt((1 - at / an) * (1 - an) / (1 - at));
}

/**
 * DDIM sampling on a grid (default spacing `uniform`: the reference's τ, starting at its last
 * entry, e.g. 980 for S = 50, with x_T treated as that state), returning x_0 clipped to [−1, 1].
 *
 * Noise draws: after the model call of each step with σ_t > 0, one `rng.fillNormal` of B×D values
 * (sample-major, C order). With η = 0 the rng is never used and the output is a deterministic
 * function of x_T (and y).
 */
export const ddim: SamplerFn = (model, xT, sched, opts) => solveOnGrid('ddim', model, xT, sched, opts, (grid, size): GridSolver => {
  const z = new Float32Array(size);
  return {
    step(i, x, eps, ctx) {
      const at = grid.alphaBar[i]!, an = grid.alphaBar[i + 1]!;
      const noisy = sigmaEta(at, an, opts.eta) > 0;
      if (noisy) opts.rng.fillNormal(z);
      if (opts.onStep) predictX0(grid, i, x, eps, opts.clip, ctx.x0);
      ddimUpdate(at, an, x, eps, opts.eta, noisy ? z : null, opts.clip, x);
    },
  };
});
