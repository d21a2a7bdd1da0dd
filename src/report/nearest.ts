/**
 * Nearest training images of generated samples: the memorisation check of the CBDM paper's
 * figures. A tail-class sample that is a near-copy of one of its 5 training images shows up
 * with a tiny distance and an identical picture beside it.
 *
 * Shapes: samples n×C×H×W and train N×C×H×W, uint8 channel-major; trainLabels N class indices.
 * Distance: Euclidean in pixel space with values scaled to [0, 1], i.e. sqrt(Σ ((a−b)/255)²).
 */
import { CbdmError } from '../util/errors.ts';
import { blitImage, countImages, encodePng, newRaster, type ImageShape, type Raster, type Rgb, type Upscale } from '../io/png-grid.ts';

/** The k nearest training images of one sample, closest first. */
export interface Neighbours {
  /** Indices into the training set (0..N−1). */
  indices: number[];
  /** Euclidean distances in [0,1]-scaled pixel space, ascending. */
  distances: number[];
}

/**
 * For every sample, the k nearest training images among those labelled `cls` (exact search,
 * ties broken by lower index). k is capped at the number of training images of the class.
 */
export function nearestTrainingImages(samples: Uint8Array, train: Uint8Array, trainLabels: ArrayLike<number>, cls: number, k: number): Neighbours[] {
  const N = trainLabels.length;
  if (N === 0) throw new CbdmError('nearest training images: the training set is empty');
  if (train.length % N !== 0) throw new CbdmError(`nearest training images: ${train.length} training values do not split into ${N} labelled images`);
  const D = train.length / N;
  if (samples.length % D !== 0) throw new CbdmError(`nearest training images: ${samples.length} sample values are not a whole number of images of ${D} values (the training image size)`);
  if (!(Number.isInteger(k) && k > 0)) throw new CbdmError(`nearest training images: k must be a positive integer, got ${k}`);
  const members: number[] = [];
  for (let i = 0; i < N; i++) if (trainLabels[i] === cls) members.push(i);
  if (members.length === 0) throw new CbdmError(`nearest training images: class ${cls} has no training images`);
  const kk = Math.min(k, members.length);
  const n = samples.length / D;
  const out: Neighbours[] = [];
  const d2 = new Float64Array(members.length);
  for (let s = 0; s < n; s++) {
    const so = s * D;
    for (let m = 0; m < members.length; m++) {
      const to = members[m]! * D;
      let acc = 0;
      for (let j = 0; j < D; j++) {
        const diff = samples[so + j]! - train[to + j]!;
        acc += diff * diff;
      }
      d2[m] = acc;
    }
    const order = members.map((_, m) => m).sort((a, b) => d2[a]! - d2[b]! || members[a]! - members[b]!);
    const top = order.slice(0, kk);
    out.push({ indices: top.map((m) => members[m]!), distances: top.map((m) => Math.sqrt(d2[m]!) / 255) });
  }
  return out;
}

/** Layout of a nearest-neighbour panel. */
export interface PanelOptions {
  /** Nearest-neighbour upscaling (default 2). */
  scale?: Upscale;
  /** Pixels between images (default 2). */
  pad?: number;
  /** Extra space between the generated sample and its neighbours (default 3 × pad). */
  gap?: number;
  /** Background (default white). */
  background?: Rgb;
  /** Colour of the frame around each generated sample (default a dark orange). */
  sampleFrame?: Rgb;
}

/**
 * Panel PNG: one row per generated sample — the sample (framed), then its nearest training
 * images left to right, closest first. `neighbours` is nearestTrainingImages' output.
 */
export function nearestPanelPng(samples: Uint8Array, train: Uint8Array, neighbours: readonly Neighbours[], shape: ImageShape, opts: PanelOptions = {}): Buffer {
  const n = countImages(samples, shape, 'panel samples');
  const nTrain = countImages(train, shape, 'panel training images');
  if (neighbours.length !== n) throw new CbdmError(`nearest panel: ${neighbours.length} neighbour lists for ${n} samples`);
  if (n === 0) throw new CbdmError('nearest panel: no samples');
  const scale = opts.scale ?? 2;
  const pad = opts.pad ?? 2;
  const gap = opts.gap ?? 3 * pad;
  const k = Math.max(...neighbours.map((nb) => nb.indices.length));
  const cw = shape.w * scale;
  const ch = shape.h * scale;
  const frame = 1;
  const width = pad + frame + cw + frame + gap + k * (cw + pad);
  const height = pad + n * (ch + 2 * frame + pad);
  const out = newRaster(width, height, opts.background);
  const fc = opts.sampleFrame ?? [214, 110, 20];
  for (let s = 0; s < n; s++) {
    const y = pad + s * (ch + 2 * frame + pad);
    fillRect(out, pad, y, cw + 2 * frame, ch + 2 * frame, fc);
    blitImage(out, samples, s, shape, pad + frame, y + frame, scale);
    const x0 = pad + 2 * frame + cw + gap;
    neighbours[s]!.indices.forEach((ti, j) => {
      if (!(Number.isInteger(ti) && ti >= 0 && ti < nTrain)) throw new CbdmError(`nearest panel: training index ${ti} out of range 0..${nTrain - 1}`);
      blitImage(out, train, ti, shape, x0 + j * (cw + pad), y + frame, scale);
    });
  }
  return encodePng(out);
}

function fillRect(r: Raster, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  for (let y = Math.max(0, y0); y < Math.min(r.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(r.width, x0 + w); x++) {
      const o = 4 * (y * r.width + x);
      r.data[o] = c[0];
      r.data[o + 1] = c[1];
      r.data[o + 2] = c[2];
      r.data[o + 3] = 255;
    }
  }
}
