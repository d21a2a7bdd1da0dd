/**
 * Export a dataset as an image folder: `out/<NNN>_<class>/<index>.png` plus `out/index.json`
 * recording every image's file, label and source index. Folder names sort in class order, so
 * `folder:out` loads the same classes back. index.json is written last (atomically), so its
 * presence marks a complete export; the PNGs themselves are plain writes (no fsync each).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { ImageDataset } from './dataset.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** One exported image in `index.json`. */
export interface ExportRecord {
  /** Path relative to the export folder. */
  file: string;
  label: number;
  /** Index in the source dataset (e.g. the CIFAR train split), or the position if unknown. */
  sourceIndex: number;
}

/** Contents of index.json. */
export interface ExportIndex {
  dataset: string;
  numClasses: number;
  classNames: string[];
  size: number;
  counts: number[];
  images: ExportRecord[];
}

/** index.json text: header fields pretty-printed, one line per image (diffable, compact). */
function formatIndex(index: ExportIndex): string {
  const { images, ...head } = index;
  const top = JSON.stringify(head, null, 1).replace(/\n}$/, '');
  return `${top},\n "images": [\n${images.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n ]\n}\n`;
}

/** Folder name of class `c`: zero-padded index + a file-system-safe class name. */
export function classFolderName(c: number, name: string, numClasses: number): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64);
  return `${String(c).padStart(Math.max(3, String(numClasses - 1).length), '0')}_${safe}`;
}

/** Encode image i of `ds` (CHW uint8) as PNG bytes: RGB, or 8-bit greyscale for one channel. */
export function encodePng(ds: ImageDataset, i: number): Uint8Array {
  const s = ds.size;
  const plane = s * s;
  const o = i * ds.channels * plane;
  switch (ds.channels) {
    case 1: {
      const png = new PNG({ width: s, height: s, colorType: 0, inputColorType: 0, inputHasAlpha: false });
      png.data = Buffer.from(ds.images.subarray(o, o + plane));
      return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
    }
    case 3: {
      const png = new PNG({ width: s, height: s, colorType: 2, inputColorType: 2, inputHasAlpha: false });
      const rgb = Buffer.alloc(plane * 3);
      for (let p = 0; p < plane; p++) {
        rgb[3 * p] = ds.images[o + p]!;
        rgb[3 * p + 1] = ds.images[o + plane + p]!;
        rgb[3 * p + 2] = ds.images[o + 2 * plane + p]!;
      }
      png.data = rgb;
      return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
    }
    default: {
      const never: never = ds.channels;
      throw new Error(`encodePng: ${String(never)} channels`);
    }
  }
}

/** Write every image of `ds` under `outDir`; returns the index that is also saved as index.json. */
export function exportDataset(ds: ImageDataset, outDir: string, onProgress?: (done: number, total: number) => void): ExportIndex {
  const n = ds.labels.length;
  const folders = ds.classNames.map((name, c) => classFolderName(c, name, ds.numClasses));
  const width = Math.max(5, String(n - 1).length);
  for (const f of folders) mkdirSync(join(outDir, f), { recursive: true });
  const images: ExportRecord[] = [];
  for (let i = 0; i < n; i++) {
    const label = ds.labels[i]!;
    const file = `${folders[label]}/${String(i).padStart(width, '0')}.png`;
    writeFileSync(join(outDir, file), encodePng(ds, i));
    images.push({ file, label, sourceIndex: ds.sourceIndex ? ds.sourceIndex[i]! : i });
    if (onProgress && (i % 256 === 255 || i === n - 1)) onProgress(i + 1, n);
  }
  const index: ExportIndex = { dataset: ds.name, numClasses: ds.numClasses, classNames: ds.classNames.slice(), size: ds.size, counts: ds.counts.slice(), images };
  writeFileAtomic(join(outDir, 'index.json'), formatIndex(index));
  return index;
}
