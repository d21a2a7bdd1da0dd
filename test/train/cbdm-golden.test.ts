/**
 * One CBDM training step and 20 trainer steps against the published PyTorch code
 * (qym7/CBDM-pytorch @94e201e: `model/model.py` UNet, `diffusion.py` GaussianDiffusionTrainer.forward
 * l.60–90, `main.py` step l.282–303), run by test/fixtures/cbdm/make_cbdm_golden.py in float64 with
 * the same t, ε, y, y′ and label-drop coins injected. Our float32 backends must match:
 *   step: L_ddpm, L_reg, L_com, loss to 5e-6 relative; per parameter tensor the gradient's samples
 *         to 2e-4 of that tensor's largest sampled |g| and its norm/sum/sign-projection to 2e-4 of
 *         its norm; the same for the regulariser's share of the gradient (CBDM minus DDPM) to 1e-3;
 *   trajectory (src/train/step.ts on cpu, or js without the addon): the 20 losses and each term
 *         to 1e-5 relative, grad norms to 1e-5, the final parameters' norm/sum/projection to 1e-4
 *         of their norm.
 * Parameters the loss cannot see (DEAD below) are held to near-zero gradients instead (below
 * 1e-5 of the largest tensor's norm). The tolerances are float32 round-off with ≥ 5× headroom
 * over what js and cpu reached when they were set (printed by each run). Regenerating the
 * fixtures needs the published repository checked out: see the generator's docstring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { readNpz } from '../../src/io/npz.ts';
import { toFloat32, toFloat64, type NdArray } from '../../src/io/ndarray.ts';
import { lossFromDraws, type StepDraws, type LossParts } from '../../src/train/loss.ts';
import { DEFAULT_LOSS } from '../../src/train/config.ts';
import { Adam } from '../../src/train/optimizer.ts';
import { optimiserStep } from '../../src/train/step.ts';
import { addNoise, makeSchedule, linearBetas } from '../../src/diffusion/schedule.ts';
import type { UNet } from '../../src/models/unet.ts';
import { relativeError } from '../engine/harness.ts';
import { goldenUNet, sampleIndices, tensorStats, FROZEN, GOLDEN_UNET } from './cbdm-golden.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'cbdm');
const SCHED = makeSchedule(linearBetas(1000, 1e-4, 0.02));
const BACKENDS = (['js', 'cpu'] as const).filter((b) => E.backendAvailable(b));
const S = GOLDEN_UNET.imageSize;

function names(npz: Record<string, NdArray>): string[] {
  return new TextDecoder().decode(Uint8Array.from(toFloat64(npz.names!))).split('\n');
}

/** The loss of one step on the golden net from injected draws (what `trainingLoss` computes after its own draws). */
function injectedLoss(net: UNet, x0: Float32Array, y: Int32Array, t: Int32Array, eps: Float32Array, dropped: boolean, yPrime: Int32Array, method: 'ddpm' | 'cbdm'): LossParts {
  const d: StepDraws = { t, eps, xt: addNoise(x0, eps, t, SCHED, new Float32Array(x0.length)), dropped, yPrime: method === 'cbdm' && !dropped ? yPrime : null, transferU: null };
  const netFn = (xt: E.Tensor, tt: Int32Array, yy: Int32Array | null) => net.forward(xt, tt, yy, { training: true });
  return lossFromDraws({ net: netFn, x0, y0: y, shape: [t.length, 3, S, S], sched: SCHED, cfg: { ...DEFAULT_LOSS, method }, counts: [3, 2, 1], draws: d });
}

/** That loss and its gradients (left in the gradient arena), without an optimiser step. */
function injectedGradients(...args: Parameters<typeof injectedLoss>): Omit<LossParts, 'loss'> & { loss: number } {
  return E.tidy(() => {
    args[0].store.zeroGrad();
    const p = injectedLoss(...args);
    E.backward(p.loss);
    return { ...p, loss: p.loss.item() };
  });
}

/**
 * Some parameters cannot change the loss: conv biases and time projections of 32-channel ResBlocks
 * feed GroupNorm(32), one channel per group, which removes per-channel constants, and softmax
 * ignores the key bias. Their exact gradient is 0 (PyTorch float64: < 1e-16) and ours is float32
 * round-off (~1e-9): for them every stat and sample must stay below this fraction of the largest
 * tensor's norm.
 */
const DEAD = 1e-5;

function relErr(got: number, want: number): number {
  return relativeError([want], [got], { floor: 1e-12 });
}

/** Gradients per parameter (host copies, frozen table left out). */
function grads(net: UNet): Map<string, Float64Array> {
  const all = net.store.backend.read(net.store.gradArena);
  const out = new Map<string, Float64Array>();
  for (const l of net.store.layout) if (l.name !== FROZEN) out.set(l.name, Float64Array.from(all.subarray(l.offset, l.offset + l.size)));
  return out;
}

/** Worst errors of a comparison: live tensors relative to their own scale, dead ones as a fraction of the floor. */
interface Worst { samples: number; stats: number; dead: number }

/**
 * Compare every tensor of `ours` with the fixture's stats rows and samples, failing past the
 * tolerances: a live tensor's stats to `tolStats` of its norm and its samples to `tolSamples` of
 * its largest sampled value; a dead one's (see DEAD) stats and samples below the floor.
 */
function compareTensors(what: string, order: string[], ours: Map<string, ArrayLike<number>>, stats: Float64Array, samples: Float64Array | null, tolSamples: number, tolStats: number,
  slack: (name: string, n: number) => number = () => 0): Worst {
  assert.equal(ours.size, order.length, `${what}: ${ours.size} tensors here, ${order.length} in the fixture`);
  let floor = 0;
  for (let k = 0; k < order.length; k++) floor = Math.max(floor, stats[3 * k]! * DEAD);
  const worst: Worst = { samples: 0, stats: 0, dead: 0 };
  let off = 0;
  order.forEach((name, k) => {
    const v = ours.get(name);
    assert.ok(v, `${what}: the fixture's ${name} is not a parameter here`);
    const st = tensorStats(name, v);
    const dead = stats[3 * k]! < floor * 1e-6;
    const check = (got: number, want: number, scale: number, tol: number, label: string, kind: 'samples' | 'stats') => {
      const e = Math.max(0, Math.abs(got - want) - (kind === 'stats' ? slack(name, v.length) : 0)) / (dead ? floor : scale);
      if (dead) worst.dead = Math.max(worst.dead, e);
      else worst[kind] = Math.max(worst[kind], e);
      assert.ok(e < (dead ? 1 : tol), `${what} ${name}: ${label} ${got} vs PyTorch ${want} (${e.toExponential(2)} of ${dead ? 'the floor' : 'its scale'})`);
    };
    for (let j = 0; j < 3; j++) check(st[j]!, stats[3 * k + j]!, stats[3 * k]!, tolStats, ['norm', 'sum', 'sign projection'][j]!, 'stats');
    if (!samples) return;
    const idx = sampleIndices(v.length);
    let ref = 0;
    for (let j = 0; j < idx.length; j++) ref = Math.max(ref, Math.abs(samples[off + j]!));
    for (let j = 0; j < idx.length; j++) check(v[idx[j]!]!, samples[off + j]!, ref, tolSamples, `[${idx[j]}]`, 'samples');
    off += idx.length;
  });
  if (samples) assert.equal(off, samples.length, `${what}: sample count`);
  return worst;
}

for (const backend of BACKENDS) {
  test(`one CBDM step equals the published PyTorch code: losses and every parameter's gradient (${backend})`, () => {
    const be = E.useBackend(backend);
    const fx = readNpz(join(FIX, 'step.npz'));
    const net = goldenUNet(be);
    const x0 = toFloat32(fx.x0!), eps = toFloat32(fx.eps!);
    const t = Int32Array.from(toFloat64(fx.t!)), y = Int32Array.from(toFloat64(fx.y!)), yPrime = Int32Array.from(toFloat64(fx.y_prime!));
    const ddpm = injectedGradients(net, x0, y, t, eps, false, yPrime, 'ddpm');
    const gDdpm = grads(net);
    const cbdm = injectedGradients(net, x0, y, t, eps, false, yPrime, 'cbdm');
    const gCbdm = grads(net);
    const losses = { l_ddpm: cbdm.lDdpm, l_reg: cbdm.lReg, l_com: cbdm.lCom, loss: cbdm.loss };
    const lossErr = Math.max(...Object.entries(losses).map(([k, v]) => {
      const e = relErr(v, toFloat64(fx[k]!)[0]!);
      assert.ok(e < 5e-6, `${k}: ${v} vs PyTorch ${toFloat64(fx[k]!)[0]} (relative ${e.toExponential(2)})`);
      return e;
    }));
    assert.ok(relErr(ddpm.loss, toFloat64(fx.l_ddpm!)[0]!) < 5e-6, 'the DDPM pass alone has the same L_ddpm');
    const order = names(fx);
    const whole = compareTensors('gradient', order, gCbdm, toFloat64(fx.stats!), toFloat64(fx.grad!), 2e-4, 2e-4);
    const reg = compareTensors('regulariser gradient', order,
      new Map([...gCbdm].map(([n, g]) => [n, g.map((v, i) => v - gDdpm.get(n)![i]!)])), toFloat64(fx.stats_reg!), toFloat64(fx.grad_reg!), 1e-3, 1e-3);
    console.log(`golden step on ${backend}: losses within ${lossErr.toExponential(1)} relative; gradient samples ${whole.samples.toExponential(1)}, stats ${whole.stats.toExponential(1)}; regulariser share ${reg.samples.toExponential(1)}, ${reg.stats.toExponential(1)}; dead parameters ${Math.max(whole.dead, reg.dead).toExponential(1)} of the floor`);
  });
}

// The trajectory runs 40 forward/backward passes: on the fast backend only (js, the specification,
// is held to the same step above), or on js where the addon is not built.
for (const backend of BACKENDS.includes('cpu') ? ['cpu'] : ['js']) {
  test(`20 trainer steps (Adam, warm-up, clip, label drops) follow the published PyTorch loss trajectory (${backend})`, () => {
    const be = E.useBackend(backend);
    const fx = readNpz(join(FIX, 'trajectory.npz'));
    const [lr, warmup, gradClip] = toFloat64(fx.hparams!);
    const net = goldenUNet(be), ema = goldenUNet(be);
    const opt = new Adam(net.store, { lr: lr!, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: warmup!, gradClip: gradClip! });
    const x0All = toFloat32(fx.x0!), epsAll = toFloat32(fx.eps!);
    const tAll = toFloat64(fx.t!), yAll = toFloat64(fx.y!), ypAll = toFloat64(fx.y_prime!), dropped = toFloat64(fx.dropped!);
    const want = { loss: toFloat64(fx.loss!), l_ddpm: toFloat64(fx.l_ddpm!), l_reg: toFloat64(fx.l_reg!), l_com: toFloat64(fx.l_com!), grad_norm: toFloat64(fx.grad_norm!) };
    const steps = want.loss.length, B = fx.t!.shape[1]!, D = 3 * S * S;
    let worstLoss = 0, worstNorm = 0;
    for (let k = 0; k < steps; k++) {
      // The trainer's own step (src/train/step.ts): zero grads, loss, backward, clip + Adam, EMA.
      const { parts: p, stats } = optimiserStep({ net: net.store, ema: ema.store, opt }, 0.9999, () => injectedLoss(net,
        x0All.slice(k * B * D, (k + 1) * B * D), Int32Array.from(yAll.subarray(k * B, (k + 1) * B)), Int32Array.from(tAll.subarray(k * B, (k + 1) * B)),
        epsAll.slice(k * B * D, (k + 1) * B * D), dropped[k] === 1, Int32Array.from(ypAll.subarray(k * B, (k + 1) * B)), 'cbdm'));
      assert.equal(p.dropped, dropped[k] === 1);
      assert.ok(stats, `step ${k + 1}: the loss is not finite`);
      const { gradNorm } = stats;
      const e = relErr(p.loss, want.loss[k]!);
      worstLoss = Math.max(worstLoss, e);
      assert.ok(e < 1e-5, `step ${k + 1}: loss ${p.loss} vs PyTorch ${want.loss[k]} (relative ${e.toExponential(2)})`);
      for (const [ours, key] of [[p.lDdpm, 'l_ddpm'], [p.lReg, 'l_reg'], [p.lCom, 'l_com']] as const) {
        assert.ok(Math.abs(ours - want[key][k]!) <= 1e-5 * want.loss[k]!, `step ${k + 1}: ${key} ${ours} vs PyTorch ${want[key][k]}`);
      }
      const en = relErr(gradNorm, want.grad_norm[k]!);
      worstNorm = Math.max(worstNorm, en);
      assert.ok(en < 1e-5, `step ${k + 1}: grad norm ${gradNorm} vs PyTorch ${want.grad_norm[k]} (relative ${en.toExponential(2)})`);
    }
    const arena = net.store.readArena();
    const values = new Map(net.store.layout.filter((l) => l.name !== FROZEN).map((l) => [l.name, arena.subarray(l.offset, l.offset + l.size)]));
    // Adam scales the round-off gradients of the parameters the loss cannot see (DEAD) into
    // steps of up to ~lr: in float64 they stay put, here they may drift by lr per step and element.
    const order = names(fx), gradMax = toFloat64(fx.grad_max!);
    const dead = new Set(order.filter((_, k) => gradMax[k]! < 1e-12 * Math.max(...gradMax)));
    assert.ok(dead.size > 0 && dead.size < 20, `${dead.size} parameters without gradient`);
    const fin = compareTensors('final parameters', order, values, toFloat64(fx.stats_final!), null, 0, 1e-4,
      (name, n) => (dead.has(name) ? 2 * lr! * steps * n : 0));
    console.log(`trajectory on ${backend}: ${steps} losses within ${worstLoss.toExponential(1)} relative, grad norms ${worstNorm.toExponential(1)}, final parameters ${fin.stats.toExponential(1)} of their norms (dead ones ${fin.dead.toExponential(1)} of the floor after the drift allowance)`);
  });
}
