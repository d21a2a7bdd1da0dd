import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNpz, npzGet } from '../../src/io/npz.ts';
import { Rng } from '../../src/util/rng.ts';
import { defaultSchedule, linearBetas, makeSchedule, type Schedule } from '../../src/diffusion/schedule.ts';
import { makeGrid, type Spacing } from '../../src/diffusion/grid.ts';
import type { EpsModel } from '../../src/diffusion/model.ts';
import { SAMPLERS, resolveSampling, samplerOptions, type SamplerName } from '../../src/diffusion/samplers.ts';
import type { X0Clip } from '../../src/diffusion/sampler.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { flagName } from '../../src/util/setting-names.ts';

const sched = defaultSchedule();
const npz = readNpz(fileURLToPath(new URL('../fixtures/diffusion/solvers.npz', import.meta.url)));
const get = (k: string): ArrayLike<number> => npzGet(npz, k, 'solvers.npz').data as ArrayLike<number>;

/** The toy ε-model of make_solvers.py: smooth, nonlinear, label-dependent. */
const toyEps: EpsModel = async (x, t, y) => {
  const D = x.length / t.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = Math.floor(i / D), tt = t[b]! / 1000;
    out[i] = 0.7 * Math.sin(x[i]! * (1 + tt)) + 0.1 * x[i]! * tt + 0.05 * (y![b]! + 1);
  }
  return out;
};

test('grids: every spacing picks the fixture\'s timesteps (trailing, uniform, quadratic, Karras snapped)', () => {
  for (const sp of ['trailing', 'uniform', 'quadratic', 'karras'] as const) {
    for (const n of [1, 7, 10, 25, 30, 50, 100, 250, 1000]) {
      const g = makeGrid(sched, n, sp);
      assert.deepEqual(Array.from(g.t), Array.from(get(`grid_${sp}_${n}`)), `${sp} ${n}`);
      assert.equal(g.sigmaVe[g.t.length], 0);
      for (let i = 1; i < g.t.length; i++) assert.ok(g.t[i]! < g.t[i - 1]!, `${sp} ${n}: strictly descending`);
    }
  }
  assert.equal(makeGrid(sched, 10, 'trailing').t[0], 999);
  assert.equal(makeGrid(sched, 50, 'uniform').t[0], 980);
});

const CASES: Array<{ key: string; sampler: SamplerName; spacing: Spacing; n: number; clip?: X0Clip; scale?: number }> = [
  { key: 'ddim', sampler: 'ddim', spacing: 'uniform', n: 10 },
  { key: 'euler', sampler: 'euler', spacing: 'karras', n: 10 },
  { key: 'heun', sampler: 'heun', spacing: 'karras', n: 6 },
  { key: 'dpmpp-2m', sampler: 'dpmpp-2m', spacing: 'trailing', n: 10 },
  { key: 'dpmpp-2m-clamp', sampler: 'dpmpp-2m', spacing: 'trailing', n: 10, clip: 'clamp', scale: 3 },
  { key: 'dpmpp-3m', sampler: 'dpmpp-3m', spacing: 'trailing', n: 20 },
  { key: 'dpmpp-3m-short', sampler: 'dpmpp-3m', spacing: 'karras', n: 8 },
  { key: 'dpmpp-2m-sde', sampler: 'dpmpp-2m-sde', spacing: 'trailing', n: 10 },
  { key: 'unipc', sampler: 'unipc', spacing: 'trailing', n: 10 },
  { key: 'unipc-3', sampler: 'unipc-3', spacing: 'quadratic', n: 12 },
];

for (const c of CASES) {
  test(`${c.key}: every step equals the NumPy re-implementation of diffusers' scheduler to 1e-5`, async () => {
    const xT = Float32Array.from(get('xT'), (v) => v * (c.scale ?? 1));
    const y = Int32Array.from(get('y'));
    const states: Float32Array[] = [];
    const ts: number[] = [];
    // The SDE solver's noise comes from the fixture, one B×D draw per step that does not end at σ = 0.
    const noise = get('sde_noise');
    let draws = 0;
    const fixtureRng = { fillNormal: (z: Float32Array) => { z.set(Array.from({ length: z.length }, (_, k) => noise[draws * z.length + k]!)); draws++; return z; } } as unknown as Rng;
    const out = await SAMPLERS[c.sampler].run(toyEps, xT, sched, samplerOptions({
      steps: c.n, spacing: c.spacing, clip: c.clip ?? 'none', y, rng: c.sampler === 'dpmpp-2m-sde' ? fixtureRng : new Rng(0),
      onStep: (s) => { states.push(Float32Array.from(s.x)); ts.push(s.t); },
    }));
    assert.deepEqual(ts, Array.from(get(`${c.key}_t`)), 'timesteps');
    if (c.sampler === 'dpmpp-2m-sde') assert.equal(draws, c.n - 1, 'one noise draw per step except the last');
    const want = get(`${c.key}_states`);
    const D = xT.length;
    assert.equal(states.length * D, want.length);
    let worst = 0;
    states.forEach((st, i) => st.forEach((v, k) => { worst = Math.max(worst, Math.abs(v - want[i * D + k]!) / Math.max(1, Math.abs(want[i * D + k]!))); }));
    assert.ok(worst <= 1e-5, `max scaled |Δ| = ${worst}`);
    // The result is the last state clipped to [−1, 1].
    out.forEach((v, k) => assert.equal(v, Math.min(1, Math.max(-1, states[states.length - 1]![k]!))));
  });
}

// ---- convergence on a Gaussian toy where the exact ODE solution is known ----------------------
// x_0 ~ N(μ, s²) per dimension ⇒ x_t ~ N(αμ, α²s² + σ²) and the true ε̂ = σ(x_t − αμ)/(α²s² + σ²).
// The probability-flow ODE keeps z = (x_t − αμ)/√(α²s² + σ²) fixed; every grid ends with the step
// x̂_0(x at t_{N−1}), so the reference is that map applied to the exact state at t_{N−1}. A fine
// schedule (T = 20000, the same continuous process) keeps integer timesteps from blurring the order.

const fine: Schedule = makeSchedule(linearBetas(20000, 5e-6, 1e-3, 'float64'));
const mu = 0.3, sd = 0.5;
const gaussEps: EpsModel = async (x, t) => {
  const a = Math.sqrt(fine.alphaBar[t[0]!]!), s = Math.sqrt(1 - fine.alphaBar[t[0]!]!);
  return x.map((v) => (s * (v - a * mu)) / (a * a * sd * sd + s * s));
};

async function gaussError(name: SamplerName, n: number): Promise<number> {
  const xT = new Rng(1).fillNormal(new Float32Array(128)) as Float32Array;
  const g = makeGrid(fine, n, 'karras');
  const out = await SAMPLERS[name].run(gaussEps, xT, fine, samplerOptions({ steps: n, spacing: 'karras', y: null, batch: 128, rng: new Rng(0) }));
  const a0 = g.alpha[0]!, s0 = g.sigma[0]!, L = g.t.length - 1, aL = g.alpha[L]!, sL = g.sigma[L]!;
  let err = 0;
  for (let i = 0; i < xT.length; i++) {
    const z = (xT[i]! - a0 * mu) / Math.sqrt(a0 * a0 * sd * sd + s0 * s0);
    const exact = mu + (aL * sd * sd * z) / Math.sqrt(aL * aL * sd * sd + sL * sL);
    err = Math.max(err, Math.abs(out[i]! - Math.min(1, Math.max(-1, exact))));
  }
  return err;
}

// Observed orders over 40 → 160 points (3M: 80 → 320, it reaches its asymptotic rate later). DPM-Solver++(3M) is third order per step but its first
// (first-order) and second (second-order) warm-up steps bound the global error at O(h²), as in the
// authors' and diffusers' versions; UniPC's corrector adds one order (Zhao et al. 2023, Thm 3.3).
const EXPECTED_ORDER: Array<[SamplerName, number]> = [['ddim', 1], ['euler', 1], ['heun', 2], ['dpmpp-2m', 2], ['dpmpp-3m', 2], ['unipc', 3], ['unipc-3', 4]];
test('Gaussian toy: every ODE solver converges to the exact solution at its order', async () => {
  for (const [name, p] of EXPECTED_ORDER) {
    const n = name === 'dpmpp-3m' ? 80 : 40;
    const coarse = await gaussError(name, n), finer = await gaussError(name, 4 * n);
    const order = Math.log2(coarse / finer) / 2;
    assert.ok(order >= p - 0.3, `${name}: error ${coarse.toExponential(2)} → ${finer.toExponential(2)}, observed order ${order.toFixed(2)} < ${p}`);
    assert.ok(finer < 0.03, `${name}: error at ${4 * n} points ${finer}`);
  }
});

test('Euler on the σ̃ ODE and deterministic DDIM are the same update', async () => {
  const xT = new Rng(5).fillNormal(new Float32Array(64)) as Float32Array;
  const y = Int32Array.from([1, 2, 3, 4]);
  for (const sp of ['trailing', 'karras'] as const) {
    const a = await SAMPLERS.euler.run(toyEps, xT, sched, samplerOptions({ steps: 15, spacing: sp, y, rng: new Rng(0) }));
    const b = await SAMPLERS.ddim.run(toyEps, xT, sched, samplerOptions({ steps: 15, spacing: sp, y, rng: new Rng(0) }));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 2e-5, `${sp} ${i}: ${v} vs ${b[i]}`));
  }
});

test('NFE per sampler: one guided evaluation per point, Heun 2N − 1', async () => {
  for (const name of ['euler', 'heun', 'dpmpp-2m', 'dpmpp-3m', 'unipc', 'ddim'] as const) {
    let calls = 0;
    const counting: EpsModel = async (x, t, y) => { calls++; return toyEps(x, t, y); };
    const xT = new Rng(2).fillNormal(new Float32Array(16)) as Float32Array;
    await SAMPLERS[name].run(counting, xT, sched, samplerOptions({ steps: 10, spacing: 'trailing', y: Int32Array.from([0, 1]), rng: new Rng(0) }));
    assert.equal(calls, resolveSampling(name, 10, 'trailing', 0, 1, sched).nfe, name);
  }
  assert.equal(resolveSampling('heun', 10, 'trailing', 0, 1, sched).nfe, 19);
  assert.equal(resolveSampling('ddim', 30, undefined, 0, 1, sched).points, 31); // range(0, 1000, 33)
});

test('bad sampling requests are one-line errors naming the option field, or the CLI flag with flagName', () => {
  const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof CbdmError && re.test(e.message) && !e.message.includes('\n'));
  bad(() => resolveSampling('dpm++', 20, undefined, 0, 1, sched), /^sampler 'dpm\+\+' is not a sampler; choose one of ddpm, ddim, euler/);
  bad(() => resolveSampling('dpmpp-3m', 2, undefined, 0, 1, sched), /^steps 2 is below the order of dpmpp-3m \(3\)/);
  bad(() => resolveSampling('heun', 1, undefined, 0, 1, sched), /below the order of heun/);
  bad(() => resolveSampling('unipc', 20, undefined, 0, NaN, sched), /^omega must be a finite number/);
  bad(() => resolveSampling('ddim', 20, undefined, -0.5, 1, sched), /^eta must be a finite number ≥ 0/);
  bad(() => resolveSampling('euler', 20, undefined, 0.5, 1, sched), /^eta applies to the ddim sampler only/);
  bad(() => resolveSampling('ddpm', 50, undefined, 0, 1, sched), /^steps 50: the ancestral DDPM sampler runs all 1000 steps; use sampler ddim/);
  bad(() => resolveSampling('ddim', 1001, undefined, 0, 1, sched), /more than the model's 1000 timesteps/);
  bad(() => resolveSampling('ddim', 0, undefined, 0, 1, sched), /^steps must be a positive integer/);
  // the CLI passes flagName: the same checks name its flags
  bad(() => resolveSampling('dpm++', 20, undefined, 0, 1, sched, flagName), /^--sampler 'dpm\+\+' is not a sampler/);
  bad(() => resolveSampling('ddpm', 50, undefined, 0, 1, sched, flagName), /^--steps 50: .* use --sampler ddim/);
  bad(() => resolveSampling('ddim', 20, undefined, -0.5, 1, sched, flagName), /^--eta must be/);
  assert.equal(flagName('shardSize'), '--shard-size');
});

test('a non-finite model output stops sampling with the step and timestep named', async () => {
  const broken: EpsModel = async (x, t) => x.map((v) => (t[0]! < 500 ? NaN : 0.1 * v));
  const xT = new Rng(3).fillNormal(new Float32Array(8)) as Float32Array;
  await assert.rejects(SAMPLERS['dpmpp-2m'].run(broken, xT, sched, samplerOptions({ steps: 10, spacing: 'trailing', y: null, batch: 1, rng: new Rng(0) })),
    (e: unknown) => e instanceof CbdmError && /not finite at step 6 \(t = 499\)/.test(e.message));
});

test('protocols: cbdm is 1000-step ancestral DDPM with the run\'s ω; ddim50 fixes ω 1.5; flags override; another sampler drops the protocol\'s grid', async () => {
  const { protocolSettings } = await import('../../src/diffusion/samplers.ts');
  assert.deepEqual(protocolSettings('cbdm', {}, 1000, 1.6), { sampler: 'ddpm', steps: 1000, eta: 0, clip: 'preview-only', omega: 1.6 });
  assert.deepEqual(protocolSettings('ddim50', {}, 1000, 0.8), { sampler: 'ddim', steps: 50, spacing: 'uniform', eta: 0, clip: 'none', omega: 1.5 });
  assert.equal(protocolSettings('ddim50', { omega: 2 }, 1000, 0.8).omega, 2);
  const f = protocolSettings('fast', {}, 1000, 1.6);
  assert.equal(resolveSampling(f.sampler, f.steps, f.spacing, f.eta, f.omega, sched).nfe <= 50, true);
  assert.deepEqual(protocolSettings('ddim50', { sampler: 'unipc' }, 1000, 0.8), { sampler: 'unipc', steps: 50, eta: 0, clip: 'preview-only', omega: 1.5 });
  assert.equal(protocolSettings('cbdm', { sampler: 'ddim', steps: 25, eta: 1 }, 1000, null).omega, 0);
  assert.throws(() => protocolSettings('cbdm', { spacing: 'cosine' }, 1000, null), /Error: spacing 'cosine' is not a spacing/);
  assert.throws(() => protocolSettings('cbdm', { spacing: 'cosine' }, 1000, null, flagName), /Error: --spacing 'cosine' is not a spacing/);
});
