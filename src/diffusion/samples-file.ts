/**
 * Sample files: a float .npz (x in [0, 1] N×C×S×S, C = 3 RGB or 1 grey, y int32 labels, meta = the sampling protocol
 * as UTF-8 JSON bytes, read back by `cbdm eval`) and per-class PNG grids (class_XXX.png).
 */
import { join } from 'node:path';
import { writeNpz } from '../io/npz.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { gridPng, floatToUint8 } from '../io/png-grid.ts';
import type { SampleProtocol } from './generate.ts';

/** File name of class `cls`'s image in samples/ and nn/ of a run folder: `class_007.png`. */
export function classFileName(cls: number): string {
  return `class_${String(cls).padStart(3, '0')}.png`;
}

/** Write samples as .npz (x float32 in [0, 1], y int32, meta = protocol JSON as uint8). */
export function writeSamplesNpz(path: string, x: Float32Array, y: Int32Array, size: number, protocol: SampleProtocol, channels = 3): void {
  const meta = new Uint8Array(Buffer.from(JSON.stringify(protocol), 'utf8'));
  writeNpz(path, {
    x: { dtype: 'float32', shape: [y.length, channels, size, size], data: x },
    y: { dtype: 'int32', shape: [y.length], data: y },
    meta: { dtype: 'uint8', shape: [meta.length], data: meta },
  });
}

/** Write one PNG grid per class present in y (up to `perClass` images each) into dir. */
export function writeClassGrids(dir: string, x: Float32Array, y: Int32Array, size: number, numClasses: number, perClass = 64, channels = 3): number {
  const D = channels * size * size;
  let written = 0;
  for (let c = 0; c < Math.max(1, numClasses); c++) {
    const idx: number[] = [];
    for (let i = 0; i < y.length && idx.length < perClass; i++) if (numClasses === 0 || y[i] === c) idx.push(i);
    if (idx.length === 0) continue;
    const imgs = new Float32Array(idx.length * D);
    idx.forEach((i, k) => imgs.set(x.subarray(i * D, (i + 1) * D), k * D));
    const png = gridPng(floatToUint8(imgs), { c: channels, h: size, w: size }, { cols: Math.min(8, idx.length), scale: size <= 16 ? 4 : 2 });
    writeFileAtomic(join(dir, classFileName(c)), png);
    written++;
  }
  return written;
}
