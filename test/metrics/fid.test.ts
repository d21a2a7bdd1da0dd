import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureStatsAccumulator, featureStats, frechetDistance } from '../../src/metrics/fid.ts';
import { matmul, matmulABt, symmetricEigen, transpose } from '../../src/metrics/linalg.ts';
import { Rng } from '../../src/util/rng.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { fidFeatures, lcgMatrix, maxRelDiff, metricsFixture } from './lcg.ts';

const fx = metricsFixture();

function diagMatrix(v: number[]): Float64Array {
  const n = v.length;
  const m = new Float64Array(n * n);
  v.forEach((x, i) => (m[i * n + i] = x));
  return m;
}

test('featureStats matches np.mean / np.cov(rowvar=False) entry by entry', () => {
  const s = fx.fid_small;
  const x = fidFeatures(s.seed, s.n, s.d, s.decades, s.shift);
  const st = featureStats(x, s.n, s.d);
  assert.ok(maxRelDiff(st.mu, s.mu) < 1e-14, 'mean');
  assert.ok(maxRelDiff(st.sigma, s.sigma) < 1e-13, 'covariance');
  assert.equal(st.underdetermined, false);
  // float32 input gives the stats of the float32-rounded values
  const x32 = Float32Array.from(x);
  const s32 = featureStats(x32, s.n, s.d);
  assert.ok(maxRelDiff(s32.sigma, featureStats(Float64Array.from(x32), s.n, s.d).sigma) === 0);
});

test('featureStats is accurate for data far from the origin (no Σxxᵀ − nμμᵀ cancellation)', () => {
  const n = 500;
  const d = 3;
  const r = new Rng(3);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) x[i] = 1e8 + r.normal() * 1e-2;
  const st = featureStats(x, n, d);
  // exact reference: centre with the float64 mean, then sum of squares in pairs
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j]!;
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + j]! - m) ** 2;
    v /= n - 1;
    assert.ok(Math.abs(st.sigma[j * d + j]! - v) / v < 1e-12, `variance ${st.sigma[j * d + j]} vs ${v}`);
    assert.ok(Math.abs(v - 1e-4) < 2e-5);
  }
});

test('FeatureStatsAccumulator over uneven batches equals featureStats', () => {
  const n = 1000;
  const d = 37;
  const x = Float32Array.from(lcgMatrix(9, n, d), (v, i) => v * (1 + (i % d)) + 5);
  const whole = featureStats(x, n, d);
  const acc = new FeatureStatsAccumulator(d);
  let r = 0;
  for (const b of [1, 2, 127, 128, 129, 300, 13]) {
    acc.add(x.subarray(r * d, (r + b) * d), b);
    r += b;
  }
  acc.add(x.subarray(r * d), n - r);
  assert.equal(acc.n, n);
  const st = acc.finalize();
  assert.equal(st.n, n);
  assert.ok(maxRelDiff(st.mu, whole.mu) < 1e-14);
  assert.ok(maxRelDiff(st.sigma, whole.sigma) < 1e-12, `sigma ${maxRelDiff(st.sigma, whole.sigma)}`);
});

test('featureStats flags n ≤ d and rejects fewer than 2 samples', () => {
  const x = lcgMatrix(1, 8, 10);
  assert.equal(featureStats(x, 8, 10).underdetermined, true);
  assert.equal(featureStats(x, 10, 8).underdetermined, false);
  assert.equal(featureStats(x, 8, 8).underdetermined, true);
  assert.equal(featureStats(x, 10, 7).underdetermined, false);
  assert.throws(() => featureStats(x, 1, 8), CbdmError);
  assert.throws(() => featureStats(x, 100, 8), CbdmError);
  assert.throws(() => new FeatureStatsAccumulator(4).finalize(), CbdmError);
});

test('frechetDistance closed form: diagonal covariances', () => {
  const mu1 = new Float64Array([0, 1, 2, -3, 0.5]);
  const mu2 = new Float64Array([1, 1, 0, -3, 0]);
  const v1 = [1, 4, 0.25, 2, 1e-3];
  const v2 = [9, 1, 0.25, 0.5, 7];
  let want = 0;
  for (let i = 0; i < 5; i++) want += (mu1[i]! - mu2[i]!) ** 2 + v1[i]! + v2[i]! - 2 * Math.sqrt(v1[i]! * v2[i]!);
  const r = frechetDistance(mu1, diagMatrix(v1), mu2, diagMatrix(v2), 5);
  assert.ok(Math.abs(r.fid - want) / want < 1e-12, `${r.fid} vs ${want}`);
  assert.equal(r.regularised, false);
  assert.equal(r.singular, false);
});

test('frechetDistance of identical statistics is 0 (and 0 for a singular pair too)', () => {
  for (const [n, d] of [[400, 64], [30, 64]] as const) {
    const st = featureStats(fidFeatures(77, n, d, 1, 0.3), n, d);
    const r = frechetDistance(st.mu, st.sigma, st.mu, st.sigma, d);
    assert.ok(Math.abs(r.fid) < 1e-6, `n=${n}: ${r.fid}`);
    assert.equal(r.singular, n <= d);
    assert.equal(r.regularised, false);
  }
});

test('frechetDistance closed form: commuting covariances (shared eigenvectors)', () => {
  const d = 24;
  // Q from the eigenvectors of a random symmetric matrix; Σₖ = Q diag(λₖ) Qᵀ commute
  const r = lcgMatrix(12, d, d);
  const g = matmulABt(r, r, d, d, d);
  const q = symmetricEigen(g, d).vectors!;
  const l1 = Array.from({ length: d }, (_, i) => 0.1 + i);
  const l2 = Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 0 : 2 + Math.sin(i)));
  const make = (l: number[]) => matmul(matmul(q, diagMatrix(l), d, d, d), transpose(q, d, d), d, d, d);
  const mu = new Float64Array(d);
  let want = 0;
  for (let i = 0; i < d; i++) want += l1[i]! + l2[i]! - 2 * Math.sqrt(l1[i]! * l2[i]!);
  const res = frechetDistance(mu, make(l1), mu, make(l2), d);
  assert.ok(Math.abs(res.fid - want) / want < 1e-10, `${res.fid} vs ${want}`);
  assert.equal(res.singular, true, 'λ₂ has zeros');
});

test('frechetDistance matches pytorch-fid (scipy sqrtm) on d=64 and d=256 at several conditionings', () => {
  for (const c of fx.fid) {
    const x1 = fidFeatures(c.seed1, c.n1, c.d, c.decades, 0);
    const x2 = fidFeatures(c.seed2, c.n2, c.d, c.decades2, c.shift2);
    const s1 = featureStats(x1, c.n1, c.d);
    const s2 = featureStats(x2, c.n2, c.d);
    // the regenerated inputs are the fixture's inputs
    assert.ok(Math.abs(s1.mu.reduce((a, b) => a + b, 0) - c.mu1_sum) < 1e-9 * Math.max(1, Math.abs(c.mu1_sum)), `${c.name} mu`);
    assert.ok(Math.abs(s1.sigma.reduce((a, b) => a + b * b, 0) ** 0.5 - c.sigma1_fro) / c.sigma1_fro < 1e-12, `${c.name} sigma`);
    const r = frechetDistance(s1.mu, s1.sigma, s2.mu, s2.sigma, c.d);
    const rel = Math.abs(r.fid - c.fid_scipy) / Math.abs(c.fid_scipy);
    assert.ok(rel < 1e-6, `${c.name}: fid ${r.fid} vs scipy ${c.fid_scipy} (rel ${rel})`);
    assert.ok(Math.abs(r.terms.trace1 - c.trace1) / c.trace1 < 1e-12);
    assert.ok(Math.abs(r.terms.trace2 - c.trace2) / c.trace2 < 1e-12);
    assert.equal(r.regularised, c.scipy_regularised, `${c.name}: pytorch-fid regularised = ${c.scipy_regularised}`);
    // a product of two cond ~1e10 covariances (the *_ill cases) is numerically singular as well
    if (!c.name.endsWith('ill')) assert.equal(r.singular, c.name.endsWith('singular'), `${c.name}: singular flag ${r.singular}`);
    assert.equal(s1.underdetermined, c.n1 <= c.d);
  }
});

test("frechetDistance regularisation: 'always' adds eps·I to both covariances, 'never' does not", () => {
  const v1 = [1, 0, 4];
  const v2 = [0, 2, 9];
  const mu = new Float64Array(3);
  const eps = 1e-6;
  const exact = frechetDistance(mu, diagMatrix(v1), mu, diagMatrix(v2), 3, { regularise: 'never' });
  let want = 0;
  for (let i = 0; i < 3; i++) want += v1[i]! + v2[i]! - 2 * Math.sqrt(v1[i]! * v2[i]!);
  assert.ok(Math.abs(exact.fid - want) < 1e-12);
  assert.equal(exact.regularised, false);
  assert.equal(exact.singular, true);
  const reg = frechetDistance(mu, diagMatrix(v1), mu, diagMatrix(v2), 3, { regularise: 'always', eps });
  let wantReg = 0;
  for (let i = 0; i < 3; i++) wantReg += v1[i]! + v2[i]! + 2 * eps - 2 * Math.sqrt((v1[i]! + eps) * (v2[i]! + eps));
  assert.ok(Math.abs(reg.fid - wantReg) < 1e-12, `${reg.fid} vs ${wantReg}`);
  assert.equal(reg.regularised, true);
  assert.equal(reg.eps, eps);
  // 'auto' leaves a PSD singular pair exact, but regularises a clearly indefinite input
  assert.equal(frechetDistance(mu, diagMatrix(v1), mu, diagMatrix(v2), 3).regularised, false);
  const bad = frechetDistance(mu, diagMatrix([1, -0.5, 2]), mu, diagMatrix(v2), 3);
  assert.equal(bad.regularised, true);
});

test('frechetDistance rejects mismatched shapes', () => {
  const mu = new Float64Array(3);
  assert.throws(() => frechetDistance(mu, new Float64Array(9), new Float64Array(2), new Float64Array(9), 3), CbdmError);
  assert.throws(() => frechetDistance(mu, new Float64Array(8), mu, new Float64Array(9), 3), CbdmError);
  assert.throws(() => frechetDistance(mu, new Float64Array(9).fill(NaN), mu, new Float64Array(9), 3), /sigma1\[0\] is NaN/);
});

test('featureStats equals a naive two-pass covariance for odd n and d (kernel tails)', () => {
  for (const [n, d] of [[7, 5], [130, 3], [2, 1]] as const) {
    const x = lcgMatrix(n * 31 + d, n, d);
    const st = featureStats(x, n, d);
    const mu = new Float64Array(d);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mu[j] += x[r * d + j]! / n;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += (x[r * d + i]! - mu[i]!) * (x[r * d + j]! - mu[j]!);
        cov[i * d + j] = s / (n - 1);
      }
    }
    assert.ok(maxRelDiff(st.sigma, cov) < 1e-13, `n=${n} d=${d}`);
  }
});
