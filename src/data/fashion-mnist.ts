/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747; zalandoresearch/fashion-mnist):
 * 70,000 28×28 greyscale images of 10 clothing classes, 6,000 train + 1,000 test per class, in
 * the original gzip'd IDX files. Debian's `dataset-fashion-mnist` installs them in
 * /usr/share/datasets/fashion-mnist/ (the default root):
 *
 *   train-images-idx3-ubyte.gz  [60000, 28, 28]   train-labels-idx1-ubyte.gz  [60000]
 *   t10k-images-idx3-ubyte.gz   [10000, 28, 28]   t10k-labels-idx1-ubyte.gz   [10000]
 *
 * Images are white garments on black (0). The UNet's sizes are powers of two, so 28 px become
 *   32: centred with 2 black pixels on each side — every original pixel kept, unchanged;
 *   16: resized with the antialiased bilinear filter of `resize.ts` (a fast, blurrier demo size).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset } from './dataset.ts';
import { readIdxFile } from '../io/idx.ts';
import { padImage, resizeBilinear } from './resize.ts';
import { CbdmError } from '../util/errors.ts';

/** Where `apt-get install dataset-fashion-mnist` puts the files. */
export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';
/** The original image side. */
export const FASHION_MNIST_NATIVE_SIZE = 28;
/** Sizes the loader produces: 32 (zero-padded), 16 (bilinear). */
export type FashionMnistSize = 16 | 32;

/** Class names in label order (folder-safe versions of the dataset's "T-shirt/top", …). */
export const FASHION_MNIST_CLASSES = ['tshirt-top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];

export type FashionMnistSplit = 'train' | 'test';

/** The file names of a split (images, labels). */
export function fashionMnistFiles(split: FashionMnistSplit): { images: string; labels: string } {
  const p = split === 'train' ? 'train' : 't10k';
  return { images: `${p}-images-idx3-ubyte.gz`, labels: `${p}-labels-idx1-ubyte.gz` };
}

export interface FashionMnistOptions {
  /** Folder holding the four .gz files (default the Debian path). */
  root?: string;
  split?: FashionMnistSplit;
  /** 32 (pad, default) or 16 (bilinear). */
  size?: number;
}

function missing(root: string, detail: string, isDefault: boolean): CbdmError {
  const fix = isDefault
    ? 'Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass --root with a folder holding the four IDX .gz files from https://github.com/zalandoresearch/fashion-mnist'
    : 'Pass --root with a folder holding the four IDX .gz files (from `apt-get install dataset-fashion-mnist`, which puts them in ' + FASHION_MNIST_DEFAULT_ROOT + ', or https://github.com/zalandoresearch/fashion-mnist)';
  return new CbdmError(`Fashion-MNIST not found at ${root}: ${detail}. ${fix}.`);
}

/** Load one split of Fashion-MNIST as 1×S×S uint8 images. */
export function loadFashionMnist(opts: FashionMnistOptions = {}): ImageDataset {
  const root = opts.root ?? FASHION_MNIST_DEFAULT_ROOT;
  const split = opts.split ?? 'train';
  const size = opts.size ?? 32;
  if (size !== 16 && size !== 32) throw new CbdmError(`Fashion-MNIST is served at 32 px (28 padded with 2 black pixels per side) or 16 px (bilinear resize), not ${size}; use --image-size 32 or 16`);
  const files = fashionMnistFiles(split);
  if (!existsSync(root)) throw missing(root, 'the folder does not exist', opts.root === undefined);
  for (const f of [files.images, files.labels]) if (!existsSync(join(root, f))) throw missing(root, `${f} is missing`, opts.root === undefined);
  const imgPath = join(root, files.images);
  const lblPath = join(root, files.labels);
  const img = readIdxFile(imgPath, 3);
  const lbl = readIdxFile(lblPath, 1);
  const [n, h, w] = img.shape as [number, number, number];
  if (h !== FASHION_MNIST_NATIVE_SIZE || w !== FASHION_MNIST_NATIVE_SIZE) throw new CbdmError(`${imgPath} holds ${h}×${w} images; Fashion-MNIST images are 28×28`);
  if (lbl.shape[0] !== n) throw new CbdmError(`${lblPath} holds ${lbl.shape[0]} labels but ${imgPath} holds ${n} images; the two files must come from the same split`);
  const labels = new Int32Array(n);
  const counts = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
  for (let i = 0; i < n; i++) {
    const y = lbl.data[i]!;
    if (y >= FASHION_MNIST_CLASSES.length) throw new CbdmError(`${lblPath}: label ${y} at index ${i}, but Fashion-MNIST has ${FASHION_MNIST_CLASSES.length} classes (0..9)`);
    labels[i] = y;
    counts[y]!++;
  }
  const images = size === 32 ? padImage(img.data, n, h, 32) : resizeBilinear(img.data, n, h, 16);
  return {
    name: split === 'train' ? 'fashion-mnist' : 'fashion-mnist-test',
    numClasses: FASHION_MNIST_CLASSES.length,
    classNames: FASHION_MNIST_CLASSES.slice(),
    size,
    channels: 1,
    images,
    labels,
    counts,
    sourceIndex: Int32Array.from({ length: n }, (_, i) => i),
  };
}
