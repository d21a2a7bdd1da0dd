/**
 * Fréchet Inception Distance (Heusel et al. 2017) between two Gaussians fitted to features:
 *
 *   FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(√Σ₁ Σ₂ √Σ₁)
 *
 * Shapes: features are row-major N×D (one sample per row); μ is D, Σ is D×D (row-major, float64).
 * Statistics follow pytorch-fid: mean and covariance with ddof 1 (np.cov(rowvar=False)), float64.
 * The trace of the square root is taken from eigenvalues of a symmetric PSD matrix, so no complex
 * arithmetic or non-symmetric sqrtm is needed: with Σ₁ = V Λ Vᵀ, √Σ₁ Σ₂ √Σ₁ is orthogonally
 * similar to Λ^½ (Vᵀ Σ₂ V) Λ^½, whose eigenvalues are those of Σ₁Σ₂.
 *
 * The low-rank path for small sample sets (per-class FID) is in fid-lowrank.ts.
 */
import { CbdmError } from '../util/errors.ts';
import { gramLowerAccumulate, matmulABt, symmetricEigen, trace, type GemmABt } from './linalg.ts';

/** Mean and covariance (ddof 1) of a feature set. */
export interface FeatureStats {
  /** Mean, length d. */
  mu: Float64Array;
  /** Covariance, d×d row-major, divided by n − 1. */
  sigma: Float64Array;
  /** Number of samples. */
  n: number;
  /** Feature dimension. */
  d: number;
  /** n ≤ d: the covariance is singular (rank ≤ n − 1) and FID is strongly biased upwards. */
  underdetermined: boolean;
}

/** Rows per block of the covariance accumulation (keeps the centred block in L2). */
const BLOCK_ROWS = 128;
/** Rows per block when a `gemm` hook does the products (fewer, larger calls). */
const GEMM_BLOCK_ROWS = 1024;

/** Options of `featureStats`. */
export interface StatsOptions {
  /**
   * Computes the centred scatter XᵀX of each block of rows instead of the float64 TypeScript
   * kernel, e.g. `backendGemmABt(backend)` of src/metrics/evaluate.ts. Blocks are still centred with the
   * float64 mean and summed in float64. With the cpu backend's float32 gemm (bench/fid.ts,
   * n = 2,000–10,000, d = 2048) entries of Σ were within 2.5e-6 × max σᵢᵢ and a FID from those
   * stats within 4e-9 relative, 4–7× faster. Default: float64 TypeScript.
   */
  gemm?: GemmABt;
}

/**
 * S (lower triangle) += XᵀX of a centred rows×d block, with the TypeScript kernel or, given a
 * gemm, as (Xᵀ)(Xᵀ)ᵀ on the transposed block; `scratch` holds ≥ d·rows + d·d values then.
 */
function accumulateScatter(x: Float64Array, rows: number, d: number, s: Float64Array, gemm: GemmABt | undefined, scratch?: Float64Array): void {
  if (!gemm) {
    gramLowerAccumulate(x, rows, d, s);
    return;
  }
  const buf = scratch ?? new Float64Array(d * rows + d * d);
  const xt = buf.subarray(0, d * rows);
  const g = buf.subarray(d * rows, d * rows + d * d);
  for (let b = 0; b < rows; b++) for (let j = 0; j < d; j++) xt[j * rows + b] = x[b * d + j]!;
  gemm(xt, xt, d, d, rows, g, true);
  for (let i = 0; i < d; i++) {
    const si = i * d;
    for (let j = 0; j <= i; j++) s[si + j] += g[si + j]!;
  }
}

/** Copy rows [r0, r0+rows) of feats into out (float64) minus `center`. */
export function centredBlock(feats: Float32Array | Float64Array, r0: number, rows: number, d: number, center: Float64Array, out: Float64Array): void {
  for (let b = 0; b < rows; b++) {
    const src = (r0 + b) * d;
    const dst = b * d;
    for (let j = 0; j < d; j++) out[dst + j] = feats[src + j]! - center[j]!;
  }
}

/** Mirror the lower triangle into the upper one and scale every entry by `scale`. */
export function symmetrizeLower(s: Float64Array, d: number, scale: number): void {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = s[i * d + j]! * scale;
      s[i * d + j] = v;
      s[j * d + i] = v;
    }
  }
}

export function checkShape(feats: Float32Array | Float64Array, n: number, d: number, what: string): void {
  if (!(Number.isInteger(n) && Number.isInteger(d) && n >= 0 && d >= 1)) throw new CbdmError(`${what}: bad shape ${n}×${d}`);
  if (feats.length < n * d) throw new CbdmError(`${what}: expected ${n}×${d} = ${n * d} values, got ${feats.length}`);
}

/** Exact float64 mean of n×d features (row sums in order, then one division). */
export function featureMean(feats: Float32Array | Float64Array, n: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let j = 0; j < d; j++) mu[j] += feats[o + j]!;
  }
  for (let j = 0; j < d; j++) mu[j] /= n;
  return mu;
}

/**
 * Mean and covariance (ddof 1, like np.cov(rowvar=False)) of n×d features, in float64.
 * Two passes: the exact mean first, then covariance of the centred rows in blocks, so there is no
 * cancellation between Σxxᵀ and n·μμᵀ. Needs n ≥ 2. `opts.gemm` moves the O(n·d²) products to
 * another kernel (see `StatsOptions`).
 */
export function featureStats(feats: Float32Array | Float64Array, n: number, d: number, opts: StatsOptions = {}): FeatureStats {
  checkShape(feats, n, d, 'featureStats');
  if (n < 2) throw new CbdmError(`featureStats: need at least 2 samples for a covariance, got ${n}`);
  const mu = featureMean(feats, n, d);
  const sigma = new Float64Array(d * d);
  const blockRows = opts.gemm ? GEMM_BLOCK_ROWS : BLOCK_ROWS;
  const block = new Float64Array(Math.min(blockRows, n) * d);
  const scratch = opts.gemm ? new Float64Array(d * Math.min(blockRows, n) + d * d) : undefined;
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const rows = Math.min(blockRows, n - r0);
    centredBlock(feats, r0, rows, d, mu, block);
    accumulateScatter(block, rows, d, sigma, opts.gemm, scratch);
  }
  symmetrizeLower(sigma, d, 1 / (n - 1));
  return { mu, sigma, n, d, underdetermined: n <= d };
}

/**
 * Streaming mean/covariance: `add` batches of any size, then `finalize`, so 50k×2048 features
 * never need to sit in one array. Rows are buffered into blocks; each block's mean and centred
 * scatter are merged into the running ones with the pairwise update of Chan, Golub & LeVeque
 * (1979): M₂ = M₂ₐ + M₂ᵦ + δδᵀ·nₐnᵦ/(nₐ+nᵦ). Agrees with `featureStats` to rounding.
 */
export class FeatureStatsAccumulator {
  readonly d: number;
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly pending: Float64Array;
  private pendingRows = 0;
  private readonly blockMean: Float64Array;
  private readonly blockM2: Float64Array;

  private readonly blockRows: number;
  private readonly gemm: GemmABt | undefined;
  private readonly scratch: Float64Array | undefined;

  /** An empty accumulator for d-dimensional features; `opts.gemm` as in `featureStats`. */
  constructor(d: number, opts: StatsOptions = {}) {
    if (!(Number.isInteger(d) && d >= 1)) throw new CbdmError(`FeatureStatsAccumulator: bad feature dimension ${d}`);
    this.d = d;
    this.gemm = opts.gemm;
    this.blockRows = opts.gemm ? GEMM_BLOCK_ROWS : BLOCK_ROWS;
    this.scratch = opts.gemm ? new Float64Array(d * this.blockRows + d * d) : undefined;
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d * d);
    this.pending = new Float64Array(this.blockRows * d);
    this.blockMean = new Float64Array(d);
    this.blockM2 = new Float64Array(d * d);
  }

  /** Number of samples added so far. */
  get n(): number {
    return this.count + this.pendingRows;
  }

  /** Add `rows` samples (rows×d, row-major). */
  add(feats: Float32Array | Float64Array, rows: number): void {
    checkShape(feats, rows, this.d, 'FeatureStatsAccumulator.add');
    const d = this.d;
    for (let r = 0; r < rows; r++) {
      this.pending.set(feats.subarray(r * d, r * d + d), this.pendingRows * d);
      if (++this.pendingRows === this.blockRows) this.flush();
    }
  }

  private flush(): void {
    const nb = this.pendingRows;
    if (nb === 0) return;
    const d = this.d;
    const bm = this.blockMean.fill(0);
    for (let r = 0; r < nb; r++) for (let j = 0; j < d; j++) bm[j] += this.pending[r * d + j]!;
    for (let j = 0; j < d; j++) bm[j] /= nb;
    for (let r = 0; r < nb; r++) for (let j = 0; j < d; j++) this.pending[r * d + j] -= bm[j]!;
    const bm2 = this.blockM2.fill(0);
    accumulateScatter(this.pending, nb, d, bm2, this.gemm, this.scratch);
    const na = this.count;
    const n = na + nb;
    const w = (na * nb) / n;
    const delta = new Float64Array(d);
    for (let j = 0; j < d; j++) delta[j] = bm[j]! - this.mean[j]!;
    for (let i = 0; i < d; i++) {
      const si = i * d;
      const wi = w * delta[i]!;
      for (let j = 0; j <= i; j++) this.m2[si + j] += bm2[si + j]! + wi * delta[j]!;
    }
    for (let j = 0; j < d; j++) this.mean[j] += (delta[j]! * nb) / n;
    this.count = n;
    this.pendingRows = 0;
  }

  /** Mean and covariance (ddof 1) of everything added; the accumulator can keep going after. */
  finalize(): FeatureStats {
    this.flush();
    const n = this.count;
    if (n < 2) throw new CbdmError(`FeatureStatsAccumulator: need at least 2 samples for a covariance, got ${n}`);
    const d = this.d;
    const sigma = Float64Array.from(this.m2);
    symmetrizeLower(sigma, d, 1 / (n - 1));
    return { mu: Float64Array.from(this.mean), sigma, n, d, underdetermined: n <= d };
  }
}

/** How `frechetDistance` treats near-singular input (see its doc). */
export type FidRegularisation = 'auto' | 'always' | 'never';

/** Options of `frechetDistance`. */
export interface FrechetOptions {
  /** 'auto' (default): add eps·I only when the exact computation fails; 'always'; 'never'. */
  regularise?: FidRegularisation;
  /** The eps of eps·I added to both covariances when regularising (pytorch-fid: 1e-6). */
  eps?: number;
}

/** Result of `frechetDistance`. */
export interface FrechetResult {
  fid: number;
  /** True when eps·I was added to both covariances. */
  regularised: boolean;
  /** The eps used, when regularised. */
  eps?: number;
  /** Σ₁Σ₂ is numerically singular (rank < d): typical when a set has n ≤ d samples. */
  singular: boolean;
  /** The parts: ‖μ₁−μ₂‖², tr Σ₁, tr Σ₂, tr √(√Σ₁Σ₂√Σ₁). */
  terms: { meanTerm: number; trace1: number; trace2: number; traceSqrt: number };
}

/**
 * tr √(√S₁ S₂ √S₁) for symmetric PSD S₁, S₂ (d×d) via two symmetric eigendecompositions.
 * Eigenvalues within rounding of zero (or below it) count as zero. Also reports the most negative
 * eigenvalue seen relative to the largest (a PSD check) and whether the product is singular.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, d: number): { value: number; minRelEig: number; singular: boolean } {
  const { mu, minRelEig1 } = productEigenvalues(s1, s2, d);
  const r = sqrtEigenSum(mu, d);
  return { value: r.value, minRelEig: Math.min(minRelEig1, r.minRel), singular: r.singular };
}

/** Eigenvalues of √S₁ S₂ √S₁ (d×d symmetric PSD inputs) and S₁'s smallest eigenvalue over its largest. */
export function productEigenvalues(s1: Float64Array, s2: Float64Array, d: number): { mu: Float64Array; minRelEig1: number } {
  const { values: lam, vectors } = symmetricEigen(s1, d, 'rows');
  const vt = vectors!;
  let lmax = 0;
  let lmin = Infinity;
  for (let i = 0; i < d; i++) {
    lmax = Math.max(lmax, Math.abs(lam[i]!));
    lmin = Math.min(lmin, lam[i]!);
  }
  // M = U S₂ Uᵀ with U = Λ^½ Vᵀ: G = U S₂ (S₂ symmetric, so U·S₂ = matmulABt(U, S₂)), M = G Uᵀ,
  // of which only the lower triangle is computed (symmetricEigen reads nothing else)
  const u = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const r = Math.sqrt(Math.max(lam[i]!, 0));
    for (let k = 0; k < d; k++) u[i * d + k] = vt[i * d + k]! * r;
  }
  const g = matmulABt(u, s2, d, d, d);
  const m = matmulABt(g, u, d, d, d, undefined, true);
  return { mu: symmetricEigen(m, d, 'none').values, minRelEig1: lmax > 0 ? lmin / lmax : 0 };
}

/**
 * Σ √μᵢ over the eigenvalues μ of a d×d PSD product (d = `order`), given as the computed ones plus
 * `extra.count` copies of a known value (the null space of a low-rank product, or ε² of a
 * regularised one). Eigenvalues within rounding of zero (|μ| ≤ d·ε·max) count as zero: their square
 * roots would otherwise add ~√ε noise each, e.g. the d − n + 1 null directions of an n ≤ d
 * covariance. Also: the smallest eigenvalue over the largest, and whether the product is singular.
 */
export function sqrtEigenSum(mu: Float64Array, order: number, extra = { value: 0, count: 0 }): { value: number; minRel: number; singular: boolean } {
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < mu.length; i++) {
    max = Math.max(max, Math.abs(mu[i]!));
    min = Math.min(min, mu[i]!);
  }
  if (extra.count > 0) {
    max = Math.max(max, Math.abs(extra.value));
    min = Math.min(min, extra.value);
  }
  const tol = order * 2 ** -52;
  let value = 0;
  for (let i = 0; i < mu.length; i++) if (mu[i]! > tol * max) value += Math.sqrt(mu[i]!);
  if (extra.count > 0 && extra.value > tol * max) value += extra.count * Math.sqrt(extra.value);
  return { value, minRel: max > 0 ? min / max : 0, singular: !(max > 0) || min <= tol * max };
}

/**
 * Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), all float64, Σ row-major d×d.
 *
 * Regularisation follows pytorch-fid's *trigger*: it adds eps·I (1e-6) to both covariances only
 * when its scipy sqrtm fails (non-finite result). The symmetric-eigenvalue route here stays exact
 * for singular covariances (n ≤ d), where sqrtm is finite and pytorch-fid does not regularise, so
 * 'auto' regularises only when the result is not finite or an input is clearly not PSD (an
 * eigenvalue below −1e-6 × the largest). `singular` reports a rank-deficient Σ₁Σ₂ either way.
 */
export function frechetDistance(mu1: Float64Array, sigma1: Float64Array, mu2: Float64Array, sigma2: Float64Array, d: number, opts: FrechetOptions = {}): FrechetResult {
  if (mu1.length !== d || mu2.length !== d) throw new CbdmError(`frechetDistance: means must have length ${d}, got ${mu1.length} and ${mu2.length}`);
  if (sigma1.length !== d * d || sigma2.length !== d * d) throw new CbdmError(`frechetDistance: covariances must be ${d}×${d}, got ${sigma1.length} and ${sigma2.length} values`);
  for (const [name, a] of [['mu1', mu1], ['sigma1', sigma1], ['mu2', mu2], ['sigma2', sigma2]] as const) {
    const bad = a.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new CbdmError(`frechetDistance: ${name}[${bad}] is ${a[bad]}; the statistics are corrupt (recompute them from features)`);
  }
  const mode = opts.regularise ?? 'auto';
  const eps = opts.eps ?? 1e-6;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (mu1[i]! - mu2[i]!) ** 2;
  const compute = (s1: Float64Array, s2: Float64Array) => {
    const ts = traceSqrtProduct(s1, s2, d);
    const trace1 = trace(s1, d);
    const trace2 = trace(s2, d);
    return { ts, terms: { meanTerm, trace1, trace2, traceSqrt: ts.value }, fid: meanTerm + trace1 + trace2 - 2 * ts.value };
  };
  const addEps = (s: Float64Array) => {
    const t = Float64Array.from(s);
    for (let i = 0; i < d; i++) t[i * d + i] += eps;
    return t;
  };
  let regularise: boolean;
  let res: ReturnType<typeof compute> | null = null;
  switch (mode) {
    case 'always':
      regularise = true;
      break;
    case 'never':
      regularise = false;
      break;
    case 'auto':
      res = compute(sigma1, sigma2);
      regularise = !Number.isFinite(res.fid) || res.ts.minRelEig < -1e-6;
      break;
  }
  if (regularise) res = compute(addEps(sigma1), addEps(sigma2));
  else res ??= compute(sigma1, sigma2);
  return { fid: res.fid, regularised: regularise, ...(regularise ? { eps } : {}), singular: res.ts.singular, terms: res.terms };
}
