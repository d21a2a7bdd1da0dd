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
import type { Rng } from '../util/rng.ts';
import { batchSize, type EpsModel } from './model.ts';
import type { StepInfo } from './ddpm.ts';
import type { Schedule } from './schedule.ts';

/** Options of ddim. */
export interface DdimOptions {
  /** Requested number of steps S (the count actually used is ddimTimesteps(T, S).length). */
  steps: number;
  /** Stochasticity η ≥ 0 (0: deterministic). */
  eta: number;
  /** Class labels (B), or null for unconditional sampling. */
  y: Int32Array | null;
  /** Source of z; untouched when η = 0. */
  rng: Rng;
  /** `none` (default, as the reference) or `clip`: clip x̂_0 to [−1, 1] and re-derive ε̂ from it. */
  clipX0?: 'none' | 'clip';
  /** Batch size; needed only when y is null. */
  batch?: number;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
}

/**
 * The DDIM timestep sub-sequence τ, ascending: the reference's "uniform" skip,
 * `range(0, T, T // S)`. For T = 1000: S = 50 → 0, 20, …, 980; S = 25 → 0, 40, …, 960; S = 1000
 * → every step. When S does not divide T the count is ⌈T / ⌊T/S⌋⌉ ≥ S (S = 30 → 31 steps of 33),
 * as in the reference. Sampling starts at the last entry (980 for S = 50), not at T − 1.
 */
export function ddimTimesteps(T: number, steps: number): Int32Array {
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= T)) throw new RangeError(`ddimTimesteps: steps must be an integer in 1..${T}, got ${steps}`);
  const skip = Math.floor(T / steps);
  const seq: number[] = [];
  for (let t = 0; t < T; t += skip) seq.push(t);
  return Int32Array.from(seq);
}

/**
 * One DDIM step from t to tPrev (tPrev = −1: to x_0), writing x_{tPrev} to `out` (may alias x)
 * and x̂_0 to `x0Out` when given. z is needed only when σ_t(η) > 0. float64 arithmetic.
 * Returns σ_t so the caller knows whether noise was used.
 */
export function ddimStep(sched: Schedule, x: Float32Array, eps: Float32Array, t: number, tPrev: number, eta: number,
  z: Float32Array | null, clipX0: 'none' | 'clip', out: Float32Array, x0Out?: Float32Array): number {
  if (!(Number.isInteger(t) && t >= 0 && t < sched.T && Number.isInteger(tPrev) && tPrev >= -1 && tPrev < t)) {
    throw new RangeError(`ddimStep: need −1 ≤ tPrev < t < ${sched.T}, got t = ${t}, tPrev = ${tPrev}`);
  }
  if (eps.length !== x.length || out.length !== x.length) throw new RangeError(`ddimStep: x, ε̂ and out lengths differ (${x.length}, ${eps.length}, ${out.length})`);
  const sigma = ddimSigma(sched, t, tPrev, eta);
  if (sigma > 0 && (z === null || z.length !== x.length)) throw new RangeError(`ddimStep: σ_t = ${sigma} > 0 needs noise z of length ${x.length}`);
  const at = sched.alphaBar[t]!;
  const an = tPrev < 0 ? 1 : sched.alphaBar[tPrev]!;
  const sqrtAt = Math.sqrt(at);
  const sqrt1mAt = Math.sqrt(1 - at);
  const sqrtAn = Math.sqrt(an);
  const dirVar = 1 - an - sigma * sigma;
  if (dirVar < -1e-12) throw new RangeError(`ddimStep: η = ${eta} makes σ_t² exceed 1 − ᾱ_{t'} at t = ${t} (use η ≤ 1)`);
  const dirCoef = Math.sqrt(Math.max(dirVar, 0));
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    let e = eps[i]!;
    let x0 = (xi - sqrt1mAt * e) / sqrtAt;
    switch (clipX0) {
      case 'none': break;
      case 'clip':
        if (x0 < -1 || x0 > 1) {
          x0 = x0 < -1 ? -1 : 1;
          e = (xi - sqrtAt * x0) / sqrt1mAt;
        }
        break;
      default: {
        const never: never = clipX0;
        throw new RangeError(`ddimStep: unknown clipX0 ${String(never)}`);
      }
    }
    out[i] = sqrtAn * x0 + dirCoef * e + (sigma > 0 ? sigma * z![i]! : 0);
    if (x0Out) x0Out[i] = x0;
  }
  return sigma;
}

/** σ_t(η) of DDIM eq. 16 for the step t → tPrev (ᾱ_{−1} = 1). */
export function ddimSigma(sched: Schedule, t: number, tPrev: number, eta: number): number {
  if (!(eta >= 0 && Number.isFinite(eta))) throw new RangeError(`ddim: η must be finite and ≥ 0, got ${eta}`);
  const at = sched.alphaBar[t]!;
  const an = tPrev < 0 ? 1 : sched.alphaBar[tPrev]!;
  return eta * Math.sqrt((1 - at / an) * (1 - an) / (1 - at));
}

/**
 * DDIM sampling from x_T (treated as the state at the last entry of ddimTimesteps(T, steps)),
 * returning x_0 clipped to [−1, 1]; x_T is not modified.
 *
 * Noise draws: after the model call of each step with σ_t > 0, one `rng.fillNormal` of B×D values
 * (sample-major, C order). With η = 0 the rng is never used and the output is a deterministic
 * function of x_T (and y).
 */
export async function ddim(model: EpsModel, xT: Float32Array, sched: Schedule, opts: DdimOptions): Promise<Float32Array> {
  const B = batchSize(xT, opts.y, opts.batch, 'ddim');
  const seq = ddimTimesteps(sched.T, opts.steps);
  const clipX0 = opts.clipX0 ?? 'none';
  const x = Float32Array.from(xT);
  const z = new Float32Array(x.length);
  const x0 = opts.onStep ? new Float32Array(x.length) : undefined;
  const tArr = new Int32Array(B);
  const n = seq.length;
  for (let i = n - 1; i >= 0; i--) {
    const t = seq[i]!;
    const tPrev = i > 0 ? seq[i - 1]! : -1;
    tArr.fill(t);
    const eps = await model(x, tArr, opts.y);
    if (eps.length !== x.length) throw new RangeError(`ddim: model returned ${eps.length} values for ${x.length} inputs`);
    const noisy = ddimSigma(sched, t, tPrev, opts.eta) > 0;
    if (noisy) opts.rng.fillNormal(z);
    ddimStep(sched, x, eps, t, tPrev, opts.eta, noisy ? z : null, clipX0, x, x0);
    opts.onStep?.({ step: n - i, n, t, x, x0: x0! });
  }
  for (let i = 0; i < x.length; i++) x[i] = x[i]! < -1 ? -1 : x[i]! > 1 ? 1 : x[i]!;
  return x;
}
