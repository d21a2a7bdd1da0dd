/**
 * CIFAR-10 / CIFAR-100 readers for both official distributions, from a directory or straight
 * from the downloaded `.tar.gz` (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * Binary version, one record per image, pixels CHW (1024 R, 1024 G, 1024 B, rows top→bottom):
 *   CIFAR-10  `data_batch_{1..5}.bin`, `test_batch.bin`: [label u8][3072 px]   = 3073 bytes
 *   CIFAR-100 `train.bin`, `test.bin`:          [coarse u8][fine u8][3072 px] = 3074 bytes
 * Python version: pickled dicts (`data_batch_{1..5}`, `test_batch` / `train`, `test`) holding
 * `data` (N×3072 uint8, same pixel order) and `labels` / `fine_labels` (see cifar_python.ts).
 * The train split concatenates the batches in order 1..5, as torchvision does, so source
 * indices match the published long-tail selection.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { ImageDataset } from './dataset.ts';
import { readTarGz } from './tar.ts';
import { decodePythonBatch, decodePythonMeta } from './cifar_python.ts';
import { CbdmError } from '../util/errors.ts';

/** Which CIFAR, which split, which official distribution. */
export type CifarVariant = 'cifar10' | 'cifar100';
export type CifarSplit = 'train' | 'test';
export type CifarFormat = 'binary' | 'python';

/** Where users download CIFAR (named in every missing/corrupt-file error). */
export const CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar.html';
/** Pixels per image (3 × 32 × 32). */
export const CIFAR_PIXELS = 3072;
/** Images per official batch file. */
const PER_BATCH: Record<CifarVariant, Record<CifarSplit, number>> = {
  cifar10: { train: 10000, test: 10000 },
  cifar100: { train: 50000, test: 10000 },
};

/** CIFAR-10 class names, used when batches.meta(.txt) is absent. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** What `loadCifar` reads. */
export interface CifarOptions {
  /** A directory (holding the files, the extracted folder, or the archive) or a `.tar.gz`. */
  root: string;
  variant: CifarVariant;
  split?: CifarSplit;
  /** Which distribution to read; `auto` (default) uses whichever is present, binary first. */
  format?: CifarFormat | 'auto';
  /** Called with non-fatal notices (default console.warn). */
  onWarning?: (msg: string) => void;
}

/** Where the files of one distribution were found: a folder or an archive. */
interface FileSource {
  where: string;
  format: CifarFormat;
  /** Bytes of the file named `name` (basename), or null when absent. */
  read(name: string): Uint8Array | null;
  /** Path shown to users for `name`. */
  show(name: string): string;
}

function folderName(variant: CifarVariant, format: CifarFormat): string {
  switch (format) {
    case 'binary': return variant === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary';
    case 'python': return variant === 'cifar10' ? 'cifar-10-batches-py' : 'cifar-100-python';
  }
}

function archiveName(variant: CifarVariant, format: CifarFormat): string {
  return `${variant === 'cifar10' ? 'cifar-10' : 'cifar-100'}-${format}.tar.gz`;
}

/** File names of a split, in concatenation order. */
export function cifarFiles(variant: CifarVariant, format: CifarFormat, split: CifarSplit): string[] {
  const ext = format === 'binary' ? '.bin' : '';
  if (variant === 'cifar10') return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}${ext}`) : [`test_batch${ext}`];
  return [`${split}${ext}`];
}

function metaFile(variant: CifarVariant, format: CifarFormat): string {
  if (format === 'binary') return variant === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt';
  return variant === 'cifar10' ? 'batches.meta' : 'meta';
}

function expectedLayout(variant: CifarVariant, split: CifarSplit): string {
  const fmts: CifarFormat[] = ['binary', 'python'];
  return fmts.map((f) => `${folderName(variant, f)}/{${cifarFiles(variant, f, split).join(',')}} (or ${archiveName(variant, f)})`).join(' or ');
}

function missingError(root: string, variant: CifarVariant, split: CifarSplit, detail: string): CbdmError {
  return new CbdmError(`${variant} ${split} split not found at ${root}: ${detail}. Expected ${expectedLayout(variant, split)}. Download CIFAR from ${CIFAR_URL} and pass its folder or .tar.gz with --root.`);
}

function dirSource(dir: string, format: CifarFormat): FileSource {
  return {
    where: dir,
    format,
    read: (name) => (existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null),
    show: (name) => join(dir, name),
  };
}

function archiveSource(path: string, variant: CifarVariant, split: CifarSplit): FileSource {
  const entries = readTarGz(new Uint8Array(readFileSync(path)), path);
  const byBase = new Map<string, Uint8Array>();
  for (const e of entries) if (e.type === '0') byBase.set(basename(e.name), e.data);
  for (const format of ['binary', 'python'] as const) {
    if (cifarFiles(variant, format, split).some((f) => byBase.has(f))) {
      const dir = folderName(variant, format);
      return { where: path, format, read: (name) => byBase.get(name) ?? null, show: (name) => `${path}:${dir}/${name}` };
    }
  }
  throw missingError(path, variant, split, `the archive holds none of the ${variant} ${split} files (members: ${entries.slice(0, 6).map((e) => e.name).join(', ')}${entries.length > 6 ? ', ...' : ''})`);
}

function resolveSource(root: string, variant: CifarVariant, split: CifarSplit, want: CifarFormat | 'auto'): FileSource {
  if (!existsSync(root)) throw missingError(root, variant, split, 'the path does not exist');
  const formats: CifarFormat[] = want === 'auto' ? ['binary', 'python'] : [want];
  if (statSync(root).isFile()) {
    const src = archiveSource(root, variant, split);
    if (!formats.includes(src.format)) throw missingError(root, variant, split, `the archive holds the ${src.format} version, not the ${want} version`);
    return src;
  }
  for (const format of formats) {
    const first = cifarFiles(variant, format, split)[0]!;
    for (const dir of [root, join(root, folderName(variant, format))]) {
      if (existsSync(join(dir, first))) return dirSource(dir, format);
    }
  }
  for (const format of formats) {
    const arc = join(root, archiveName(variant, format));
    if (existsSync(arc)) return archiveSource(arc, variant, split);
  }
  const other: CifarVariant = variant === 'cifar10' ? 'cifar100' : 'cifar10';
  const hasOther = (['binary', 'python'] as const).some((f) => [root, join(root, folderName(other, f))].some((d) => existsSync(join(d, cifarFiles(other, f, split)[0]!))));
  throw missingError(root, variant, split, hasOther ? `it holds ${other} files, not ${variant} — check --dataset` : 'no CIFAR files in this folder');
}

/** Decode one binary-version file (`file` names it in errors; `official` = images it should hold). */
export function decodeBinaryBatch(buf: Uint8Array, variant: CifarVariant, file: string, numClasses: number, official: number): { images: Uint8Array; labels: Int32Array } {
  const rec = CIFAR_PIXELS + (variant === 'cifar10' ? 1 : 2);
  if (buf.length === 0 || buf.length % rec !== 0) {
    throw new CbdmError(`${file} is truncated or not a ${variant} binary batch: ${buf.length} bytes is not a whole number of ${rec}-byte records (the official file has ${official} images × ${rec} = ${official * rec} bytes). Download it again from ${CIFAR_URL}.`);
  }
  const n = buf.length / rec;
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  const labelAt = rec - CIFAR_PIXELS - 1; // fine label for CIFAR-100
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    const y = buf[o + labelAt]!;
    if (y >= numClasses) throw new CbdmError(`${file}: record ${i} has label ${y}, but ${variant} has ${numClasses} classes — is this a ${variant === 'cifar10' ? 'CIFAR-100' : 'CIFAR-10'} file?`);
    labels[i] = y;
    images.set(buf.subarray(o + rec - CIFAR_PIXELS, o + rec), i * CIFAR_PIXELS);
  }
  return { images, labels };
}

/** Load one split of CIFAR-10 or CIFAR-100 as uint8 CHW images. */
export function loadCifar(opts: CifarOptions): ImageDataset {
  const split = opts.split ?? 'train';
  const warn = opts.onWarning ?? ((m: string) => console.warn(`cbdm: warning: ${m}`));
  const numClasses = opts.variant === 'cifar10' ? 10 : 100;
  const src = resolveSource(opts.root, opts.variant, split, opts.format ?? 'auto');
  const files = cifarFiles(opts.variant, src.format, split);
  const parts: { images: Uint8Array; labels: Int32Array }[] = [];
  for (const f of files) {
    const buf = src.read(f);
    if (!buf) throw missingError(src.where, opts.variant, split, `${src.show(f)} is missing (found ${src.show(files[0]!)})`);
    const official = PER_BATCH[opts.variant][split];
    const part = src.format === 'binary'
      ? decodeBinaryBatch(buf, opts.variant, src.show(f), numClasses, official)
      : decodePythonBatch(buf, opts.variant, src.show(f), numClasses);
    if (part.labels.length !== official) warn(`${src.show(f)} holds ${part.labels.length} images; the official file holds ${official}`);
    parts.push(part);
  }
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * CIFAR_PIXELS);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) counts[labels[i]!]!++;
  return {
    name: opts.variant,
    numClasses,
    classNames: classNames(src, opts.variant, numClasses, warn),
    size: 32,
    channels: 3,
    images,
    labels,
    counts,
    sourceIndex: Int32Array.from({ length: n }, (_, i) => i),
  };
}

function classNames(src: FileSource, variant: CifarVariant, numClasses: number, warn: (m: string) => void): string[] {
  const file = metaFile(variant, src.format);
  const buf = src.read(file);
  let names: string[] | null = null;
  if (buf) {
    names = src.format === 'binary'
      ? Buffer.from(buf).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0)
      : decodePythonMeta(buf, variant, src.show(file));
    if (names.length !== numClasses) {
      warn(`${src.show(file)} lists ${names.length} class names, expected ${numClasses}; using generic names`);
      names = null;
    }
  }
  if (names) return names;
  if (variant === 'cifar10') return CIFAR10_CLASSES.slice();
  return Array.from({ length: numClasses }, (_, i) => `class_${String(i).padStart(2, '0')}`);
}
