/**
 * Ancestral DDPM sampling: Algorithm 2 of Ho et al. 2020, "Denoising Diffusion Probabilistic
 * Models", in the ε-parameterisation of the published code (pytorch-ddpm / CBDM `diffusion.py`):
 *
 *   x̂_0     = √(1/ᾱ_t)·x_t − √(1/ᾱ_t − 1)·ε̂          (predict_xstart_from_eps)
 *   μ_θ     = coef1_t·x̂_0 + coef2_t·x_t                 (posterior mean of q(x_{t−1} | x_t, x̂_0))
 *   x_{t−1} = μ_θ + σ_t·z,  z ~ N(0, I);  no noise at t = 0
 *
 * (CBDM-pytorch `diffusion.py` l.163–212: x̂_0 clip at l.183 comes after the mean; final clip l.212.)
 *
 * Shapes: x, ε̂, z are B×D float32 (C order); every sample of a batch is at the same t.
 */
import { batchSize } from './model.ts';
import { modelLogVariance, type Schedule } from './schedule.ts';
import { checkedEps, clamp1, type SamplerFn, type X0Clip } from './sampler.ts';

/**
 * One step of Algorithm 2 at timestep t (0-based), writing x_{t−1} to `out` (may alias x) and
 * the model's x̂_0 to `x0Out` when given. `logVar` is modelLogVariance(sched, variance); `z` is
 * ignored at t = 0. All arithmetic is float64 on float32 inputs.
 */
export function ddpmStep(sched: Schedule, logVar: Float64Array, x: Float32Array, eps: Float32Array, t: number,
  z: Float32Array | null, clip: X0Clip, out: Float32Array, x0Out?: Float32Array): Float32Array {
  if (!(Number.isInteger(t) && t >= 0 && t < sched.T)) throw new RangeError(`ddpmStep: t = ${t} is outside 0..${sched.T - 1}`);
  if (eps.length !== x.length || out.length !== x.length) throw new RangeError(`ddpmStep: x, ε̂ and out lengths differ (${x.length}, ${eps.length}, ${out.length})`);
  if (t > 0 && (z === null || z.length !== x.length)) throw new RangeError(`ddpmStep: t = ${t} > 0 needs noise z of length ${x.length}`);
  const sr = sched.sqrtRecipAlphaBar[t]!;
  const srm1 = sched.sqrtRecipm1AlphaBar[t]!;
  const c1 = sched.posteriorMeanCoef1[t]!;
  const c2 = sched.posteriorMeanCoef2[t]!;
  const sigma = t > 0 ? Math.exp(0.5 * logVar[t]!) : 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const raw = sr * xi - srm1 * eps[i]!;
    let x0: number;
    let reported: number;
    switch (clip) {
      case 'none': x0 = raw; reported = raw; break;
      case 'preview-only': x0 = raw; reported = clamp1(raw); break;
      case 'clamp': x0 = clamp1(raw); reported = x0; break;
      default: {
        const never: never = clip;
        throw new RangeError(`ddpmStep: unknown clip mode ${String(never)}`);
      }
    }
    const mean = c1 * x0 + c2 * xi;
    out[i] = t > 0 ? mean + sigma * z![i]! : mean;
    if (x0Out) x0Out[i] = reported;
  }
  return out;
}

/**
 * Ancestral DDPM sampling from x_T through all T steps (Algorithm 2), returning x_0 clipped to
 * [−1, 1]. x_T (B×D) is not modified; draw it with `rng.fillNormal` before calling to reproduce
 * the published order (x_T, then labels, then the loop).
 *
 * Noise draws: for t = T−1 down to 1, after the model call, one `rng.fillNormal` of B×D values
 * (sample-major, C order); none at t = 0. Same rng state + same x_T ⇒ bit-identical output.
 */
export const ddpmAncestral: SamplerFn = async (model, xT, sched, opts) => {
  if (opts.steps !== sched.T) throw new RangeError(`ancestral DDPM runs all ${sched.T} steps, got steps = ${opts.steps} (use ddim or an ODE solver for fewer)`);
  const B = batchSize(xT, opts.y, opts.batch, 'ddpm');
  const logVar = modelLogVariance(sched, opts.variance);
  const x = Float32Array.from(xT);
  const z = new Float32Array(x.length);
  const x0 = opts.onStep ? new Float32Array(x.length) : undefined;
  const tArr = new Int32Array(B);
  for (let t = sched.T - 1; t >= 0; t--) {
    tArr.fill(t);
    const eps = checkedEps(await model(x, tArr, opts.y), x.length, 'ddpm', sched.T - 1 - t, t);
    if (t > 0) opts.rng.fillNormal(z);
    ddpmStep(sched, logVar, x, eps, t, t > 0 ? z : null, opts.clip, x, x0);
    opts.onStep?.({ step: sched.T - t, n: sched.T, t, x, x0: x0! });
  }
  for (let i = 0; i < x.length; i++) x[i] = clamp1(x[i]!);
  return x;
};
