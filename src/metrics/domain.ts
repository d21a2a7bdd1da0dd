/**
 * The domain feature extractor of the embedded `shapes` datasets (docs/DESIGN.md §1.7): the small CNN of
 * `src/models/classifier.ts`, trained on balanced generator output, supplies
 *   - features (its pooled D-dim layer) for per-class domain-FID, precision and recall, and
 *   - per-sample class predictions: "is a class-c sample recognisably class c".
 *
 * Weights, in order of preference:
 *   1. shipped: `assets/domain/shapes{10,100}-{16,32}.safetensors` (trained by `cbdm domain-train`,
 *      which records its held-out accuracy in the file's metadata);
 *   2. cached: `.cache/cbdm/domain/<same name>` (or `$CBDM_CACHE/domain/`), written by 3.;
 *   3. trained on first use with `domainRecipe()`, then cached.
 * Why ship: on the js backend of a busy 2-core machine, the shapes10 recipe (≥ 98% held-out) took
 * 130–150 s — over the 1-minute budget for a first use — and the shapes100 recipe (240k image
 * passes) would take over an hour; on the native cpu backend they take seconds / ~2 minutes.
 * Files are 285 KB (shapes10, 70,826 float32 parameters) and 307 KB (shapes100, 76,676).
 *
 * Seeds: the classifier trains on `sampleShapesBalanced` at DOMAIN_TRAIN_SEED and is tested at
 * DOMAIN_TEST_SEED; evaluations must draw their reference samples at other seeds.
 */
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentBackend } from '../engine/context.ts';
import { useBackend } from '../engine/backends.ts';
import { sampleShapesBalanced } from '../data/shapes.ts';
import { SmallClassifier, smallClassifierConfig, type SmallClassifierConfig } from '../models/classifier.ts';
import { trainClassifier, SMALL_RECIPE, type ClassifierTrainConfig, type ClassifierLog } from '../train/classifier-train.ts';
import { evaluateClassifier, predict, argmaxRows, type AccuracyReport } from '../train/classifier-eval.ts';
import { readSafetensorsFile, writeSafetensors } from '../io/safetensors.ts';
import { fromNumbers, toFloat32, type NdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';
import type { FeatureExtractor, ImageArray } from './features.ts';

export type { FeatureExtractor } from './features.ts';

/**
 * A dataset's own classifier as a feature extractor (shapes domain classifier, Fashion-MNIST
 * evaluator): features, logits and hard class predictions.
 */
export interface ClassifierExtractor extends FeatureExtractor {
  classes: number;
  size: number;
  /** Image channels it takes (3 RGB, 1 grey). */
  channels: number;
  /** Predicted class of each of n images (n×C×size×size, uint8 or float32 in [0, 1]). */
  classify(images: ImageArray, n: number): Int32Array;
  /** Where the weights came from. */
  source: 'shipped' | 'cache' | 'trained';
  /** Held-out accuracy recorded when the weights were trained (NaN if unknown). */
  heldOutAccuracy: number;
  /** The network (for inspection and tests). */
  net: SmallClassifier;
}

/** The shapes domain extractor. */
export interface DomainExtractor extends ClassifierExtractor {
  classes: 10 | 100;
  size: 16 | 32;
}

/** Seed of the domain classifier's training images (sampleShapesBalanced). */
export const DOMAIN_TRAIN_SEED = 7_340_001;
/** Seed of its held-out test images. */
export const DOMAIN_TEST_SEED = 7_340_002;
/** Held-out test images per class. */
export const DOMAIN_TEST_PER_CLASS = 100;

/** How the domain classifier of one (classes, size) is trained. */
export interface DomainRecipe {
  /** Balanced training images per class. */
  perClass: number;
  train: ClassifierTrainConfig;
  /** Network shape. */
  net: SmallClassifierConfig;
}

/** The recipe for a class count and size (the shipped weights' held-out accuracy is in their metadata). */
export function domainRecipe(classes: 10 | 100, size: 16 | 32): DomainRecipe {
  const net = smallClassifierConfig(classes, size);
  switch (classes) {
    case 10:
      return { perClass: 100, net, train: { ...SMALL_RECIPE, epochs: 3, lr: 3e-3, batchSize: 32, seed: 0 } };
    case 100:
      return { perClass: 300, net, train: { ...SMALL_RECIPE, epochs: 8, lr: 3e-3, batchSize: 64, seed: 0 } };
    default: {
      const never: never = classes;
      throw new CbdmError(`the domain classifier exists for 10 or 100 classes, not ${String(never)}`);
    }
  }
}

/** File name of the weights of one (classes, size). */
export function domainWeightsName(classes: 10 | 100, size: 16 | 32): string {
  return `shapes${classes}-${size}.safetensors`;
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folder of the shipped weights. */
export function domainAssetsDir(): string {
  return join(REPO_ROOT, 'assets', 'domain');
}

/** Folder of weights trained on first use. */
export function domainCacheDir(): string {
  const base = process.env.CBDM_CACHE;
  return base !== undefined && base !== '' ? join(base, 'domain') : join(REPO_ROOT, '.cache', 'cbdm', 'domain');
}

function checkClassesSize(classes: number, size: number): asserts classes is 10 | 100 {
  if (classes !== 10 && classes !== 100) throw new CbdmError(`the shapes domain classifier exists for 10 or 100 classes, not ${classes}`);
  if (size !== 16 && size !== 32) throw new CbdmError(`the shapes domain classifier exists for 16 or 32 pixel images, not ${size}`);
}

/** A trained domain classifier and its held-out report. */
export interface TrainedDomain {
  net: SmallClassifier;
  report: AccuracyReport;
  seconds: number;
  steps: number;
}

/**
 * Train the domain classifier of (classes, size) on the current backend: `recipe.perClass`
 * balanced images per class at DOMAIN_TRAIN_SEED, tested on DOMAIN_TEST_PER_CLASS per class at
 * DOMAIN_TEST_SEED.
 */
export function trainDomainClassifier(classes: 10 | 100, size: 16 | 32, opts: { recipe?: DomainRecipe; onLog?: (r: ClassifierLog) => void } = {}): TrainedDomain {
  checkClassesSize(classes, size);
  const recipe = opts.recipe ?? domainRecipe(classes, size);
  const train = sampleShapesBalanced({ classes, size, perClass: recipe.perClass, seed: DOMAIN_TRAIN_SEED });
  const test = sampleShapesBalanced({ classes, size, perClass: DOMAIN_TEST_PER_CLASS, seed: DOMAIN_TEST_SEED });
  const net = new SmallClassifier(recipe.net);
  net.store.materialize(currentBackend(), recipe.train.seed);
  const r = trainClassifier(net, train, recipe.train, { onLog: opts.onLog });
  return { net, report: evaluateClassifier(net, test), seconds: r.seconds, steps: r.steps };
}

/** Save a small classifier (float32 weights + its config and accuracy as metadata). */
export function saveDomainWeights(path: string, net: SmallClassifier, meta: Record<string, string>): void {
  const tensors = new Map<string, NdArray>();
  for (const [name, values] of net.store.stateDict()) tensors.set(name, fromNumbers('float32', [...net.store.get(name).shape], values));
  writeSafetensors(path, tensors, { ...meta, config: JSON.stringify(net.config) });
}

/** Load a small classifier saved by `saveDomainWeights` onto the current backend, checking classes, size and channels. */
export function loadDomainWeights(path: string, classes: number, size: number, channels: 1 | 3 = 3): { net: SmallClassifier; meta: Record<string, string> } {
  const file = readSafetensorsFile(path);
  let cfg: SmallClassifierConfig;
  try {
    // weights written before greyscale support have no `channels`: they are RGB
    cfg = { channels: 3, ...(JSON.parse(file.metadata.config ?? '') as Partial<SmallClassifierConfig>) } as SmallClassifierConfig;
  } catch {
    throw new CbdmError(`${path}: not a domain classifier (no 'config' metadata); delete it to retrain`);
  }
  if (cfg.numClasses !== classes || cfg.imageSize !== size || cfg.channels !== channels) {
    throw new CbdmError(`${path} holds a classifier for ${cfg.numClasses} classes at ${cfg.imageSize}px × ${cfg.channels} channel(s), expected ${classes} at ${size}px × ${channels}; delete it to retrain`);
  }
  const net = new SmallClassifier(cfg);
  net.store.materialize(currentBackend(), 0);
  const values = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, a] of file.tensors) values.set(name, { shape: a.shape, data: toFloat32(a) });
  try {
    net.store.loadStateDict(values);
  } catch (e) {
    throw new CbdmError(`${path}: ${(e as Error).message}`);
  }
  return { net, meta: file.metadata };
}

function wrap(net: SmallClassifier, classes: 10 | 100, size: 16 | 32, source: DomainExtractor['source'], acc: number): DomainExtractor {
  return { ...classifierExtractor(net, `shapes${classes}-${size}-domain`, source, acc), classes, size };
}

/** A trained small classifier as a `ClassifierExtractor` named `name` (its image size and channels from its config). */
export function classifierExtractor(net: SmallClassifier, name: string, source: ClassifierExtractor['source'], acc: number): ClassifierExtractor {
  const K = net.config.numClasses;
  const size = net.config.imageSize;
  const C = net.channels;
  const check = (images: ImageArray, n: number, s: number) => {
    if (s !== size) throw new CbdmError(`the ${name} extractor takes ${size}px images, got ${s}px (evaluate at the model's image size)`);
    if (!(Number.isInteger(n) && n >= 0) || images.length !== n * C * s * s) throw new CbdmError(`expected ${n} images of ${C}×${s}×${s} (${n * C * s * s} values), got ${images.length} values`);
  };
  return {
    name,
    dim: net.featureDim,
    acceptsFloat: true,
    classes: K,
    size,
    channels: C,
    source,
    heldOutAccuracy: acc,
    net,
    extract(images: ImageArray, n: number, s: number) {
      check(images, n, s);
      return predict(net, images, n, s);
    },
    classify(images: ImageArray, n: number): Int32Array {
      check(images, n, size);
      return argmaxRows(predict(net, images, n, size).logits, n, K);
    },
  };
}

/** Options of `domainExtractor`. */
export interface DomainExtractorOptions {
  /** Shipped-weights folder (default `assets/domain`). */
  assetsDir?: string;
  /** Cache folder (default `.cache/cbdm/domain`). */
  cacheDir?: string;
  /** Train when no weights are found (default true); false throws instead. */
  allowTraining?: boolean;
  /** Training recipe override (tests). */
  recipe?: DomainRecipe;
  /** Progress while training. */
  onLog?: (r: ClassifierLog) => void;
}

/**
 * The domain extractor for shapes{classes} at `size`: shipped weights, else cached ones, else
 * trained now (and cached). Uses the current backend (selecting the default one if none is).
 */
export async function domainExtractor(classes: 10 | 100, size: 16 | 32, opts: DomainExtractorOptions = {}): Promise<DomainExtractor> {
  checkClassesSize(classes, size);
  try {
    currentBackend();
  } catch {
    useBackend();
  }
  const name = domainWeightsName(classes, size);
  const shipped = join(opts.assetsDir ?? domainAssetsDir(), name);
  const cached = join(opts.cacheDir ?? domainCacheDir(), name);
  for (const [path, source] of [[shipped, 'shipped'], [cached, 'cache']] as const) {
    if (!existsSync(path)) continue;
    const { net, meta } = loadDomainWeights(path, classes, size);
    return wrap(net, classes, size, source, meta.held_out_accuracy !== undefined ? Number(meta.held_out_accuracy) : NaN);
  }
  if (opts.allowTraining === false) {
    throw new CbdmError(`no domain classifier weights for shapes${classes} at ${size}px (looked for ${shipped} and ${cached}); run \`cbdm domain-train --classes ${classes} --image-size ${size}\``);
  }
  const t = trainDomainClassifier(classes, size, { recipe: opts.recipe, onLog: opts.onLog });
  saveDomainWeights(cached, t.net, domainMetadata(t));
  return wrap(t.net, classes, size, 'trained', t.report.overall);
}

/** Metadata recorded with trained weights. */
export function domainMetadata(t: TrainedDomain): Record<string, string> {
  return {
    held_out_accuracy: String(t.report.overall),
    held_out_min_class_accuracy: String(Math.min(...t.report.perClass)),
    held_out_seed: String(DOMAIN_TEST_SEED),
    held_out_per_class: String(DOMAIN_TEST_PER_CLASS),
    train_seed: String(DOMAIN_TRAIN_SEED),
    steps: String(t.steps),
    train_seconds: t.seconds.toFixed(1),
    backend: currentBackend().name,
  };
}
