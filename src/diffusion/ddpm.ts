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
import type { Rng } from '../util/rng.ts';
import { batchSize, type EpsModel } from './model.ts';
import { modelLogVariance, type Schedule, type VarianceType } from './schedule.ts';

/**
 * What happens to x̂_0 before it enters the posterior mean.
 * - `published` (default): the published sampler computes μ_θ from the *unclipped* x̂_0 and clips
 *   x̂_0 to [−1, 1] only afterwards (DESIGN §1.5), so the clip never reaches the sample. We
 *   reproduce that exactly: samples equal `none`; only the x̂_0 reported to onStep is clipped.
 * - `none`: no clipping anywhere; onStep sees the raw x̂_0.
 * - `clip`: clip x̂_0 to [−1, 1] before μ_θ (what the published code presumably meant; Ho et al.'s
 *   original TF sampler does this).
 */
export type ClipX0 = 'none' | 'published' | 'clip';

/** Progress of a sampler after each step. */
export interface StepInfo {
  /** Steps done so far (1..n). */
  step: number;
  /** Total number of steps. */
  n: number;
  /** The timestep that was just denoised. */
  t: number;
  /** The new state x_{t_prev}, B×D (do not keep; it is overwritten by the next step). */
  x: Float32Array;
  /** The model's x̂_0 at this step, B×D (see ClipX0 for when it is clipped). */
  x0: Float32Array;
}

/** Options of ddpmAncestral. */
export interface DdpmOptions {
  /** Reverse-step variance: `fixedlarge` (published default) or `fixedsmall`. */
  variance?: VarianceType;
  /** Where x̂_0 is clipped; default `published` (see ClipX0). */
  clipX0?: ClipX0;
  /** Class labels (B), or null for unconditional sampling. */
  y: Int32Array | null;
  /** Source of the per-step noise z. */
  rng: Rng;
  /** Batch size; needed only when y is null. */
  batch?: number;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
}

function clamp1(v: number): number {
  return v < -1 ? -1 : v > 1 ? 1 : v;
}

/**
 * One step of Algorithm 2 at timestep t (0-based), writing x_{t−1} to `out` (may alias x) and
 * the model's x̂_0 to `x0Out` when given. `logVar` is modelLogVariance(sched, variance); `z` is
 * ignored at t = 0. All arithmetic is float64 on float32 inputs.
 */
export function ddpmStep(sched: Schedule, logVar: Float64Array, x: Float32Array, eps: Float32Array, t: number,
  z: Float32Array | null, clipX0: ClipX0, out: Float32Array, x0Out?: Float32Array): Float32Array {
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
    switch (clipX0) {
      case 'none': x0 = raw; reported = raw; break;
      case 'published': x0 = raw; reported = clamp1(raw); break;
      case 'clip': x0 = clamp1(raw); reported = x0; break;
      default: {
        const never: never = clipX0;
        throw new RangeError(`ddpmStep: unknown clipX0 ${String(never)}`);
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
export async function ddpmAncestral(model: EpsModel, xT: Float32Array, sched: Schedule, opts: DdpmOptions): Promise<Float32Array> {
  const B = batchSize(xT, opts.y, opts.batch, 'ddpmAncestral');
  const logVar = modelLogVariance(sched, opts.variance ?? 'fixedlarge');
  const clipX0 = opts.clipX0 ?? 'published';
  const x = Float32Array.from(xT);
  const z = new Float32Array(x.length);
  const x0 = opts.onStep ? new Float32Array(x.length) : undefined;
  const tArr = new Int32Array(B);
  for (let t = sched.T - 1; t >= 0; t--) {
    tArr.fill(t);
    const eps = await model(x, tArr, opts.y);
    if (eps.length !== x.length) throw new RangeError(`ddpmAncestral: model returned ${eps.length} values for ${x.length} inputs`);
    if (t > 0) opts.rng.fillNormal(z);
    ddpmStep(sched, logVar, x, eps, t, t > 0 ? z : null, clipX0, x, x0);
    opts.onStep?.({ step: sched.T - t, n: sched.T, t, x, x0: x0! });
  }
  for (let i = 0; i < x.length; i++) x[i] = clamp1(x[i]!);
  return x;
}
