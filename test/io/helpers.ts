/** Shared helpers for the io tests: fixture paths and array comparisons. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { type NdArray, toFloat64 } from '../../src/io/ndarray.ts';

/** Absolute path of a file in test/fixtures/io. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/io/${name}`, import.meta.url));
}

/** Bytes of a file in test/fixtures/io. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

/** Assert dtype, shape and every value (as float64) of an NdArray. */
export function assertNd(a: NdArray, dtype: NdArray['dtype'], shape: number[], values: ArrayLike<number>, tol = 0): void {
  assert.equal(a.dtype, dtype);
  assert.deepEqual(a.shape, shape);
  const got = toFloat64(a);
  assert.equal(got.length, values.length);
  for (let i = 0; i < got.length; i++) {
    const want = values[i]!;
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]!), `element ${i}`);
    else assert.ok(Math.abs(got[i]! - want) <= tol, `element ${i}: got ${got[i]}, want ${want}`);
  }
}

/** [f(0), f(1), …, f(n-1)]. */
export function seq(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** The FID-stats fixture values of make_numpy.py: mu[i] = i/8−1, sigma = A·Aᵀ/16, A[i][j] = sin(16i+j). */
export function fixtureStats(): { mu: Float64Array; sigma: Float64Array } {
  const mu = Float64Array.from(seq(16, (i) => i / 8 - 1));
  const sigma = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 16; k++) s += Math.sin(16 * i + k) * Math.sin(16 * j + k);
      sigma[i * 16 + j] = s / 16;
    }
  }
  return { mu, sigma };
}
