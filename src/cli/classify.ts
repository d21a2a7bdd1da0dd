/**
 * `cbdm classify`: the paper's downstream use (docs/DESIGN.md §1.7) — train a classifier (ResNet-32 by
 * default) on the real long-tailed training set, optionally plus generated samples, and report
 * accuracy on a balanced test set overall and for the Many/Medium/Few groups (groups by the *real*
 * training counts).
 *   test set: shapes → a fresh balanced `sampleShapesBalanced` set at CLASSIFY_TEST_SEED (disjoint
 *             from every training set); CIFAR → the official test split.
 *
 * `cbdm domain-train`: train the shapes domain classifier of `src/metrics/domain.ts` and write
 * its weights (how the shipped `assets/domain/*.safetensors` are made).
 */
import { Command, Option } from 'commander';
import type { ImageDataset } from '../data/dataset.ts';
import { loadDataset, parseDatasetName, DATASET_NAMES } from '../data/registry.ts';
import { sampleShapesBalanced } from '../data/shapes.ts';
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import { useBackend } from '../engine/backends.ts';
import { readNpz, npzGet } from '../io/npz.ts';
import { toFloat64 } from '../io/ndarray.ts';
import {
  buildClassifier, defaultRecipe, trainClassifier, evaluateClassifier, groupAccuracy, CLASSIFIER_ARCHS,
  type ClassifierArch, type ClassifierLog,
} from '../train/classifier-train.ts';
import { trainDomainClassifier, saveDomainWeights, domainMetadata, domainWeightsName, domainCacheDir } from '../metrics/domain.ts';
import { Progress } from '../util/progress.ts';
import { CbdmError } from '../util/errors.ts';
import { flagName } from '../util/setting-names.ts';
import { join } from 'node:path';

/** Seed of the balanced shapes test set of `classify`. */
export const CLASSIFY_TEST_SEED = 8_120_001;

/** Options of `runClassify` (the CLI flags). */
export interface ClassifyOptions {
  dataset: string;
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

/** Generated samples from an .npz as uint8 NCHW images of C×`size`×`size` (C = `channels`, default 3) and labels in [0, K). */
export function readGeneratedSamples(path: string, size: number, numClasses: number, channels = 3): { images: Uint8Array; labels: Int32Array } {
  const npz = readNpz(path);
  const x = npzGet(npz, 'x', path);
  const y = npzGet(npz, 'y', path);
  const C = channels;
  if (x.shape.length !== 4) throw new CbdmError(`${path}: 'x' must be N×${C}×S×S or N×S×S×${C}, got [${x.shape.join(', ')}]`);
  const [N, a, b, c] = x.shape as [number, number, number, number];
  const nchw = a === C && b === size && c === size;
  const nhwc = a === size && b === size && c === C;
  if (!nchw && !nhwc) throw new CbdmError(`${path}: 'x' has shape [${x.shape.join(', ')}] but the dataset has ${C}×${size}×${size} images (N×${C}×S×S or N×S×S×${C})`);
  if (y.shape.length !== 1 || y.shape[0] !== N) throw new CbdmError(`${path}: 'y' must hold one label per image (${N}), got shape [${y.shape.join(', ')}]`);
  const vals = toFloat64(x);
  const isByte = x.dtype === 'uint8';
  const images = new Uint8Array(N * C * size * size);
  const plane = size * size;
  for (let n = 0; n < N; n++) {
    for (let ch = 0; ch < C; ch++) {
      for (let p = 0; p < plane; p++) {
        const v = vals[nchw ? (n * C + ch) * plane + p : (n * plane + p) * C + ch]!;
        if (!isByte && !(v >= -1e-6 && v <= 1 + 1e-6)) throw new CbdmError(`${path}: float 'x' must lie in [0, 1] (got ${v}); scale samples from [−1, 1] with (x + 1) / 2`);
        images[(n * C + ch) * plane + p] = isByte ? v : Math.min(255, Math.max(0, Math.round(v * 255)));
      }
    }
  }
  const labels = Int32Array.from(toFloat64(y), (v) => {
    if (!(Number.isInteger(v) && v >= 0 && v < numClasses)) throw new CbdmError(`${path}: label ${v} is not a class index in [0, ${numClasses})`);
    return v;
  });
  return { images, labels };
}

/**
 * The generated images to append so that every class reaches `target` training images: per class,
 * the first `target − realCount` of its generated images in file order; a class with too few
 * generated images is an error naming the file (sample more, or lower --fill-to).
 */
export function fillSelection(realCounts: readonly number[], labels: Int32Array, target: number, path: string): number[] {
  const need = realCounts.map((n) => Math.max(0, target - n));
  const have = new Array<number>(realCounts.length).fill(0);
  for (const c of labels) have[c]!++;
  const short = need.map((n, c) => [c, n, have[c]!] as const).filter(([, n, h]) => h < n);
  if (short.length > 0) {
    const [c, n, h] = short[0]!;
    throw new CbdmError(`${path}: --fill-to ${target} needs ${n} generated images of class ${c}, the file has ${h}; sample more or lower --fill-to`);
  }
  const take: number[] = [];
  const taken = new Array<number>(realCounts.length).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (taken[c]! < need[c]!) { taken[c]!++; take.push(i); }
  }
  return take;
}

/** Rows `idx` of uint8 NCHW images with `plane` = C·S·S values each, and their labels. */
function pickRows(images: Uint8Array, labels: Int32Array, idx: readonly number[], plane: number): { images: Uint8Array; labels: Int32Array } {
  const out = new Uint8Array(idx.length * plane);
  idx.forEach((i, k) => out.set(images.subarray(i * plane, (i + 1) * plane), k * plane));
  return { images: out, labels: Int32Array.from(idx, (i) => labels[i]!) };
}

/** The real training set with generated samples appended (counts = real + generated). */
export function appendSamples(ds: ImageDataset, images: Uint8Array, labels: Int32Array): ImageDataset {
  const all = new Uint8Array(ds.images.length + images.length);
  all.set(ds.images);
  all.set(images, ds.images.length);
  const lab = new Int32Array(ds.labels.length + labels.length);
  lab.set(ds.labels);
  lab.set(labels, ds.labels.length);
  const counts = ds.counts.slice();
  for (const c of labels) counts[c]!++;
  return { ...ds, name: `${ds.name}+generated`, images: all, labels: lab, counts };
}

async function testSet(o: ClassifyOptions, train: ImageDataset): Promise<ImageDataset> {
  const kind = parseDatasetName(o.dataset);
  switch (kind.kind) {
    case 'shapes':
      return sampleShapesBalanced({ classes: kind.classes, size: train.size as 16 | 32, perClass: o.testPerClass ?? 100, seed: CLASSIFY_TEST_SEED });
    case 'cifar':
      return loadDataset({ name: kind.variant, root: o.root, split: 'test' });
    case 'fashion-mnist':
      return loadDataset({ name: 'fashion-mnist', root: o.root, split: 'test', size: train.size });
    case 'folder':
      throw new CbdmError(`${o.dataset} has no balanced test split; classify supports shapes10/100-lt, CIFAR and Fashion-MNIST datasets`);
  }
}

/** Train and evaluate; returns the report (the CLI prints it). */
export async function runClassify(o: ClassifyOptions): Promise<ClassifyReport> {
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
  const perEpoch = Math.max(1, Math.ceil(train.labels.length / cfg.batchSize));
  const total = cfg.steps ?? Math.max(1, Math.round(cfg.epochs * perEpoch));
  const bar = new Progress(total, { label: `classify ${arch}`, unit: 'step', enabled: o.progress });
  const r = trainClassifier(net, train, cfg, {
    logEvery: 10,
    onLog: (l: ClassifierLog) => bar.update(l.step, { loss: l.loss.toFixed(3), 'img/s': l.imgPerS.toFixed(0) }),
  });
  bar.stop();
  const acc = evaluateClassifier(net, test);
  return {
    dataset: real.name,
    arch,
    backend: backend.name,
    train: { real: real.labels.length, generated: train.labels.length - real.labels.length, steps: r.steps, epochs: r.steps / perEpoch, seconds: r.seconds, batch: cfg.batchSize, lr: cfg.lr, seed: cfg.seed },
    test: { name: test.name, images: test.labels.length },
    accuracy: { overall: acc.overall, balanced: acc.balanced, ...groupAccuracy(acc.perClass, real.counts) },
    perClass: acc.perClass,
    trainCounts: real.counts.slice(),
    generatedCounts: generated,
    groups: groupClasses(real.counts),
  };
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
    .requiredOption('--dataset <name>', `training set: ${DATASET_NAMES.join(', ')}`)
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
    .option('--test-per-class <n>', 'shapes: balanced test images per class', parseNumber('test-per-class', true), 100)
    .option('--backend <name>', 'compute backend: js, cpu, cuda (default: $CBDM_BACKEND, else cpu if built, else js)')
    .option('--json', 'print the report as JSON', false)
    .action(async (o: ClassifyOptions & { json: boolean }) => {
      const r = await runClassify({ ...o, progress: o.json ? false : undefined });
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
