/**
 * Generated samples for `cbdm classify --augment-with`: read from an .npz, the ones `--fill-to`
 * selects, appended to the real training set (the paper's downstream protocol, docs/DESIGN.md §1.7).
 */
import type { ImageDataset } from '../data/dataset.ts';
import { readNpz, npzGet } from '../io/npz.ts';
import { toFloat64 } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';

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
export function pickRows(images: Uint8Array, labels: Int32Array, idx: readonly number[], plane: number): { images: Uint8Array; labels: Int32Array } {
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
