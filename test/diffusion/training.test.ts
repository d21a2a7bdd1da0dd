import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { defaultSchedule } from '../../src/diffusion/schedule.ts';
import { cbdmWeights, drawLabelDrop, sampleCbdmLabels, sampleTrainingInputs } from '../../src/diffusion/training.ts';

const sched = defaultSchedule();

test('sampleTrainingInputs: t ~ U{0..T−1} then ε, x_t = √ᾱ·x0 + √(1−ᾱ)·ε, reproducible', () => {
  const B = 2000, D = 3;
  const x0 = new Float32Array(B * D).map((_, i) => ((i % 7) - 3) / 3);
  const a = sampleTrainingInputs(x0, B, new Rng(11), sched);
  const b = sampleTrainingInputs(x0, B, new Rng(11), sched);
  assert.deepEqual(a, b);
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const t of a.t) { lo = Math.min(lo, t); hi = Math.max(hi, t); sum += t; }
  assert.ok(lo >= 0 && hi <= 999 && lo < 5 && hi > 994, `t range ${lo}..${hi}`);
  assert.ok(Math.abs(sum / B - 499.5) < 4 * 288.7 / Math.sqrt(B), `mean t ${sum / B}`);
  // Draw order: B ints, then B·D normals.
  const r = new Rng(11);
  for (let i = 0; i < B; i++) assert.equal(a.t[i], r.int(1000));
  const eps = r.fillNormal(new Float32Array(B * D));
  assert.deepEqual(a.eps, eps);
  for (let i = 0; i < B * D; i++) {
    const t = a.t[(i / D) | 0]!;
    const want = Math.sqrt(sched.alphaBar[t]!) * x0[i]! + Math.sqrt(1 - sched.alphaBar[t]!) * eps[i]!;
    assert.ok(Math.abs(a.xt[i]! - want) < 1e-6);
  }
  assert.throws(() => sampleTrainingInputs(x0, 7, new Rng(1), sched), RangeError);
});

test('cbdmWeights: w = τ·t/T with 0-based t, in float32', () => {
  const w = cbdmWeights(Int32Array.from([0, 1, 500, 999]), 1000, 1.0);
  assert.deepEqual(Array.from(w), [0, Math.fround(0.001), 0.5, Math.fround(0.999)]);
  const w2 = cbdmWeights(Int32Array.from([999, 250]), 1000, 0.1);
  assert.equal(w2[0], Math.fround(Math.fround(0.999) * Math.fround(0.1)));
  assert.equal(w2[1], Math.fround(0.025));
});

test('drawLabelDrop: one coin per batch with P = p', () => {
  const r = new Rng(3);
  let n = 0;
  const trials = 20000;
  for (let i = 0; i < trials; i++) if (drawLabelDrop(r, 0.1)) n++;
  const se = Math.sqrt(0.1 * 0.9 / trials);
  assert.ok(Math.abs(n / trials - 0.1) < 4 * se, `drop rate ${n / trials}`);
  // Exactly one uniform draw per call.
  const a = new Rng(5), b = new Rng(5);
  drawLabelDrop(a);
  b.uniform();
  assert.deepEqual(a.state(), b.state());
  assert.equal(drawLabelDrop(new Rng(1), 0), false);
  assert.equal(drawLabelDrop(new Rng(1), 1), true);
  assert.throws(() => drawLabelDrop(new Rng(1), 1.5), RangeError);
});

test('sampleCbdmLabels: train prior follows counts, uniform ignores them', () => {
  const counts = [500, 200, 50, 5, 0];
  const B = 20000;
  const y = sampleCbdmLabels(new Rng(8), B, 'train', counts);
  const freq = new Array(5).fill(0);
  y.forEach((c) => freq[c]++);
  const total = 755;
  for (let c = 0; c < 5; c++) {
    const p = counts[c]! / total;
    assert.ok(Math.abs(freq[c] / B - p) < 4 * Math.sqrt(p * (1 - p) / B) + 1e-9, `class ${c}: ${freq[c] / B} vs ${p}`);
  }
  assert.equal(freq[4], 0);
  const u = sampleCbdmLabels(new Rng(8), B, 'uniform', counts);
  const fu = new Array(5).fill(0);
  u.forEach((c) => fu[c]++);
  for (let c = 0; c < 5; c++) assert.ok(Math.abs(fu[c] / B - 0.2) < 4 * Math.sqrt(0.16 / B), `uniform class ${c}: ${fu[c] / B}`);
  assert.deepEqual(sampleCbdmLabels(new Rng(8), 10, 'train', counts), sampleCbdmLabels(new Rng(8), 10, 'train', counts));
  assert.throws(() => sampleCbdmLabels(new Rng(1), 3, 'train', []), RangeError);
  assert.throws(() => sampleCbdmLabels(new Rng(1), 3, 'train', [1, -1]), RangeError);
});
