/**
 * The sample files `cbdm eval` reads, as the arrays of our own format (x N×C×S×S, y N labels,
 * optional meta):
 * - ours: a `.npz` with x, y (and meta) — `cbdm sample`;
 * - guided-diffusion's: a `.npz` with `arr_0`, N×S×S×C uint8 (channels last), and `arr_1`, the
 *   labels (openai/guided-diffusion, scripts/image_sample.py, `np.savez(out_path, arr, label_arr)`);
 * - the published CBDM code's `.npy` pair: `<method>_<ω>_samples_ema_<name>.npy`, N×3×S×S float
 *   in [0, 1], beside `<method>_<ω>_labels_ema_<name>.npy` (qym7/CBDM-pytorch, main.py, evaluate()).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readNpz } from '../io/npz.ts';
import { readNpy } from '../io/npy.ts';
import type { NdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';

export interface SampleArrays {
  x: NdArray;
  y: NdArray;
  meta?: NdArray;
}

/** Channels-last N×S×S×C uint8 images as channels-first N×C×S×S. */
export function channelsFirst(a: NdArray, source: string): NdArray {
  if (a.dtype !== 'uint8' || a.shape.length !== 4 || (a.shape[3] !== 1 && a.shape[3] !== 3)) {
    throw new CbdmError(`${source}: arr_0 must be N×H×W×3 (or N×H×W×1) uint8 images, got ${a.dtype} [${a.shape.join(', ')}]`);
  }
  const [n, h, w, c] = a.shape as [number, number, number, number];
  const src = a.data as Uint8Array;
  const out = new Uint8Array(src.length);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * plane * c;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[base + k * plane + p] = src[base + p * c + k]!;
  }
  return { dtype: 'uint8', shape: [n, c, h, w], data: out };
}

/** The labels file of a published `…_samples_…npy`: the same name with `_labels_`. */
export function publishedLabelsPath(samplesPath: string): string | null {
  const name = basename(samplesPath);
  const i = name.lastIndexOf('_samples_');
  return i < 0 ? null : join(dirname(samplesPath), `${name.slice(0, i)}_labels_${name.slice(i + '_samples_'.length)}`);
}

/** Read a samples file in any of the formats above. */
export function readSampleArrays(path: string): SampleArrays {
  if (path.endsWith('.npy')) {
    const labelsPath = publishedLabelsPath(path);
    if (labelsPath === null || !existsSync(labelsPath)) {
      throw new CbdmError(`${path}: a .npy of samples needs its labels beside it, named as the published code saves them (…_samples_… → ${labelsPath ? basename(labelsPath) : '…_labels_….npy'}); or give an .npz with x and y`);
    }
    return { x: readNpy(path), y: readNpy(labelsPath) };
  }
  const npz = readNpz(path);
  if (npz.x || !npz.arr_0) return { x: npz.x!, y: npz.y!, meta: npz.meta };
  if (!npz.arr_1) throw new CbdmError(`${path}: holds arr_0 (images) but no arr_1 (class labels); per-class evaluation needs the labels — save them as arr_1 (np.savez(path, images, labels))`);
  return { x: channelsFirst(npz.arr_0, path), y: npz.arr_1 };
}
