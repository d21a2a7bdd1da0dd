/**
 * Dataset names → loaders. Every command that takes `--dataset` goes through `loadDataset`.
 *
 *   shapes10-lt, shapes100-lt       embedded procedural long-tailed shapes (no download)
 *   cifar10, cifar100               the full split (`root` required)
 *   cifar10-lt, cifar100-lt         long-tailed subset of the train split (`imb`, `profile`,
 *                                   `numpyCompat` reproduces the published selection)
 *   fashion-mnist                   Fashion-MNIST, balanced (train 60k or `split` test 10k), 1 channel,
 *                                   28 px padded to 32 or resized to 16 (`size`); root default
 *                                   /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
 *   fashion-mnist-lt                long-tailed subset of its train split: exp profile,
 *                                   n_i = floor(nMax · imb^(i/(C−1))), nMax default 500 (500 → 5)
 *   folder:PATH                     one sub-folder per class, resized/cropped to `size`
 */
import type { ImageDataset } from './dataset.ts';
import type { LongTailProfile } from './longtail.ts';
import { loadCifar, type CifarSplit, type CifarVariant, type CifarFormat } from './cifar.ts';
import { makeLongTail } from './subset.ts';
import { loadImageFolder } from './folder.ts';
import { makeShapesLT } from './shapes.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import { CbdmError } from '../util/errors.ts';

/** A parsed dataset name. */
export type DatasetKind =
  | { kind: 'shapes'; classes: 10 | 100 }
  | { kind: 'cifar'; variant: CifarVariant; longTail: boolean }
  | { kind: 'fashion-mnist'; longTail: boolean }
  | { kind: 'folder'; path: string };

/** Everything needed to build a dataset; only `name` is always required. */
export interface DatasetSpec {
  name: string;
  /** CIFAR: folder or .tar.gz of the download; Fashion-MNIST: folder of the IDX files. */
  root?: string;
  /** CIFAR / Fashion-MNIST: train (default) or test; long-tailed names only take train. */
  split?: CifarSplit;
  /** CIFAR: binary or python version; default auto. */
  format?: CifarFormat | 'auto';
  /** Imbalance factor for *-lt (default 0.01). */
  imb?: number;
  /** Long-tail profile for *-lt (default exp). */
  profile?: LongTailProfile;
  /** CIFAR-LT: reproduce NumPy's published selection exactly (default false). */
  numpyCompat?: boolean;
  /** Seed of the subset selection / procedural generator (default 0). */
  seed?: number;
  /** Image size: shapes and Fashion-MNIST 16 or 32 (default 32); folders any (default 32); CIFAR must be 32. */
  size?: number;
  /** Shapes and fashion-mnist-lt: head-class size (default 500); CIFAR-LT takes N / C. */
  nMax?: number;
  /** Folders: unreadable images are fatal (default false: skipped with a warning). */
  strict?: boolean;
  /** Non-fatal notices (default console.warn). */
  onWarning?: (msg: string) => void;
}

/** The fixed dataset names (plus `folder:PATH`). */
export const DATASET_NAMES = ['shapes10-lt', 'shapes100-lt', 'cifar10', 'cifar10-lt', 'cifar100', 'cifar100-lt', 'fashion-mnist', 'fashion-mnist-lt'] as const;

/** Head-class size of fashion-mnist-lt unless `nMax` says otherwise: 500 → 5 at imb 0.01, as CIFAR-100-LT. */
export const FASHION_MNIST_LT_MAX_PER_CLASS = 500;

/** Parse a `--dataset` value; unknown names get an error listing the valid ones. */
export function parseDatasetName(name: string): DatasetKind {
  if (name.startsWith('folder:')) {
    const path = name.slice('folder:'.length);
    if (path === '') throw new CbdmError('dataset folder:PATH needs a path, e.g. folder:./my-images');
    return { kind: 'folder', path };
  }
  switch (name) {
    case 'shapes10-lt': return { kind: 'shapes', classes: 10 };
    case 'shapes100-lt': return { kind: 'shapes', classes: 100 };
    case 'cifar10': return { kind: 'cifar', variant: 'cifar10', longTail: false };
    case 'cifar10-lt': return { kind: 'cifar', variant: 'cifar10', longTail: true };
    case 'cifar100': return { kind: 'cifar', variant: 'cifar100', longTail: false };
    case 'cifar100-lt': return { kind: 'cifar', variant: 'cifar100', longTail: true };
    case 'fashion-mnist': return { kind: 'fashion-mnist', longTail: false };
    case 'fashion-mnist-lt': return { kind: 'fashion-mnist', longTail: true };
    default:
      throw new CbdmError(`unknown dataset "${name}"; valid names: ${DATASET_NAMES.join(', ')}, folder:PATH`);
  }
}

/** Build the dataset a spec names (decoded once, uint8). */
export async function loadDataset(spec: DatasetSpec): Promise<ImageDataset> {
  const parsed = parseDatasetName(spec.name);
  if (spec.imb !== undefined && !(spec.imb > 0 && spec.imb <= 1)) throw new CbdmError(`--imb must be in (0, 1], got ${spec.imb}`);
  switch (parsed.kind) {
    case 'shapes': {
      const size = spec.size ?? 32;
      if (size !== 16 && size !== 32) throw new CbdmError(`${spec.name} renders 16 or 32 pixel images, not ${size}`);
      if (spec.split === 'test') throw new CbdmError(`${spec.name} has no test split; its generator gives balanced reference sets instead`);
      return makeShapesLT({ classes: parsed.classes, size, imb: spec.imb ?? 0.01, nMax: spec.nMax, profile: spec.profile ?? 'exp', seed: spec.seed ?? 0 });
    }
    case 'cifar': {
      if (!spec.root) throw new CbdmError(`${spec.name} needs --root: the folder (or .tar.gz) of the CIFAR download from https://www.cs.toronto.edu/~kriz/cifar.html`);
      if (spec.size !== undefined && spec.size !== 32) throw new CbdmError(`CIFAR images are 32×32; --image-size ${spec.size} is not supported for ${spec.name}`);
      const split = spec.split ?? 'train';
      if (parsed.longTail && split !== 'train') throw new CbdmError(`${spec.name} is a subset of the train split; use ${parsed.variant} --split test for the (balanced) test set`);
      const full = loadCifar({ root: spec.root, variant: parsed.variant, split, format: spec.format ?? 'auto', onWarning: spec.onWarning });
      if (!parsed.longTail) return split === 'test' ? { ...full, name: `${parsed.variant}-test` } : full;
      return makeLongTail(full, { imb: spec.imb ?? 0.01, profile: spec.profile ?? 'exp', numpyCompat: spec.numpyCompat ?? false, seed: spec.seed ?? 0, name: spec.name });
    }
    case 'fashion-mnist': {
      const split = spec.split ?? 'train';
      if (parsed.longTail && split !== 'train') throw new CbdmError(`${spec.name} is a subset of the train split; use fashion-mnist --split test for the (balanced) test set`);
      const full = loadFashionMnist({ root: spec.root, split, size: spec.size ?? 32 });
      if (!parsed.longTail) return full;
      const nMax = spec.nMax ?? FASHION_MNIST_LT_MAX_PER_CLASS;
      if (!(Number.isInteger(nMax) && nMax >= 1 && nMax <= 6000)) throw new CbdmError(`--max-per-class must be an integer in 1..6000 (Fashion-MNIST has 6,000 train images per class), got ${nMax}`);
      return makeLongTail(full, { imb: spec.imb ?? 0.01, profile: spec.profile ?? 'exp', nMax, numpyCompat: spec.numpyCompat ?? false, seed: spec.seed ?? 0, name: spec.name });
    }
    case 'folder': {
      const ds = await loadImageFolder(parsed.path, { size: spec.size ?? 32, strict: spec.strict ?? false, onWarning: spec.onWarning });
      if (spec.imb !== undefined) return makeLongTail(ds, { imb: spec.imb, profile: spec.profile ?? 'exp', numpyCompat: spec.numpyCompat ?? false, seed: spec.seed ?? 0, name: `${ds.name}-lt` });
      return ds;
    }
  }
}
