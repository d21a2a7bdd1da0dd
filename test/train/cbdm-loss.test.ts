import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.ts';
import { trainingLoss, drawStep, type LossConfig } from '../../src/train/loss.ts';
import { DEFAULT_LOSS } from '../../src/train/config.ts';
import { makeSchedule, linearBetas, type Schedule } from '../../src/diffusion/schedule.ts';
import { Rng } from '../../src/util/rng.ts';
import { assertClose } from '../engine/harness.ts';

// A tiny ε-net: h = x·W + onehot(y)·V  (y = null → no label term), enough to route gradients.
const B = 6, D = 5, C = 3;
function makeNet(): { W: E.Tensor; V: E.Tensor; net: (xt: E.Tensor, t: Int32Array, y: Int32Array | null) => E.Tensor } {
  const r = new Rng(5);
  const W = E.randn([D, D], r, { dtype: 'float64', requiresGrad: true });
  const V = E.randn([C, D], r, { dtype: 'float64', requiresGrad: true });
  const net = (xt: E.Tensor, _t: Int32Array, y: Int32Array | null): E.Tensor => {
    const hx = E.matmul(xt.reshape([B, D]), W);
    if (y === null) return hx;
    const oh = new Float64Array(B * C);
    y.forEach((c, i) => { oh[i * C + c] = 1; });
    return E.add(hx, E.matmul(E.tensor(oh, [B, C], { dtype: 'float64' }), V));
  };
  return { W, V, net };
}

function schedule(): Schedule {
  return makeSchedule(linearBetas(1000, 1e-4, 0.02));
}

function grads(W: E.Tensor, V: E.Tensor): Float64Array {
  const out = Float64Array.from([...W.grad!.toArray(), ...V.grad!.toArray()]);
  W.grad!.dispose(); W.grad = null;
  V.grad!.dispose(); V.grad = null;
  return out;
}

test('CBDM loss routes gradients exactly as the stop-gradients say', () => {
  E.useBackend('js');
  const { W, V, net } = makeNet();
  const sched = schedule();
  const cfg: LossConfig = { ...DEFAULT_LOSS, labelDropProb: 0, tau: 1, gamma: 0.25 };
  const x0 = new Rng(1).fillNormal(new Float64Array(B * D));
  const x0f = Float32Array.from(x0);
  const y0 = Int32Array.from([0, 1, 2, 0, 1, 2]);
  const counts = [50, 10, 2];
  const seed = 11;

  // 1) autodiff of the full loss
  E.tidy(() => {
    const parts = trainingLoss({ net, x0: x0f, y0, shape: [B, D], sched, cfg, counts, rng: new Rng(seed), dtype: 'float64' });
    assert.ok(parts.lReg > 0 && parts.lCom > 0);
    E.backward(parts.loss);
  });
  const gAuto = grads(W, V);

  // 2) by hand: pass 1 gets ∂L_ddpm + ∂L_reg (h′ constant), pass 2 gets γ·∂L_com (h constant)
  const d = drawStep({ x0: x0f, batch: B, sched, cfg, counts, rng: new Rng(seed) });
  const w = Float64Array.from(d.t, (t) => Math.fround(t / sched.T));
  const xt = () => E.tensor(d.xt, [B, D], { dtype: 'float64' });
  const eps = E.tensor(d.eps, [B, D], { dtype: 'float64' });
  const hConst = E.noGrad(() => net(xt(), d.t, y0)).toArray();
  const hpConst = E.noGrad(() => net(xt(), d.t, d.yPrime)).toArray();
  E.tidy(() => {
    const h = net(xt(), d.t, y0);
    const wT = E.tensor(w, [B], { dtype: 'float64' });
    E.backward(E.add(E.mse(h, eps), E.weightedMse(h, E.tensor(hpConst, [B, D], { dtype: 'float64' }), wT)));
  });
  const g1 = grads(W, V);
  E.tidy(() => {
    const hp = net(xt(), d.t, d.yPrime);
    const wT = E.tensor(w, [B], { dtype: 'float64' });
    E.backward(E.scale(E.weightedMse(E.tensor(hConst, [B, D], { dtype: 'float64' }), hp, wT), 0.25));
  });
  const g2 = grads(W, V);
  const gHand = g1.map((v, i) => v + g2[i]!);
  assertClose(gAuto, gHand, 1e-12, 'autodiff vs hand-assembled CBDM gradient');

  // 3) without stop-gradients the gradient is different
  E.tidy(() => {
    const h = net(xt(), d.t, y0);
    const hp = net(xt(), d.t, d.yPrime);
    const wT = E.tensor(w, [B], { dtype: 'float64' });
    E.backward(E.add(E.add(E.mse(h, eps), E.weightedMse(h, hp, wT)), E.scale(E.weightedMse(h, hp, wT), 0.25)));
  });
  const gNoSg = grads(W, V);
  let maxDiff = 0;
  gNoSg.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - gAuto[i]!)); });
  assert.ok(maxDiff > 1e-3, `gradient without stop-gradients should differ (max diff ${maxDiff})`);
});

test('label drop makes the whole batch unconditional and skips the regulariser', () => {
  E.useBackend('js');
  const { net } = makeNet();
  const sched = schedule();
  const cfg: LossConfig = { ...DEFAULT_LOSS, labelDropProb: 1 };
  const x0 = Float32Array.from(new Rng(2).fillNormal(new Float64Array(B * D)));
  E.tidy(() => {
    const p = trainingLoss({ net, x0, y0: Int32Array.from([0, 1, 2, 0, 1, 2]), shape: [B, D], sched, cfg, counts: [5, 3, 1], rng: new Rng(3), dtype: 'float64' });
    assert.equal(p.dropped, true);
    assert.equal(p.lReg, 0);
    assert.equal(p.lCom, 0);
  });
});
