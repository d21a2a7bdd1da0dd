import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bfloat16BitsToNumber, dataFromBytes, dataToBytesLE, fortranToC, fromNumbers, gatherStrided, isNdArray,
  numberToBfloat16Bits, numberToFloat16Bits, float16BitsToNumber, toFloat32, toFloat64, zerosNd,
} from '../../src/io/ndarray.ts';

test('float16 bits convert both ways, incl. subnormals, inf, nan and rounding to even', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001],
    [2 ** -14, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00], [0.333251953125, 0x3555],
  ];
  for (const [x, bits] of cases) {
    assert.equal(numberToFloat16Bits(x), bits, `encode ${x}`);
    assert.equal(Object.is(float16BitsToNumber(bits), x), true, `decode ${bits.toString(16)}`);
  }
  assert.equal(numberToFloat16Bits(65520), 0x7c00); // rounds up to inf
  assert.equal(numberToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(numberToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.ok(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(NaN))));
});

test('bfloat16 bits convert both ways with round to nearest even', () => {
  assert.equal(numberToBfloat16Bits(1), 0x3f80);
  assert.equal(bfloat16BitsToNumber(0x3f80), 1);
  assert.equal(numberToBfloat16Bits(-3.5), 0xc060);
  assert.equal(numberToBfloat16Bits(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(numberToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bfloat16BitsToNumber(numberToBfloat16Bits(NaN))));
});

test('toFloat32/toFloat64 convert every dtype', () => {
  assert.deepEqual([...toFloat32(fromNumbers('float16', [3], [1, -2, 0.5]))], [1, -2, 0.5]);
  assert.deepEqual([...toFloat32(fromNumbers('bfloat16', [2], [1, -3.5]))], [1, -3.5]);
  assert.deepEqual([...toFloat64({ dtype: 'int64', shape: [2], data: BigInt64Array.from([-5n, 1n << 40n]) })], [-5, 2 ** 40]);
  assert.deepEqual([...toFloat64(fromNumbers('bool', [3], [0, 2, 1]))], [0, 1, 1]);
  assert.deepEqual([...toFloat32(fromNumbers('int8', [2], [-128, 127]))], [-128, 127]);
});

test('gatherStrided copies views: transpose, offsets, negative strides; rejects out-of-range views', () => {
  const src = Float32Array.from([0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...gatherStrided(src, 1, [2, 3], [1, 2])], [1, 3, 5, 2, 4, 6]);
  assert.deepEqual([...gatherStrided(src, 2, [3], [1])], [2, 3, 4]);
  assert.deepEqual([...gatherStrided(src, 6, [3], [-2])], [6, 4, 2]);
  assert.deepEqual([...gatherStrided(BigInt64Array.from([1n, 2n, 3n, 4n]), 0, [2, 2], [1, 2])], [1n, 3n, 2n, 4n]);
  assert.throws(() => gatherStrided(src, 2, [2, 3], [3, 1]), /outside its storage/);
  assert.deepEqual([...fortranToC(Float64Array.from([0, 1, 2, 3, 4, 5]), [2, 3])], [0, 2, 4, 1, 3, 5]);
});

test('dataFromBytes swaps big-endian data and rejects ragged byte counts', () => {
  const be = Uint8Array.from([0x00, 0x00, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe]);
  assert.deepEqual([...dataFromBytes('int32', be, false)], [0x0102, -2]);
  assert.deepEqual([...dataToBytesLE(dataFromBytes('int32', be, false))], [2, 1, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  assert.throws(() => dataFromBytes('float32', new Uint8Array(6)), /whole number of float32/);
  assert.ok(isNdArray(zerosNd('uint8', [2])));
  assert.ok(!isNdArray({ dtype: 'complex64', shape: [1], data: new Float32Array(2) }));
});
