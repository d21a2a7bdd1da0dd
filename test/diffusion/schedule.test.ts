import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNpz, npzGet } from '../../src/io/npz.ts';
import {
  addNoise, cosineBetas, defaultSchedule, linearBetas, makeSchedule, modelLogVariance, PUBLISHED_SCHEDULE, scheduleOf, type Schedule,
} from '../../src/diffusion/schedule.ts';

const dir = fileURLToPath(new URL('../fixtures/diffusion/', import.meta.url));
const schedNpz = readNpz(dir + 'schedule.npz');
const stepsNpz = readNpz(dir + 'steps.npz');
const f64 = (key: string): Float64Array => npzGet(schedNpz, key, 'schedule.npz').data as Float64Array;

/** Worst elementwise relative error |a − b| / |b| must be ≤ rtol. */
function assertRel(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(actual[i]! - e) / Math.max(Math.abs(e), 1e-300);
    if (!(err <= worst)) { worst = err; at = i; }
  }
  assert.ok(worst <= rtol, `${what}: worst relative error ${worst} at ${at} (got ${actual[at]}, want ${expected[at]})`);
}

test('linearBetas reproduces torch.linspace(float32).double() bit for bit', () => {
  assert.deepEqual(linearBetas(), f64('betas'));
  for (const T of [2, 7, 17, 31, 32, 33, 100, 1001]) {
    assert.deepEqual(linearBetas(T, 1e-4, 0.02), f64(`betasTorch_${T}`), `T=${T}`);
  }
  assert.deepEqual(linearBetas(1000, 1e-4, 0.028), f64('betasTorch_1000_b028'));
});

test('linearBetas float64 equals numpy.linspace', () => {
  const b = linearBetas(1000, 1e-4, 0.02, 'float64');
  assertRel(b, f64('betasFloat64'), 1e-15, 'betasFloat64');
  assert.equal(b[0], 1e-4);
  assert.equal(b[999], 0.02);
  // The two ramps differ only at float32 rounding level, and they do differ.
  const p = linearBetas();
  let maxDiff = 0;
  for (let i = 0; i < 1000; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i]! - b[i]!));
  assert.ok(maxDiff > 0 && maxDiff < 3e-9, `max |torch − float64| = ${maxDiff}`);
});

test('every schedule coefficient matches the published formulas (numpy float64, 1e-12)', () => {
  const s = defaultSchedule();
  assert.equal(s.T, 1000);
  const keys: (keyof Omit<Schedule, 'T'>)[] = [
    'betas', 'alphas', 'alphaBar', 'alphaBarPrev', 'sqrtAlphaBar', 'sqrtOneMinusAlphaBar', 'sqrtRecipAlphaBar',
    'sqrtRecipm1AlphaBar', 'posteriorVariance', 'posteriorLogVarianceClipped', 'posteriorMeanCoef1', 'posteriorMeanCoef2',
  ];
  for (const k of keys) assertRel(s[k], f64(k), 1e-12, k);
  assert.equal(s.alphaBarPrev[0], 1);
  assert.equal(s.posteriorVariance[0], 0);
  assert.equal(s.posteriorLogVarianceClipped[0], s.posteriorLogVarianceClipped[1]);
  assertRel(modelLogVariance(s, 'fixedlarge'), f64('logVarFixedLarge'), 1e-12, 'fixedlarge log variance');
  assertRel(modelLogVariance(s, 'fixedsmall'), f64('posteriorLogVarianceClipped'), 1e-12, 'fixedsmall log variance');
});

test('the cosine schedule equals improved-diffusion\'s betas_for_alpha_bar (Python float64)', () => {
  // get_named_beta_schedule("cosine", 10) of openai/improved-diffusion, printed by Python 3 (math.cos)
  const want = [0.02790726288603096, 0.07549363729672243, 0.12439598636904847, 0.17718952540157384, 0.23728153019052478,
    0.30988344010857216, 0.40400314303967555, 0.5369981776428854, 0.743829366895427, 0.999];
  assertRel(cosineBetas(10), want, 1e-14, 'cosine T=10');
  const b = cosineBetas(1000);
  assertRel([b[0]!, b[499]!, b[998]!, b[999]!], [4.128422482196914e-05, 0.0031458862304780677, 0.7499993929011166, 0.999], 1e-12, 'cosine T=1000');
  assert.equal(scheduleOf({ kind: 'cosine', T: 10, betaStart: 0.5, betaEnd: 0.5 }).betas[3], cosineBetas(10)[3], 'β_1, β_T do not enter the cosine schedule');
});

test('the published schedule: linear β 1e-4 → 0.02 over T = 1000 (Ho et al. 2020), the default of runs and of linearBetas', () => {
  assert.deepEqual({ ...PUBLISHED_SCHEDULE }, { kind: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 });
  assert.deepEqual(scheduleOf(PUBLISHED_SCHEDULE).betas, linearBetas(1000, 1e-4, 0.02));
  assert.deepEqual(scheduleOf({ kind: 'linear', T: 100, betaStart: 1e-4, betaEnd: 0.02 }).betas, f64('betasTorch_100'));
});

test('makeSchedule rejects bad betas', () => {
  assert.throws(() => makeSchedule(new Float64Array([0.1])), RangeError);
  assert.throws(() => makeSchedule(new Float64Array([0.1, 1.0])), RangeError);
  assert.throws(() => linearBetas(0), RangeError);
  assert.throws(() => linearBetas(10, 0.02, 1e-4), RangeError);
});

test('addNoise matches q(x_t | x_0) per sample', () => {
  const s = defaultSchedule();
  const x0 = npzGet(stepsNpz, 'x0').data as Float32Array;
  const eps = npzGet(stepsNpz, 'eps').data as Float32Array;
  const t = npzGet(stepsNpz, 'q_t').data as Int32Array;
  const want = npzGet(stepsNpz, 'q_xt').data as Float64Array;
  const out = addNoise(x0, eps, t, s, new Float32Array(x0.length));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(out[i]! - want[i]!) <= 1e-6, `x_t[${i}]: ${out[i]} vs ${want[i]}`);
  // t = 0 keeps almost all of x0; t = 999 is almost pure noise.
  assert.ok(Math.abs(out[0]! - x0[0]!) < 0.02);
  assert.throws(() => addNoise(x0, eps, new Int32Array([0, 1, 1000]), s, new Float32Array(x0.length)), RangeError);
});
