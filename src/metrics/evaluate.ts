/**
 * Sample-quality metrics of generated features against reference statistics (docs/DESIGN.md §1.7):
 * FID, Inception Score, KID and improved precision/recall, overall and per class and
 * Many/Medium/Few group. Feature extraction and files are in `evaluate-files.ts`.
 */
import { currentBackend } from '../engine/context.ts';
import type { Backend } from '../engine/backend.ts';
import { CLASS_GROUPS, classGroup, type ClassGroup } from '../data/groups.ts';
import { CbdmError } from '../util/errors.ts';
import type { RefStats } from './features.ts';
import type { EvalProtocol, EvalResult, MetricValues, PerClassEval } from './eval-result.ts';
import { featureStats, frechetDistance, type FrechetResult } from './fid.ts';
import { inceptionScore } from './inception-score.ts';
import { kernelInceptionDistance } from './kid.ts';
import { improvedPrecisionRecall } from './precision-recall.ts';
import { perClassFid, perClassPrecisionRecall, perClassMetric } from './per-class.ts';
import { jsGemmABt, type GemmABt } from './linalg.ts';

/** FID is biased below this many samples (and the 2048-d covariance is rank-deficient). */
export const FID_MIN_SAMPLES = 2048;

/** Warnings that belong next to an FID value. */
export function fidNotes(r: FrechetResult, ns: number[], names: string[]): string[] {
  const notes: string[] = [];
  ns.forEach((n, i) => {
    if (Number.isFinite(n) && n <= FID_MIN_SAMPLES) notes.push(`${names[i]}: ${n} ≤ ${FID_MIN_SAMPLES} samples: FID is biased upwards and not comparable with published numbers (use ≥ 10k; 50k in the published protocol)`);
  });
  if (r.regularised) notes.push(`covariance product was singular: added ${r.eps}·I to both covariances (as pytorch-fid does)`);
  else if (r.singular) notes.push('covariance product is rank-deficient (fewer samples than feature dimensions): FID computed exactly on the singular matrices');
  return notes;
}

/** Everything `evaluateFeatures` needs besides the feature rows. */
export interface EvalContext {
  d: number;
  /** Logit width of the extractor (0 if none). */
  logitsDim: number;
  /** The extractor is a classifier over the dataset's classes (per-sample accuracy applies). */
  classifier: boolean;
  /** The extractor is the FID Inception (Inception Score applies). */
  inception: boolean;
  numClasses: number;
}

/**
 * The A·Bᵀ products of KID and precision/recall on a compute backend (float32 inputs and
 * products). Measured against the float64 `jsGemmABt` on 1,500 × 1,200 non-negative 2048-d
 * features: identical precision/recall, KID within 4e-6 relative; 20× faster on the cpu backend.
 */
export function backendGemmABt(be: Backend): GemmABt {
  return (a, b, m, p, k, out) => {
    const A = be.alloc('float32', m * k);
    const B = be.alloc('float32', p * k);
    const C = be.alloc('float32', m * p);
    try {
      be.write(A, a.subarray(0, m * k));
      be.write(B, b.subarray(0, p * k));
      be.gemm(false, true, m, p, k, 1, A, B, 0, C);
      out.set(be.read(C));
    } finally {
      be.free(A);
      be.free(B);
      be.free(C);
    }
  };
}

/** Where KID's and precision/recall's matrix products run. */
export type MetricsGemm = 'backend' | 'js';

function metricsGemm(where: MetricsGemm): GemmABt {
  switch (where) {
    case 'backend': {
      const be = currentBackend();
      return be.name === 'js' ? jsGemmABt : backendGemmABt(be);
    }
    case 'js':
      return jsGemmABt;
    default: {
      const never: never = where;
      throw new CbdmError(`unknown --metrics-gemm ${String(never)}`);
    }
  }
}

/** Which metrics to compute and how (defaults: the published protocol). */
export interface MetricOptions {
  /** Where KID / precision-recall products run: the compute backend in float32 (default) or float64 TypeScript. */
  gemm?: MetricsGemm;
  perClass: boolean;
  /** k of improved precision/recall (5, as CBDM reports). */
  k: number;
  /** KID subsets (100 of 1000; 0 skips KID). */
  kidSubsets: number;
  /** Inception Score splits (10). */
  isSplits: number;
}

/** Results of one evaluation, in eval.json's shape plus the notes printed beside them. */
export interface EvalReport extends EvalResult {
  notes: string[];
}

/** Rows of `set` whose label is c, per class. */
function rowsOf(labels: Int32Array, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((c, i) => out[c]?.push(i));
  return out;
}

function gather(x: Float32Array, d: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** Share of rows whose argmax logit is their label. */
function accuracy(logits: Float32Array, K: number, labels: Int32Array, idx: readonly number[]): number | null {
  if (idx.length === 0) return null;
  let hit = 0;
  for (const i of idx) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
    if (best === labels[i]) hit++;
  }
  return hit / idx.length;
}

/**
 * Metrics of generated features against the reference: overall (FID against the file's mu/sigma;
 * IS from the bias-free Inception logits; KID and precision/recall against the reference
 * features), and with `perClass` per class and per Many/Medium/Few group, using the conventions
 * of `src/metrics/per-class.ts` (a group's value is the mean over its classes with a value).
 */
export function evaluateFeatures(
  fake: { features: Float32Array; logits: Float32Array | null; labels: Int32Array; n: number },
  ref: RefStats,
  ctx: EvalContext,
  opts: MetricOptions & { counts: { counts: number[]; classNames: string[] } | null; protocol: EvalProtocol },
): EvalReport {
  const notes: string[] = [];
  const d = ctx.d;
  const gemm = metricsGemm(opts.gemm ?? 'backend');
  if (ref.d !== d) throw new CbdmError(`${ref.path} holds ${ref.d}-d statistics but the ${opts.protocol.featureExtractor} features are ${d}-d: make the reference with the same feature network`);
  if (fake.n < 2) throw new CbdmError(`need at least 2 samples, got ${fake.n}`);
  const real = ref.features ? { feats: ref.features, labels: ref.labels ?? new Int32Array(0), n: ref.features.length / d } : null;
  const gen = { feats: fake.features, labels: fake.labels, n: fake.n };
  let counts: { counts: number[]; classNames: string[] } | null = null;
  let fid: ReturnType<typeof perClassFid> | null = null;
  if (opts.perClass) {
    if (!real || !ref.labels) throw new CbdmError(`${ref.path} has no per-image features and labels, which per-class metrics need: rebuild it with 'cbdm eval stats' (features are kept unless --no-features)`);
    counts = opts.counts ?? countsFromMeta(ref);
    if (counts.counts.length !== ctx.numClasses) throw new CbdmError(`class counts list ${counts.counts.length} classes but the data have ${ctx.numClasses}`);
    // the overall FID (against the file's mu/sigma) comes with the per-class ones
    fid = perClassFid(real, gen, d, counts.counts, { overallReal: ref });
  }
  let fr: FrechetResult;
  if (fid) fr = fid.overall;
  else {
    const gs = featureStats(fake.features, fake.n, d);
    fr = frechetDistance(gs.mu, gs.sigma, ref.mu, ref.sigma, d);
  }
  notes.push(...fidNotes(fr, [fake.n, ref.n], ['samples', ref.path]));
  const overall: MetricValues = { fid: fr.fid };
  if (ctx.inception && fake.logits) {
    const splits = Math.min(opts.isSplits, fake.n);
    const is = inceptionScore(fake.logits, fake.n, ctx.logitsDim, splits);
    overall.is = is.mean;
    overall.is_std = is.std;
  }
  if (real) {
    if (opts.kidSubsets > 0) overall.kid = kernelInceptionDistance(fake.features, fake.n, real.feats, real.n, d, { subsets: opts.kidSubsets, gemm }).mean;
    const pr = improvedPrecisionRecall(real.feats, real.n, fake.features, fake.n, d, { k: opts.k, gemm });
    overall.precision = pr.precision;
    overall.recall = pr.recall;
  } else notes.push(`${ref.path} has only mu/sigma: KID and precision/recall need its per-image features (make it with 'cbdm eval stats')`);
  if (ctx.classifier && fake.logits) overall.accuracy = accuracy(fake.logits, ctx.logitsDim, fake.labels, Array.from({ length: fake.n }, (_, i) => i));
  const groups = Object.fromEntries(CLASS_GROUPS.map((g) => [g, {}])) as Record<ClassGroup, MetricValues>;
  const perClass: PerClassEval[] = [];
  if (fid && counts && real) {
    const C = counts.counts.length;
    const pr = perClassPrecisionRecall(real, gen, d, counts.counts, { k: opts.k, overall: false, gemm });
    const kid = opts.kidSubsets > 0 ? perClassMetric<{ kid: number }>(real, gen, d, counts.counts, (r, nr, g, ng) =>
      nr < 2 || ng < 2 ? 'KID needs ≥ 2 samples per set' : { kid: kernelInceptionDistance(g, ng, r, nr, d, { subsets: opts.kidSubsets, gemm }).mean }) : null;
    const genRows = rowsOf(fake.labels, C);
    for (let c = 0; c < C; c++) {
      const row: PerClassEval = { class: c, name: counts.classNames[c]!, count: counts.counts[c]!, group: classGroup(counts.counts[c]!) };
      row.fid = fid.perClass[c]!.fid;
      if (kid) row.kid = kid.perClass[c]!.kid;
      row.precision = pr.perClass[c]!.precision;
      row.recall = pr.perClass[c]!.recall;
      if (ctx.inception && fake.logits) {
        const idx = genRows[c]!;
        row.is = idx.length >= 2 ? inceptionScore(gather(fake.logits, ctx.logitsDim, idx), idx.length, ctx.logitsDim, 1).mean : null;
      }
      if (ctx.classifier && fake.logits) row.accuracy = accuracy(fake.logits, ctx.logitsDim, fake.labels, genRows[c]!);
      perClass.push(row);
    }
    for (const g of CLASS_GROUPS) {
      const rows = perClass.filter((r) => r.group === g);
      const mean = (k: string) => {
        const v = rows.map((r) => r[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      };
      for (const k of ['fid', 'kid', 'is', 'precision', 'recall', 'accuracy']) if (rows.some((r) => k in r)) groups[g][k] = mean(k);
    }
    const under = fid.perClass.filter((r) => r.underdetermined === 1).length;
    if (under) notes.push(`${under} of ${C} classes have no more samples than feature dimensions (${d}): their covariances are singular and per-class FID is biased upwards; compare classes with equal sample counts only`);
    const skipped = [...fid.perClass, ...pr.perClass].filter((r) => r.skipped).map((r) => `class ${r.class}: ${r.skipped}`);
    if (skipped.length) notes.push(`some per-class values are missing: ${[...new Set(skipped)].slice(0, 5).join('; ')}${skipped.length > 5 ? '; …' : ''}`);
  }
  return { protocol: opts.protocol, overall, perClass, groups, created: new Date().toISOString(), notes };
}

/** The training counts recorded in a reference-statistics file (`cbdm eval stats` writes them). */
export function countsFromMeta(ref: RefStats): { counts: number[]; classNames: string[] } {
  const c = ref.meta.counts;
  if (Array.isArray(c) && c.every((v) => Number.isInteger(v))) {
    const names = Array.isArray(ref.meta.classNames) ? (ref.meta.classNames as string[]) : c.map((_, i) => `class ${i}`);
    return { counts: c as number[], classNames: names };
  }
  throw new CbdmError(`per-class groups need the training counts: pass --counts counts.json or --run RUN_DIR (${ref.path} does not record them)`);
}

