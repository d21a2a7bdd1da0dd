import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inceptionScore } from '../../src/metrics/inception-score.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { lcgMatrix, maxRelDiff, metricsFixture } from './lcg.ts';

test('inceptionScore matches the NumPy reference (consecutive splits, population std)', () => {
  for (const c of metricsFixture().inception_score) {
    const x = lcgMatrix(c.seed, c.n, c.classes);
    for (let i = 0; i < x.length; i++) x[i] *= c.scale;
    const r = inceptionScore(x, c.n, c.classes, c.splits);
    assert.ok(maxRelDiff(r.scores, c.scores) < 1e-12, `seed ${c.seed}: per-split scores`);
    assert.ok(Math.abs(r.mean - c.mean) / c.mean < 1e-12, `seed ${c.seed}: mean ${r.mean} vs ${c.mean}`);
    assert.ok(Math.abs(r.std - c.std) <= 1e-12 * c.mean, `seed ${c.seed}: std ${r.std} vs ${c.std}`);
    // float32 logits give the same score to float32 precision
    const r32 = inceptionScore(Float32Array.from(x), c.n, c.classes, c.splits);
    assert.ok(Math.abs(r32.mean - c.mean) / c.mean < 1e-5);
  }
});

test('inceptionScore bounds: 1 for identical predictions, numClasses for confident uniform coverage', () => {
  const c = 5;
  const same = new Float64Array(20 * c).map((_, i) => (i % c) * 0.3);
  const r1 = inceptionScore(same, 20, c, 2);
  assert.ok(Math.abs(r1.mean - 1) < 1e-12 && r1.std < 1e-12);
  // one-hot-like logits cycling through all classes in every split → score → C
  const confident = new Float64Array(20 * c);
  for (let i = 0; i < 20; i++) confident[i * c + (i % c)] = 200;
  const r2 = inceptionScore(confident, 20, c, 2);
  assert.ok(Math.abs(r2.mean - c) < 1e-9, `${r2.mean}`);
  for (const v of r2.scores) assert.ok(Number.isFinite(v));
});

test('inceptionScore rejects bad shapes and splits', () => {
  assert.throws(() => inceptionScore(new Float32Array(10), 5, 3), CbdmError);
  assert.throws(() => inceptionScore(new Float32Array(15), 5, 3, 6), CbdmError);
  assert.throws(() => inceptionScore(new Float32Array(15), 5, 3, 0), CbdmError);
});
