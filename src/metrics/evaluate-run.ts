/**
 * Evaluate a run under a protocol (`cbdm eval --run DIR --protocol NAME|FILE.json --ref STATS`):
 * resolve the run's ω by the protocol's policy (tuning it on training-split statistics when the
 * policy says `tuned`), sample the run's EMA model exactly as the protocol says, measure the
 * samples against the reference statistics, and record the protocol verbatim beside the numbers.
 *
 * Why the tuning criterion is FID against *training-split* statistics (docs/SAMPLING.md): the
 * test split must not choose a setting that is then measured on it, and the training split is what
 * every run saw, so one ω is chosen for every method by the same rule. Few samples per class keep
 * it affordable; its FID is biased upwards at small n, but by about the same amount for every ω
 * of one grid (same n, same features), so the argmin is what matters. The tuning samples use their
 * own seed, disjoint from the evaluation's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../engine/backends.ts';
import { loadRunModel } from '../models/load.ts';
import { generate, type LabelMode } from '../diffusion/generate.ts';
import { scheduleOf } from '../diffusion/schedule.ts';
import { runSchedule } from '../train/config-file.ts';
import { writeClassGrids, writeSamplesNpz } from '../diffusion/samples-file.ts';
import { sampleToShards } from '../diffusion/shards.ts';
import { CbdmError } from '../util/errors.ts';
import { atPrecision, extractFeatures, readStats, type FeatureExtractor, type RefStats } from './features.ts';
import { featureStats, frechetDistance } from './fid.ts';
import { evaluateSamples, makeExtractor, type FeatureMetricOptions } from './evaluate-files.ts';
import type { EvalReport } from './evaluate.ts';
import type { OmegaTuning, ReferenceInfo } from './eval-result.ts';
import { argminOmega, publishedOmega, type ProtocolSpec, type RunOmegaInfo } from './protocol.ts';

/** Above this many samples the evaluation writes them as shards (resumable) instead of one .npz. */
const SHARD_ABOVE = 10000;

/** `cbdm eval --run DIR --protocol P`: the run, its protocol, and the metric options of evaluate-files.ts. */
export interface RunEvalOptions extends FeatureMetricOptions {
  run: string;
  spec: ProtocolSpec;
  /** `built-in NAME` or the protocol file's path. */
  specSource: string;
  /** Training-split statistics for a tuned ω (default: `ref` when it holds the training split). */
  tuneRef?: string;
  /** Images per sampling batch (default 64). */
  sampleBatch?: number;
  /** Progress of the sampling (images done, total) and of each tuning ω. */
  onSample?: (done: number, total: number, what: string) => void;
}

/** What the ω policies need from the run's config.json → train. */
function runOmegaInfo(run: string): RunOmegaInfo {
  const t = (JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { train?: Record<string, unknown> }).train ?? {};
  return {
    method: String(t.method ?? 'unknown'), coral: t.coral === true,
    finetune: typeof t.finetuneFrom === 'string' && t.finetuneFrom !== '',
    omegaEval: typeof t.omegaEval === 'number' ? t.omegaEval : null,
  };
}

/** The reference file's own account of itself, checked against the split the protocol asks for. */
export function referenceInfo(ref: RefStats, file: string, want: 'train' | 'test' | null): ReferenceInfo {
  const split = ref.meta.split === 'train' || ref.meta.split === 'test' ? ref.meta.split : null;
  if (want !== null && split !== want) {
    throw new CbdmError(`${file} holds ${split === null ? 'statistics that do not say which split they come from' : `the ${split} split`}, but the protocol's reference is the ${want} split: make it with cbdm eval stats --split ${want}`);
  }
  return { file, dataset: typeof ref.meta.dataset === 'string' ? ref.meta.dataset : null, split, n: ref.n };
}

function checkExtractor(ref: RefStats, file: string, ex: FeatureExtractor): void {
  if (typeof ref.meta.extractor === 'string' && ref.meta.extractor !== ex.name) {
    throw new CbdmError(`${file} was made with the '${ref.meta.extractor}' features but the protocol measures with '${ex.name}': make the statistics with the same extractor`);
  }
}

/** Sample the run, measure the samples, and return the report with the protocol recorded (the caller writes eval.json). */
export async function evaluateRunUnderProtocol(o: RunEvalOptions, extractor?: FeatureExtractor): Promise<EvalReport> {
  const spec = o.spec;
  const m = loadRunModel(o.run, useBackend());
  const info = runOmegaInfo(o.run);
  const cfg = m.net.config;
  const C = cfg.numClasses;
  if (C === 0) throw new CbdmError(`${o.run}: the model is unconditional; the protocols evaluate class-conditional models`);
  const ref = readStats(o.ref);
  const reference = referenceInfo(ref, o.ref, spec.reference);
  const rawEx = extractor ?? await makeExtractor(spec.extractor, { inception: o.inception, classes: C, size: cfg.imageSize, channels: cfg.channels });
  const ex = atPrecision(rawEx, o.featurePrecision ?? 'fp32');
  checkExtractor(ref, o.ref, ex);
  // The schedule the run trained with (its config.json; older runs: the published one).
  const sched = scheduleOf(runSchedule(o.run, cfg.T));
  const steps = spec.steps === 'all' ? sched.T : spec.steps;
  const batch = o.sampleBatch ?? 64;
  const sampling = { sampler: spec.sampler, steps, spacing: spec.spacing, eta: spec.eta, variance: 'fixedlarge' as const, clip: spec.clip, batch };

  let omega: number;
  let omegaSource: string;
  let omegaTuning: OmegaTuning | undefined;
  const policy = spec.omega;
  switch (policy.kind) {
    case 'fixed': omega = policy.value; omegaSource = 'fixed by the protocol'; break;
    case 'run':
      if (info.omegaEval === null) throw new CbdmError(`${join(o.run, 'config.json')} has no train.omegaEval, which the protocol's ω policy 'run' reads; give the protocol a fixed ω`);
      omega = info.omegaEval; omegaSource = 'the run\'s omegaEval'; break;
    case 'published': ({ omega, source: omegaSource } = publishedOmega(info)); break;
    case 'tuned': {
      const tunePath = o.tuneRef ?? o.ref;
      const tune = tunePath === o.ref ? ref : readStats(tunePath);
      if (tune.meta.split !== 'train') {
        throw new CbdmError(`ω tuning needs training-split statistics (never the test split): ${tunePath} ${tune.meta.split === undefined ? 'does not say its split' : `holds the ${String(tune.meta.split)} split`}; give --tune-ref with cbdm eval stats --split train statistics`);
      }
      checkExtractor(tune, tunePath, ex);
      const values: number[] = [];
      for (const w of policy.grid) {
        const n = policy.nPerClass * C;
        const gen = await generate(m.net, sched, { ...sampling, n, omega: w, labels: { kind: 'balanced' }, seed: policy.seed, onBatch: (d) => o.onSample?.(d, n, `tune ω ${w}`) });
        const fs = extractFeatures(ex, gen.x, n, cfg.imageSize, { batchSize: o.batch, channels: cfg.channels, progress: false });
        const st = featureStats(fs.features, n, fs.dim);
        values.push(frechetDistance(st.mu, st.sigma, tune.mu, tune.sigma, fs.dim).fid);
      }
      omega = argminOmega(policy.grid, values);
      const criterion = `FID in ${ex.name} features of ${policy.nPerClass} balanced samples/class (seed ${policy.seed}) against ${tunePath} (${String(tune.meta.dataset ?? 'dataset not stated')}, train split, ${tune.n} images)`;
      omegaTuning = { grid: policy.grid, criterion, values: values.map((v) => (Number.isFinite(v) ? v : null)), chosen: omega, nPerClass: policy.nPerClass, seed: policy.seed };
      omegaSource = `tuned: lowest of ${policy.grid.length} grid values by FID against train-split statistics`;
      break;
    }
    default: {
      const never: never = policy;
      throw new CbdmError(`unknown ω policy ${JSON.stringify(never)}`);
    }
  }

  const n = spec.perClass * C;
  const labels: LabelMode = spec.labels === 'balanced' ? { kind: 'balanced' } : { kind: 'random' };
  let samples: string;
  if (n > SHARD_ABOVE) {
    samples = join(o.run, 'eval-samples');
    await sampleToShards(samples, m.net, sched, { ...sampling, n, omega, labels, seed: spec.seed, shardSize: 1000, model: o.run, onProgress: (d) => o.onSample?.(d, n, 'sample') });
  } else {
    const gen = await generate(m.net, sched, { ...sampling, n, omega, labels, seed: spec.seed, onBatch: (d) => o.onSample?.(d, n, 'sample') });
    samples = join(o.run, 'samples.npz');
    writeSamplesNpz(samples, gen.x, gen.y, cfg.imageSize, gen.protocol, cfg.channels);
    writeClassGrids(join(o.run, 'samples'), gen.x, gen.y, cfg.imageSize, C, 64, cfg.channels);
  }
  const report = await evaluateSamples({
    samples, ref: o.ref, run: o.run, perClass: o.perClass, extractor: spec.extractor, inception: o.inception, batch: o.batch,
    k: o.k, kidSubsets: o.kidSubsets, isSplits: o.isSplits, metricsGemm: o.metricsGemm, featurePrecision: o.featurePrecision, quiet: o.quiet,
  }, rawEx);
  report.protocol = { ...report.protocol, seed: spec.seed, spec, specSource: o.specSource, omegaSource, ...(omegaTuning ? { omegaTuning } : {}), reference };
  return report;
}
