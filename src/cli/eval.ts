/**
 * `cbdm eval`: sample quality against reference statistics (DESIGN §1.7).
 *   cbdm eval stats --dataset NAME [--root DIR] --out ref.npz   train-split mu/sigma (+ features)
 *   cbdm eval fid A.npz B.npz                                      FID between two stats files
 *   cbdm eval --samples S.npz --ref ref.npz [--per-class] [--counts F | --run DIR] [--json]
 * File formats (statistics: pytorch-fid's mu/sigma .npz plus our features/labels/meta; samples:
 * x, y, meta) are described and read in `src/metrics/features.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { useBackend } from '../engine/backends.ts';
import { currentBackend } from '../engine/context.ts';
import type { Backend } from '../engine/backend.ts';
import { loadDataset } from '../data/registry.ts';
import { CLASS_GROUPS, classGroup, type ClassGroup } from '../data/groups.ts';
import { atPrecision, extractFeatures, inceptionExtractor, readSamples, type FeaturePrecision, readStats, writeStats, type FeatureExtractor, type RefStats, type Samples, type FeatureSet } from '../metrics/features.ts';
import { loadFidInception, resolveInceptionWeights } from '../metrics/inception-weights.ts';
import { domainExtractor } from '../metrics/domain.ts';
import { fashionExtractor } from '../metrics/fashion-classifier.ts';
import { writeEvalJson } from '../report/run-dir.ts';
import type { EvalProtocol, EvalResult, MetricValues, PerClassEval } from '../report/run-dir-types.ts';
import { CbdmError } from '../util/errors.ts';
import { SAMPLER_NAMES, type SamplerName } from '../diffusion/samplers.ts';
import { finishedShards, isShardDir, readShardManifest, shardPath } from '../diffusion/shards.ts';
import { posInt as int, num } from './parse.ts';
import { featureStats, frechetDistance, type FrechetResult } from '../metrics/fid.ts';
import { inceptionScore } from '../metrics/inception-score.ts';
import { kernelInceptionDistance } from '../metrics/kid.ts';
import { improvedPrecisionRecall } from '../metrics/precision-recall.ts';
import { perClassFid, perClassPrecisionRecall, perClassMetric } from '../metrics/per-class.ts';
import { jsGemmABt, type GemmABt } from '../metrics/linalg.ts';
import { isDomainFeatures } from '../report/metric-info.ts';

/** Which feature network measures the samples. */
export type ExtractorKind = 'inception' | 'domain';

/** FID is biased below this many samples (and the 2048-d covariance is rank-deficient). */
export const FID_MIN_SAMPLES = 2048;

// ---- files ----------------------------------------------------------------------------------------

/** Per-class training counts and names from --counts (JSON array or {counts, classNames}) or --run DIR/data.json. */
export function readCounts(opts: { counts?: string; run?: string }): { counts: number[]; classNames: string[] } | null {
  const path = opts.counts ?? (opts.run ? join(opts.run, 'data.json') : undefined);
  if (!path) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CbdmError(`cannot read class counts from ${path}: ${(e as Error).message}`);
  }
  const obj = Array.isArray(v) ? { counts: v } : (v as { counts?: unknown; classNames?: unknown });
  const counts = obj.counts;
  if (!Array.isArray(counts) || !counts.every((c) => Number.isInteger(c) && c >= 0)) {
    throw new CbdmError(`${path}: expected a JSON array of per-class training counts, or an object with 'counts'`);
  }
  const names = Array.isArray(obj.classNames) && obj.classNames.length === counts.length ? (obj.classNames as string[]) : counts.map((_, i) => `class ${i}`);
  return { counts: counts as number[], classNames: names };
}

// ---- protocol -----------------------------------------------------------------------------------

/** The sampling protocol behind a samples file (DESIGN §1.7: always print it next to the numbers). */
export function protocolOf(s: Pick<Samples, 'meta' | 'labels' | 'n'>, extractor: string, override: Partial<EvalProtocol> = {}): EvalProtocol {
  const m = s.meta;
  const sampler = override.sampler ?? (typeof m.sampler === 'string' && (SAMPLER_NAMES as string[]).includes(m.sampler) ? m.sampler as SamplerName : undefined);
  const steps = override.steps ?? (typeof m.steps === 'number' ? m.steps : undefined);
  const omega = override.omega ?? (typeof m.omega === 'number' ? m.omega : undefined);
  const eta = override.eta ?? (typeof m.eta === 'number' ? m.eta : undefined);
  const perClass = new Map<number, number>();
  for (const c of s.labels) perClass.set(c, (perClass.get(c) ?? 0) + 1);
  return {
    sampler: sampler ?? 'ddpm',
    steps: steps ?? NaN,
    omega: omega ?? NaN,
    ...(eta !== undefined ? { eta } : {}),
    ...(typeof m.nfe === 'number' ? { nfe: m.nfe } : {}),
    ...(typeof m.spacing === 'string' ? { spacing: m.spacing } : {}),
    ...(m.clip === 'clamp' ? { clipX0: 'clamp' as const } : {}),
    ...(m.precision === 'bf16' ? { precision: 'bf16' } : {}),
    nPerClass: perClass.size ? Math.round(s.n / perClass.size) : 0,
    featureExtractor: extractor,
    n: s.n,
    known: sampler !== undefined && steps !== undefined && omega !== undefined,
  };
}

/** One line naming the protocol, and which published protocol (A: CBDM paper, B: later work) it is. */
export function describeProtocol(p: EvalProtocol): string {
  if (p.known === false) return `protocol: unknown (samples file has no sampler/steps/omega metadata; pass --sampler/--steps/--omega) · n=${String(p.n)} · features ${p.featureExtractor}`;
  const tag = p.sampler === 'ddpm' && p.steps === 1000 ? 'A (CBDM paper: 1000-step ancestral DDPM)'
    : p.sampler === 'ddim' && p.steps === 50 && p.omega === 1.5 ? 'B (later work: DDIM 50 steps, ω = 1.5)' : 'custom';
  const grid = `${p.spacing !== undefined ? `, ${String(p.spacing)} spacing` : ''}${p.nfe !== undefined && p.nfe !== p.steps ? `, ${String(p.nfe)} evaluations` : ''}${p.clipX0 === 'clamp' || p.clipX0 === 'clip' ? ', x̂0 clamped' : ''}`;
  return `protocol ${tag}: ${p.sampler} ${p.steps} steps${grid}, ω = ${p.omega}${p.eta !== undefined ? `, η = ${p.eta}` : ''}${p.precision === 'bf16' ? ', bf16 compute' : ''}, n = ${String(p.n)} (${p.nPerClass}/class) · features ${p.featureExtractor}`;
}

// ---- extractors ---------------------------------------------------------------------------------

/**
 * Build the feature extractor: the FID Inception from --inception / CBDM_INCEPTION, or the
 * dataset's own classifier ('domain'): the shapes domain classifier for RGB images, the
 * Fashion-MNIST evaluator for greyscale ones (the only greyscale dataset cbdm knows).
 */
export async function makeExtractor(kind: ExtractorKind, o: { inception?: string; classes?: number; size?: number; channels?: number }): Promise<FeatureExtractor> {
  switch (kind) {
    case 'inception': {
      const path = resolveInceptionWeights(o.inception);
      return inceptionExtractor(loadFidInception(path, useBackend()));
    }
    case 'domain': {
      if (o.channels === 1) {
        if (o.classes !== 10 || (o.size !== 16 && o.size !== 32)) throw new CbdmError(`greyscale images are measured with the Fashion-MNIST evaluator (10 classes at 16 or 32 px), not ${String(o.classes)} classes at ${String(o.size)} px`);
        return fashionExtractor(o.size);
      }
      if ((o.classes !== 10 && o.classes !== 100) || (o.size !== 16 && o.size !== 32)) {
        throw new CbdmError(`the domain extractor exists for the shapes datasets (10 or 100 classes at 16 or 32 px), not ${String(o.classes)} classes at ${String(o.size)} px; use --extractor inception`);
      }
      return domainExtractor(o.classes, o.size);
    }
    default: {
      const never: never = kind;
      throw new CbdmError(`unknown extractor ${String(never)}`);
    }
  }
}

// ---- cbdm eval stats / fid ----------------------------------------------------------------------

/** Options of `cbdm eval stats`. */
export interface StatsCliOptions {
  dataset: string;
  root?: string;
  split?: 'train' | 'test';
  /** Image size of the procedural datasets / folders (the model's size). */
  size?: number;
  out: string;
  extractor: ExtractorKind;
  inception?: string;
  batch: number;
  features: boolean;
  /** Precision of the feature network's convolutions (default fp32, as published). */
  featurePrecision?: FeaturePrecision;
  quiet?: boolean;
}

/** `cbdm eval stats`: reference statistics of a dataset split (train by default). */
export async function runStats(o: StatsCliOptions, extractor?: FeatureExtractor): Promise<{ n: number; d: number; out: string }> {
  // the Inception's weights are checked before a (possibly slow) dataset load; the domain
  // extractor depends on the dataset's classes and size
  let ex = extractor ?? (o.extractor === 'inception' ? await makeExtractor('inception', { inception: o.inception }) : undefined);
  const ds = await loadDataset({ name: o.dataset, root: o.root, split: o.split, ...(o.size !== undefined ? { size: o.size } : {}) });
  ex ??= await makeExtractor(o.extractor, { classes: ds.numClasses, size: ds.size, channels: ds.channels });
  const fp = o.featurePrecision ?? 'fp32';
  ex = atPrecision(ex, fp);
  const n = ds.labels.length;
  const fs = extractFeatures(ex, ds.images, n, ds.size, { batchSize: o.batch, label: `stats ${ds.name}`, channels: ds.channels, ...(o.quiet ? { progress: false } : {}) });
  const st = featureStats(fs.features, n, fs.dim);
  const meta = { dataset: ds.name, split: o.split ?? 'train', extractor: ex.name, featurePrecision: fp, classNames: ds.classNames, counts: ds.counts, size: ds.size, channels: ds.channels };
  writeStats(o.out, st, o.features ? { features: fs.features, labels: ds.labels, meta } : { meta });
  return { n, d: fs.dim, out: o.out };
}

/** FID between two stats files, with the regularisation note pytorch-fid prints. */
export function fidOfFiles(a: string, b: string): FrechetResult & { notes: string[] } {
  const s1 = readStats(a);
  const s2 = readStats(b);
  if (s1.d !== s2.d) throw new CbdmError(`${a} has ${s1.d}-d statistics but ${b} has ${s2.d}-d: they come from different feature networks`);
  const r = frechetDistance(s1.mu, s1.sigma, s2.mu, s2.sigma, s1.d);
  return { ...r, notes: fidNotes(r, [s1.n, s2.n], [a, b]) };
}

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

// ---- cbdm eval --samples --ref --------------------------------------------------------------------

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

function countsFromMeta(ref: RefStats): { counts: number[]; classNames: string[] } {
  const c = ref.meta.counts;
  if (Array.isArray(c) && c.every((v) => Number.isInteger(v))) {
    const names = Array.isArray(ref.meta.classNames) ? (ref.meta.classNames as string[]) : c.map((_, i) => `class ${i}`);
    return { counts: c as number[], classNames: names };
  }
  throw new CbdmError(`per-class groups need the training counts: pass --counts counts.json or --run RUN_DIR (${ref.path} does not record them)`);
}

/** Options of `cbdm eval --samples`. */
export interface EvalCliOptions {
  samples: string;
  ref: string;
  perClass?: boolean;
  counts?: string;
  run?: string;
  json?: boolean;
  extractor: ExtractorKind;
  inception?: string;
  batch: number;
  sampler?: 'ddpm' | 'ddim';
  steps?: number;
  omega?: number;
  /** k of precision/recall (default 5). */
  k?: number;
  /** KID subsets (default 100; 0 skips KID). */
  kidSubsets?: number;
  /** IS splits (default 10). */
  isSplits?: number;
  /** Where KID / precision-recall products run (default backend). */
  metricsGemm?: MetricsGemm;
  /** Precision of the feature network's convolutions (default fp32, as published). */
  featurePrecision?: FeaturePrecision;
  quiet?: boolean;
}

/** `cbdm eval --samples --ref`: extract features of the samples and compute every metric. */
export async function runEval(o: EvalCliOptions, extractor?: FeatureExtractor): Promise<EvalReport> {
  const ref = readStats(o.ref);
  const counts = readCounts(o) ?? (o.perClass || Array.isArray(ref.meta.counts) ? countsFromMeta(ref) : null);
  const samples = openSamples(o.samples, counts?.counts.length);
  const numClasses = counts?.counts.length ?? Math.max(0, ...samples.labels) + 1;
  const override = { ...(o.sampler ? { sampler: o.sampler } : {}), ...(o.steps !== undefined ? { steps: o.steps } : {}), ...(o.omega !== undefined ? { omega: o.omega } : {}) };
  if (o.run && protocolOf(samples, '', override).known === false) {
    throw new CbdmError(`${o.samples} does not say how it was sampled, and eval.json must record the protocol: pass --sampler, --steps and --omega`);
  }
  const fp = o.featurePrecision ?? 'fp32';
  const ex = atPrecision(extractor ?? await makeExtractor(o.extractor, { inception: o.inception, classes: numClasses, size: samples.size, channels: samples.channels }), fp);
  if (typeof ref.meta.extractor === 'string' && ref.meta.extractor !== ex.name) {
    throw new CbdmError(`${o.ref} was made with the '${ref.meta.extractor}' features but the samples are measured with '${ex.name}': use the same --extractor for both`);
  }
  const protocol = protocolOf(samples, fp === 'bf16' ? `${ex.name} (bf16 compute)` : ex.name, override);
  if (fp === 'bf16') protocol.featurePrecision = 'bf16';
  // pytorch-fid's files and ours before the option existed have no featurePrecision: fp32
  const refFp = ref.meta.featurePrecision === 'bf16' ? 'bf16' : 'fp32';
  const fs = samples.extract(ex, { batchSize: o.batch, label: 'eval', channels: samples.channels, ...(o.quiet ? { progress: false } : {}) });
  const ctx: EvalContext = {
    d: fs.dim, logitsDim: fs.logitsDim, numClasses,
    inception: ex.logitsKind === 'imagenet',
    classifier: ex.logitsKind === 'classes' || (ex.logitsKind === undefined && fs.logitsDim === numClasses),
  };
  const report = evaluateFeatures({ features: fs.features, logits: fs.logits, labels: samples.labels, n: samples.n }, ref, ctx, { perClass: o.perClass === true, k: o.k ?? 5, kidSubsets: o.kidSubsets ?? 100, isSplits: o.isSplits ?? 10, gemm: o.metricsGemm ?? 'backend', counts, protocol });
  if (refFp !== fp) report.notes.push(`${o.ref} holds ${refFp} features but the samples' were computed in ${fp}: the FID mixes precisions (see bench/RESULTS.md for how much that moves it); make both with the same --feature-precision`);
  if (fs.quantized) report.notes.push(`the ${ex.name} extractor takes uint8 images: float samples were rounded to uint8 first`);
  if (o.run) writeEvalJson(o.run, stripNotes(report));
  return report;
}

/** Samples to evaluate: one .npz, or a sharded `cbdm sample` directory whose shards are read one at a time. */
type SampleSet = Omit<Samples, 'images'> & { extract(ex: FeatureExtractor, opts: Parameters<typeof extractFeatures>[4]): FeatureSet };

function openSamples(path: string, numClasses: number | undefined): SampleSet {
  if (!isShardDir(path)) {
    const s = readSamples(path, numClasses);
    return { ...s, extract: (ex, opts) => extractFeatures(ex, s.images, s.n, s.size, opts) };
  }
  const m = readShardManifest(path);
  const have = finishedShards(path, m);
  if (have.length < m.shards) throw new CbdmError(`${path}: ${have.length} of ${m.shards} shards are written; finish the run first (run the same cbdm sample command again)`);
  // Pass 1: labels and sizes (the extractor and the per-class counts need them before features).
  const labels = new Int32Array(m.n);
  let size = 0;
  let channels = 3;
  for (let k = 0; k < m.shards; k++) {
    const s = readSamples(shardPath(path, k), numClasses);
    if (k === 0) {
      size = s.size;
      channels = s.channels;
    } else if (s.size !== size || s.channels !== channels) throw new CbdmError(`${shardPath(path, k)}: ${s.channels}×${s.size}×${s.size} images, shard 0 has ${channels}×${size}×${size}`);
    labels.set(s.labels, k * m.shardSize);
  }
  return {
    path, n: m.n, size, channels, labels, meta: m.protocol as unknown as Record<string, unknown>,
    // Pass 2: features shard by shard; only one shard's images are in memory at a time.
    extract(ex, opts) {
      const parts: FeatureSet[] = [];
      for (let k = 0; k < m.shards; k++) {
        const s = readSamples(shardPath(path, k), numClasses);
        parts.push(extractFeatures(ex, s.images, s.n, s.size, { ...opts, label: `${opts?.label ?? 'eval'} shard ${k + 1}/${m.shards}` }));
      }
      const features = new Float32Array(m.n * ex.dim);
      const logitsDim = parts[0]!.logitsDim;
      const logits = parts[0]!.logits ? new Float32Array(m.n * logitsDim) : null;
      let off = 0;
      for (const p of parts) {
        features.set(p.features, off * ex.dim);
        if (logits && p.logits) logits.set(p.logits, off * logitsDim);
        off += p.n;
      }
      const seconds = parts.reduce((t, p) => t + p.n / p.imagesPerSecond, 0);
      return { extractor: ex.name, n: m.n, dim: ex.dim, features, logits, logitsDim, quantized: parts.some((p) => p.quantized), imagesPerSecond: m.n / seconds };
    },
  };
}

function stripNotes(r: EvalReport): EvalResult {
  const { notes: _n, ...rest } = r;
  return rest;
}

const fmt = (v: number | string | null | undefined, digits = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : v === undefined || v === null ? '—' : String(v));

/** The human-readable report: protocol line, overall, groups and (optionally) per-class tables. */
export function formatReport(r: EvalReport): string {
  const keys = [...new Set([r.overall, ...Object.values(r.groups), ...r.perClass].flatMap((m) => Object.keys(m).filter((k) => !['class', 'name', 'count', 'group'].includes(k))))];
  const row = (label: string, m: Record<string, unknown>) => `${label.padEnd(22)}${keys.map((k) => fmt(m[k] as number | null, k === 'fid' || k === 'is' ? 2 : 4).padStart(12)).join('')}`;
  // FID/KID in the shapes classifier's features are domain-FID/KID, not comparable to Inception FIDs
  const domain = isDomainFeatures(r.protocol.featureExtractor);
  const head = (k: string) => (domain && (k === 'fid' || k === 'kid') ? `domain-${k.toUpperCase()}` : k.toUpperCase());
  const lines = [describeProtocol(r.protocol), '', `${''.padEnd(22)}${keys.map((k) => head(k).padStart(12)).join('')}`, row('overall', r.overall)];
  if (r.perClass.length) {
    for (const g of CLASS_GROUPS) {
      const n = r.perClass.filter((c) => c.group === g).length;
      if (n) lines.push(row(`${g} (${n} classes)`, r.groups[g]));
    }
    lines.push('', 'class        group  train');
    for (const c of r.perClass) lines.push(row(`${`${c.class} ${c.name}`.slice(0, 12).padEnd(13)}${c.group.padEnd(6)}${String(c.count).padStart(3)}`, c));
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

const extractorOption = () => new Option('--extractor <kind>', 'feature network: inception (FID Inception-v3; greyscale images repeated to RGB) or domain (the dataset\'s own classifier: shapes, or the Fashion-MNIST evaluator for greyscale images)').choices(['inception', 'domain']).default('inception');
const featurePrecisionOption = () => new Option('--feature-precision <p>', 'precision of the feature network\'s convolutions: fp32 (the published protocol) or bf16 (AVX512-BF16 CPUs: ≈ 1.45× faster Inception; FID moves by the amount in bench/RESULTS.md — use the same for the reference stats)').choices(['fp32', 'bf16']).default('fp32');
const inceptionOption = () => new Option('--inception <file>', 'FID Inception weights pt_inception-2015-12-05-6726825d.pth (default: $CBDM_INCEPTION, else that file in $CBDM_CACHE or ~/.cache/cbdm/)');

/**
 * A subcommand's options with the values its parent `eval` parsed from the command line: the
 * parent has the same flags (--extractor, --batch, --json, …) and, without positional options on
 * the root program, commander hands flags after `eval stats` to the parent.
 */
function subcommandOpts<T>(cmd: Command): T {
  const local = { ...cmd.opts() };
  const parent = cmd.parent;
  if (parent) for (const [k, v] of Object.entries(parent.opts())) if (parent.getOptionValueSource(k) === 'cli') local[k] = v;
  return local as T;
}

export function register(program: Command): void {
  const ev = program.command('eval')
    .description('FID / IS / KID / precision / recall of samples against reference statistics, overall, per class and per Many/Medium/Few group')
    .option('--samples <file>', 'samples .npz: x N×3×H×W (or N×1×H×W greyscale) float32 in [0, 1] (or uint8), y N labels, optional meta')
    .option('--ref <file>', 'reference statistics .npz from `cbdm eval stats` (or pytorch-fid\'s mu/sigma)')
    .option('--per-class', 'also report every class and the Many/Medium/Few groups (needs ref features)')
    .option('--counts <file>', 'per-class training counts (JSON array or {counts, classNames}) for the groups')
    .option('--run <dir>', 'run directory: counts from its data.json, results written to its eval.json')
    .option('--json', 'print machine-readable JSON')
    .addOption(extractorOption())
    .addOption(inceptionOption())
    .option('--batch <n>', 'images per forward pass', int, 50)
    .addOption(new Option('--sampler <name>', 'protocol: sampler used (overrides the samples metadata)').choices([...SAMPLER_NAMES]))
    .option('--steps <n>', 'protocol: sampling steps (overrides the samples metadata)', int)
    .option('--omega <w>', 'protocol: guidance scale ω (overrides the samples metadata)', num)
    .option('--k <n>', 'neighbourhood size of precision/recall (5 as CBDM; 3 in the original paper)', int, 5)
    .addOption(featurePrecisionOption())
    .option('--kid-subsets <n>', 'KID subsets of 1000 (0 skips KID, which is slow on big sets)', (v: string) => (v === '0' ? 0 : int(v)), 100)
    .option('--is-splits <n>', 'Inception Score splits', int, 10)
    .addOption(new Option('--metrics-gemm <where>', 'KID and precision/recall products: on the compute backend (float32, fast) or in float64 TypeScript').choices(['backend', 'js']).default('backend'))
    .option('--quiet', 'no progress bar')
    .action(async (o: EvalCliOptions) => {
      if (!o.samples || !o.ref) throw new CbdmError('cbdm eval needs --samples FILE and --ref FILE (or a subcommand: stats, fid); see cbdm eval --help');
      const r = await runEval(o);
      console.log(o.json ? JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) : formatReport(r));
    });
  ev.command('stats')
    .description('reference statistics (mu, sigma float64; features and labels for P&R / per-class) of a dataset split')
    .requiredOption('--dataset <name>', 'dataset name (shapes10-lt, cifar100-lt, …, folder:PATH)')
    .option('--root <dir>', 'dataset download folder (CIFAR; Fashion-MNIST default /usr/share/datasets/fashion-mnist)')
    .addOption(new Option('--split <split>', 'dataset split').choices(['train', 'test']).default('train'))
    .addOption(new Option('--image-size <px>', 'image size for shapes / Fashion-MNIST / folder datasets (the model\'s size; default 32)').argParser(int))
    .addOption(new Option('--size <px>', 'the same as --image-size').argParser(int).hideHelp())
    .requiredOption('--out <file>', 'output .npz')
    .addOption(extractorOption())
    .addOption(inceptionOption())
    .option('--batch <n>', 'images per forward pass', int, 50)
    .option('--no-features', 'store only mu and sigma (no precision/recall, KID or per-class metrics)')
    .addOption(featurePrecisionOption())
    .option('--quiet', 'no progress bar')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await runStats(subcommandOpts<StatsCliOptions>(cmd));
      console.log(`wrote ${r.out}: ${r.n} images, ${r.d}-d features`);
    });
  ev.command('fid')
    .description('FID between two statistics files (like pytorch-fid with two .npz files)')
    .argument('<a>', 'first .npz with mu, sigma')
    .argument('<b>', 'second .npz with mu, sigma')
    .option('--json', 'print machine-readable JSON')
    .action((a: string, b: string, _o: unknown, cmd: Command) => {
      const r = fidOfFiles(a, b);
      if (subcommandOpts<{ json?: boolean }>(cmd).json) console.log(JSON.stringify({ fid: r.fid, regularised: r.regularised, singular: r.singular, notes: r.notes }));
      else {
        console.log(`FID: ${r.fid}`);
        for (const n of r.notes) console.error(`note: ${n}`);
      }
    });
}
