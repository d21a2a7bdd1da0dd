/**
 * Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
 * for Assessing Generative Models").
 *
 * Each set's manifold is the union of balls around its samples, the radius of a ball being the
 * distance to the sample's k-th nearest neighbour in the same set (the sample itself excluded).
 * precision = fraction of generated samples inside the real manifold; recall = fraction of real
 * samples inside the generated manifold.
 *
 * Conventions (they change numbers, so they are options):
 * - k: 5 in the published CBDM protocol (on Inception pool3 features), 3 in the original paper
 *   (on VGG16 fc2 features).
 * - comparison: 'strict' (distance < radius) is what CBDM's evaluation code uses (the
 *   improved-precision-and-recall-metric-pytorch port); the original NVIDIA code uses
 *   'inclusive' (≤, on squared distances).
 * Distances are Euclidean, ‖a‖² + ‖b‖² − 2a·b in float64 (clamped at 0), computed in tiles of
 * blockSize × blockSize, so memory is O(blockSize·(blockSize + D)) and a 50k×50k matrix never
 * exists. Cost: about (N_real²/2 + N_gen²/2 + N_real·N_gen)·D multiply-adds; for 50k + 50k
 * Inception features that is ~1e13, hours at the ~1.3 G/s of the plain-TypeScript kernel, so
 * pass a faster `gemm` for full-size runs (per-class sets of a few hundred are quick).
 * Shapes: features N×D row-major.
 */
import { CbdmError } from '../util/errors.ts';
import { gatherRows, jsGemmABt, type GemmABt } from './linalg.ts';

/** Ball membership test: distance < radius ('strict', CBDM) or ≤ ('inclusive', NVIDIA's code). */
export type RadiusComparison = 'strict' | 'inclusive';

/** Options of `improvedPrecisionRecall` and `knnRadii`. */
export interface PrecisionRecallOptions {
  /** Neighbourhood size k (default 5, as CBDM reports; the original paper uses 3). */
  k?: number;
  /** Default 'strict'. */
  comparison?: RadiusComparison;
  /** Rows and columns per distance tile (default 512). Results do not depend on it. */
  blockSize?: number;
  /** Matrix-product kernel for the a·b terms (default: plain TypeScript). */
  gemm?: GemmABt;
}

/** Precision, recall and what they were computed from. */
export interface PrecisionRecallResult {
  precision: number;
  recall: number;
  k: number;
  comparison: RadiusComparison;
  /** k-NN radius of each real sample. */
  radiiReal: Float64Array;
  /** k-NN radius of each generated sample. */
  radiiGen: Float64Array;
  /** Per generated sample: 1 if inside the real manifold. */
  genInReal: Uint8Array;
  /** Per real sample: 1 if inside the generated manifold. */
  realInGen: Uint8Array;
}

type Feats = Float32Array | Float64Array;

function squaredNorms(x: Feats, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += x[i * d + t]! * x[i * d + t]!;
    out[i] = s;
  }
  return out;
}

function range(a: number, b: number): Int32Array {
  return Int32Array.from({ length: b - a }, (_, i) => a + i);
}

/**
 * Visit every tile of the distance matrix between x (nx×d) and y (ny×d): `visit(i0, j0, rows,
 * cols, dist)` with dist[r·cols + c] = ‖x[i0+r] − y[j0+c]‖. With `lowerTiles` (x = y) only tiles
 * with j0 ≤ i0 are visited: the distance matrix is symmetric, entry for entry.
 */
function forEachDistanceTile(x: Feats, nx: number, y: Feats, ny: number, d: number, block: number, gemm: GemmABt, visit: (i0: number, j0: number, rows: number, cols: number, dist: Float64Array) => void, lowerTiles = false): void {
  const nxs = squaredNorms(x, nx, d);
  const nys = x === y ? nxs : squaredNorms(y, ny, d);
  const a = new Float64Array(block * d);
  const b = new Float64Array(block * d);
  const g = new Float64Array(block * block);
  for (let i0 = 0; i0 < nx; i0 += block) {
    const rows = Math.min(block, nx - i0);
    gatherRows(x, d, range(i0, i0 + rows), a);
    for (let j0 = 0; j0 < (lowerTiles ? Math.min(ny, i0 + 1) : ny); j0 += block) {
      const cols = Math.min(block, ny - j0);
      gatherRows(y, d, range(j0, j0 + cols), b);
      gemm(a, b, rows, cols, d, g);
      for (let r = 0; r < rows; r++) {
        const na = nxs[i0 + r]!;
        for (let c = 0; c < cols; c++) {
          const sq = na + nys[j0 + c]! - 2 * g[r * cols + c]!;
          g[r * cols + c] = sq > 0 ? Math.sqrt(sq) : 0;
        }
      }
      visit(i0, j0, rows, cols, g);
    }
  }
}

function resolve(opts: PrecisionRecallOptions): { k: number; comparison: RadiusComparison; block: number; gemm: GemmABt } {
  const k = opts.k ?? 5;
  const block = opts.blockSize ?? 512;
  if (!(Number.isInteger(k) && k >= 1)) throw new CbdmError(`precision/recall: k must be a positive integer, got ${k}`);
  if (!(Number.isInteger(block) && block >= 1)) throw new CbdmError(`precision/recall: blockSize must be a positive integer, got ${block}`);
  return { k, comparison: opts.comparison ?? 'strict', block, gemm: opts.gemm ?? jsGemmABt };
}

/** Distance from each of the n samples to its k-th nearest neighbour among the others. */
export function knnRadii(x: Feats, n: number, d: number, opts: PrecisionRecallOptions = {}): Float64Array {
  const { k, block, gemm } = resolve(opts);
  if (x.length < n * d) throw new CbdmError(`knnRadii: expected ${n}×${d} features, got ${x.length} values`);
  if (n < k + 1) throw new CbdmError(`k-NN radii with k = ${k} need at least ${k + 1} samples per set, got ${n}`);
  const best = new Float64Array(n * k).fill(Infinity); // per row: k smallest, ascending
  const offer = (i: number, v: number) => {
    const o = i * k;
    if (v >= best[o + k - 1]!) return;
    let p = k - 1;
    while (p > 0 && best[o + p - 1]! > v) {
      best[o + p] = best[o + p - 1]!;
      p--;
    }
    best[o + p] = v;
  };
  // lower tiles only: an off-diagonal tile serves its rows and, transposed, its columns
  forEachDistanceTile(x, n, x, n, d, block, gemm, (i0, j0, rows, cols, dist) => {
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      for (let c = 0; c < cols; c++) {
        const j = j0 + c;
        if (j === i) continue;
        const v = dist[r * cols + c]!;
        offer(i, v);
        if (j0 !== i0) offer(j, v);
      }
    }
  }, true);
  const radii = new Float64Array(n);
  for (let i = 0; i < n; i++) radii[i] = best[i * k + k - 1]!;
  return radii;
}

/**
 * Improved precision and recall of generated features `gen` (nGen×d) against `real` (nReal×d).
 * One pass over the gen×real distance tiles serves both directions.
 */
export function improvedPrecisionRecall(real: Feats, nReal: number, gen: Feats, nGen: number, d: number, opts: PrecisionRecallOptions = {}): PrecisionRecallResult {
  const { k, comparison, block, gemm } = resolve(opts);
  if (real.length < nReal * d || gen.length < nGen * d) throw new CbdmError(`precision/recall: feature arrays are smaller than ${nReal}×${d} and ${nGen}×${d}`);
  const radiiReal = knnRadii(real, nReal, d, opts);
  const radiiGen = knnRadii(gen, nGen, d, opts);
  const genInReal = new Uint8Array(nGen);
  const realInGen = new Uint8Array(nReal);
  const inside = comparison === 'strict' ? (dist: number, r: number) => dist < r : (dist: number, r: number) => dist <= r;
  forEachDistanceTile(gen, nGen, real, nReal, d, block, gemm, (i0, j0, rows, cols, dist) => {
    for (let r = 0; r < rows; r++) {
      const g = i0 + r;
      const rg = radiiGen[g]!;
      for (let c = 0; c < cols; c++) {
        const v = dist[r * cols + c]!;
        if (inside(v, radiiReal[j0 + c]!)) genInReal[g] = 1;
        if (inside(v, rg)) realInGen[j0 + c] = 1;
      }
    }
  });
  const mean = (m: Uint8Array) => m.reduce((a, b) => a + b, 0) / m.length;
  return { precision: mean(genInReal), recall: mean(realInGen), k, comparison, radiiReal, radiiGen, genInReal, realInGen };
}
