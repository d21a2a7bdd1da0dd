/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² estimate with the cubic
 * polynomial kernel k(x, y) = (x·y/d + 1)³, averaged over random subsets.
 *
 * Protocol of torch-fidelity / the KID paper: `subsets` = 100 draws; each draws m =
 * min(subsetSize = 1000, N₁, N₂) rows of each set *without* replacement (set 1 first, then set 2),
 * and the result is the mean and the population std (np.std) of the per-subset MMD² values.
 * Subset draws use cbdm's seeded Rng, so values are reproducible but differ from NumPy's draws;
 * pass `indexSets` to evaluate given subsets (that is how the test compares with NumPy).
 * Cost: 2·m²·D multiply-adds per subset (the two within-set Grams are symmetric, half each);
 * 100 subsets of 1000 at D = 2048 take minutes with the plain-TypeScript `gemm`.
 * Shapes: features N×D row-major.
 */
import { CbdmError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { gatherRows, jsGemmABt, type GemmABt } from './linalg.ts';

/** Options of `kernelInceptionDistance`. */
export interface KidOptions {
  /** Number of subsets (default 100). */
  subsets?: number;
  /** Rows per subset, capped at min(N₁, N₂) (default 1000). */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
  /** Explicit [rows of set 1, rows of set 2] per subset, instead of seeded draws. */
  indexSets?: ReadonlyArray<readonly [ArrayLike<number>, ArrayLike<number>]>;
  /** Matrix-product kernel for the Gram matrices (default: plain TypeScript). */
  gemm?: GemmABt;
}

/** KID: mean and population std of the per-subset unbiased MMD² values. */
export interface KidResult {
  mean: number;
  std: number;
  /** MMD² of each subset. */
  mmd: Float64Array;
  /** Rows per subset actually used. */
  subsetSize: number;
}

/** Σ over all entries of (G/d + 1)³ for a Gram matrix G (m×p). */
function cubicKernelSum(g: Float64Array, m: number, p: number, d: number): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    let row = 0;
    for (let j = 0; j < p; j++) {
      const v = g[i * p + j]! / d + 1;
      row += v * v * v;
    }
    total += row;
  }
  return total;
}

/** Σ_{i≠j} (G/d + 1)³ for a symmetric Gram matrix G (m×m), reading only its lower triangle. */
function cubicKernelOffDiagonalSum(g: Float64Array, m: number, d: number): number {
  let total = 0;
  for (let i = 1; i < m; i++) {
    let row = 0;
    for (let j = 0; j < i; j++) {
      const v = g[i * m + j]! / d + 1;
      row += v * v * v;
    }
    total += row;
  }
  return 2 * total;
}

/**
 * Unbiased MMD² with the cubic kernel between x and y (both m×d float64, m ≥ 2):
 * [Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)] / (m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m².
 */
export function polynomialMmd2(x: Float64Array, y: Float64Array, m: number, d: number, gemm: GemmABt = jsGemmABt, scratch?: Float64Array): number {
  if (m < 2) throw new CbdmError(`KID needs at least 2 samples per subset, got ${m}`);
  const g = scratch ?? new Float64Array(m * m);
  gemm(x, x, m, m, d, g, true);
  const xx = cubicKernelOffDiagonalSum(g, m, d);
  gemm(y, y, m, m, d, g, true);
  const yy = cubicKernelOffDiagonalSum(g, m, d);
  gemm(x, y, m, m, d, g);
  const xy = cubicKernelSum(g, m, m, d);
  return (xx + yy) / (m * (m - 1)) - (2 * xy) / (m * m);
}

/** m distinct indices from [0, n) by a partial Fisher–Yates shuffle of `perm` (kept between draws). */
function drawWithoutReplacement(rng: Rng, perm: Int32Array, m: number): Int32Array {
  const n = perm.length;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm.slice(0, m);
}

/** KID between feats1 (n1×d) and feats2 (n2×d); see the file comment for the protocol. */
export function kernelInceptionDistance(feats1: Float32Array | Float64Array, n1: number, feats2: Float32Array | Float64Array, n2: number, d: number, opts: KidOptions = {}): KidResult {
  if (feats1.length < n1 * d || feats2.length < n2 * d) throw new CbdmError(`KID: feature arrays are smaller than ${n1}×${d} and ${n2}×${d}`);
  const gemm = opts.gemm ?? jsGemmABt;
  const sets = opts.indexSets;
  const count = sets ? sets.length : (opts.subsets ?? 100);
  const m = sets ? sets[0]![0].length : Math.min(opts.subsetSize ?? 1000, n1, n2);
  if (!(count >= 1) || m < 2) throw new CbdmError(`KID needs ≥ 1 subset of ≥ 2 samples per set (got ${count} subsets of ${m}; sets have ${n1} and ${n2} samples)`);
  const rng = new Rng(opts.seed ?? 0);
  const perm1 = Int32Array.from({ length: n1 }, (_, i) => i);
  const perm2 = Int32Array.from({ length: n2 }, (_, i) => i);
  const x = new Float64Array(m * d);
  const y = new Float64Array(m * d);
  const scratch = new Float64Array(m * m);
  const mmd = new Float64Array(count);
  for (let s = 0; s < count; s++) {
    const i1 = sets ? sets[s]![0] : drawWithoutReplacement(rng, perm1, m);
    const i2 = sets ? sets[s]![1] : drawWithoutReplacement(rng, perm2, m);
    if (i1.length !== m || i2.length !== m) throw new CbdmError(`KID: index set ${s} does not have ${m} rows per set`);
    for (const [idx, n] of [[i1, n1], [i2, n2]] as const) {
      for (let r = 0; r < idx.length; r++) if (!(idx[r]! >= 0 && idx[r]! < n)) throw new CbdmError(`KID: index ${idx[r]} out of range [0, ${n})`);
    }
    gatherRows(feats1, d, i1, x);
    gatherRows(feats2, d, i2, y);
    mmd[s] = polynomialMmd2(x, y, m, d, gemm, scratch);
  }
  const mean = mmd.reduce((a, b) => a + b, 0) / count;
  const std = Math.sqrt(mmd.reduce((a, b) => a + (b - mean) ** 2, 0) / count);
  return { mean, std, mmd, subsetSize: m };
}
