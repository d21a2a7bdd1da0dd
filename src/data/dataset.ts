/**
 * The in-memory image dataset every loader produces and every consumer (trainer, evaluator,
 * report) reads. Images stay uint8 (decoded once); scaling to [−1, 1] happens per batch.
 */

/** A labelled image set, NCHW uint8, square images. */
export interface ImageDataset {
  /** Canonical name, e.g. `shapes10-lt`, `cifar100-lt`, `folder:/path`. */
  name: string;
  numClasses: number;
  classNames: string[];
  /** Image height = width in pixels. */
  size: number;
  /** N × 3 × size × size, channel-major (CHW) per image, values 0..255. */
  images: Uint8Array;
  /** N class indices in [0, numClasses). */
  labels: Int32Array;
  /** Per-class image counts (length numClasses); the training prior p(y) ∝ counts. */
  counts: number[];
  /** For each image, its index in the source dataset (e.g. the CIFAR train split), if known. */
  sourceIndex?: Int32Array;
}

/** Number of images in a dataset. */
export function datasetLength(ds: ImageDataset): number {
  return ds.labels.length;
}
