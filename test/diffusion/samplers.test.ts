import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNpz, npzGet } from '../../src/io/npz.ts';
import { Rng } from '../../src/util/rng.ts';
import { defaultSchedule, makeSchedule, modelLogVariance, type Schedule } from '../../src/diffusion/schedule.ts';
import { classifierFreeGuidance, sampleEvalLabels, type EpsModel } from '../../src/diffusion/model.ts';
import { ddpmAncestral, ddpmStep } from '../../src/diffusion/ddpm.ts';
import type { StepInfo, X0Clip } from '../../src/diffusion/sampler.ts';
import { samplerOptions } from '../../src/diffusion/samplers.ts';
import { ddim, ddimStep, ddimTimesteps } from '../../src/diffusion/ddim.ts';
import { assertClose } from '../engine/harness.ts';

const sched = defaultSchedule();
const npz = readNpz(fileURLToPath(new URL('../fixtures/diffusion/steps.npz', import.meta.url)));
const arr = (k: string): Float32Array | Float64Array => npzGet(npz, k, 'steps.npz').data as Float32Array | Float64Array;

/** |actual − expected| ≤ tol·max(1, |expected|) elementwise (float32 outputs vs float64 references). */
function assertStepClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assertClose(expected, actual, tol, what, { elementwise: true });
}

// ---- (e) one step against the numpy re-implementation of the published formulas -------------

test('ddpmStep matches the published Algorithm 2 step (both variances, clip or not)', () => {
  const x = arr('x') as Float32Array, eps = arr('eps') as Float32Array, z = arr('z') as Float32Array;
  for (const t of [999, 500, 1, 0]) {
    for (const v of ['fixedlarge', 'fixedsmall'] as const) {
      const logVar = modelLogVariance(sched, v);
      for (const clip of ['none', 'preview-only', 'clamp'] as const) {
        const out = new Float32Array(x.length);
        const x0 = new Float32Array(x.length);
        ddpmStep(sched, logVar, x, eps, t, t > 0 ? z : null, clip, out, x0);
        const ref = clip === 'clamp' ? 'clip' : 'none';
        assertStepClose(out, arr(`ddpm_${t}_${v}_${ref}`), 1e-6, `x_prev t=${t} ${v} ${clip}`);
        // x̂0: raw for `none`, clipped (as the published code leaves it) for `published` and `clip`.
        const raw = arr(`ddpm_x0_${t}_none`);
        const want = clip === 'none' ? raw : raw.map((u) => Math.min(1, Math.max(-1, u)));
        assertStepClose(x0, want, 1e-6, `x0 t=${t} ${clip}`);
      }
    }
  }
  // At t = 999 x̂0 leaves [−1, 1], so clipping before the mean really changes the step.
  const a = arr('ddpm_999_fixedlarge_none'), b = arr('ddpm_999_fixedlarge_clip');
  assert.ok(a.some((u, i) => Math.abs(u - b[i]!) > 1e-3));
});

test('ddimStep matches the reference generalized step (η = 0, 0.5, 1)', () => {
  const x = arr('x') as Float32Array, eps = arr('eps') as Float32Array, z = arr('z') as Float32Array;
  for (const [t, tp] of [[980, 960], [500, 480], [20, 0], [0, -1], [999, 0]] as const) {
    for (const eta of [0, 0.5, 1]) {
      const out = new Float32Array(x.length);
      const sigma = ddimStep(sched, x, eps, t, tp, eta, z, 'none', out);
      assert.equal(sigma === 0, eta === 0 || tp === -1, `σ at ${t}→${tp}, η=${eta}`);
      assertStepClose(out, arr(`ddim_${t}_${tp}_${eta}`), 1e-6, `ddim ${t}→${tp} η=${eta}`);
    }
  }
  assert.throws(() => ddimStep(sched, x, eps, 500, 480, 0.5, null, 'none', new Float32Array(x.length)), RangeError);
  assert.throws(() => ddimStep(sched, x, eps, 500, 480, 3, z, 'none', new Float32Array(x.length)), RangeError);
});

test('ddimStep with clip = clamp clamps x̂0 and re-derives ε̂ from it', () => {
  const x = arr('x') as Float32Array, eps = arr('eps') as Float32Array;
  const [t, tp] = [999, 500];
  const at = sched.alphaBar[t]!, an = sched.alphaBar[tp]!;
  const out = new Float32Array(x.length), x0 = new Float32Array(x.length);
  ddimStep(sched, x, eps, t, tp, 0, null, 'clamp', out, x0);
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    const raw = (x[i]! - Math.sqrt(1 - at) * eps[i]!) / Math.sqrt(at);
    const c = Math.min(1, Math.max(-1, raw));
    if (c !== raw) clipped++;
    const e = (x[i]! - Math.sqrt(at) * c) / Math.sqrt(1 - at);
    assert.equal(x0[i], Math.fround(c));
    assert.ok(Math.abs(out[i]! - (Math.sqrt(an) * c + Math.sqrt(1 - an) * e)) < 1e-6);
  }
  assert.ok(clipped > 0, 'the fixture must exercise the clip');
  // To x_0 (ᾱ = 1) the step returns the clipped x̂0 itself.
  ddimStep(sched, x, eps, 20, -1, 0, null, 'clamp', out, x0);
  assert.deepEqual(out, x0);
  assert.ok(out.every((v) => v >= -1 && v <= 1));
});

test('ddimTimesteps is range(0, T, T // S)', () => {
  const s50 = ddimTimesteps(1000, 50);
  assert.equal(s50.length, 50);
  assert.equal(s50[0], 0);
  assert.equal(s50[49], 980);
  assert.equal(s50[1], 20);
  const s30 = ddimTimesteps(1000, 30);
  assert.equal(s30.length, 31);
  assert.equal(s30[30], 990);
  assert.deepEqual(Array.from(ddimTimesteps(1000, 1000).slice(-2)), [998, 999]);
  assert.deepEqual(Array.from(ddimTimesteps(1000, 1)), [0]);
  assert.throws(() => ddimTimesteps(1000, 0), RangeError);
});

// ---- (b) end to end with the exact ε-model of Gaussian data ---------------------------------

// x0 ~ N(μ_d, s_d²) independently per dimension d (D = 2); then E[ε | x_t] is linear in x_t.
const MU = [0.3, -0.2];
const S = [0.15, 0.2];
const D = 2;
function gaussianEps(sc: Schedule): EpsModel {
  return async (x, t) => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const d = i % D;
      const ab = sc.alphaBar[t[(i / D) | 0]!]!;
      out[i] = Math.sqrt(1 - ab) * (x[i]! - Math.sqrt(ab) * MU[d]!) / (ab * S[d]! ** 2 + 1 - ab);
    }
    return out;
  };
}

function moments(x: Float32Array): { mean: number[]; std: number[] } {
  const n = x.length / D;
  const mean = [0, 0], std = [0, 0];
  for (let i = 0; i < x.length; i++) mean[i % D]! += x[i]! / n;
  for (let i = 0; i < x.length; i++) std[i % D]! += (x[i]! - mean[i % D]!) ** 2 / (n - 1);
  return { mean, std: std.map(Math.sqrt) };
}

/** Exact mean/std of the ancestral chain for this linear-Gaussian model (scalar recursion). */
function ddpmChainMoments(d: number, variance: 'fixedlarge' | 'fixedsmall'): { m: number; s: number } {
  const lv = modelLogVariance(sched, variance);
  let m = 0, v = 1;
  for (let t = sched.T - 1; t >= 0; t--) {
    const ab = sched.alphaBar[t]!;
    const k = Math.sqrt(1 - ab) / (ab * S[d]! ** 2 + 1 - ab);
    const ax0 = sched.sqrtRecipAlphaBar[t]! - sched.sqrtRecipm1AlphaBar[t]! * k;
    const bx0 = sched.sqrtRecipm1AlphaBar[t]! * k * Math.sqrt(ab) * MU[d]!;
    const a = sched.posteriorMeanCoef1[t]! * ax0 + sched.posteriorMeanCoef2[t]!;
    const b = sched.posteriorMeanCoef1[t]! * bx0;
    m = a * m + b;
    v = a * a * v + (t > 0 ? Math.exp(lv[t]!) : 0);
  }
  return { m, s: Math.sqrt(v) };
}

const N = 4000;
function initialNoise(seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(N * D)) as Float32Array;
}

/** Exact mean/std of DDIM's deterministic/stochastic chain for this linear-Gaussian model. */
function ddimChainMoments(d: number, steps: number, eta: number): { m: number; s: number } {
  const seq = ddimTimesteps(sched.T, steps);
  let m = 0, v = 1;
  for (let i = seq.length - 1; i >= 0; i--) {
    const at = sched.alphaBar[seq[i]!]!;
    const an = i > 0 ? sched.alphaBar[seq[i - 1]!]! : 1;
    const k = Math.sqrt(1 - at) / (at * S[d]! ** 2 + 1 - at); // ε̂ = k·(x − √ᾱ_t·μ)
    const sigma = eta * Math.sqrt((1 - at / an) * (1 - an) / (1 - at));
    const c2 = Math.sqrt(1 - an - sigma * sigma);
    // x' = √ᾱ'·(x − √(1−ᾱ)ε̂)/√ᾱ + c2·ε̂ + σz  =  a·x + b + σz
    const a = Math.sqrt(an) * (1 - Math.sqrt(1 - at) * k) / Math.sqrt(at) + c2 * k;
    const b = Math.sqrt(an) * Math.sqrt(1 - at) * k * MU[d]! - c2 * k * Math.sqrt(at) * MU[d]!;
    m = a * m + b;
    v = a * a * v + sigma * sigma;
  }
  return { m, s: Math.sqrt(v) };
}

/**
 * Samples vs the exact chain moments (4 standard errors: SE mean = s/√N, SE std ≈ s/√(2N)), and
 * the chain vs the data distribution within `meanTol` and relative `stdTol` (the sampler's own
 * discretisation error, which the scalar recursions above measure).
 */
function checkSamples(x: Float32Array, chain: (d: number) => { m: number; s: number }, meanTol: number, stdTol: number, what: string): void {
  const got = moments(x);
  for (let d = 0; d < D; d++) {
    const c = chain(d);
    assert.ok(Math.abs(got.mean[d]! - c.m) < 4 * c.s / Math.sqrt(N), `${what} mean d=${d}: ${got.mean[d]} vs chain ${c.m}`);
    assert.ok(Math.abs(got.std[d]! - c.s) < 4 * c.s / Math.sqrt(2 * N), `${what} std d=${d}: ${got.std[d]} vs chain ${c.s}`);
    assert.ok(Math.abs(c.m - MU[d]!) < meanTol, `${what} chain mean d=${d}: ${c.m} vs μ ${MU[d]}`);
    assert.ok(Math.abs(c.s / S[d]! - 1) < stdTol, `${what} chain std d=${d}: ${c.s} vs s ${S[d]}`);
    // And the samples themselves against (μ, s), with both allowances.
    assert.ok(Math.abs(got.mean[d]! - MU[d]!) < meanTol + 4 * S[d]! / Math.sqrt(N), `${what} sample mean d=${d}`);
    assert.ok(Math.abs(got.std[d]! / S[d]! - 1) < stdTol + 4 / Math.sqrt(2 * N), `${what} sample std d=${d}`);
  }
}

// Measured chain errors for this data (s = 0.15 / 0.2): fixedlarge std +0.6%, fixedsmall −2.5%,
// DDIM-50 (η = 0) −15% / −12% (few deterministic steps under-disperse narrow data), DDIM-1000 −1.1%.
test('DDPM ancestral (1000 steps) samples Gaussian data with the right mean and std', async () => {
  const fl = await ddpmAncestral(gaussianEps(sched), initialNoise(1), sched, samplerOptions({ steps: sched.T, variance: 'fixedlarge', y: null, batch: N, rng: new Rng(2) }));
  checkSamples(fl, (d) => ddpmChainMoments(d, 'fixedlarge'), 1e-3, 0.01, 'fixedlarge');
  const fs = await ddpmAncestral(gaussianEps(sched), initialNoise(1), sched, samplerOptions({ steps: sched.T, variance: 'fixedsmall', y: null, batch: N, rng: new Rng(2) }));
  checkSamples(fs, (d) => ddpmChainMoments(d, 'fixedsmall'), 1e-3, 0.03, 'fixedsmall');
});

test('DDIM (50 and 1000 steps, η = 0) samples Gaussian data with the right mean and std', async () => {
  const x50 = await ddim(gaussianEps(sched), initialNoise(3), sched, samplerOptions({ steps: 50, eta: 0, y: null, batch: N, rng: new Rng(4) }));
  checkSamples(x50, (d) => ddimChainMoments(d, 50, 0), 1e-3, 0.17, 'ddim-50');
  const x1000 = await ddim(gaussianEps(sched), initialNoise(3), sched, samplerOptions({ steps: 1000, eta: 0, y: null, batch: N, rng: new Rng(4) }));
  checkSamples(x1000, (d) => ddimChainMoments(d, 1000, 0), 1e-3, 0.015, 'ddim-1000');
});

test('DDIM (50 steps, η = 1) follows its chain', async () => {
  const x = await ddim(gaussianEps(sched), initialNoise(9), sched, samplerOptions({ steps: 50, eta: 1, y: null, batch: N, rng: new Rng(10) }));
  checkSamples(x, (d) => ddimChainMoments(d, 50, 1), 1e-3, 0.3, 'ddim-50-eta1');
});

// ---- (c) determinism -------------------------------------------------------------------------

test('DDIM with η = 0 is a deterministic function of x_T and never touches the rng', async () => {
  const xT = initialNoise(5).subarray(0, 64 * D);
  const r1 = new Rng(10), r2 = new Rng(99);
  const s1 = JSON.stringify(r1.state());
  const a = await ddim(gaussianEps(sched), xT, sched, samplerOptions({ steps: 20, eta: 0, y: null, batch: 64, rng: r1 }));
  const b = await ddim(gaussianEps(sched), xT, sched, samplerOptions({ steps: 20, eta: 0, y: null, batch: 64, rng: r2 }));
  assert.deepEqual(a, b);
  assert.equal(JSON.stringify(r1.state()), s1);
  // The model sees t = 950, 900, …, 0 (range(0, 1000, 50) reversed), once each.
  const seen: number[] = [];
  const spy: EpsModel = async (x, t, y) => { seen.push(t[0]!); return gaussianEps(sched)(x, t, y); };
  await ddim(spy, xT, sched, samplerOptions({ steps: 20, eta: 0, y: null, batch: 64, rng: r1 }));
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => 950 - 50 * i));
  // η > 0 uses the rng: same seed ⇒ identical, other seed ⇒ different.
  const c = await ddim(gaussianEps(sched), xT, sched, samplerOptions({ steps: 20, eta: 1, y: null, batch: 64, rng: new Rng(7) }));
  const e = await ddim(gaussianEps(sched), xT, sched, samplerOptions({ steps: 20, eta: 1, y: null, batch: 64, rng: new Rng(7) }));
  const f = await ddim(gaussianEps(sched), xT, sched, samplerOptions({ steps: 20, eta: 1, y: null, batch: 64, rng: new Rng(8) }));
  assert.deepEqual(c, e);
  assert.notDeepEqual(c, f);
});

test('ancestral sampling: same seed ⇒ bit-identical, noise drawn T−1 times, x_T untouched', async () => {
  const small = makeSmallSchedule();
  const xT = initialNoise(6).subarray(0, 16 * D);
  const copy = Float32Array.from(xT);
  const steps: StepInfo[] = [];
  const a = await ddpmAncestral(gaussianEps(small), xT, small, samplerOptions({ steps: small.T, y: null, batch: 16, rng: new Rng(1), onStep: (s) => steps.push({ ...s }) }));
  const b = await ddpmAncestral(gaussianEps(small), xT, small, samplerOptions({ steps: small.T, y: null, batch: 16, rng: new Rng(1) }));
  assert.deepEqual(a, b);
  assert.deepEqual(xT, copy);
  assert.deepEqual(steps.map((s) => s.t), Array.from({ length: small.T }, (_, i) => small.T - 1 - i));
  // Documented draw order: one fillNormal of B×D per step t = T−1..1.
  const r = new Rng(1);
  for (let t = small.T - 1; t >= 1; t--) r.fillNormal(new Float32Array(16 * D));
  const r2 = new Rng(1);
  await ddpmAncestral(gaussianEps(small), xT, small, samplerOptions({ steps: small.T, y: null, batch: 16, rng: r2 }));
  assert.deepEqual(r2.state(), r.state());
});

test('clip: preview-only (the published sampler) equals none in samples, clamp changes them', async () => {
  const small = makeSmallSchedule();
  // A model that overshoots: x̂0 leaves [−1, 1] at every step.
  const wild: EpsModel = async (x) => x.map((v) => -3 * v - 2);
  const xT = initialNoise(8).subarray(0, 8 * D);
  const run = (clip: X0Clip, x0s: number[]): Promise<Float32Array> =>
    ddpmAncestral(wild, xT, small, samplerOptions({ steps: small.T, y: null, batch: 8, rng: new Rng(3), clip, onStep: (s) => x0s.push(...s.x0) }));
  const pub: number[] = [], none: number[] = [], clip: number[] = [];
  const [a, b, c] = [await run('preview-only', pub), await run('none', none), await run('clamp', clip)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(pub.every((v) => v >= -1 && v <= 1) && clip.every((v) => v >= -1 && v <= 1));
  assert.ok(none.some((v) => Math.abs(v) > 1));
  assert.ok(a.every((v) => v >= -1 && v <= 1), 'final clip');
});

/** T = 20 keeps the bookkeeping tests fast; β = 0.01, 0.02, …, 0.20. */
function makeSmallSchedule(): Schedule {
  return makeSchedule(new Float64Array(20).map((_, i) => 0.01 + i * 0.01));
}

// ---- (d) classifier-free guidance --------------------------------------------------------------

test('classifierFreeGuidance: ω = 0 is the conditional model; ω > 0 is ε_c + ω(ε_c − ε_u) in float32', async () => {
  let uncondCalls = 0;
  const shared = new Float32Array(6); // the fake model reuses its output buffer, as a real one may
  const fake: EpsModel = async (x, t, y) => {
    for (let i = 0; i < x.length; i++) {
      const b = (i / 3) | 0;
      shared[i] = y === null ? 0.25 * x[i]! - 1 : 0.5 * x[i]! + y[b]! + 1e-3 * t[b]!;
    }
    if (y === null) uncondCalls++;
    return shared;
  };
  const x = Float32Array.from([0.1, -0.7, 1.3, 2.2, 0.05, -1.9]);
  const t = Int32Array.from([10, 900]);
  const y = Int32Array.from([2, 5]);
  const cond = Float32Array.from(await fake(x, t, y));
  uncondCalls = 0;
  assert.deepEqual(await classifierFreeGuidance(fake, 0)(x, t, y), cond);
  assert.equal(uncondCalls, 0);
  const uncond = Float32Array.from(await fake(x, t, null));
  for (const omega of [0.8, 1.6, 2.0]) {
    const g = await classifierFreeGuidance(fake, omega)(x, t, y);
    for (let i = 0; i < x.length; i++) {
      const exact = Math.fround(cond[i]! + Math.fround(Math.fround(omega) * Math.fround(cond[i]! - uncond[i]!)));
      assert.equal(g[i], exact, `ω=${omega} [${i}]`);
      assert.ok(Math.abs(g[i]! - ((1 + omega) * cond[i]! - omega * uncond[i]!)) < 1e-5);
    }
  }
  assert.deepEqual(await classifierFreeGuidance(fake, 1.6)(x, t, null), uncond);
  assert.throws(() => classifierFreeGuidance(fake, -1));
});

test('sampleEvalLabels: random is U{0..C−1}, balanced cycles', () => {
  const y = sampleEvalLabels(new Rng(1), 5000, 10);
  const counts = new Array(10).fill(0);
  y.forEach((c) => counts[c]++);
  assert.ok(counts.every((n) => n > 420 && n < 580), `counts ${counts}`);
  assert.deepEqual(Array.from(sampleEvalLabels(new Rng(1), 5, 3, 'balanced', 2)), [2, 0, 1, 2, 0]);
});
