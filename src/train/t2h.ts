/**
 * T2H / oriented calibration (Zhang et al., "Long-tailed Diffusion Models with Oriented
 * Calibration", ICLR 2024): the ε target of a noisy sample is re-pointed at the clean image of
 * another batch element, drawn in proportion to how likely that image is to have produced the
 * noisy one — a batch estimate of the multi-target score — and, in the published `t2h` mode, only
 * towards a class at least as frequent. One forward pass per step; the condition stays y_i.
 *
 * As the released code computes it (MediaBrain-SJTU/OC_LT @ced1843, `diffusion.py`
 * `GaussianDiffusionTrainer.do_transfer_x0` L343–417, `do_transfer_x0_with_y` L419–446), without
 * gradients:
 *   σ̃_t² = 1/ᾱ_t − 1,  x̃_i = x0_i + σ̃_{t_i}·ε_i             (= x_t^i/√ᾱ_t, the "cx_t" of the code)
 *   d_ij = ‖x̃_i − x0_j‖² over all pixels, every j of the batch (i included)
 *   w_ij = softmax_j(−d_ij/(2σ̃²_{t_i}))   [prior variant: w_ij ∝ π_{y_j}^β·exp(…), no gate]
 *   j* ~ Categorical(w_i·)
 *   gate: t2h keeps j* if π_{y_j*} ≥ π_{y_i} (h2t: ≤; full: always), else j* = i; with a cut time,
 *         t2h/h2t transfer only where t_i < cut
 *   ε̃_i = (x_t^i − √ᾱ_{t_i}·x0_{j*})/√(1 − ᾱ_{t_i})
 * The categorical draw takes one uniform per sample (inverse CDF), from our seeded Rng.
 */
import type { Schedule } from '../diffusion/schedule.ts';

export type T2hMode = 't2h' | 'h2t' | 'full';
export const T2H_MODES: readonly T2hMode[] = ['t2h', 'h2t', 'full'];

export interface T2hOptions {
  mode: T2hMode;
  /** Transfer only where t < cutTime (t2h/h2t); null: always (the published setting, cut_time −1). */
  cutTime: number | null;
  /**
   * The prior-exponent variant (`--transfer_tr_tau` with `tr_tau` β): weights ∝ π_{y_j}^β·exp(…),
   * no gate (the code ignores the mode and cut time there). null: the plain transfer.
   */
  priorExponent: number | null;
}

export interface T2hResult {
  /** ε̃, B×D float32. */
  eps: Float32Array;
  /** j* per sample after the gate (i where nothing moved). */
  index: Int32Array;
}

/**
 * Rewrite the ε targets of a batch. x0, eps, xt: B×D float32; t, y: B; counts: training images
 * per class (π ∝ counts); u: B uniforms in [0, 1).
 */
export function transferTargets(x0: Float32Array, eps: Float32Array, xt: Float32Array, t: Int32Array, y: Int32Array, sched: Schedule,
  counts: readonly number[], o: T2hOptions, u: ArrayLike<number>): T2hResult {
  const B = t.length, D = x0.length / B;
  const out = new Float32Array(x0.length);
  const index = new Int32Array(B);
  const w = new Float64Array(B);
  const xTilde = new Float64Array(D);
  for (let i = 0; i < B; i++) {
    const ab = sched.alphaBar[t[i]!]!;
    const s2 = 1 / ab - 1;
    const s = Math.sqrt(s2);
    for (let k = 0; k < D; k++) xTilde[k] = x0[i * D + k]! + s * eps[i * D + k]!;
    let best = -Infinity;
    for (let j = 0; j < B; j++) {
      let d = 0;
      for (let k = 0; k < D; k++) { const e = xTilde[k]! - x0[j * D + k]!; d += e * e; }
      w[j] = -d / (2 * s2);
      if (w[j]! > best) best = w[j]!;
    }
    let sum = 0;
    for (let j = 0; j < B; j++) {
      w[j] = Math.exp(w[j]! - best) * (o.priorExponent !== null ? counts[y[j]!]! ** o.priorExponent : 1);
      sum += w[j]!;
    }
    // Inverse CDF: the first j whose cumulative weight exceeds u·sum.
    let j = 0;
    for (let acc = w[0]!; acc <= u[i]! * sum && j < B - 1; acc += w[++j]!);
    index[i] = o.priorExponent !== null ? j : gate(o, counts, y[i]!, y[j]!, t[i]!) ? j : i;
    const src = index[i]!;
    const sa = Math.sqrt(ab), s1a = Math.sqrt(1 - ab);
    for (let k = 0; k < D; k++) out[i * D + k] = (xt[i * D + k]! - sa * x0[src * D + k]!) / s1a;
  }
  return { eps: out, index };
}

/** Whether a drawn transfer from class yi to class yj at time t is kept. */
function gate(o: T2hOptions, counts: readonly number[], yi: number, yj: number, t: number): boolean {
  const inTime = o.cutTime === null || t < o.cutTime;
  switch (o.mode) {
    case 't2h': return inTime && counts[yj]! >= counts[yi]!;
    case 'h2t': return inTime && counts[yj]! <= counts[yi]!;
    case 'full': return true;
    default: {
      const never: never = o.mode;
      throw new RangeError(`unknown T2H mode ${String(never)}`);
    }
  }
}
