/**
 * Supervised training and evaluation of image classifiers: the domain classifier of the shapes
 * datasets and the downstream ResNet-32 (docs/DESIGN.md §1.7).
 *
 * Shapes: B batch, C channels (3 RGB, 1 grey), S image size, K classes, D feature size. Batches come from the seeded
 * `BatchLoader` (shuffle + random horizontal flip, [−1, 1] scaling), optionally followed by a
 * random crop with zero padding (torchvision `RandomCrop(S, padding)`; the padding is black, −1).
 * One step: logits = net(x, train) → mean cross-entropy → backward → optimiser.
 *
 * The ResNet-32 recipe is LDAM-DRW's cross-entropy baseline (`cifar_train.py`): SGD momentum 0.9,
 * weight decay 2e-4, lr 0.1 with linear warm-up over 5 epochs, ×0.01 steps at epochs 160 and 180
 * of 200, batch 128, crop padding 4 + flip. Here the decay points are fractions of the epochs
 * asked for (0.8 and 0.9), so short runs keep the schedule's shape.
 */
import type { Storage } from '../engine/backend.ts';
import { tensor } from '../engine/ops/create.ts';
import { crossEntropy } from '../engine/ops/softmax.ts';
import { tidy, noGrad } from '../engine/context.ts';
import { backward } from '../engine/autograd.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { BatchLoader } from '../data/loader.ts';
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import type { ParamStore } from '../nn/params.ts';
import { SmallClassifier, smallClassifierConfig, type ClassifierNet } from '../models/classifier.ts';
import { ResNet32 } from '../models/resnet32.ts';
import { Adam } from './optimizer.ts';
import { Rng } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';
import { fieldName, type SettingNamer } from '../util/setting-names.ts';

/** Classifier architectures. */
export type ClassifierArch = 'resnet32' | 'small';
export const CLASSIFIER_ARCHS: readonly ClassifierArch[] = ['resnet32', 'small'];

/** Optimisers. */
export type ClassifierOptimizer = 'sgd' | 'adam';

/** A network of `arch` (not yet materialized). */
export function buildClassifier(arch: ClassifierArch, numClasses: number, imageSize: number, channels: 1 | 3 = 3, names: SettingNamer = fieldName): ClassifierNet {
  switch (arch) {
    case 'resnet32':
      return new ResNet32({ numClasses, imageSize, channels });
    case 'small':
      if (imageSize !== 16 && imageSize !== 32) throw new CbdmError(`the small classifier takes 16 or 32 pixel images, not ${imageSize}; use ${names('arch')} resnet32`);
      return new SmallClassifier(smallClassifierConfig(numClasses, imageSize, channels));
    default: {
      const never: never = arch;
      throw new CbdmError(`unknown architecture '${String(never)}': choose one of ${CLASSIFIER_ARCHS.join(', ')}`);
    }
  }
}

/** Training hyper-parameters. */
export interface ClassifierTrainConfig {
  /** Passes over the training set. */
  epochs: number;
  /** Exact number of optimiser steps; overrides `epochs` when set (tests, quick runs). */
  steps?: number;
  batchSize: number;
  optimizer: ClassifierOptimizer;
  /** Peak learning rate. */
  lr: number;
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  /** L2 weight decay added to the gradient (PyTorch SGD's `weight_decay`). */
  weightDecay: number;
  /** Linear warm-up length in epochs (fraction allowed). */
  warmupEpochs: number;
  /** Fractions of training after which the lr is multiplied by `decayFactor` (cumulative). */
  decayAt: readonly number[];
  decayFactor: number;
  /** Random horizontal flip. */
  flip: boolean;
  /** Random-crop zero padding in pixels (0 = no crop). */
  cropPad: number;
  /** Seed of initialisation, shuffling and augmentation. */
  seed: number;
}

/** LDAM-DRW's ResNet-32 cross-entropy recipe (200 epochs). */
export const RESNET32_RECIPE: ClassifierTrainConfig = {
  epochs: 200, batchSize: 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 2e-4,
  warmupEpochs: 5, decayAt: [0.8, 0.9], decayFactor: 0.1, flip: true, cropPad: 4, seed: 0,
};

/** The small classifier's recipe: Adam lr 2e-3, 3 epochs, warm-up 0.1 epoch, lr ×0.2 at 70% and again at 90%. */
export const SMALL_RECIPE: ClassifierTrainConfig = {
  epochs: 3, batchSize: 64, optimizer: 'adam', lr: 2e-3, momentum: 0.9, weightDecay: 0,
  warmupEpochs: 0.1, decayAt: [0.7, 0.9], decayFactor: 0.2, flip: true, cropPad: 0, seed: 0,
};

/** The default recipe of an architecture. */
export function defaultRecipe(arch: ClassifierArch): ClassifierTrainConfig {
  switch (arch) {
    case 'resnet32': return { ...RESNET32_RECIPE };
    case 'small': return { ...SMALL_RECIPE };
    default: {
      const never: never = arch;
      throw new CbdmError(`unknown architecture '${String(never)}'`);
    }
  }
}

/** Learning rate at step k of `total`, with `perEpoch` steps per epoch. */
export function classifierLr(cfg: ClassifierTrainConfig, k: number, total: number, perEpoch: number): number {
  const warm = cfg.warmupEpochs * perEpoch;
  let lr = warm > 0 && k < warm ? cfg.lr * (k + 1) / warm : cfg.lr;
  for (const f of cfg.decayAt) if (k >= f * total) lr *= cfg.decayFactor;
  return lr;
}

/**
 * L2 weight decay added to the gradient, g ← g + wd·p (PyTorch SGD/Adam `weight_decay`), over the
 * trainable entries of the arena only: running statistics are not decayed (0/1 mask).
 */
export class WeightDecay {
  private readonly mask: Storage | null;
  private readonly tmp: Storage | null;

  constructor(readonly store: ParamStore, readonly weightDecay: number) {
    const be = store.backend;
    if (weightDecay > 0 && store.layout.some((l) => !l.trainable)) {
      const m = new Float32Array(store.arena.size);
      for (const l of store.layout) if (l.trainable) m.fill(1, l.offset, l.offset + l.size);
      this.mask = be.alloc(store.dtype, m.length);
      be.write(this.mask, m);
      this.tmp = be.alloc(store.dtype, m.length);
    } else {
      this.mask = null;
      this.tmp = null;
    }
  }

  /** Add the decay term to the store's gradient arena. */
  apply(): void {
    if (this.weightDecay <= 0) return;
    const be = this.store.backend;
    const g = this.store.gradArena;
    if (this.mask && this.tmp) {
      be.mul(this.store.arena, this.mask, this.tmp);
      be.axpy(g, this.weightDecay, this.tmp, g);
    } else {
      be.axpy(g, this.weightDecay, this.store.arena, g);
    }
  }

  /** Free the mask buffers. */
  dispose(): void {
    if (this.mask) this.store.backend.free(this.mask);
    if (this.tmp) this.store.backend.free(this.tmp);
  }
}

/**
 * SGD with momentum over the flat parameter arena (PyTorch `optim.SGD`, dampening 0, no
 * Nesterov): buf = μ·buf + g;  p ← p − lr·buf. Weight decay is applied to g before (WeightDecay).
 */
export class SgdMomentum {
  private readonly buf: Storage;

  constructor(readonly store: ParamStore, readonly momentum: number) {
    this.buf = store.backend.alloc(store.dtype, store.arena.size);
  }

  /** One update with learning rate `lr` from the gradients in the store's gradient arena. */
  update(lr: number): void {
    const be = this.store.backend;
    be.affine(this.buf, this.momentum, 0, this.buf);
    be.axpy(this.buf, 1, this.store.gradArena, this.buf);
    be.axpy(this.store.arena, -lr, this.buf, this.store.arena);
  }

  /** Free the momentum buffer. */
  dispose(): void {
    this.store.backend.free(this.buf);
  }
}

/**
 * Random crop with zero padding, in place on a batch x (B×C×S×S, [−1, 1]): each image is shifted
 * by (dy, dx) ∈ [−pad, pad]², uncovered pixels set to −1 (black), as RandomCrop(S, padding=pad).
 */
export function randomCropInPlace(x: Float32Array, B: number, S: number, pad: number, rng: Rng, C = 3): void {
  if (pad <= 0) return;
  const plane = S * S;
  const tmp = new Float32Array(plane);
  for (let b = 0; b < B; b++) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      tmp.set(x.subarray(base, base + plane));
      for (let i = 0; i < S; i++) {
        const si = i + dy;
        for (let j = 0; j < S; j++) {
          const sj = j + dx;
          x[base + i * S + j] = si >= 0 && si < S && sj >= 0 && sj < S ? tmp[si * S + sj]! : -1;
        }
      }
    }
  }
}

/** Progress of a training run, reported every `logEvery` steps. */
export interface ClassifierLog {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  imgPerS: number;
}

export interface ClassifierTrainOptions {
  /** Called every `logEvery` steps (default 50) and at the end. */
  onLog?: (r: ClassifierLog) => void;
  logEvery?: number;
}

export interface ClassifierTrainResult {
  steps: number;
  seconds: number;
  /** Mean loss of each logging window. */
  losses: number[];
}

/**
 * Train a (materialized) network on a labelled dataset. Deterministic for a fixed seed and
 * backend.
 */
export function trainClassifier(net: ClassifierNet, ds: ImageDataset, cfg: ClassifierTrainConfig, opts: ClassifierTrainOptions = {}): ClassifierTrainResult {
  if (ds.size !== net.config.imageSize) throw new CbdmError(`dataset ${ds.name} has ${ds.size}px images but the classifier expects ${net.config.imageSize}px`);
  if (ds.numClasses !== net.config.numClasses) throw new CbdmError(`dataset ${ds.name} has ${ds.numClasses} classes but the classifier has ${net.config.numClasses}`);
  if (ds.channels !== net.channels) throw new CbdmError(`dataset ${ds.name} has ${ds.channels}-channel images but the classifier takes ${net.channels}`);
  const B = cfg.batchSize;
  const perEpoch = Math.max(1, Math.ceil(ds.labels.length / B));
  const total = cfg.steps ?? Math.max(1, Math.round(cfg.epochs * perEpoch));
  if (!(Number.isInteger(total) && total >= 1)) throw new CbdmError(`classifier training needs at least one step, got ${total}`);
  const loader = new BatchLoader(ds, { batchSize: B, seed: cfg.seed, flip: cfg.flip });
  const cropRng = new Rng(cfg.seed, 0xc209);
  const S = ds.size;
  const C = ds.channels;
  const x = new Float32Array(B * C * S * S);
  const y = new Int32Array(B);
  const store = net.store;
  const decay = new WeightDecay(store, cfg.weightDecay);
  const sgd = cfg.optimizer === 'sgd' ? new SgdMomentum(store, cfg.momentum) : null;
  const adam = cfg.optimizer === 'adam'
    ? new Adam(store, { lr: cfg.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: 0, gradClip: 0 })
    : null;
  const logEvery = opts.logEvery ?? 50;
  const losses: number[] = [];
  let windowLoss = 0;
  let windowN = 0;
  const t0 = performance.now();
  let tWindow = t0;
  for (let k = 0; k < total; k++) {
    loader.nextInto(x, y);
    randomCropInPlace(x, B, S, cfg.cropPad, cropRng, C);
    store.zeroGrad();
    const loss = tidy(() => {
      const xt = tensor(x, [B, C, S, S], { backend: store.backend, dtype: store.dtype });
      const l = crossEntropy(net.forward(xt, true).logits, y);
      backward(l);
      return l.item();
    });
    if (!Number.isFinite(loss)) throw new CbdmError(`classifier loss became ${loss} at step ${k}; lower the learning rate (now ${cfg.lr})`);
    const lr = classifierLr(cfg, k, total, perEpoch);
    decay.apply();
    if (sgd) sgd.update(lr);
    if (adam) {
      adam.cfg.lr = lr;
      adam.update();
    }
    windowLoss += loss;
    windowN++;
    if ((k + 1) % logEvery === 0 || k + 1 === total) {
      const now = performance.now();
      losses.push(windowLoss / windowN);
      opts.onLog?.({ step: k + 1, steps: total, loss: windowLoss / windowN, lr, imgPerS: (windowN * B) / ((now - tWindow) / 1000) });
      windowLoss = 0;
      windowN = 0;
      tWindow = now;
    }
  }
  decay.dispose();
  sgd?.dispose();
  if (adam) {
    store.backend.free(adam.m);
    store.backend.free(adam.v);
  }
  return { steps: total, seconds: (performance.now() - t0) / 1000, losses };
}

/**
 * Images i ∈ [start, start + n) (`per` = C×S×S values each) as a float batch in [−1, 1]:
 * uint8 v → v/127.5 − 1, float in [0, 1] (generated samples, not quantized) v → 2v − 1.
 */
export function imagesToFloat(images: Uint8Array | Float32Array, start: number, n: number, per: number): Float32Array {
  const out = new Float32Array(n * per);
  const src = images.subarray(start * per, (start + n) * per);
  if (src instanceof Uint8Array) {
    for (let i = 0; i < src.length; i++) out[i] = src[i]! / 127.5 - 1;
  } else {
    for (let i = 0; i < src.length; i++) out[i] = 2 * src[i]! - 1;
  }
  return out;
}

/**
 * Features (n×D) and logits (n×K) of n images (uint8, or float32 in [0, 1]), in eval mode,
 * without gradients.
 */
export function predict(net: ClassifierNet, images: Uint8Array | Float32Array, n: number, size: number, batchSize = 256): { features: Float32Array; logits: Float32Array } {
  if (size !== net.config.imageSize) throw new CbdmError(`images are ${size}px but the classifier expects ${net.config.imageSize}px`);
  const C = net.channels;
  const per = C * size * size;
  if (images.length !== n * per) throw new CbdmError(`expected ${n} images of ${C}×${size}×${size} (${n * per} values), got ${images.length}`);
  const D = net.featureDim;
  const K = net.config.numClasses;
  const features = new Float32Array(n * D);
  const logits = new Float32Array(n * K);
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    noGrad(() => tidy(() => {
      const xt = tensor(imagesToFloat(images, s, b, per), [b, C, size, size], { backend: net.store.backend, dtype: net.store.dtype });
      const out = net.forward(xt, false);
      features.set(out.features.toArray(), s * D);
      logits.set(out.logits.toArray(), s * K);
    }));
  }
  return { features, logits };
}

/** Row-wise argmax of an n×K matrix. */
export function argmaxRows(m: Float32Array, n: number, K: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (m[i * K + k]! > m[i * K + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** Accuracy report of a classifier on a labelled set. */
export interface AccuracyReport {
  /** Fraction correct over all images. */
  overall: number;
  /** Mean of the per-class accuracies (= overall on a balanced set). */
  balanced: number;
  /** Accuracy of each class (NaN for a class with no test images). */
  perClass: number[];
  /** Test images per class. */
  counts: number[];
}

/** Per-class accuracy of predictions against labels. */
export function accuracyReport(pred: Int32Array, labels: Int32Array, numClasses: number): AccuracyReport {
  const hit = new Array<number>(numClasses).fill(0);
  const cnt = new Array<number>(numClasses).fill(0);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    cnt[c]!++;
    if (pred[i] === c) {
      hit[c]!++;
      correct++;
    }
  }
  const perClass = hit.map((h, c) => (cnt[c]! > 0 ? h / cnt[c]! : NaN));
  const present = perClass.filter((a) => !Number.isNaN(a));
  return {
    overall: labels.length > 0 ? correct / labels.length : NaN,
    balanced: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    perClass,
    counts: cnt,
  };
}

/** Evaluate a network on a labelled dataset (eval mode). */
export function evaluateClassifier(net: ClassifierNet, ds: ImageDataset, batchSize = 256): AccuracyReport {
  const n = ds.labels.length;
  const { logits } = predict(net, ds.images, n, ds.size, batchSize);
  return accuracyReport(argmaxRows(logits, n, net.config.numClasses), ds.labels, net.config.numClasses);
}

/** Mean per-class accuracy of each Many/Medium/Few group (by training counts); NaN for an empty group. */
export function groupAccuracy(perClass: readonly number[], trainCounts: readonly number[]): Record<ClassGroup, number> {
  const groups = groupClasses(trainCounts);
  const out = {} as Record<ClassGroup, number>;
  for (const g of CLASS_GROUPS) {
    const accs = groups[g].map((c) => perClass[c]!).filter((a) => !Number.isNaN(a));
    out[g] = accs.length > 0 ? accs.reduce((a, b) => a + b, 0) / accs.length : NaN;
  }
  return out;
}
