/**
 * `cbdm classify`: the paper's downstream use (docs/DESIGN.md §1.7) — train a classifier (ResNet-32 by
 * default) on the real long-tailed training set, optionally plus generated samples, and report
 * accuracy on a balanced test set overall and for the Many/Medium/Few groups (groups by the *real*
 * training counts).
 *   test set: shapes → a fresh balanced `sampleShapesBalanced` set at CLASSIFY_TEST_SEED (disjoint
 *             from every training set); CIFAR → the official test split.
 * With --out DIR the run checkpoints into DIR and survives a kill or Ctrl-C; --resume continues
 * it bit for bit and result.json holds the report (src/cli/classify-run.ts).
 *
 * `cbdm domain-train`: train the shapes domain classifier of `src/metrics/domain.ts` and write
 * its weights (how the shipped `assets/domain/*.safetensors` are made).
 */
import { Command, Option } from 'commander';
import type { ImageDataset } from '../data/dataset.ts';
import { loadDataset, parseDatasetName, DATASET_NAMES } from '../data/registry.ts';
import { sampleShapesBalanced } from '../data/shapes.ts';
import { readGeneratedSamples, fillSelection, pickRows, appendSamples } from './generated-samples.ts';
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import { useBackend, currentPrecision } from '../engine/backends.ts';
import {
  buildClassifier, defaultRecipe, trainClassifier, classifierSteps, ClassifierTrainer, CLASSIFIER_ARCHS,
  type ClassifierArch, type ClassifierLog, type ClassifierTrainConfig, type ClassifierTrainResult,
} from '../train/classifier-train.ts';
import { evaluateClassifier, groupAccuracy } from '../train/classifier-eval.ts';
import { saveClassifierCheckpoint, readClassifierCheckpoint, restoreClassifierWeights, trainWithCheckpoints, type ClassifierCheckpoint } from '../train/classifier-checkpoint.ts';
import type { ClassifierNet } from '../models/classifier.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import {
  openClassifyFolder, resolveClassifySettings, resumedSettings, savedClassifySettings, checkpointSteps,
  DEFAULT_CKPT_EVERY_EPOCHS, DEFAULT_TEST_PER_CLASS, type ClassifyRunSettings,
} from './classify-run.ts';
import { stopOnSignals, stopSignalOf } from '../util/signals.ts';
import { trainDomainClassifier, saveDomainWeights, domainMetadata, domainWeightsName, domainCacheDir } from '../metrics/domain.ts';
import { Progress } from '../util/progress.ts';
import { CbdmError, Interrupted } from '../util/errors.ts';
import { flagName } from '../util/setting-names.ts';
import { join } from 'node:path';

/** Seed of the balanced shapes test set of `classify`. */
export const CLASSIFY_TEST_SEED = 8_120_001;

/** Options of `runClassify` (the CLI flags). */
export interface ClassifyOptions {
  /** Training set (required unless `resume`, which takes the run's). */
  dataset?: string;
  root?: string;
  /** .npz of generated samples: `x` (N×C×S×S or N×S×S×C with the dataset's C channels, uint8 or float in [0, 1]) and `y` (N). */
  augmentWith?: string;
  /**
   * Use only as many generated images per class as fill it up to this many training images
   * (real + generated; the first ones of each class in the file, in file order), e.g. the head
   * class's count so that the augmented set is balanced — the paper's downstream protocol.
   * 'head' = the largest real class count. Unset: every generated image is appended.
   */
  fillTo?: number | 'head';
  /** fashion-mnist-lt / shapes: images of the head class (as `cbdm train --max-per-class`). */
  maxPerClass?: number;
  arch?: ClassifierArch;
  epochs?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  imb?: number;
  size?: number;
  /** Shapes: balanced test images per class (default 100). */
  testPerClass?: number;
  backend?: string;
  /** Show a progress bar (default: stderr is a TTY). */
  progress?: boolean;
  /**
   * Folder of the run (src/cli/classify-run.ts): checkpoint.safetensors every `ckptEvery` epochs,
   * when stopped and at the end; result.json (the report) at the end. Unset: nothing is written.
   */
  out?: string;
  /** Continue the run in `out` from its checkpoint, bit for bit; settings given must be the run's. */
  resume?: boolean;
  /** Checkpoint interval in epochs (fractions allowed; default 1). Needs `out`. */
  ckptEvery?: number;
  /** With `out`: stops the run after the step in progress; its checkpoint is written and runClassify rejects with Interrupted. */
  signal?: AbortSignal;
  /** With `out`: stop like `signal` after this many steps of this call (tests: interrupt and resume). */
  stopAfter?: number;
  /** Notes and warnings, one line each (default: none). */
  log?: (line: string) => void;
}

/** What `classify --json` prints. Accuracies of empty groups / absent test classes are NaN (null in JSON). */
export interface ClassifyReport {
  dataset: string;
  arch: ClassifierArch;
  backend: string;
  train: { real: number; generated: number; steps: number; epochs: number; seconds: number; batch: number; lr: number; seed: number };
  test: { name: string; images: number };
  accuracy: { overall: number; balanced: number } & Record<ClassGroup, number>;
  perClass: number[];
  /** Real training images per class (the group split is by these). */
  trainCounts: number[];
  generatedCounts: number[];
  groups: Record<ClassGroup, number[]>;
}

async function testSet(o: ClassifyOptions & { dataset: string }, train: ImageDataset): Promise<ImageDataset> {
  const kind = parseDatasetName(o.dataset);
  switch (kind.kind) {
    case 'shapes':
      return sampleShapesBalanced({ classes: kind.classes, size: train.size as 16 | 32, perClass: o.testPerClass ?? DEFAULT_TEST_PER_CLASS, seed: CLASSIFY_TEST_SEED });
    case 'cifar':
      return loadDataset({ name: kind.variant, root: o.root, split: 'test' });
    case 'fashion-mnist':
      return loadDataset({ name: 'fashion-mnist', root: o.root, split: 'test', size: train.size });
    case 'folder':
      throw new CbdmError(`${o.dataset} has no balanced test split; classify supports shapes10/100-lt, CIFAR and Fashion-MNIST datasets`);
  }
}

/** What training needs: the data, the recipe and the (materialized) network. */
interface ClassifyJob {
  backendName: string;
  arch: ClassifierArch;
  real: ImageDataset;
  train: ImageDataset;
  test: ImageDataset;
  generated: number[];
  cfg: ClassifierTrainConfig;
  net: ClassifierNet;
}

/** Load the data, resolve the recipe, build and initialise the network. */
async function prepareClassify(o: ClassifyOptions & { dataset: string }): Promise<ClassifyJob> {
  const backend = useBackend(o.backend);
  const arch = o.arch ?? 'resnet32';
  if (o.fillTo !== undefined && o.augmentWith === undefined) throw new CbdmError('--fill-to selects generated images: give them with --augment-with <npz>');
  const real = await loadDataset({ name: o.dataset, root: o.root, imb: o.imb, nMax: o.maxPerClass, size: o.size, seed: 0 });
  const test = await testSet(o, real);
  let train = real;
  let generated = new Array<number>(real.numClasses).fill(0);
  if (o.augmentWith !== undefined) {
    let g = readGeneratedSamples(o.augmentWith, real.size, real.numClasses, real.channels);
    if (o.fillTo !== undefined) {
      const target = o.fillTo === 'head' ? Math.max(...real.counts) : o.fillTo;
      g = pickRows(g.images, g.labels, fillSelection(real.counts, g.labels, target, o.augmentWith), real.channels * real.size * real.size);
    }
    train = appendSamples(real, g.images, g.labels);
    generated = train.counts.map((c, i) => c - real.counts[i]!);
  }
  const cfg = defaultRecipe(arch);
  if (o.epochs !== undefined) cfg.epochs = o.epochs;
  if (o.steps !== undefined) cfg.steps = o.steps;
  if (o.batch !== undefined) cfg.batchSize = o.batch;
  if (o.lr !== undefined) cfg.lr = o.lr;
  if (o.seed !== undefined) cfg.seed = o.seed;
  const net = buildClassifier(arch, real.numClasses, real.size, real.channels, flagName);
  net.store.materialize(backend, cfg.seed);
  return { backendName: backend.name, arch, real, train, test, generated, cfg, net };
}

/** Evaluate the trained network on the test set and assemble the report. */
function classifyReport(job: ClassifyJob, r: ClassifierTrainResult, perEpoch: number): ClassifyReport {
  const { real, train, test, cfg, net, arch } = job;
  const acc = evaluateClassifier(net, test);
  return {
    dataset: real.name,
    arch,
    backend: job.backendName,
    train: { real: real.labels.length, generated: train.labels.length - real.labels.length, steps: r.steps, epochs: r.steps / perEpoch, seconds: r.seconds, batch: cfg.batchSize, lr: cfg.lr, seed: cfg.seed },
    test: { name: test.name, images: test.labels.length },
    accuracy: { overall: acc.overall, balanced: acc.balanced, ...groupAccuracy(acc.perClass, real.counts) },
    perClass: acc.perClass,
    trainCounts: real.counts.slice(),
    generatedCounts: job.generated,
    groups: groupClasses(real.counts),
  };
}

/** The progress bar's logger for a run of `total` steps from step `start`. */
function progressBar(arch: ClassifierArch, total: number, start: number, enabled: boolean | undefined): { bar: Progress; onLog: (l: ClassifierLog) => void } {
  const bar = new Progress(total, { label: `classify ${arch}`, unit: 'step', enabled, start });
  return { bar, onLog: (l) => bar.update(l.step, { loss: l.loss.toFixed(3), 'img/s': l.imgPerS.toFixed(0) }) };
}

/**
 * Train and evaluate; returns the report (the CLI prints it). With `out`, the run checkpoints into
 * that folder and `resume` continues it (runInFolder).
 */
export async function runClassify(o: ClassifyOptions): Promise<ClassifyReport> {
  if (o.out !== undefined) return runInFolder(o, o.out);
  if (o.resume) throw new CbdmError('--resume needs --out <dir>, the folder of the classify run to continue');
  if (o.ckptEvery !== undefined) throw new CbdmError('--ckpt-every needs --out <dir>, the folder the checkpoints go to');
  if (o.dataset === undefined) throw new CbdmError('--dataset <name> is required');
  const job = await prepareClassify({ ...o, dataset: o.dataset });
  const { perEpoch, total } = classifierSteps(job.cfg, job.train.labels.length);
  const { bar, onLog } = progressBar(job.arch, total, 0, o.progress);
  const r = trainClassifier(job.net, job.train, job.cfg, { logEvery: LOG_EVERY, onLog });
  bar.stop();
  return classifyReport(job, r, perEpoch);
}

/** Steps between progress updates (and loss windows). */
const LOG_EVERY = 10;

/** The options a run's settings stand for, with the caller's backend and progress. */
function optionsOf(s: ClassifyRunSettings, o: ClassifyOptions): ClassifyOptions & { dataset: string } {
  return {
    dataset: s.dataset, root: s.root ?? undefined, augmentWith: s.augmentWith ?? undefined, fillTo: s.fillTo ?? undefined,
    maxPerClass: s.maxPerClass ?? undefined, imb: s.imb, size: s.size, testPerClass: s.testPerClass, arch: s.arch,
    epochs: s.epochs, steps: s.steps ?? undefined, batch: s.batch, lr: s.lr, seed: s.seed, backend: o.backend, progress: o.progress,
  };
}

/** runClassify with a run folder: checkpoints, stop on `signal`, --resume, result.json. */
async function runInFolder(o: ClassifyOptions, dir: string): Promise<ClassifyReport> {
  const log = o.log ?? (() => {});
  const every = o.ckptEvery ?? DEFAULT_CKPT_EVERY_EPOCHS;
  if (!(Number.isFinite(every) && every > 0)) throw new CbdmError(`--ckpt-every must be a positive number of epochs, got ${every}`);
  const folder = openClassifyFolder(dir, o.resume === true, log);
  try {
    let ck: ClassifierCheckpoint | null = null;
    let settings: ClassifyRunSettings;
    let job: ClassifyJob;
    if (o.resume) {
      ck = readClassifierCheckpoint(folder.checkpoint);
      settings = resumedSettings(savedClassifySettings(ck.settings, folder.checkpoint), o, folder.checkpoint);
      job = await prepareClassify(optionsOf(settings, o));
      restoreClassifierWeights(ck, job.net.store, folder.checkpoint);
    } else {
      if (o.dataset === undefined) throw new CbdmError('--dataset <name> is required');
      job = await prepareClassify({ ...o, dataset: o.dataset });
      settings = resolveClassifySettings(o, job.real.size);
    }
    const provenance = { backend: job.backendName, precision: currentPrecision() };
    for (const [k, v] of Object.entries(provenance)) {
      const was = ck?.provenance[k];
      if (was !== undefined && was !== v) log(`cbdm: warning: ${dir} was trained with ${k} ${String(was)} and continues with ${v}; the resumed run is not the bit-exact continuation`);
    }
    const { total } = classifierSteps(job.cfg, job.train.labels.length);
    if (ck) log(`cbdm: resuming ${dir} at step ${ck.state.step} of ${total}`);
    const { bar, onLog } = progressBar(job.arch, total, ck?.state.step ?? 0, o.progress);
    const trainer = new ClassifierTrainer(job.net, job.train, job.cfg, { logEvery: LOG_EVERY, onLog, resumeFrom: ck?.state });
    let run;
    try {
      run = await trainWithCheckpoints(trainer, {
        every: checkpointSteps(every, trainer.perEpoch), signal: o.signal, stopAfter: o.stopAfter,
        save: () => saveClassifierCheckpoint(folder.checkpoint, trainer, settings, provenance),
      });
    } finally {
      bar.stop();
      trainer.dispose();
    }
    if (run.interrupted) throw new Interrupted(stopSignalOf(o.signal), `interrupted at step ${trainer.step} of ${trainer.total}; checkpoint written. Continue with: cbdm classify --resume --out ${dir}`);
    const report = classifyReport(job, trainer.result(), trainer.perEpoch);
    writeFileAtomic(folder.result, JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    folder.close();
  }
}

const pct = (v: number) => (Number.isNaN(v) ? '   –  ' : `${(100 * v).toFixed(2).padStart(6)}%`);

/** Human-readable summary of a report. */
export function formatClassify(r: ClassifyReport): string {
  const lines = [
    `${r.arch} on ${r.dataset} (${r.train.real} real${r.train.generated ? ` + ${r.train.generated} generated` : ''} images, ${r.train.steps} steps ≈ ${r.train.epochs.toFixed(r.train.epochs < 10 ? 2 : 1)} epochs, ${r.train.seconds.toFixed(1)} s on ${r.backend})`,
    `test: ${r.test.name}, ${r.test.images} images`,
    `  overall ${pct(r.accuracy.overall)}   balanced ${pct(r.accuracy.balanced)}`,
  ];
  for (const g of CLASS_GROUPS) lines.push(`  ${g.padEnd(7)} ${pct(r.accuracy[g])}  (${r.groups[g].length} classes)`);
  return lines.join('\n');
}

function parseNumber(what: string, integer: boolean) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new CbdmError(`--${what} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    return x;
  };
}

/** Register `cbdm classify` and `cbdm domain-train`. */
export function register(program: Command): void {
  program.command('classify')
    .description('downstream recognition: train a classifier on the real long-tailed set (+ generated samples) and report balanced test accuracy, overall and Many/Medium/Few')
    .option('--dataset <name>', `training set: ${DATASET_NAMES.join(', ')} (required, except with --resume)`)
    .option('--root <dir>', 'CIFAR: folder or .tar.gz of the download; Fashion-MNIST: folder of the IDX .gz files (default /usr/share/datasets/fashion-mnist)')
    .option('--augment-with <npz>', '.npz of generated samples appended to the training set: x (N×C×S×S or N×S×S×C with the dataset\'s C channels, uint8 or [0,1] float), y (labels)')
    .option('--fill-to <n|head>', 'append only enough generated images (the first of each class in the file) to bring every class to n training images; head = the largest real class', (v: string) => {
      if (v === 'head') return 'head';
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new CbdmError(`--fill-to must be a positive integer or 'head', got "${v}"`);
      return n;
    })
    .option('--max-per-class <n>', 'fashion-mnist-lt / shapes: images of the head class, as in `cbdm train` (default 500 for fashion-mnist-lt)', parseNumber('max-per-class', true))
    .addOption(new Option('--arch <arch>', 'classifier').choices([...CLASSIFIER_ARCHS]).default('resnet32'))
    .option('--epochs <n>', 'training epochs (default: resnet32 200 as LDAM-DRW, small 3)', parseNumber('epochs', false))
    .option('--steps <n>', 'exact optimiser steps (overrides --epochs)', parseNumber('steps', true))
    .option('--batch <n>', 'batch size (default: resnet32 128, small 64)', parseNumber('batch', true))
    .option('--lr <f>', 'peak learning rate (default: resnet32 0.1 SGD, small 2e-3 Adam)', parseNumber('lr', false))
    .option('--seed <n>', 'seed of initialisation, shuffling and augmentation', parseNumber('seed', true))
    .option('--imb <f>', 'imbalance factor of *-lt datasets (default 0.01)', parseNumber('imb', false))
    .addOption(new Option('--image-size <px>', 'shapes / Fashion-MNIST: image size 16 or 32 (default 32)').argParser(parseNumber('image-size', true)))
    .addOption(new Option('--size <px>', 'the same as --image-size').argParser(parseNumber('size', true)).hideHelp())
    .option('--test-per-class <n>', 'shapes: balanced test images per class', parseNumber('test-per-class', true), DEFAULT_TEST_PER_CLASS)
    .option('--backend <name>', 'compute backend: js, cpu, cuda (default: $CBDM_BACKEND, else cpu if built, else js)')
    .option('--out <dir>', 'folder of the run: checkpoint.safetensors (every --ckpt-every epochs, on Ctrl-C / SIGTERM and at the end) and result.json (the report, at the end); without it nothing is written')
    .option('--resume', 'continue the run in --out exactly from its checkpoint; setting flags left out take the run\'s values, flags given must equal them')
    .option('--ckpt-every <epochs>', `with --out: checkpoint interval in epochs, fractions allowed (default ${DEFAULT_CKPT_EVERY_EPOCHS})`, parseNumber('ckpt-every', false))
    .option('--json', 'print the report as JSON', false)
    .action(async (o: ClassifyOptions & { json: boolean }, cmd: Command) => {
      // Commander's defaults are not given settings: with --resume they would contradict the run's.
      for (const k of ['arch', 'testPerClass'] as const) if (cmd.getOptionValueSource(k) === 'default') delete o[k];
      const stop = o.out !== undefined
        ? stopOnSignals((sig) => `cbdm: ${sig}: stopping after this step, writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)`)
        : null;
      let r: ClassifyReport;
      try {
        r = await runClassify({ ...o, progress: o.json ? false : undefined, signal: stop?.signal, log: (line) => console.error(line) });
      } finally {
        stop?.dispose();
      }
      console.log(o.json ? JSON.stringify(r) : formatClassify(r));
    });

  program.command('domain-train')
    .description('train the shapes domain classifier (features and per-sample class checks for eval) and write its weights')
    .addOption(new Option('--classes <n>', 'shapes classes').choices(['10', '100']).default('10'))
    .addOption(new Option('--image-size <px>', 'image size').choices(['16', '32']))
    .addOption(new Option('--size <px>', 'the same as --image-size').choices(['16', '32']).default('16').hideHelp())
    .option('--out <file>', 'weights file (default: the cache, .cache/cbdm/domain/shapes<C>-<S>.safetensors)')
    .option('--backend <name>', 'compute backend: js, cpu, cuda')
    .option('--json', 'print the result as JSON', false)
    .action((o: { classes: string; size: string; out?: string; backend?: string; json: boolean }) => {
      useBackend(o.backend);
      const classes = Number(o.classes) as 10 | 100;
      const size = Number(o.size) as 16 | 32;
      const out = o.out ?? join(domainCacheDir(), domainWeightsName(classes, size));
      let bar: Progress | null = null;
      const t = trainDomainClassifier(classes, size, {
        onLog: (l) => {
          bar ??= new Progress(l.steps, { label: `domain shapes${classes}-${size}`, unit: 'step', enabled: o.json ? false : undefined });
          bar.update(l.step, { loss: l.loss.toFixed(3), 'img/s': l.imgPerS.toFixed(0) });
        },
      });
      (bar as Progress | null)?.stop();
      const meta = domainMetadata(t);
      saveDomainWeights(out, t.net, meta);
      const res = { out, classes, size, heldOutAccuracy: t.report.overall, minClassAccuracy: Math.min(...t.report.perClass), steps: t.steps, seconds: t.seconds, params: t.net.store.numel };
      console.log(o.json ? JSON.stringify(res) : `wrote ${out}: held-out accuracy ${(100 * res.heldOutAccuracy).toFixed(2)}% (worst class ${(100 * res.minClassAccuracy).toFixed(1)}%), ${res.steps} steps in ${res.seconds.toFixed(1)} s`);
    });
}
