import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gramLowerAccumulate, matmul, matmulABt, symmetricEigen, symmetricSqrt, transpose } from '../../src/metrics/linalg.ts';
import { Rng } from '../../src/util/rng.ts';
import { eighFixture, lcgMatrix, maxRelDiff } from './lcg.ts';

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = r.normal();
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

/** max |V diag(w) Vᵀ − A| / max|A| and max |VᵀV − I| for numpy-layout V. */
function checkDecomposition(a: Float64Array, n: number, w: Float64Array, v: Float64Array): { recon: number; orth: number } {
  const vw = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vw[i * n + j] = v[i * n + j]! * w[j]!;
  const recon = maxRelDiff(matmulABt(vw, v, n, n, n), a);
  const vt = transpose(v, n, n);
  const g = matmulABt(vt, vt, n, n, n);
  let orth = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) orth = Math.max(orth, Math.abs(g[i * n + j]! - (i === j ? 1 : 0)));
  return { recon, orth };
}

test('symmetricEigen reconstructs random symmetric matrices with orthonormal vectors', () => {
  for (const n of [1, 2, 3, 7, 40, 150]) {
    const a = randomSymmetric(n, n);
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!, 'ascending');
    const { recon, orth } = checkDecomposition(a, n, values, vectors!);
    assert.ok(recon < 1e-12, `n=${n} reconstruction ${recon}`);
    assert.ok(orth < 1e-12, `n=${n} orthogonality ${orth}`);
    const only = symmetricEigen(a, n, 'none');
    assert.equal(only.vectors, null);
    assert.ok(maxRelDiff(only.values, values) < 1e-13);
  }
});

test("symmetricEigen 'rows' is the transpose of 'columns'", () => {
  const n = 12;
  const a = randomSymmetric(n, 99);
  const c = symmetricEigen(a, n, 'columns').vectors!;
  const r = symmetricEigen(a, n, 'rows').vectors!;
  assert.deepEqual(transpose(c, n, n), r);
});

test('symmetricEigen matches numpy.linalg.eigh eigenvalues (random, rank-deficient, clustered, covariance)', () => {
  const r = lcgMatrix(5, 64, 64);
  const random64 = new Float64Array(64 * 64);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) random64[i * 64 + j] = (r[i * 64 + j]! + r[j * 64 + i]!) / 2;
  const b = lcgMatrix(6, 64, 10);
  const rank10 = matmulABt(b, b, 64, 64, 10);
  const cases: Array<[string, Float64Array, number]> = [
    ['random64', random64, 64],
    ['rank10_psd64', rank10, 64],
    ['clustered64', eighFixture('clustered64'), 64],
    ['cov96', eighFixture('cov96'), 96],
  ];
  for (const [name, a, n] of cases) {
    const want = eighFixture(`${name}_w`);
    const { values, vectors } = symmetricEigen(a, n);
    const rel = maxRelDiff(values, want);
    assert.ok(rel < 1e-12, `${name}: eigenvalues differ from numpy by ${rel} (relative to the largest)`);
    const { recon, orth } = checkDecomposition(a, n, values, vectors!);
    assert.ok(recon < 1e-12 && orth < 1e-12, `${name}: recon ${recon} orth ${orth}`);
  }
});

test('symmetricEigen of diagonal and already-tridiagonal matrices', () => {
  const n = 9;
  const a = new Float64Array(n * n);
  const diag = [3, -1, 4, 1, -5, 9, 2, 6, 5];
  diag.forEach((v, i) => (a[i * n + i] = v));
  assert.deepEqual(Array.from(symmetricEigen(a, n, 'none').values), [...diag].sort((x, y) => x - y));
  // 1D Laplacian: eigenvalues 2 − 2cos(kπ/(n+1))
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    t[i * n + i] = 2;
    if (i + 1 < n) t[i * n + i + 1] = t[(i + 1) * n + i] = -1;
  }
  const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
  assert.ok(maxRelDiff(symmetricEigen(t, n).values, want) < 1e-14);
});

test('symmetricEigen rejects a wrong size and non-finite input', () => {
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
  const a = new Float64Array([1, NaN, NaN, 1]);
  assert.throws(() => symmetricEigen(a, 2));
});

test('matmul and matmulABt agree with a naive triple loop on odd shapes', () => {
  const [m, k, p] = [7, 5, 9];
  const a = lcgMatrix(1, m, k);
  const b = lcgMatrix(2, k, p);
  const naive = new Float64Array(m * p);
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) for (let t = 0; t < k; t++) naive[i * p + j] += a[i * k + t]! * b[t * p + j]!;
  assert.ok(maxRelDiff(matmul(a, b, m, k, p), naive) < 1e-15);
  assert.ok(maxRelDiff(matmulABt(a, transpose(b, k, p), m, p, k), naive) < 1e-15);
});

test('symmetricSqrt squares back to a PSD matrix and clips rounding negatives', () => {
  const n = 30;
  const b = lcgMatrix(3, n, 8); // rank 8: most eigenvalues are rounding noise around zero
  const a = matmulABt(b, b, n, n, 8);
  const s = symmetricSqrt(a, n);
  assert.ok(maxRelDiff(matmul(s, s, n, n, n), a) < 1e-7, 'rank-deficient √A·√A ≈ A');
  const full = matmulABt(lcgMatrix(4, n, n), lcgMatrix(4, n, n), n, n, n);
  const sf = symmetricSqrt(full, n);
  assert.ok(maxRelDiff(matmul(sf, sf, n, n, n), full) < 1e-11);
  for (const v of s) assert.ok(Number.isFinite(v));
});

test('matmulABt lowerOnly fills j ≤ i exactly as the full product and only reads the lower triangle', () => {
  for (const [m, k] of [[9, 4], [10, 3], [1, 5]] as const) {
    const a = lcgMatrix(m + k, m, k);
    const full = matmulABt(a, a, m, m, k);
    const low = matmulABt(a, a, m, m, k, new Float64Array(m * m).fill(NaN), true);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) assert.equal(low[i * m + j], full[i * m + j]);
    // symmetricEigen ignores the (NaN) upper triangle
    if (m > 1) assert.ok(maxRelDiff(symmetricEigen(low, m, 'none').values, symmetricEigen(full, m, 'none').values) < 1e-13);
  }
});

test('gramLowerAccumulate adds XᵀX into the lower triangle for every block/tail shape', () => {
  // rows around the 8-sample block, d around the 4-row tile, accumulating onto a non-zero S
  for (const [rows, d] of [[1, 1], [7, 3], [8, 4], [9, 5], [16, 7], [17, 9], [23, 12], [40, 2]] as const) {
    const x = lcgMatrix(rows * 100 + d, rows, d);
    const s0 = lcgMatrix(rows + d, d, d);
    const s = Float64Array.from(s0);
    gramLowerAccumulate(x, rows, d, s);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let want = s0[i * d + j]!;
        for (let b = 0; b < rows; b++) want += x[b * d + i]! * x[b * d + j]!;
        assert.ok(Math.abs(s[i * d + j]! - want) < 1e-14 * Math.max(1, Math.abs(want)), `rows=${rows} d=${d} (${i}, ${j}): ${s[i * d + j]} vs ${want}`);
      }
    }
    // nothing outside the lower triangle and the three diagonals above it changes
    for (let i = 0; i < d; i++) for (let j = i + 4; j < d; j++) assert.equal(s[i * d + j], s0[i * d + j]);
  }
});
