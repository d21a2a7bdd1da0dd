/**
 * The in-memory image dataset every loader produces and every consumer (trainer, evaluator,
 * report) reads. Images stay uint8 (decoded once); scaling to [−1, 1] happens per batch.
 */

/** Colour (RGB) or greyscale. */
export type ImageChannels = 1 | 3;

/** A labelled image set, NCHW uint8, square images. */
export interface ImageDataset {
  /** Canonical name, e.g. `shapes10-lt`, `cifar100-lt`, `folder:/path`. */
  name: string;
  numClasses: number;
  classNames: string[];
  /** Image height = width in pixels. */
  size: number;
  /** Channels per image: 3 (RGB) or 1 (greyscale, e.g. Fashion-MNIST). */
  channels: ImageChannels;
  /** N × channels × size × size, channel-major (CHW) per image, values 0..255. */
  images: Uint8Array;
  /** N class indices in [0, numClasses). */
  labels: Int32Array;
  /** Per-class image counts (length numClasses); the training prior p(y) ∝ counts. */
  counts: number[];
  /** For each image, its index in the source dataset (e.g. the CIFAR train split), if known. */
  sourceIndex?: Int32Array;
}

/** Values per image (channels × size × size). */
export function imageValues(ds: Pick<ImageDataset, 'channels' | 'size'>): number {
  return ds.channels * ds.size * ds.size;
}
