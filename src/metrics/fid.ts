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
 */
import { CbdmError } from '../util/errors.ts';
import { matmulABt, symmetricEigen, trace } from './linalg.ts';

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

/**
 * S[i, j] += Σ_b x[b, i]·x[b, j] for j ≤ i (lower triangle only), x is rows×d float64 already
 * centred. Register-blocked: two rows of S against four samples at a time, so each loaded x
 * value feeds two multiply-adds and each S element is loaded and stored once per four samples.
 */
function accumulateGramLower(x: Float64Array, rows: number, d: number, s: Float64Array): void {
  let b = 0;
  for (; b + 3 < rows; b += 4) {
    const o0 = b * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let i = 0;
    for (; i + 1 < d; i += 2) {
      const c0 = x[o0 + i]!;
      const c1 = x[o1 + i]!;
      const c2 = x[o2 + i]!;
      const c3 = x[o3 + i]!;
      const e0 = x[o0 + i + 1]!;
      const e1 = x[o1 + i + 1]!;
      const e2 = x[o2 + i + 1]!;
      const e3 = x[o3 + i + 1]!;
      const si = i * d;
      const sn = si + d;
      for (let j = 0; j <= i; j++) {
        const x0 = x[o0 + j]!;
        const x1 = x[o1 + j]!;
        const x2 = x[o2 + j]!;
        const x3 = x[o3 + j]!;
        s[si + j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
        s[sn + j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3;
      }
      s[sn + i + 1] += e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3;
    }
    if (i < d) {
      const c0 = x[o0 + i]!;
      const c1 = x[o1 + i]!;
      const c2 = x[o2 + i]!;
      const c3 = x[o3 + i]!;
      const si = i * d;
      for (let j = 0; j <= i; j++) s[si + j] += c0 * x[o0 + j]! + c1 * x[o1 + j]! + c2 * x[o2 + j]! + c3 * x[o3 + j]!;
    }
  }
  for (; b < rows; b++) {
    const o = b * d;
    for (let i = 0; i < d; i++) {
      const c = x[o + i]!;
      const si = i * d;
      for (let j = 0; j <= i; j++) s[si + j] += c * x[o + j]!;
    }
  }
}

/** Copy rows [r0, r0+rows) of feats into out (float64) minus `center`. */
function centredBlock(feats: Float32Array | Float64Array, r0: number, rows: number, d: number, center: Float64Array, out: Float64Array): void {
  for (let b = 0; b < rows; b++) {
    const src = (r0 + b) * d;
    const dst = b * d;
    for (let j = 0; j < d; j++) out[dst + j] = feats[src + j]! - center[j]!;
  }
}

/** Mirror the lower triangle into the upper one and scale every entry by `scale`. */
function symmetrizeLower(s: Float64Array, d: number, scale: number): void {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = s[i * d + j]! * scale;
      s[i * d + j] = v;
      s[j * d + i] = v;
    }
  }
}

function checkShape(feats: Float32Array | Float64Array, n: number, d: number, what: string): void {
  if (!(Number.isInteger(n) && Number.isInteger(d) && n >= 0 && d >= 1)) throw new CbdmError(`${what}: bad shape ${n}×${d}`);
  if (feats.length < n * d) throw new CbdmError(`${what}: expected ${n}×${d} = ${n * d} values, got ${feats.length}`);
}

/**
 * Mean and covariance (ddof 1, like np.cov(rowvar=False)) of n×d features, in float64.
 * Two passes: the exact mean first, then covariance of the centred rows in blocks, so there is no
 * cancellation between Σxxᵀ and n·μμᵀ. Needs n ≥ 2.
 */
export function featureStats(feats: Float32Array | Float64Array, n: number, d: number): FeatureStats {
  checkShape(feats, n, d, 'featureStats');
  if (n < 2) throw new CbdmError(`featureStats: need at least 2 samples for a covariance, got ${n}`);
  const mu = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let j = 0; j < d; j++) mu[j] += feats[o + j]!;
  }
  for (let j = 0; j < d; j++) mu[j] /= n;
  const sigma = new Float64Array(d * d);
  const block = new Float64Array(BLOCK_ROWS * d);
  for (let r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, n - r0);
    centredBlock(feats, r0, rows, d, mu, block);
    accumulateGramLower(block, rows, d, sigma);
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

  /** An empty accumulator for d-dimensional features. */
  constructor(d: number) {
    if (!(Number.isInteger(d) && d >= 1)) throw new CbdmError(`FeatureStatsAccumulator: bad feature dimension ${d}`);
    this.d = d;
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d * d);
    this.pending = new Float64Array(BLOCK_ROWS * d);
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
      if (++this.pendingRows === BLOCK_ROWS) this.flush();
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
    accumulateGramLower(this.pending, nb, d, bm2);
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
  const mu = symmetricEigen(m, d, 'none').values;
  let mmax = 0;
  let mmin = Infinity;
  for (let i = 0; i < d; i++) {
    mmax = Math.max(mmax, Math.abs(mu[i]!));
    mmin = Math.min(mmin, mu[i]!);
  }
  // eigenvalues within rounding of zero (|μ| ≤ d·ε·max) count as zero: their square roots would
  // otherwise add ~√ε noise each, e.g. the d − n + 1 null directions of an n ≤ d covariance
  const tol = d * 2 ** -52;
  let value = 0;
  for (let i = 0; i < d; i++) if (mu[i]! > tol * mmax) value += Math.sqrt(mu[i]!);
  const minRelEig = Math.min(lmax > 0 ? lmin / lmax : 0, mmax > 0 ? mmin / mmax : 0);
  const singular = !(mmax > 0) || mmin <= tol * mmax;
  return { value, minRelEig, singular };
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
