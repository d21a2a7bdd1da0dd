/**
 * Evaluation from files: reference statistics of a dataset (`writeReferenceStats`), FID of two
 * statistics files, and every metric of a samples file or sharded samples folder against a
 * reference (`evaluateSamples`). File formats (statistics: pytorch-fid's mu/sigma .npz plus our
 * features/labels/meta; samples: x, y, meta) are described and read in `features.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../engine/backends.ts';
import { loadDataset } from '../data/registry.ts';
import { CbdmError } from '../util/errors.ts';
import { SAMPLER_NAMES, type SamplerName } from '../diffusion/samplers.ts';
import { finishedShards, isShardDir, readShardManifest, shardPath } from '../diffusion/shards.ts';
import { atPrecision, extractFeatures, inceptionExtractor, readSamples, type FeaturePrecision, readStats, writeStats, type FeatureExtractor, type Samples, type FeatureSet } from './features.ts';
import { loadFidInception, resolveInceptionWeights } from './inception-weights.ts';
import { domainExtractor } from './domain.ts';
import { fashionExtractor } from './fashion-classifier.ts';
import type { EvalProtocol } from './eval-result.ts';
import type { ExtractorKind } from './protocol.ts';
import { featureStats, frechetDistance, type FrechetResult } from './fid.ts';
import { countsFromMeta, evaluateFeatures, fidNotes, type EvalContext, type EvalReport, type MetricsGemm } from './evaluate.ts';

export type { ExtractorKind };

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

/** The sampling protocol behind a samples file (docs/DESIGN.md §1.7: always print it next to the numbers). */
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

/** What `writeReferenceStats` measures and where it writes (the flags of `cbdm eval stats`). */
export interface ReferenceStatsOptions {
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

/** Reference statistics of a dataset split (train by default), written to `o.out` (`cbdm eval stats`). */
export async function writeReferenceStats(o: ReferenceStatsOptions, extractor?: FeatureExtractor): Promise<{ n: number; d: number; out: string }> {
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

/**
 * How features are measured against reference statistics: the options that `cbdm eval --samples`
 * (EvaluateSamplesOptions) and `cbdm eval --run --protocol` (RunEvalOptions, evaluate-run.ts)
 * share, each declared once here.
 */
export interface FeatureMetricOptions {
  /** Reference statistics `.npz` (`cbdm eval stats`). */
  ref: string;
  perClass?: boolean;
  /** FID Inception weights file. */
  inception?: string;
  /** Images per feature-network forward pass. */
  batch: number;
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

/** What `evaluateSamples` measures (the flags of `cbdm eval --samples`). */
export interface EvaluateSamplesOptions extends FeatureMetricOptions {
  samples: string;
  counts?: string;
  run?: string;
  json?: boolean;
  extractor: ExtractorKind;
  sampler?: 'ddpm' | 'ddim';
  steps?: number;
  omega?: number;
}

/**
 * Extract features of the samples and compute every metric against `o.ref` (`cbdm eval --samples`;
 * the caller writes eval.json into a run directory).
 */
export async function evaluateSamples(o: EvaluateSamplesOptions, extractor?: FeatureExtractor): Promise<EvalReport> {
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
