import { test } from 'node:test';
import assert from 'node:assert/strict';
import { improvedPrecisionRecall, knnRadii } from '../../src/metrics/precision-recall.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { lcgMatrix, maxRelDiff, metricsFixture } from './lcg.ts';

const p = metricsFixture().precision_recall;
const real = lcgMatrix(p.seed_real, p.n_real, p.d);
const gen = lcgMatrix(p.seed_gen, p.n_gen, p.d).map((v) => v * p.gen_scale + p.gen_shift);

test('k-NN radii and precision/recall match a brute-force NumPy computation (k = 3 and 5, < and ≤)', () => {
  for (const k of [3, 5]) {
    const want = p.k[String(k)]!;
    assert.ok(maxRelDiff(knnRadii(real, p.n_real, p.d, { k }), want.radii_real) < 1e-12, `k=${k} real radii`);
    for (const comparison of ['strict', 'inclusive'] as const) {
      const r = improvedPrecisionRecall(Float32Array.from(real), p.n_real, gen, p.n_gen, p.d, { k, comparison, blockSize: 32 });
      const r64 = improvedPrecisionRecall(real, p.n_real, gen, p.n_gen, p.d, { k, comparison, blockSize: 32 });
      assert.ok(maxRelDiff(r64.radiiGen, want.radii_gen) < 1e-12, `k=${k} gen radii`);
      assert.equal(r64.precision, comparison === 'strict' ? want.precision_strict : want.precision_inclusive, `k=${k} ${comparison} precision`);
      assert.equal(r64.recall, comparison === 'strict' ? want.recall_strict : want.recall_inclusive, `k=${k} ${comparison} recall`);
      assert.equal(r.precision, r64.precision);
      assert.equal(r.recall, r64.recall);
      assert.ok(r64.precision > 0 && r64.precision < 1 && r64.recall > 0 && r64.recall < 1, 'a non-trivial case');
    }
  }
});

test('block size does not change radii, memberships or the metrics', () => {
  const ref = improvedPrecisionRecall(real, p.n_real, gen, p.n_gen, p.d, { k: 3, blockSize: 1000 });
  for (const blockSize of [1, 7, 33, 80]) {
    const r = improvedPrecisionRecall(real, p.n_real, gen, p.n_gen, p.d, { k: 3, blockSize });
    assert.deepEqual(r.radiiReal, ref.radiiReal, `blockSize ${blockSize}`);
    assert.deepEqual(r.radiiGen, ref.radiiGen);
    assert.deepEqual(r.genInReal, ref.genInReal);
    assert.deepEqual(r.realInGen, ref.realInGen);
  }
});

test('strict vs inclusive differs exactly on the ball boundary; duplicates have radius 0', () => {
  // 1-D points: real {0, 1, 10, 11}, k = 1 → every radius is 1; gen 2 lies on the boundary of
  // the ball around 1 (all values exact in float64), 5 is outside, 10.5 inside
  const realPts = new Float64Array([0, 1, 10, 11]);
  const genPts = new Float64Array([2, 5, 10.5]);
  const strict = improvedPrecisionRecall(realPts, 4, genPts, 3, 1, { k: 1, comparison: 'strict' });
  const incl = improvedPrecisionRecall(realPts, 4, genPts, 3, 1, { k: 1, comparison: 'inclusive' });
  assert.deepEqual(Array.from(strict.radiiReal), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(strict.genInReal), [0, 0, 1]);
  assert.deepEqual(Array.from(incl.genInReal), [1, 0, 1]);
  const dup = knnRadii(new Float64Array([5, 5, 5, 9]), 4, 1, { k: 2 });
  assert.deepEqual(Array.from(dup), [0, 0, 0, 4]);
});

test('precision/recall rejects too few samples for k and bad options', () => {
  assert.throws(() => knnRadii(real, 5, p.d, { k: 5 }), CbdmError);
  assert.throws(() => knnRadii(real, 10, p.d, { k: 0 }), CbdmError);
  assert.throws(() => improvedPrecisionRecall(real, p.n_real, gen, p.n_gen, p.d, { blockSize: 0 }), CbdmError);
});
