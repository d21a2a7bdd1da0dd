import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInceptionDistance, polynomialMmd2 } from '../../src/metrics/kid.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { lcgMatrix, maxRelDiff, metricsFixture } from './lcg.ts';

const k = metricsFixture().kid;
const x1 = lcgMatrix(k.seed1, k.n1, k.d).map((v) => v + k.shift1);
const x2 = lcgMatrix(k.seed2, k.n2, k.d).map((v) => v * k.scale2);

test('polynomialMmd2 matches the NumPy unbiased MMD² (torch-fidelity formula)', () => {
  const m = 50;
  const got = polynomialMmd2(x1.slice(0, m * k.d), x2.slice(0, m * k.d), m, k.d);
  assert.ok(Math.abs(got - k.full) / Math.abs(k.full) < 1e-10, `${got} vs ${k.full}`);
});

test('KID on NumPy-drawn subsets matches NumPy per subset, in mean and in population std', () => {
  const r = kernelInceptionDistance(x1, k.n1, Float32Array.from(x2), k.n2, k.d, { indexSets: k.subsets });
  const r64 = kernelInceptionDistance(x1, k.n1, x2, k.n2, k.d, { indexSets: k.subsets });
  assert.ok(maxRelDiff(r64.mmd, k.mmd) < 1e-10, 'per-subset MMD²');
  assert.ok(Math.abs(r64.mean - k.mean) / Math.abs(k.mean) < 1e-10);
  assert.ok(Math.abs(r64.std - k.std) / k.std < 1e-9);
  assert.equal(r64.subsetSize, k.m);
  assert.ok(Math.abs(r.mean - k.mean) / Math.abs(k.mean) < 1e-5, 'float32 input');
});

test('KID seeded draws: reproducible, without replacement, subset size capped by the smaller set', () => {
  const a = kernelInceptionDistance(x1, k.n1, x2, k.n2, k.d, { subsets: 5, subsetSize: 1000, seed: 3 });
  const b = kernelInceptionDistance(x1, k.n1, x2, k.n2, k.d, { subsets: 5, subsetSize: 1000, seed: 3 });
  const c = kernelInceptionDistance(x1, k.n1, x2, k.n2, k.d, { subsets: 5, subsetSize: 20, seed: 4 });
  assert.equal(a.subsetSize, Math.min(k.n1, k.n2));
  assert.deepEqual(a.mmd, b.mmd);
  assert.notDeepEqual(a.mmd.slice(0, 5), c.mmd.slice(0, 5));
  // two disjoint halves of one sample are two samples of the same distribution: KID ≈ 0
  const half = (k.n1 / 2) * k.d;
  const same = kernelInceptionDistance(x1.subarray(0, half), k.n1 / 2, x1.subarray(half), k.n1 / 2, k.d, { subsets: 20, subsetSize: 20, seed: 1 });
  assert.ok(a.mean > 5 * Math.abs(same.mean), `different distributions are further apart: ${a.mean} vs ${same.mean}`);
});

test('KID rejects tiny subsets and bad indices', () => {
  assert.throws(() => kernelInceptionDistance(x1, 1, x2, k.n2, k.d), CbdmError);
  assert.throws(() => kernelInceptionDistance(x1, k.n1, x2, k.n2, k.d, { indexSets: [[[0, 1], [0, 999]]] }), CbdmError);
});
