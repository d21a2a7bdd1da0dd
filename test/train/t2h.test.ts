import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNpz, npzGet } from '../../src/io/npz.ts';
import { defaultSchedule } from '../../src/diffusion/schedule.ts';
import { transferTargets, type T2hOptions } from '../../src/train/t2h.ts';
import { Rng } from '../../src/util/rng.ts';

const npz = readNpz(fileURLToPath(new URL('../fixtures/train/t2h.npz', import.meta.url)));
const get = (k: string) => npzGet(npz, k, 't2h.npz').data as ArrayLike<number>;
const sched = defaultSchedule();
const x0 = Float32Array.from(get('x0')), eps = Float32Array.from(get('noise')), xt = Float32Array.from(get('xt'));
const t = Int32Array.from(get('t')), y = Int32Array.from(get('y')), u = Float64Array.from(get('u'));
const counts = Array.from(get('counts'));

const CASES: Array<[string, T2hOptions]> = [
  ['t2h_-1', { mode: 't2h', cutTime: null, priorExponent: null }],
  ['h2t_-1', { mode: 'h2t', cutTime: null, priorExponent: null }],
  ['full_-1', { mode: 'full', cutTime: null, priorExponent: null }],
  ['t2h_150', { mode: 't2h', cutTime: 150, priorExponent: null }],
  ['h2t_150', { mode: 'h2t', cutTime: 150, priorExponent: null }],
  ['prior1', { mode: 'full', cutTime: null, priorExponent: 1 }],
];

for (const [key, o] of CASES) {
  test(`T2H ${key}: selected indices and rewritten ε targets equal the NumPy re-typing of the released do_transfer_x0`, () => {
    const r = transferTargets(x0, eps, xt, t, y, sched, counts, o, u);
    assert.deepEqual(Array.from(r.index), Array.from(get(`${key}_index`)));
    const want = get(`${key}_eps`);
    let worst = 0;
    r.eps.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - want[i]!) / Math.max(1, Math.abs(want[i]!))); });
    assert.ok(worst < 2e-5, `max |Δε̃| ${worst}`);
    // A sample whose index did not move keeps its own ε (up to float rounding).
    r.index.forEach((j, i) => { if (j === i) for (let k = 0; k < 48; k++) assert.ok(Math.abs(r.eps[i * 48 + k]! - eps[i * 48 + k]!) < 1e-4); });
  });
}

test('the t2h gate never moves a sample to a rarer class; h2t never to a more frequent one', () => {
  const rng = new Rng(11);
  const B = 24, D = 12;
  for (let trial = 0; trial < 50; trial++) {
    const xs = rng.fillNormal(new Float32Array(B * D)) as Float32Array;
    const e = rng.fillNormal(new Float32Array(B * D)) as Float32Array;
    const tt = Int32Array.from({ length: B }, () => rng.int(1000));
    const yy = Int32Array.from({ length: B }, () => rng.int(5));
    const xtt = new Float32Array(B * D);
    for (let i = 0; i < B; i++) for (let k = 0; k < D; k++) xtt[i * D + k] = Math.sqrt(sched.alphaBar[tt[i]!]!) * xs[i * D + k]! + Math.sqrt(1 - sched.alphaBar[tt[i]!]!) * e[i * D + k]!;
    const uu = Array.from({ length: B }, () => rng.uniform());
    const a = transferTargets(xs, e, xtt, tt, yy, sched, counts, { mode: 't2h', cutTime: null, priorExponent: null }, uu);
    const b = transferTargets(xs, e, xtt, tt, yy, sched, counts, { mode: 'h2t', cutTime: null, priorExponent: null }, uu);
    a.index.forEach((j, i) => assert.ok(counts[yy[j]!]! >= counts[yy[i]!]!, `t2h moved ${yy[i]} → ${yy[j]}`));
    b.index.forEach((j, i) => assert.ok(counts[yy[j]!]! <= counts[yy[i]!]!, `h2t moved ${yy[i]} → ${yy[j]}`));
  }
});

test('method t2h: one pass, loss = mean((h − ε̃)²) with ε̃ from the draws after t, ε and the label-drop coin', async () => {
  const E = await import('../../src/engine/index.ts');
  const { trainingLoss, drawStep } = await import('../../src/train/loss.ts');
  const { DEFAULT_LOSS } = await import('../../src/train/config.ts');
  E.useBackend('js');
  const B = 16, shape = [B, 3, 4, 4];
  const cfg = { ...DEFAULT_LOSS, method: 't2h' as const, t2h: { mode: 't2h' as const, cutTime: null, priorExponent: null } };
  let calls = 0;
  const zeros = (xt: InstanceType<typeof E.Tensor>) => { calls++; return E.zeros(xt.shape); };
  const lp = E.tidy(() => trainingLoss({ net: zeros, x0, y0: y, shape, sched, cfg, counts, rng: new Rng(4) }));
  assert.equal(calls, 1);
  const d = drawStep({ x0, batch: B, sched, cfg, counts, rng: new Rng(4) });
  const want = transferTargets(x0, d.eps, d.xt, d.t, y, sched, counts, cfg.t2h, d.transferU!).eps;
  const mean = want.reduce((s, v) => s + v * v, 0) / want.length;
  assert.ok(Math.abs(lp.lDdpm - mean) < 1e-5 * mean, `${lp.lDdpm} vs ${mean}`);
  assert.equal(lp.lReg, 0);
});

test('config: method t2h has its published defaults (batch 128, ω 1.5, mode t2h); T2H settings on another method are errors', async () => {
  const { resolveTrainConfig } = await import('../../src/train/config.ts');
  const c = resolveTrainConfig({ method: 't2h', t2hMode: 'h2t', t2hCutTime: 300 });
  assert.deepEqual([c.batch, c.omegaEval, c.t2hMode, c.t2hCutTime, c.t2hPriorExponent], [128, 1.5, 'h2t', 300, null]);
  assert.throws(() => resolveTrainConfig({ method: 'cbdm', t2hMode: 'full' }), /--t2h-mode applies to --method t2h only/);
  assert.throws(() => resolveTrainConfig({ method: 't2h', t2hCutTime: 0 }), /--t2h-cut-time must be a positive integer/);
  assert.throws(() => resolveTrainConfig({ method: 't2h', t2hPriorExponent: -1 }), /--t2h-prior-exponent must be a finite number ≥ 0/);
});
