// `--coral` in the training loop: the term on top of DDPM and CBDM (CBDM's terms kept), learning on
// a fixed batch, the head trained but absent from the EMA export, exact resume, and weight 0 = off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { useBackend } from '../../src/engine/backends.ts';
import { UNet } from '../../src/models/unet.ts';
import { ProjectionHead } from '../../src/models/projection-head.ts';
import { trainingLoss, drawStep, type LossConfig } from '../../src/train/loss.ts';
import { coralLossWeight } from '../../src/train/coral.ts';
import { Adam, updateAll } from '../../src/train/optimizer.ts';
import { defaultSchedule } from '../../src/diffusion/schedule.ts';
import { train } from '../../src/train/trainer.ts';
import { DEFAULT_CORAL, DEFAULT_LOSS, resolveTrainConfig } from '../../src/train/config.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { latestCheckpoint } from '../../src/models/weights-file.ts';
import { loadWeightsFile } from '../../src/models/load.ts';
import { Rng } from '../../src/util/rng.ts';

const MICRO = { T: 1000, ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1, dropout: 0, numClasses: 4, imageSize: 8, channels: 3 };
const B = 8;
const Y = Int32Array.from([0, 0, 1, 1, 2, 2, 3, 0]);
const COUNTS = [40, 20, 10, 5];

function micro(): { net: UNet; head: ProjectionHead; x0: Float32Array } {
  const be = useBackend();
  const net = new UNet(MICRO);
  net.store.materialize(be, 3);
  const head = new ProjectionHead(net.bottleneckChannels);
  head.store.materialize(be, 4);
  const x0 = Float32Array.from(new Rng(9).fillNormal(new Float64Array(B * 3 * 8 * 8)), (v) => Math.tanh(v));
  return { net, head, x0 };
}

for (const method of ['ddpm', 'cbdm'] as const) {
  test(`--method ${method} --coral: loss = L_${method} + τ_sc·w·λ·L_con on labelled batches (CBDM's terms kept), no CORAL term when labels are dropped`, () => {
    const { net, head, x0 } = micro();
    const sched = defaultSchedule();
    const fn = (xt: E.Tensor, t: Int32Array, y: Int32Array | null, tap?: (h: E.Tensor) => void) => net.forward(xt, t, y, { training: true, onBottleneck: tap });
    const cfg: LossConfig = { ...DEFAULT_LOSS, method, labelDropProb: 0, coral: DEFAULT_CORAL };
    const p = E.tidy(() => {
      const r = trainingLoss({ net: fn, x0, y0: Y, shape: [B, 3, 8, 8], sched, cfg, counts: COUNTS, rng: new Rng(21), head });
      return { ...r, loss: r.loss.item() };
    });
    const d = drawStep({ x0, batch: B, sched, cfg, counts: COUNTS, rng: new Rng(21) });
    const w = coralLossWeight(d.t, sched.T, DEFAULT_CORAL);
    assert.ok(p.lCon > 0, 'L_con is positive on a batch with positive pairs');
    if (method === 'cbdm') assert.ok(p.lReg > 0 && p.lCom > 0, 'CBDM regulariser kept next to CORAL');
    const want = p.lDdpm + p.lReg + 0.25 * p.lCom + w * p.lCon;
    assert.ok(Math.abs(p.loss - want) < 1e-5 * want, `loss ${p.loss} vs ${want}`);
    // every batch dropped: no CORAL term, as the released `if y_0 is not None`
    const dropped = E.tidy(() => trainingLoss({ net: fn, x0, y0: Y, shape: [B, 3, 8, 8], sched, cfg: { ...cfg, labelDropProb: 1 }, counts: COUNTS, rng: new Rng(21), head }));
    assert.equal(dropped.dropped, true);
    assert.equal(dropped.lCon, 0);
  });
}

test('CORAL learns: on a fixed batch and fixed draws, 12 Adam steps on UNet + head lower L_con', () => {
  const { net, head, x0 } = micro();
  const sched = defaultSchedule();
  const fn = (xt: E.Tensor, t: Int32Array, y: Int32Array | null, tap?: (h: E.Tensor) => void) => net.forward(xt, t, y, { training: true, onBottleneck: tap });
  const cfg: LossConfig = { ...DEFAULT_LOSS, method: 'ddpm', labelDropProb: 0, coral: DEFAULT_CORAL };
  const adam = { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: 0, gradClip: 1 };
  const opts = [new Adam(net.store, adam), new Adam(head.store, adam)];
  const lCon: number[] = [];
  for (let k = 0; k < 12; k++) {
    E.tidy(() => {
      net.store.zeroGrad();
      head.store.zeroGrad();
      const p = trainingLoss({ net: fn, x0, y0: Y, shape: [B, 3, 8, 8], sched, cfg, counts: COUNTS, rng: new Rng(21), head });
      lCon.push(p.lCon);
      E.backward(p.loss);
    });
    updateAll(opts);
  }
  assert.ok(lCon[11]! < 0.8 * lCon[0]!, `L_con ${lCon[0]!.toFixed(4)} → ${lCon[11]!.toFixed(4)}`);
});

// Micro runs through the real trainer (shapes10-lt at 16 px).
const base = {
  preset: 'tiny' as const, dataset: 'shapes10-lt', imageSize: 16, steps: 4, batch: 8, lr: 1e-3, warmup: 2,
  logEvery: 1, ckptEvery: 2, labelDropProb: 0.3, seed: 5,
  model: { ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1 },
};

function tensorsOf(dir: string) {
  return readSafetensors(readFileSync(latestCheckpoint(dir)!)).tensors;
}

function arenas(dir: string, keys: string[]): Buffer {
  const t = tensorsOf(dir);
  return Buffer.concat(keys.map((k) => Buffer.from((t.get(k)!.data as Float32Array).buffer)));
}

const metrics = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

/** The 4-step cbdm --coral run of the next test, reused as the uninterrupted run of the resume test. */
const fullRun: { cbdm?: string } = {};

test('train --coral (ddpm and cbdm): L_con logged, config.json records it, the head is checkpointed apart and absent from ema.safetensors, which loads as the published UNet', async () => {
  for (const method of ['ddpm', 'cbdm'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `cbdm-coral-${method}-`));
    if (method === 'cbdm') fullRun.cbdm = dir;
    const cfg = resolveTrainConfig({ ...base, method, coral: true });
    const r = await train(cfg, { out: dir, progress: false });
    const m = metrics(dir);
    assert.equal(m.length, 4);
    assert.ok(m.every((l) => typeof l.l_con === 'number' && Number.isFinite(l.l_con)), 'l_con on every line');
    assert.ok(m.some((l) => l.l_con! > 0), 'a labelled batch with positive pairs has L_con > 0');
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { train: Record<string, unknown> };
    assert.deepEqual([saved.train.coral, saved.train.coralWeight, saved.train.coralTemp, saved.train.coralTimeTemp], [true, 0.5, 0.1, 0.3]);
    // checkpoint: the UNet arena as without CORAL, the head under its own keys
    const t = tensorsOf(dir);
    const plain = new UNet(r.modelConfig);
    assert.equal(t.get('net')!.shape[0], plain.store.numel);
    assert.equal(t.get('ema')!.shape[0], plain.store.numel);
    assert.equal(t.get('proj_head')!.shape[0], (plain.bottleneckChannels + 1) * 128);
    assert.ok(t.has('proj_head_adam_m') && t.has('proj_head_adam_v'));
    // the head was trained (moved from its initial values)
    const init = new ProjectionHead(plain.bottleneckChannels);
    init.store.materialize(useBackend(), 5 + 0x636f72);
    const initValues = init.store.readArena();
    const moved = (t.get('proj_head')!.data as Float32Array).filter((v, i) => v !== initValues[i]).length;
    assert.ok(moved > initValues.length / 2, `only ${moved} of ${initValues.length} head parameters moved`);
    // export: exactly the UNet's published keys, loadable as the UNet
    const ema = readSafetensors(readFileSync(join(dir, 'ema.safetensors'))).tensors;
    assert.deepEqual([...ema.keys()].sort(), plain.store.params.map((p) => p.name).sort());
    assert.ok(![...ema.keys()].some((k) => k.startsWith('mean_proj')), 'the head leaked into the export');
    const w = loadWeightsFile(join(dir, 'ema.safetensors'), useBackend());
    assert.equal(w.net.store.numel, plain.store.numel);
  }
});

test('train --coral resumes exactly: 2 steps + resume + 2 steps equal 4 steps (UNet, EMA, Adam, head and its moments, losses)', async () => {
  const cfg = resolveTrainConfig({ ...base, method: 'cbdm', coral: true });
  const a = fullRun.cbdm ?? mkdtempSync(join(tmpdir(), 'cbdm-coral-ra-'));
  if (fullRun.cbdm === undefined) await train(cfg, { out: a, progress: false });
  const b = mkdtempSync(join(tmpdir(), 'cbdm-coral-rb-'));
  await train(cfg, { out: b, progress: false, stopAfter: 2 });
  await train(cfg, { out: b, progress: false, resume: true });
  const keys = ['net', 'ema', 'adam_m', 'adam_v', 'proj_head', 'proj_head_adam_m', 'proj_head_adam_v'];
  assert.ok(arenas(a, keys).equals(arenas(b, keys)), 'state differs after resume');
  assert.deepEqual(metrics(b).map((l) => [l.loss, l.l_con]), metrics(a).map((l) => [l.loss, l.l_con]));
});

test('train --coral --coral-weight 0 trains the same UNet as no CORAL (no extra draws; the head adds nothing to the clip norm)', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-coral-w0-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-coral-off-'));
  await train(resolveTrainConfig({ ...base, method: 'cbdm', steps: 2, coral: true, coralWeight: 0 }), { out: a, progress: false });
  await train(resolveTrainConfig({ ...base, method: 'cbdm', steps: 2 }), { out: b, progress: false });
  const keys = ['net', 'ema', 'adam_m', 'adam_v'];
  assert.ok(arenas(a, keys).equals(arenas(b, keys)), 'a zero-weight CORAL term changed the UNet');
  assert.ok(!tensorsOf(b).has('proj_head'));
});

test('config: --coral only with ddpm or cbdm; its settings need --coral; temperatures positive', () => {
  assert.throws(() => resolveTrainConfig({ method: 't2h', coral: true }), /--coral combines with --method ddpm or cbdm, not t2h/);
  assert.throws(() => resolveTrainConfig({ method: 'cbdm', coralWeight: 1 }), /--coral-weight applies with --coral only/);
  assert.throws(() => resolveTrainConfig({ method: 'ddpm', coral: true, coralTemp: 0 }), /--coral-temp must be a positive number/);
  assert.throws(() => resolveTrainConfig({ method: 'ddpm', coral: true, coralTimeTemp: -1 }), /--coral-time-temp must be a positive number/);
  assert.throws(() => resolveTrainConfig({ method: 'ddpm', coral: true, coralWeight: Number.NaN }), /--coral-weight must be a finite number/);
  const c = resolveTrainConfig({ method: 'cbdm', coral: true });
  assert.deepEqual([c.coral, c.coralWeight, c.coralTemp, c.coralTimeTemp, c.batch], [true, 0.5, 0.1, 0.3, 48]);
});
