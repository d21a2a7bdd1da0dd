import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng, floatToUint8, gridPng, gridRaster } from '../../src/io/png-grid.ts';
import { nearestPanelPng, nearestTrainingImages } from '../../src/report/nearest.ts';
import { CbdmError } from '../../src/util/errors.ts';

/** n images C×H×W where image k has every value = base + k (per channel + 10·c). */
function solid(n: number, c: number, h: number, w: number, base = 0): Uint8Array {
  const out = new Uint8Array(n * c * h * w);
  for (let k = 0; k < n; k++) for (let ch = 0; ch < c; ch++) out.fill(base + k + 10 * ch, (k * c + ch) * h * w, (k * c + ch + 1) * h * w);
  return out;
}

function pixel(r: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const o = 4 * (y * r.width + x);
  return [r.data[o]!, r.data[o + 1]!, r.data[o + 2]!, r.data[o + 3]!];
}

test('gridRaster: layout, padding, ×2 nearest upscaling, CHW → RGB', () => {
  const imgs = solid(5, 3, 2, 3, 100); // 5 images 2×3, image k = (100+k, 110+k, 120+k)
  const r = gridRaster(imgs, { c: 3, h: 2, w: 3 }, { cols: 2, scale: 2, pad: 1, background: [0, 0, 0] });
  assert.equal(r.width, 2 * 6 + 3);
  assert.equal(r.height, 3 * 4 + 4);
  assert.deepEqual(pixel(r, 0, 0), [0, 0, 0, 255]); // border
  assert.deepEqual(pixel(r, 1, 1), [100, 110, 120, 255]); // image 0 top-left
  assert.deepEqual(pixel(r, 6, 4), [100, 110, 120, 255]); // image 0 bottom-right after ×2
  assert.deepEqual(pixel(r, 7, 1), [0, 0, 0, 255]); // gap between columns
  assert.deepEqual(pixel(r, 8, 1), [101, 111, 121, 255]); // image 1
  assert.deepEqual(pixel(r, 1, 11), [104, 114, 124, 255]); // image 4, third row
  assert.deepEqual(pixel(r, 8, 11), [0, 0, 0, 255]); // empty last cell
});

test('gridPng round-trips through PNG; grey images replicate to RGB', () => {
  const imgs = solid(4, 1, 4, 4, 50);
  const png = gridPng(imgs, { c: 1, h: 4, w: 4 }, { scale: 4, pad: 0 });
  const r = decodePng(png);
  assert.equal(r.width, 32);
  assert.deepEqual(pixel(r, 31, 31), [53, 53, 53, 255]);
});

test('grid input errors are CbdmErrors', () => {
  assert.throws(() => gridPng(new Uint8Array(10), { c: 3, h: 2, w: 2 }), CbdmError);
  assert.throws(() => gridPng(new Uint8Array(0), { c: 3, h: 2, w: 2 }), /zero images/);
  assert.throws(() => gridPng(new Uint8Array(12), { c: 2, h: 2, w: 3 }), /1 or 3 channels/);
  assert.throws(() => gridPng(new Uint8Array(12), { c: 3, h: 2, w: 2 }, { scale: 3 as 2 }), /scale/);
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), 'x.png'), /x.png is not a readable PNG/);
});

test('floatToUint8 clips and rounds', () => {
  assert.deepEqual([...floatToUint8([-0.5, 0, 0.5, 1, 2, NaN, 1 / 255])], [0, 0, 128, 255, 255, 0, 1]);
});

test('nearestTrainingImages: exact L2 within the class, sorted, k capped, ties by index', () => {
  // 1×1×2 images: training values by index, labels alternate 0/1.
  const train = new Uint8Array([0, 0, 10, 10, 20, 20, 30, 30, 40, 40, 10, 10]);
  const labels = [0, 1, 0, 1, 0, 0];
  const samples = new Uint8Array([12, 12, 255, 255]);
  const nb = nearestTrainingImages(samples, train, labels, 0, 10);
  assert.equal(nb.length, 2);
  // class 0 = indices 0, 2, 4, 5 with values 0, 20, 40, 10
  assert.deepEqual(nb[0]!.indices, [5, 2, 0, 4]);
  assert.ok(Math.abs(nb[0]!.distances[0]! - Math.sqrt(8) / 255) < 1e-12);
  assert.deepEqual(nb[1]!.indices, [4, 2, 5, 0]);
  const tie = nearestTrainingImages(new Uint8Array([15, 15]), train, labels, 0, 1);
  assert.deepEqual(tie[0]!.indices, [2], 'value 15 is equally far from 20 (index 2) and 10 (index 5): the lower index wins');
  assert.throws(() => nearestTrainingImages(samples, train, labels, 7, 1), /class 7 has no training images/);
  assert.throws(() => nearestTrainingImages(new Uint8Array(3), train, labels, 0, 1), /whole number/);
});

test('nearestPanelPng: sample then its neighbours, row by row', () => {
  const shape = { c: 3, h: 2, w: 2 };
  const train = solid(3, 3, 2, 2, 60); // image k value 60+k
  const samples = solid(2, 3, 2, 2, 200);
  const nb = [{ indices: [2, 0], distances: [0, 1] }, { indices: [1, 2], distances: [0, 1] }];
  const r = decodePng(nearestPanelPng(samples, train, nb, shape, { scale: 1, pad: 1, gap: 2 }));
  // row 0: pad 1, frame 1 → sample at (2,2); neighbours start at x = 1 + 2 + 2 + 2 = 7, y = 2
  assert.deepEqual(pixel(r, 2, 2), [200, 210, 220, 255]);
  assert.deepEqual(pixel(r, 1, 1), [214, 110, 20, 255]); // frame
  assert.deepEqual(pixel(r, 7, 2), [62, 72, 82, 255]);
  assert.deepEqual(pixel(r, 10, 2), [60, 70, 80, 255]);
  // row 1 starts at y = 1 + (2 + 2 + 1) = 6; its sample pixel at y = 7
  assert.deepEqual(pixel(r, 2, 7), [201, 211, 221, 255]);
  assert.deepEqual(pixel(r, 7, 7), [61, 71, 81, 255]);
  assert.throws(() => nearestPanelPng(samples, train, nb.slice(0, 1), shape), /1 neighbour lists for 2 samples/);
  assert.throws(() => nearestPanelPng(samples, train, [{ indices: [9], distances: [0] }, nb[1]!], shape), /out of range/);
});
