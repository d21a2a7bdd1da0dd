/**
 * The one interface every sampler consumes: an ε-predictor ε_θ(x_t, t, y), plus classifier-free
 * guidance as a wrapper that turns one ε-predictor into another (k-diffusion style).
 *
 * Shapes: x and the returned ε̂ are B×C×H×W float32 flattened (B×D); t and y hold B entries.
 */
import { CbdmError } from '../util/errors.ts';
import { NO_LABEL } from '../models/unet.ts';
import type { Rng } from '../util/rng.ts';

/**
 * Predicts the noise ε in x_t. `y` = null means unconditional (the label embedding is skipped,
 * as for a dropped label in training). The result must have x.length elements; a sampler never
 * keeps it past the step, so a model may reuse one output buffer.
 */
export type EpsModel = (x: Float32Array, t: Int32Array, y: Int32Array | null) => Promise<Float32Array>;

/**
 * Classifier-free guidance (Ho & Salimans 2022), exactly as the published CBDM sampler combines
 * the two predictions (CBDM-pytorch `diffusion.py` l.175–179, GaussianDiffusionSampler.p_mean_variance):
 *   ε̃ = ε(x,t,y) + ω·(ε(x,t,y) − ε(x,t,∅))
 * evaluated in float32 in that order (guide = ε_c − ε_u; ε_c + ω·guide), ω rounded to float32 as
 * torch does for a Python scalar. The published sampler skips the unconditional pass when ω = 0
 * (`if omega > 0 and method == 'cfg'`), and so do we. With y = null the wrapper is the plain
 * unconditional model. ω < 0 is rejected: the published code would silently ignore it.
 */
export function classifierFreeGuidance(model: EpsModel, omega: number): EpsModel {
  const w = guidanceScale(omega);
  return async (x, t, y) => {
    if (y === null || omega === 0) return model(x, t, y);
    const epsCond = await model(x, t, y);
    // The model may reuse its output buffer between calls: keep the conditional result.
    const cond = Float32Array.from(epsCond);
    const uncond = await model(x, t, null);
    if (cond.length !== x.length || uncond.length !== x.length) {
      throw new RangeError(`classifierFreeGuidance: model returned ${cond.length}/${uncond.length} values for ${x.length} inputs`);
    }
    return combineGuidance(cond, uncond, w, new Float32Array(x.length));
  };
}

/**
 * Classifier-free guidance with both passes in one call of `plain` on 2B rows (labels y, then
 * NO_LABEL): the same ε̃ as classifierFreeGuidance(plain, ω), one larger batch instead of two
 * (fewer, larger GEMMs; the time embedding computed once per step). ω = 0 runs `plain` alone.
 */
export function batchedGuidance(plain: EpsModel, omega: number): EpsModel {
  const w = guidanceScale(omega);
  if (omega === 0) return plain;
  return async (x, t, y) => {
    if (y === null) return plain(x, t, null);
    const B = t.length, D = x.length / B;
    const x2 = new Float32Array(2 * x.length);
    x2.set(x);
    x2.set(x, x.length);
    const t2 = new Int32Array(2 * B);
    t2.set(t);
    t2.set(t, B);
    const y2 = new Int32Array(2 * B).fill(NO_LABEL);
    y2.set(y);
    const both = await plain(x2, t2, y2);
    return combineGuidance(both.subarray(0, B * D), both.subarray(B * D), w, new Float32Array(x.length));
  };
}

/** ω checked and rounded to float32 (torch's handling of a Python scalar). */
export function guidanceScale(omega: number): number {
  if (!(Number.isFinite(omega) && omega >= 0)) throw new CbdmError(`guidance strength ω must be a finite number ≥ 0, got ${omega}`);
  return Math.fround(omega);
}

/** out = ε_c + ω·(ε_c − ε_u), float32 in the published order; ω already through guidanceScale. */
export function combineGuidance(cond: Float32Array, uncond: Float32Array, w: number, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) {
    const guide = Math.fround(cond[i]! - uncond[i]!);
    out[i] = cond[i]! + Math.fround(w * guide);
  }
  return out;
}

/**
 * Evaluation labels as the published sampler draws them: y ~ U{0..C−1} independently per sample
 * (`torch.randint(0, num_class, (B,))`), drawn after x_T. `balanced` instead cycles 0, 1, …, C−1
 * starting at `offset` (exactly equal counts per class, for per-class evaluation).
 */
export function sampleEvalLabels(rng: Rng, B: number, numClasses: number, mode: 'random' | 'balanced' = 'random', offset = 0): Int32Array {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`sampleEvalLabels: numClasses must be ≥ 1, got ${numClasses}`);
  const y = new Int32Array(B);
  switch (mode) {
    case 'random':
      for (let i = 0; i < B; i++) y[i] = rng.int(numClasses);
      return y;
    case 'balanced':
      for (let i = 0; i < B; i++) y[i] = (offset + i) % numClasses;
      return y;
    default: {
      const never: never = mode;
      throw new RangeError(`sampleEvalLabels: unknown mode ${String(never)}`);
    }
  }
}

/** Number of samples of a batch: from y when given, else `batch`; checks x divides evenly. */
export function batchSize(x: Float32Array, y: Int32Array | null, batch: number | undefined, who: string): number {
  const B = y !== null ? y.length : batch;
  if (B === undefined || !(Number.isInteger(B) && B >= 1)) {
    throw new RangeError(`${who}: give opts.batch (a positive integer) when y is null`);
  }
  if (y !== null && batch !== undefined && batch !== y.length) throw new RangeError(`${who}: opts.batch ${batch} ≠ y.length ${y.length}`);
  if (x.length % B !== 0) throw new RangeError(`${who}: x has ${x.length} values, not a multiple of batch ${B}`);
  return B;
}
