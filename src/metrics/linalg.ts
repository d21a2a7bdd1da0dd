/**
 * Dense float64 linear algebra for the evaluation metrics (FID, KID, precision/recall).
 * All matrices are row-major Float64Arrays. Shape letters: n (square order), m×k times k×p.
 * The symmetric eigensolver lives in eigen.ts and is re-exported here.
 */
import { symmetricEigen } from './eigen.ts';

export { symmetricEigen, type EigenVectors, type SymmetricEigen } from './eigen.ts';

/** C = A·B for A m×k and B k×p (row-major), accumulated in float64. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, p: number): Float64Array {
  const c = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    const ci = i * p;
    for (let t = 0; t < k; t++) {
      const x = a[i * k + t]!;
      if (x === 0) continue;
      const bt = t * p;
      for (let j = 0; j < p; j++) c[ci + j] += x * b[bt + j]!;
    }
  }
  return c;
}

/**
 * out = A·Bᵀ for A m×k and B p×k (row-major): out[i, j] = aᵢ · bⱼ, float64 accumulation.
 * Register-blocked 2×2 over a cache panel of B; this is the kernel behind Gram matrices and
 * pairwise distances. With `lowerOnly`, only entries j ≤ i (and possibly j = i + 1) are written,
 * half the work for symmetric products such as A·Aᵀ; the rest of `out` is left as it was.
 * Each entry is one sequential dot product, so results do not depend on m, p or blocking.
 */
export function matmulABt(a: Float64Array, b: Float64Array, m: number, p: number, k: number, out?: Float64Array, lowerOnly = false): Float64Array {
  const c = out ?? new Float64Array(m * p);
  if (c.length < m * p) throw new RangeError('matmulABt: output too small');
  const JB = Math.max(2, Math.min(p, Math.floor(65536 / Math.max(1, k)) * 2));
  for (let j0 = 0; j0 < p; j0 += JB) {
    const j1 = Math.min(p, j0 + JB);
    let i = 0;
    for (; i + 1 < m; i += 2) {
      const a0 = i * k;
      const a1 = a0 + k;
      const jEnd = lowerOnly ? Math.min(j1, i + 2) : j1;
      let j = j0;
      for (; j + 1 < jEnd; j += 2) {
        const b0 = j * k;
        const b1 = b0 + k;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let t = 0; t < k; t++) {
          const x0 = a[a0 + t]!;
          const x1 = a[a1 + t]!;
          const y0 = b[b0 + t]!;
          const y1 = b[b1 + t]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        c[i * p + j] = s00;
        c[i * p + j + 1] = s01;
        c[(i + 1) * p + j] = s10;
        c[(i + 1) * p + j + 1] = s11;
      }
      if (j < jEnd) {
        c[i * p + j] = dot(a, a0, b, j * k, k);
        c[(i + 1) * p + j] = dot(a, a1, b, j * k, k);
      }
    }
    if (i < m) {
      const jEnd = lowerOnly ? Math.min(j1, i + 1) : j1;
      for (let j = j0; j < jEnd; j++) c[i * p + j] = dot(a, i * k, b, j * k, k);
    }
  }
  return c;
}

/** x[ox..ox+k) · y[oy..oy+k). */
export function dot(x: Float64Array, ox: number, y: Float64Array, oy: number, k: number): number {
  let s = 0;
  for (let t = 0; t < k; t++) s += x[ox + t]! * y[oy + t]!;
  return s;
}

/** Transpose of an m×p matrix (p×m). */
export function transpose(a: Float64Array, m: number, p: number): Float64Array {
  const t = new Float64Array(m * p);
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) t[j * m + i] = a[i * p + j]!;
  return t;
}

/** Trace of an n×n matrix. */
export function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i]!;
  return s;
}

/**
 * Principal square root of a symmetric positive semi-definite matrix, V diag(√max(λ, 0)) Vᵀ.
 * Eigenvalues below zero (rounding) are clipped to zero.
 */
export function symmetricSqrt(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n, 'rows');
  const vt = vectors!;
  const scaled = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const s = Math.sqrt(Math.sqrt(Math.max(values[j]!, 0)));
    for (let k = 0; k < n; k++) scaled[j * n + k] = vt[j * n + k]! * s;
  }
  // √A = (Λ^¼Vᵀ)ᵀ(Λ^¼Vᵀ)
  const st = transpose(scaled, n, n);
  const out = matmulABt(st, st, n, n, n, undefined, true);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i]!;
  return out;
}

/**
 * A pluggable out = A·Bᵀ kernel (A m×k, B p×k, out m×p, all row-major float64), so that callers
 * can hand the O(N²D) parts of KID and precision/recall to a faster engine. `lowerOnly` is a hint
 * that the caller reads only entries j ≤ i (A·Aᵀ); a kernel may ignore it and fill everything.
 * `matmulABt` is the plain-TypeScript default.
 */
export type GemmABt = (a: Float64Array, b: Float64Array, m: number, p: number, k: number, out: Float64Array, lowerOnly?: boolean) => void;

/** The default GemmABt: `matmulABt` (honours `lowerOnly`; other kernels may fill everything). */
export const jsGemmABt: GemmABt = (a, b, m, p, k, out, lowerOnly = false) => {
  matmulABt(a, b, m, p, k, out, lowerOnly);
};

/** Rows `idx` of an N×k matrix gathered into a new float64 |idx|×k matrix. */
export function gatherRows(x: Float32Array | Float64Array, k: number, idx: ArrayLike<number>, out?: Float64Array): Float64Array {
  const g = out ?? new Float64Array(idx.length * k);
  for (let r = 0; r < idx.length; r++) {
    const src = idx[r]! * k;
    for (let t = 0; t < k; t++) g[r * k + t] = x[src + t]!;
  }
  return g;
}
