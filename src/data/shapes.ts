/**
 * The embedded default dataset (docs/DESIGN.md §1.6): `shapes10-lt` and `shapes100-lt`, procedurally
 * rendered RGB shapes, long-tailed like CIFAR-LT, generated on the fly from a seed.
 *
 * Each class is one shape family in one palette (scheme in `shapes-families.ts`); each image is
 * rendered from nine continuous latent factors drawn uniformly in [0, 1] (list in
 * `shapes-render.ts`). Because the generator is known, the balanced *reference* sampler gives
 * unlimited fresh images of any class, and the latents of every image are returned so that an
 * evaluation can check how well generated samples cover each factor range.
 *
 * Random streams: every class draws its latents from its own Rng stream, so the first n images of
 * a class do not depend on the other classes or on nMax. Training sets and reference samples use
 * disjoint stream families; `sampleShapesBalanced(seed)` is the reference sampler of every class
 * at that seed, concatenated.
 */
import type { ImageDataset } from './dataset.ts';
import { longTailCounts, type LongTailProfile } from './longtail.ts';
import { Rng } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';
import { shapeClassName } from './shapes-families.ts';
import { SHAPES_LATENT_NAMES, SHAPES_NUM_LATENTS, renderShapeInto } from './shapes-render.ts';

export { renderShape, renderShapeSupersampled, SHAPES_LATENT_NAMES, SHAPES_LATENT_CIRCULAR, SHAPES_NUM_LATENTS } from './shapes-render.ts';

/** Options of the long-tailed training set. */
export interface ShapesOptions {
  /** 10 or 100 classes. */
  classes: 10 | 100;
  /** Image size in pixels (default 32). */
  size?: 16 | 32;
  /** Imbalance factor n_min / n_max (default 0.01). */
  imb?: number;
  /** Images of the head class (default 500). */
  nMax?: number;
  /** Long-tail profile (default 'exp'). */
  profile?: LongTailProfile;
  /** Seed of the training set (default 0). */
  seed?: number;
}

/** Latent factors of N images: row i holds image i's factors, each normalised to [0, 1]. */
export interface ShapesLatents {
  names: string[];
  /** N × names.length, row-major. */
  values: Float32Array;
}

/** A shapes image set with its latents. */
export type ShapesDataset = ImageDataset & { latents: ShapesLatents };

const STREAM_TRAIN = 0x53540000; // 'ST'
const STREAM_REFERENCE = 0x53520000; // 'SR'

function checkClasses(classes: number): asserts classes is 10 | 100 {
  if (classes !== 10 && classes !== 100) throw new CbdmError(`shapes: classes must be 10 or 100, got ${classes}`);
}

function checkSize(size: number): asserts size is 16 | 32 {
  if (size !== 16 && size !== 32) throw new CbdmError(`shapes: size must be 16 or 32, got ${size}`);
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new CbdmError(`shapes: seed must be an integer, got ${seed}`);
}

/** Class names of shapes10 / shapes100, `<palette>-<shape>` (e.g. `red-ellipse`). */
export function shapesClassNames(classes: 10 | 100): string[] {
  checkClasses(classes);
  return Array.from({ length: classes }, (_, c) => shapeClassName(c));
}

/**
 * Draw `n` latent vectors of class `classIndex` from stream family `streamBase` and render them
 * into `images` / `latents` starting at image `start`. Latents are rounded to float32 *before*
 * rendering, so `renderShape(label, latentRow, size)` reproduces every image bit for bit.
 */
function fillClass(images: Uint8Array, latents: Float32Array, start: number, n: number, classIndex: number, size: number, seed: number, streamBase: number): void {
  const rng = new Rng(seed, streamBase + classIndex);
  const imgLen = 3 * size * size;
  for (let k = 0; k < n; k++) {
    const row = (start + k) * SHAPES_NUM_LATENTS;
    for (let f = 0; f < SHAPES_NUM_LATENTS; f++) latents[row + f] = rng.uniform();
    renderShapeInto(images, (start + k) * imgLen, classIndex, latents, row, size);
  }
}

/**
 * The long-tailed training set `shapes10-lt` / `shapes100-lt`: class i has longTailCounts(nMax,
 * C, imb, profile)[i] images (defaults: 500 → 5; 1,236 images for 10 classes, 10,847 for 100).
 * Images are grouped by class (class 0 first); trainers shuffle.
 */
export function makeShapesLT(opts: ShapesOptions): ShapesDataset {
  const classes = opts.classes;
  checkClasses(classes);
  const size = opts.size ?? 32;
  checkSize(size);
  const seed = opts.seed ?? 0;
  checkSeed(seed);
  let counts: number[];
  try {
    counts = longTailCounts(opts.nMax ?? 500, classes, opts.imb ?? 0.01, opts.profile ?? 'exp');
  } catch (e) {
    throw new CbdmError(`shapes: ${(e as Error).message}`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(total * 3 * size * size);
  const values = new Float32Array(total * SHAPES_NUM_LATENTS);
  const labels = new Int32Array(total);
  let start = 0;
  for (let c = 0; c < classes; c++) {
    fillClass(images, values, start, counts[c]!, c, size, seed, STREAM_TRAIN);
    labels.fill(c, start, start + counts[c]!);
    start += counts[c]!;
  }
  return {
    name: `shapes${classes}-lt`,
    numClasses: classes,
    classNames: shapesClassNames(classes),
    size,
    channels: 3,
    images,
    labels,
    counts,
    latents: { names: [...SHAPES_LATENT_NAMES], values },
  };
}

/**
 * Balanced, unlimited reference samples of one class: `n` fresh images from the same generator,
 * on a stream independent of every training set. The first n images at a seed are a prefix of
 * the first n′ > n images at that seed.
 */
export function sampleShapesReference(opts: { classes: 10 | 100; size?: 16 | 32; classIndex: number; n: number; seed: number }): { images: Uint8Array; latents: ShapesLatents } {
  checkClasses(opts.classes);
  const size = opts.size ?? 32;
  checkSize(size);
  checkSeed(opts.seed);
  if (!(Number.isInteger(opts.classIndex) && opts.classIndex >= 0 && opts.classIndex < opts.classes)) {
    throw new CbdmError(`shapes: classIndex must be an integer in [0, ${opts.classes}), got ${opts.classIndex}`);
  }
  if (!(Number.isInteger(opts.n) && opts.n >= 0)) throw new CbdmError(`shapes: n must be a non-negative integer, got ${opts.n}`);
  const images = new Uint8Array(opts.n * 3 * size * size);
  const values = new Float32Array(opts.n * SHAPES_NUM_LATENTS);
  fillClass(images, values, 0, opts.n, opts.classIndex, size, opts.seed, STREAM_REFERENCE);
  return { images, latents: { names: [...SHAPES_LATENT_NAMES], values } };
}

/**
 * A balanced set (`perClass` images of every class, grouped by class) from the reference
 * generator: for training the domain classifier, or as a test split. Named `shapes10-balanced`
 * / `shapes100-balanced`.
 */
export function sampleShapesBalanced(opts: { classes: 10 | 100; size?: 16 | 32; perClass: number; seed: number }): ShapesDataset {
  const classes = opts.classes;
  checkClasses(classes);
  const size = opts.size ?? 32;
  checkSize(size);
  checkSeed(opts.seed);
  const per = opts.perClass;
  if (!(Number.isInteger(per) && per >= 1)) throw new CbdmError(`shapes: perClass must be a positive integer, got ${per}`);
  const total = per * classes;
  const images = new Uint8Array(total * 3 * size * size);
  const values = new Float32Array(total * SHAPES_NUM_LATENTS);
  const labels = new Int32Array(total);
  for (let c = 0; c < classes; c++) {
    fillClass(images, values, c * per, per, c, size, opts.seed, STREAM_REFERENCE);
    labels.fill(c, c * per, (c + 1) * per);
  }
  return {
    name: `shapes${classes}-balanced`,
    numClasses: classes,
    classNames: shapesClassNames(classes),
    size,
    channels: 3,
    images,
    labels,
    counts: new Array<number>(classes).fill(per),
    latents: { names: [...SHAPES_LATENT_NAMES], values },
  };
}
