import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { FeatureStatsAccumulator, featureStats, frechetDistance, type FrechetResult } from '../../src/metrics/fid.ts';
import { covarianceFactor, frechetDistanceFromFeatures, frechetDistanceOf } from '../../src/metrics/fid-lowrank.ts';
import { jsGemmABt, matmul, matmulABt, symmetricEigen, transpose, type GemmABt } from '../../src/metrics/linalg.ts';
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

/** Non-negative, correlated features (Inception-like): a few shared factors plus noise, ReLU. */
function reluFeatures(seed: number, n: number, d: number, shift: number): Float64Array {
  const r = new Rng(seed);
  const f = 6;
  const load = new Float64Array(f * d).map(() => r.normal() * 0.4);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: f }, () => r.normal());
    for (let j = 0; j < d; j++) {
      let v = r.normal() * 0.5 + shift;
      for (let t = 0; t < f; t++) v += z[t]! * load[t * d + j]!;
      x[i * d + j] = Math.max(0, v);
    }
  }
  return x;
}

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/** The full path on featureStats of both sets: the reference the faster paths must reproduce. */
function fullFid(x1: Float64Array, n1: number, x2: Float64Array, n2: number, d: number, regularise: 'auto' | 'always' | 'never' = 'auto'): FrechetResult {
  const a = featureStats(x1, n1, d);
  const b = featureStats(x2, n2, d);
  return frechetDistance(a.mu, a.sigma, b.mu, b.sigma, d, { regularise });
}

test('frechetDistanceFromFeatures equals the full path to 1e-8 (low-rank, mixed and full paths)', () => {
  const cases: Array<[number, number, number, string]> = [
    [20, 30, 64, 'low-rank'], [50, 50, 64, 'low-rank'], [63, 20, 64, 'low-rank'], [200, 40, 128, 'mixed'],
    [100, 127, 128, 'low-rank'], [20, 200, 64, 'mixed'], [128, 150, 128, 'full'],
  ];
  for (const [n1, n2, d, path] of cases) {
    const x1 = reluFeatures(n1 * 7 + d, n1, d, 0.1);
    const x2 = reluFeatures(n2 * 11 + d + 1, n2, d, 0.3);
    const want = fullFid(x1, n1, x2, n2, d);
    const got = frechetDistanceFromFeatures(x1, n1, x2, n2, d);
    const what = `n1=${n1} n2=${n2} d=${d}`;
    assert.equal(got.path, path, what);
    assert.ok(rel(got.fid, want.fid) < 1e-8, `${what}: ${got.fid} vs ${want.fid}`);
    assert.ok(rel(got.terms.traceSqrt, want.terms.traceSqrt) < 1e-9, `${what}: traceSqrt`);
    assert.ok(rel(got.terms.trace1, want.terms.trace1) < 1e-12 && rel(got.terms.trace2, want.terms.trace2) < 1e-12, `${what}: traces`);
    assert.ok(rel(got.terms.meanTerm, want.terms.meanTerm) < 1e-12, `${what}: mean term`);
    assert.equal(got.singular, want.singular, `${what}: singular`);
    assert.equal(got.regularised, false);
    // symmetric in its arguments
    assert.ok(rel(frechetDistanceFromFeatures(x2, n2, x1, n1, d).fid, want.fid) < 1e-8, `${what}: swapped`);
  }
});

test('frechetDistanceOf: given statistics on one side and few samples on the other (mixed path)', () => {
  const d = 96;
  const ref = reluFeatures(5, 400, d, 0.2);
  const rs = featureStats(ref, 400, d);
  for (const n of [12, 60, 95]) {
    const x = reluFeatures(100 + n, n, d, 0.25);
    const xs = featureStats(x, n, d);
    const want = frechetDistance(xs.mu, xs.sigma, rs.mu, rs.sigma, d);
    const got = frechetDistanceOf({ feats: x, n }, rs, d);
    assert.equal(got.path, 'mixed');
    assert.ok(rel(got.fid, want.fid) < 1e-8, `n=${n}: ${got.fid} vs ${want.fid}`);
    assert.equal(got.singular, true);
    const swapped = frechetDistanceOf(rs, { feats: x, n }, d);
    assert.ok(rel(swapped.fid, want.fid) < 1e-8);
    assert.equal(swapped.terms.trace1, want.terms.trace2, 'terms stay in argument order');
  }
});

test('low-rank FID matches pytorch-fid (scipy sqrtm) and the full path on the fixture cases with n < d', () => {
  const cases = fx.fid.filter((c) => c.n1 < c.d || c.n2 < c.d);
  assert.ok(cases.length >= 2);
  for (const c of cases) {
    const x1 = fidFeatures(c.seed1, c.n1, c.d, c.decades, 0);
    const x2 = fidFeatures(c.seed2, c.n2, c.d, c.decades2, c.shift2);
    const r = frechetDistanceFromFeatures(x1, c.n1, x2, c.n2, c.d);
    assert.equal(r.path, c.n1 < c.d && c.n2 < c.d ? 'low-rank' : 'mixed');
    // scipy's sqrtm (and a plain eigh route) add ~√ε noise per null direction: ~1e-8 off here
    assert.ok(rel(r.fid, c.fid_scipy) < 1e-6, `${c.name}: ${r.fid} vs scipy ${c.fid_scipy}`);
    assert.ok(rel(r.fid, fullFid(x1, c.n1, x2, c.n2, c.d).fid) < 1e-10, `${c.name}: vs full path`);
    assert.equal(r.regularised, c.scipy_regularised);
  }
});

interface LowRankCase {
  name: string; d: number; n1: number; n2: number; decades: number; decades2: number; seed1: number; seed2: number;
  shift2: number; fid_scipy: number; scipy_regularised: boolean; trace_sqrt_svd: number; fid_svd: number;
}

test('low-rank FID at per-class shapes (d up to 512) matches LAPACK SVD nuclear norm and scipy sqrtm', () => {
  const lowrank = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'metrics', 'lowrank.json'), 'utf8')) as { cases: LowRankCase[] };
  for (const c of lowrank.cases) {
    const x1 = fidFeatures(c.seed1, c.n1, c.d, c.decades, 0);
    const x2 = fidFeatures(c.seed2, c.n2, c.d, c.decades2, c.shift2);
    const r = frechetDistanceFromFeatures(x1, c.n1, x2, c.n2, c.d);
    assert.equal(r.path, c.n2 < c.d ? 'low-rank' : 'mixed', c.name);
    assert.ok(rel(r.terms.traceSqrt, c.trace_sqrt_svd) < 1e-12, `${c.name}: trace ${r.terms.traceSqrt} vs SVD ${c.trace_sqrt_svd}`);
    assert.ok(rel(r.fid, c.fid_svd) < 1e-12, `${c.name}: ${r.fid} vs SVD route ${c.fid_svd}`);
    assert.ok(rel(r.fid, c.fid_scipy) < 1e-6, `${c.name}: ${r.fid} vs scipy ${c.fid_scipy}`);
    assert.equal(r.regularised, c.scipy_regularised);
    assert.equal(r.singular, true);
  }
});

test('low-rank FID of a set with itself is 0, and the nuclear-norm identity holds', () => {
  const d = 80;
  const n = 30;
  const x = reluFeatures(3, n, d, 0);
  const r = frechetDistanceFromFeatures(x, n, x, n, d);
  assert.equal(r.path, 'low-rank');
  assert.ok(Math.abs(r.fid) < 1e-10 * r.terms.trace1, `${r.fid}`);
  // tr √(√Σ Σ √Σ) = tr Σ
  assert.ok(rel(r.terms.traceSqrt, r.terms.trace1) < 1e-12);
  // the factor reproduces featureStats: AᵀA = Σ and the same mean
  const f = covarianceFactor(x, n, d);
  const st = featureStats(x, n, d);
  assert.ok(maxRelDiff(f.mu, st.mu) === 0);
  const ata = matmulABt(transpose(f.a, n, d), transpose(f.a, n, d), d, d, n);
  assert.ok(maxRelDiff(ata, st.sigma) < 1e-13);
});

test("low-rank regularisation: 'always' equals the full path's eps·I result; 'never' equals 'auto'", () => {
  for (const [n1, n2, d] of [[20, 30, 64], [40, 25, 96], [50, 60, 96]] as const) {
    const x1 = reluFeatures(n1, n1, d, 0.1);
    const x2 = reluFeatures(n2 + 1000, n2, d, 0.2);
    const want = fullFid(x1, n1, x2, n2, d, 'always');
    const got = frechetDistanceFromFeatures(x1, n1, x2, n2, d, { regularise: 'always' });
    assert.equal(got.path, n1 + n2 < d ? 'low-rank' : 'full', `n1=${n1} n2=${n2}`);
    assert.equal(got.regularised, true);
    assert.equal(got.eps, 1e-6);
    assert.ok(rel(got.fid, want.fid) < 1e-8, `n1=${n1} n2=${n2}: ${got.fid} vs ${want.fid}`);
    assert.ok(rel(got.terms.trace1, want.terms.trace1) < 1e-12);
    assert.equal(got.singular, want.singular);
    // eps matters: the regularised value differs from the exact one by more than rounding
    const exact = frechetDistanceFromFeatures(x1, n1, x2, n2, d, { regularise: 'never' });
    assert.ok(Math.abs(exact.fid - got.fid) > 1e-9 * exact.fid);
    assert.equal(exact.fid, frechetDistanceFromFeatures(x1, n1, x2, n2, d).fid);
  }
  // a larger eps: still the full path's answer
  const x1 = reluFeatures(1, 10, 40, 0);
  const x2 = reluFeatures(2, 12, 40, 0.5);
  const a = featureStats(x1, 10, 40);
  const b = featureStats(x2, 12, 40);
  const want = frechetDistance(a.mu, a.sigma, b.mu, b.sigma, 40, { regularise: 'always', eps: 0.05 });
  assert.ok(rel(frechetDistanceFromFeatures(x1, 10, x2, 12, 40, { regularise: 'always', eps: 0.05 }).fid, want.fid) < 1e-9);
});

test("mixed path: an indefinite given covariance makes 'auto' fall back to the full path, which regularises", () => {
  const d = 48;
  const ref = reluFeatures(8, 200, d, 0.2);
  const rs = featureStats(ref, 200, d);
  const n = 20;
  const x = reluFeatures(9, n, d, 0.2);
  // subtract 3·tr Σ · uuᵀ along the first centred sample, clearly negative inside the samples' span
  const f = covarianceFactor(x, n, d);
  let norm = 0;
  for (let j = 0; j < d; j++) norm += f.a[j]! ** 2;
  const bad = Float64Array.from(rs.sigma);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += rs.sigma[i * d + i]!;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) bad[i * d + j] -= (3 * tr * f.a[i]! * f.a[j]!) / norm;
  const got = frechetDistanceOf({ mu: rs.mu, sigma: bad }, { feats: x, n }, d);
  const xs = featureStats(x, n, d);
  const want = frechetDistance(rs.mu, bad, xs.mu, xs.sigma, d);
  assert.equal(want.regularised, true);
  assert.equal(got.path, 'full');
  assert.equal(got.regularised, true);
  assert.ok(rel(got.fid, want.fid) < 1e-10);
  // 'always' with given statistics is the full path too
  assert.equal(frechetDistanceOf(rs, { feats: x, n }, d, { regularise: 'always' }).path, 'full');
});

test('frechetDistanceFromFeatures rejects too few samples, bad shapes and corrupt features', () => {
  const x = reluFeatures(1, 10, 16, 0);
  assert.throws(() => frechetDistanceFromFeatures(x, 1, x, 10, 16), CbdmError);
  assert.throws(() => frechetDistanceFromFeatures(x, 11, x, 10, 16), CbdmError);
  const nan = Float64Array.from(x);
  nan[37] = NaN;
  assert.throws(() => frechetDistanceFromFeatures(nan, 10, x, 10, 16), /column 5 holds NaN/);
  assert.throws(() => frechetDistanceOf({ mu: new Float64Array(16), sigma: new Float64Array(16 * 16).fill(Infinity) }, { feats: x, n: 10 }, 16), /sigma\[0\] is Infinity/);
});

/** A float32 A·Bᵀ like the engine backend's: inputs rounded to float32, products summed in float32. */
const float32Gemm: GemmABt = (a, b, m, p, k, out) => {
  const a32 = Float32Array.from(a.subarray(0, m * k));
  const b32 = Float32Array.from(b.subarray(0, p * k));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround(a32[i * k + t]! * b32[j * k + t]!));
      out[i * p + j] = s;
    }
  }
};

test('gemm hook: featureStats and the low-rank path use it; float64 gives the default, float32 ~1e-6', () => {
  const n = 300;
  const d = 40;
  const x = reluFeatures(21, n, d, 0.1);
  const base = featureStats(x, n, d);
  let calls = 0;
  const counting: GemmABt = (...args) => {
    calls++;
    jsGemmABt(...args);
  };
  const viaHook = featureStats(x, n, d, { gemm: counting });
  assert.ok(calls >= 1);
  assert.ok(maxRelDiff(viaHook.sigma, base.sigma) < 1e-13);
  assert.ok(maxRelDiff(viaHook.mu, base.mu) === 0);
  // the streaming accumulator too, across more than one 1024-row gemm block
  const big = reluFeatures(23, 1100, d, 0.2);
  const acc = new FeatureStatsAccumulator(d, { gemm: counting });
  calls = 0;
  for (let r = 0; r < 1100; r += 300) acc.add(big.subarray(r * d, Math.min(1100, r + 300) * d), Math.min(300, 1100 - r));
  const st = acc.finalize();
  assert.equal(calls, 2);
  assert.ok(maxRelDiff(st.sigma, featureStats(big, 1100, d).sigma) < 1e-12);
  const f32 = featureStats(x, n, d, { gemm: float32Gemm });
  const err = maxRelDiff(f32.sigma, base.sigma);
  assert.ok(err < 2e-6 && err > 0, `float32 covariance error ${err}`);
  // low-rank products through the hook
  const y = reluFeatures(22, 30, d, 0.3);
  calls = 0;
  const lr = frechetDistanceFromFeatures(x, 35, y, 30, d, { gemm: counting });
  assert.ok(calls >= 1);
  assert.ok(rel(lr.fid, frechetDistanceFromFeatures(x, 35, y, 30, d).fid) < 1e-12);
  const lr32 = frechetDistanceFromFeatures(x, 35, y, 30, d, { gemm: float32Gemm });
  assert.ok(rel(lr32.fid, lr.fid) < 1e-4, `float32 low-rank FID ${lr32.fid} vs ${lr.fid}`);
});
