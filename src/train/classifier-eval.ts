/**
 * Evaluation of image classifiers (trained by classifier-train.ts): features and logits of a set
 * of images in eval mode, accuracy overall, per class and per Many/Medium/Few group.
 *
 * Shapes: n images, C channels, S image size, K classes, D feature size.
 */
import { tensor } from '../engine/ops/create.ts';
import { tidy, noGrad } from '../engine/context.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import type { ClassifierNet } from '../models/classifier.ts';
import { CbdmError } from '../util/errors.ts';

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
