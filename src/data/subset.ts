/**
 * Long-tailed subsets of a balanced dataset (CIFAR-10-LT / CIFAR-100-LT and friends).
 *
 * Counts come from `longTailCounts` (exp or step profile). Which images of each class are kept:
 *   - `numpyCompat: true` reproduces the published selection exactly (CBDM `dataset.py`, taken from
 *     LDAM-DRW `imbalance_cifar.py`): `np.random.seed(0)`, then for each class c in sorted order
 *     `idx = np.where(targets == c)[0]; np.random.shuffle(idx); keep idx[:n_c]` — one global
 *     legacy MT19937 stream shared by all classes.
 *   - otherwise our own seeded `Rng` shuffles each class's indices the same way.
 * Images are ordered class by class (as `np.vstack` of the per-class selections).
 */
import { imageValues, type ImageDataset } from './dataset.ts';
import { longTailCounts, type LongTailProfile } from './longtail.ts';
import { MT19937 } from './mt19937.ts';
import { Rng } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';

/** How `makeLongTail` builds a subset. */
export interface LongTailOptions {
  /** Imbalance factor n_min / n_max in (0, 1]; 0.01 as published. */
  imb: number;
  /** Count profile; default `exp`. */
  profile?: LongTailProfile;
  /** Head-class size; default floor(N / C) as the published code (500 for CIFAR-100). */
  nMax?: number;
  /** Reproduce NumPy's legacy global-RNG selection exactly (seed = `seed`, default 0). */
  numpyCompat?: boolean;
  /** Seed for the selection RNG (MT19937 in numpy-compat mode, else `Rng`); default 0. */
  seed?: number;
  /** Name of the result; default `${ds.name}-lt`. */
  name?: string;
}

/**
 * Source indices kept for each class, concatenated in class order. A class with fewer images
 * than requested keeps all of them (as `idx[:n]` does).
 */
export function selectLongTail(labels: Int32Array, numClasses: number, counts: readonly number[], numpyCompat: boolean, seed = 0): Int32Array {
  if (counts.length !== numClasses) throw new RangeError(`selectLongTail: ${counts.length} counts for ${numClasses} classes`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (c < 0 || c >= numClasses) throw new RangeError(`selectLongTail: label ${c} at ${i} outside [0, ${numClasses})`);
    byClass[c]!.push(i);
  }
  const mt = numpyCompat ? new MT19937(seed >>> 0) : null;
  const rng = numpyCompat ? null : new Rng(seed, 0x17);
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const idx = byClass[c]!;
    // np.unique(targets) skips absent classes, so the published code never shuffles for them.
    if (idx.length === 0) continue;
    if (mt) mt.shuffle(idx);
    else rng!.shuffle(idx);
    const n = Math.min(counts[c]!, idx.length);
    for (let k = 0; k < n; k++) out.push(idx[k]!);
  }
  return Int32Array.from(out);
}

/** A new dataset holding the selected images of `ds` (copies pixels; `sourceIndex` composes). */
export function subsetDataset(ds: ImageDataset, indices: Int32Array, name: string): ImageDataset {
  const per = imageValues(ds);
  const images = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  const sourceIndex = new Int32Array(indices.length);
  const counts = new Array<number>(ds.numClasses).fill(0);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (i < 0 || i >= ds.labels.length) throw new RangeError(`subsetDataset: index ${i} outside [0, ${ds.labels.length})`);
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i]!;
    sourceIndex[k] = ds.sourceIndex ? ds.sourceIndex[i]! : i;
    counts[labels[k]!]!++;
  }
  return { name, numClasses: ds.numClasses, classNames: ds.classNames.slice(), size: ds.size, channels: ds.channels, images, labels, counts, sourceIndex };
}

/** The long-tailed subset of a (balanced) dataset, e.g. CIFAR-100 → CIFAR-100-LT (10,847 images). */
export function makeLongTail(ds: ImageDataset, opts: LongTailOptions): ImageDataset {
  const C = ds.numClasses;
  const nMax = opts.nMax ?? Math.floor(ds.labels.length / C);
  if (!(nMax >= 1)) throw new CbdmError(`long-tail subset of ${ds.name}: it has ${ds.labels.length} images for ${C} classes, too few for a head class`);
  if (!(opts.imb > 0 && opts.imb <= 1)) throw new CbdmError(`long-tail subset of ${ds.name}: --imb must be in (0, 1], got ${opts.imb}`);
  // Python computes int(img_max * imb ** (i / (C - 1.0))) — the same doubles as longTailCounts.
  const counts = longTailCounts(nMax, C, opts.imb, opts.profile ?? 'exp');
  const idx = selectLongTail(ds.labels, C, counts, opts.numpyCompat ?? false, opts.seed ?? 0);
  return subsetDataset(ds, idx, opts.name ?? `${ds.name}-lt`);
}
