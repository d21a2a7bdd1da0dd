/**
 * Capacity Manipulation, CM (Hong, Yao, Shen, Li, Zhang, Wang, "Improving Diffusion Models for
 * Class-imbalanced Training Data via Capacity Manipulation", ICLR 2026) — the loss side.
 *
 * APPROXIMATE: built from the paper's equations; the released repository (Feng-Hong/ImbDiff-CM
 * @7e4d5e9) holds a README only, so no reference code was read. docs/METHODS.md lists every
 * choice the equations leave open.
 *
 * Every conv/linear weight is W = W_g + B·A (cm-branches.ts). Each step runs the network twice on
 * the same x_t, t and condition: with the branches (ε_full) and without (ε_base). With d = ε_full − ε_base:
 *   ω_con(y) = C·N_y / Σ_c N_c              (large for head classes: keep the base alone sufficient)
 *   ω_div(y) = C / (N_y · Σ_c 1/N_c)        (large for tail classes: push their knowledge into B·A)
 *   L_CM   = mean_i[ω_con(y_i)·‖d_i‖²] − mean_i[ω_div(y_i)·‖d_i‖²]
 *   loss   = mean‖ε_full − ε‖² + λ·L_CM
 * ‖·‖² is averaged over pixels, as the base term is, so λ weighs like against like. Both ω
 * average to 1 over the classes. No stop-gradient: the equations show none, so the CM term moves
 * W_g (through both passes) and B, A (through the full pass).
 */
import { Tensor } from '../engine/tensor.ts';
import { tensor } from '../engine/ops/create.ts';
import { scale, sub } from '../engine/ops/arith.ts';
import { weightedMse } from '../engine/ops/reduce.ts';

/** The label every CM setting carries in help, config.json and the report. */
export const CM_APPROXIMATE = 'approximate: equations from the paper, released code not read';

export interface CmOptions {
  /** Branch rank per layer: ⌈ratio·min(rows, cols)⌉ of the flattened weight (0 < ratio ≤ 1). */
  rankRatio: number;
  /** λ, the weight of L_CM. */
  lambda: number;
}

/** ω_con and ω_div per class from the training counts N_c (every count must be positive). */
export function cmClassWeights(counts: readonly number[]): { con: Float64Array; div: Float64Array } {
  const C = counts.length;
  if (C === 0) throw new RangeError('cmClassWeights: no classes');
  for (let c = 0; c < C; c++) {
    if (!(counts[c]! > 0)) throw new RangeError(`cmClassWeights: class ${c} has ${counts[c]} training images; CM's ω_div needs every class present`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const invTotal = counts.reduce((a, b) => a + 1 / b, 0);
  return {
    con: Float64Array.from(counts, (n) => (C * n) / total),
    div: Float64Array.from(counts, (n) => C / (n * invTotal)),
  };
}

export interface CmTerm {
  /** λ·L_CM, a scalar tensor. */
  term: Tensor;
  /** mean_i ω_con(y_i)·‖d_i‖² (logged). */
  lCon: number;
  /** mean_i ω_div(y_i)·‖d_i‖² (logged). */
  lDiv: number;
}

/** λ·L_CM for a batch: hFull, hBase B×… predictions of the two passes, y the images' classes. */
export function capacityTerm(hFull: Tensor, hBase: Tensor, y: Int32Array, counts: readonly number[], lambda: number,
  dtype: 'float32' | 'float64' = 'float32'): CmTerm {
  const B = y.length;
  const w = cmClassWeights(counts);
  const perSample = (table: Float64Array) => tensor(Float64Array.from(y, (c) => table[c]!), [B], { dtype });
  const con = weightedMse(hFull, hBase, perSample(w.con));
  const div = weightedMse(hFull, hBase, perSample(w.div));
  return { term: scale(sub(con, div), lambda), lCon: con.item(), lDiv: div.item() };
}
