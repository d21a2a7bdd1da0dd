import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../../src/io/npy.ts';
import { fromNumbers, type NdArray } from '../../src/io/ndarray.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { assertNd, fixture, fixturePath, seq } from './helpers.ts';

test('parseNpy reads the NumPy fixtures (dtypes, fortran order, big-endian, 0-d, empty)', () => {
  assertNd(parseNpy(fixture('f8_2048.npy')), 'float64', [2048], seq(2048, (i) => i * 0.5 - 3));
  assertNd(parseNpy(fixture('f4_3x5.npy')), 'float32', [3, 5], seq(15, (i) => i / 4));
  assertNd(parseNpy(fixture('f4_fortran.npy')), 'float32', [2, 3, 4], seq(24, (i) => i));
  assertNd(parseNpy(fixture('i4_be.npy')), 'int32', [2, 3], seq(6, (i) => i - 3));
  assertNd(parseNpy(fixture('u1_4x4.npy')), 'uint8', [4, 4], seq(16, (i) => 240 + i));
  assertNd(parseNpy(fixture('b1_5.npy')), 'bool', [5], [1, 0, 1, 1, 0]);
  assertNd(parseNpy(fixture('f2_6.npy')), 'float16', [6], seq(6, (i) => (i - 2.5) * 1000));
  assertNd(parseNpy(fixture('scalar_f8.npy')), 'float64', [], [2.25]);
  assertNd(parseNpy(fixture('empty_0x3.npy')), 'float32', [0, 3], []);
  assertNd(parseNpy(fixture('i2_u2.npy')), 'int16', [2, 2], [-32768, 32767, 1, -1]);
  const big = parseNpy(fixture('i8_big.npy'));
  assert.equal(big.dtype, 'int64');
  assert.deepEqual([...(big.data as BigInt64Array)], [-(2n ** 62n), 2n ** 53n + 1n, -1n, 0n]);
});

test('parseNpy reads format versions 2.0 and 3.0', () => {
  for (const f of ['v2_f4_2x3.npy', 'v3_f4_2x3.npy']) assertNd(parseNpy(fixture(f)), 'float32', [2, 3], seq(6, (i) => i));
});

test('parseNpy accepts Python 2 headers (long ints like 3L) and double-quoted strings', () => {
  const header = '{"descr": "<i2", "fortran_order": False, "shape": (2L, 1L), }';
  const padded = header + ' '.repeat(128 - 10 - header.length - 1) + '\n';
  const buf = new Uint8Array(128 + 4);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
  buf.set(Buffer.from(padded, 'latin1'), 10);
  buf.set([0xff, 0xff, 0x02, 0x00], 128);
  assertNd(parseNpy(buf), 'int16', [2, 1], [-1, 2]);
});

test('encodeNpy reproduces np.save byte for byte', () => {
  const names = ['f8_2048', 'f4_3x5', 'u1_4x4', 'b1_5', 'i8_big', 'f2_6', 'scalar_f8', 'empty_0x3', 'i2_u2', 'stats_mu', 'stats_sigma'];
  for (const name of names) {
    const bytes = fixture(`${name}.npy`);
    assert.deepEqual(encodeNpy(parseNpy(bytes)), bytes, name);
  }
  // Fortran-order and big-endian inputs come back as C-order little-endian, as np.save writes them.
  const fortran = parseNpy(fixture('f4_fortran.npy'));
  assert.deepEqual(parseNpy(encodeNpy(fortran)), fortran);
});

test('encodeNpy round-trips every NumPy dtype and long shapes; refuses bfloat16', () => {
  for (const dtype of ['float16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'int64', 'bool'] as const) {
    const a = fromNumbers(dtype, [2, 1, 3], [0, 1, 0, 1, 1, 0]);
    assert.deepEqual(parseNpy(encodeNpy(a)), a, dtype);
  }
  const wide = fromNumbers('uint8', Array(40).fill(1), [7]);
  const enc = encodeNpy(wide);
  assert.equal((enc.length - 1) % 64, 0);
  assert.deepEqual(parseNpy(enc), wide);
  assert.throws(() => encodeNpy(fromNumbers('bfloat16', [1], [1])), /bfloat16/);
});

test('parseNpy gives clear errors for bad magic, truncation and unsupported dtypes', () => {
  const good = fixture('f4_3x5.npy');
  const err = (f: () => NdArray, re: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof CbdmError && re.test(e.message));
  };
  err(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'x.npy'), /x\.npy: not a \.npy file/);
  err(() => parseNpy(good.subarray(0, 40), 'x.npy'), /truncated inside its header/);
  err(() => parseNpy(good.subarray(0, good.length - 1), 'x.npy'), /data truncated.*needs 60 bytes, file has 59/);
  err(() => parseNpy(fixture('unsupported_c8.npy'), 'c.npy'), /c\.npy: .*dtype '<c8' is not supported/);
  const v9 = good.slice();
  v9[6] = 9;
  err(() => parseNpy(v9), /format version 9\.0/);
});

test('readNpy/writeNpy go through files (atomic write, errors name the path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-npy-'));
  try {
    const a = fromNumbers('float32', [2, 2], [1, 2, 3, 4]);
    writeNpy(join(dir, 'x', 'a.npy'), a);
    assert.deepEqual(readNpy(join(dir, 'x', 'a.npy')), a);
    assertNd(readNpy(fixturePath('u1_4x4.npy')), 'uint8', [4, 4], seq(16, (i) => 240 + i));
    assert.throws(() => readNpy(join(dir, 'missing.npy')), /cannot read .*missing\.npy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
