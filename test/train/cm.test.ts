// Capacity Manipulation (approximate; src/train/cm.ts, cm-branches.ts): class weights, branch
// ranks, the zero-initialised branch, merging, the loss value and its gradients, and training
// with exact resume and a plain-UNet EMA export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { conv2d } from '../../src/engine/ops/conv2d.ts';
import { UNet, type UNetConfig } from '../../src/models/unet.ts';
import { loadWeightsFile, loadRunModel } from '../../src/models/load.ts';
import { cmClassWeights, capacityTerm, CM_APPROXIMATE } from '../../src/train/cm.ts';
import { CapacityBranches, branchRank, twoPassNet, unetWeightLayers } from '../../src/train/cm-branches.ts';
import { trainingLoss, drawStep, type LossConfig, type TwoPassNet } from '../../src/train/loss.ts';
import { DEFAULT_LOSS, resolveTrainConfig } from '../../src/train/config.ts';
import { readTrainConfigFile } from '../../src/train/config-file.ts';
import { train } from '../../src/train/trainer.ts';
import { latestCheckpoint, readCheckpointFile } from '../../src/models/weights-file.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { defaultSchedule } from '../../src/diffusion/schedule.ts';
import { Rng } from '../../src/util/rng.ts';
import { readRunDir } from '../../src/report/run-dir.ts';
import { renderReport } from '../../src/report/html.ts';
import { makeFakeRun } from '../report/fake-runs.ts';

E.useBackend();
const MICRO: UNetConfig = { T: 1000, ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1, dropout: 0.1, numClasses: 3, imageSize: 8, channels: 1 };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A micro UNet with branches, materialized on the current backend. */
function microWithBranches(ratio = 0.1): { net: UNet; br: CapacityBranches } {
  const net = new UNet(MICRO);
  const br = new CapacityBranches(net, ratio);
  net.store.materialize(E.currentBackend(), 3);
  return { net, br };
}

/** Give every B random values (the zero init would make the branches invisible). */
function randomizeB(br: CapacityBranches, seed: number, std = 0.05): void {
  const r = new Rng(seed);
  for (const b of br.branches) {
    const v = b.B.value;
    v.backend.write(v.storageFor('test'), Float32Array.from({ length: v.size }, () => r.normal() * std));
  }
}

test('CM ω: ω_con = C·N_y/ΣN, ω_div = C/(N_y·Σ1/N) for known counts; each averages to 1 over the classes', () => {
  const w = cmClassWeights([100, 10, 1]);
  // ΣN = 111, Σ1/N = 1.11: ω_con = [300, 30, 3]/111, ω_div = 3/(N·1.11) = [3, 30, 300]/111
  const close = (got: Float64Array, want: number[]) => got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `${v} vs ${want[i]}`));
  close(w.con, [300 / 111, 30 / 111, 3 / 111]);
  close(w.div, [3 / 111, 30 / 111, 300 / 111]);
  const w2 = cmClassWeights([500, 120, 37, 5]);
  assert.ok(Math.abs(w2.con.reduce((a, b) => a + b, 0) / 4 - 1) < 1e-12);
  assert.ok(Math.abs(w2.div.reduce((a, b) => a + b, 0) / 4 - 1) < 1e-12);
  assert.throws(() => cmClassWeights([5, 0]), /class 1 has 0 training images/);
});

test('CM branch ranks: ⌈ratio·min(rows, cols)⌉, never 0 for ratio > 0; every conv/linear weight gets one', () => {
  assert.equal(branchRank(0.1, 128, 128 * 9), 13);
  assert.equal(branchRank(0.1, 1, 288), 1);     // a greyscale tail conv: out = 1
  assert.equal(branchRank(0.1, 32, 9), 1);      // a greyscale head conv: in·k·k = 9
  assert.equal(branchRank(1, 64, 32), 32);
  assert.throws(() => branchRank(0, 64, 64), /ratio must be in \(0, 1\]/);
  const net = new UNet(MICRO);
  const plainNames = net.store.params.map((p) => p.name);
  const br = new CapacityBranches(net, 0.1);
  // Conv weights are the rank-4 parameters; linear ones the trainable rank-2 weights other than the label embedding.
  const expected = net.store.params.filter((p) => !p.name.startsWith('cm_branch.') && p.trainable && p.name.endsWith('.weight')
    && (p.shape.length === 4 || (p.shape.length === 2 && p.name !== 'label_embedding.weight'))).map((p) => p.name);
  assert.deepEqual(br.branches.map((b) => b.weight.name).sort(), expected.sort());
  assert.equal(unetWeightLayers(net).length, expected.length);
  // The branch parameters come after the UNet's own, so those keep their order (and offsets).
  assert.deepEqual(net.store.params.slice(0, plainNames.length).map((p) => p.name), plainNames);
  for (const b of br.branches) {
    assert.deepEqual(b.B.shape, [b.rows, b.rank]);
    assert.deepEqual(b.A.shape, [b.rank, b.cols]);
    assert.equal(b.rank, Math.ceil(0.1 * Math.min(b.rows, b.cols)));
  }
});

test('CM: with B zero-initialised the full pass equals the base pass exactly (dropout masks replayed)', () => {
  const { net, br } = microWithBranches();
  for (const b of br.branches) assert.ok(b.B.value.toArray().every((v) => v === 0));
  const r = new Rng(4);
  const x = E.tensor(r.fillNormal(new Float32Array(2 * 64)), [2, 1, 8, 8]);
  const t = Int32Array.from([10, 700]), y = Int32Array.from([0, 2]);
  const dropRng = new Rng(9, 2);
  const pair = twoPassNet(net, br, dropRng);
  E.tidy(() => {
    const full = pair.full(x, t, y).toArray();
    const base = pair.base(x, t, y).toArray();
    assert.equal(maxAbsDiff(full, base), 0);
    // Dropout was active: a different mask (the next draw) gives a different output.
    const other = net.forward(x, t, y, { training: true, rng: dropRng }).toArray();
    assert.ok(maxAbsDiff(other, base) > 0);
  });
});

test('CM merge: W_g + B·A folded into a plain UNet gives the two-term model\'s forward (float32, |Δ| < 1e-5)', () => {
  const { net, br } = microWithBranches();
  randomizeB(br, 6);
  const plain = br.merged();
  const mergedNet = new UNet(MICRO);
  mergedNet.store.materialize(E.currentBackend(), 0);
  mergedNet.store.writeArena(plain.readArena());
  assert.deepEqual(mergedNet.store.layout.map((l) => l.name), new UNet(MICRO).store.params.map((p) => p.name));
  const r = new Rng(8);
  const x = E.tensor(r.fillNormal(new Float32Array(3 * 64)), [3, 1, 8, 8]);
  const t = Int32Array.from([1, 400, 999]), y = Int32Array.from([2, 1, 0]);
  E.tidy(() => {
    const two = E.noGrad(() => br.withBranches(() => net.forward(x, t, y, { training: false }))).toArray();
    const base = E.noGrad(() => net.forward(x, t, y, { training: false })).toArray();
    const merged = E.noGrad(() => mergedNet.forward(x, t, y, { training: false })).toArray();
    const diff = maxAbsDiff(two, merged);
    assert.ok(diff < 1e-5, `merged vs two-term forward: max |Δ| ${diff}`);
    assert.ok(maxAbsDiff(two, base) > 1e-3, 'the branches change the output (else the comparison proves nothing)');
  });
});

test('CM branch on one conv: conv(x, W_g + B·A) = conv(x, W_g) + conv(x, B·A) (float64, |Δ| < 1e-12)', () => {
  E.useBackend('js');
  try {
    const r = new Rng(12);
    const W = E.randn([6, 4, 3, 3], r, { dtype: 'float64' });
    const Bm = E.randn([6, 2], r, { dtype: 'float64' });
    const Am = E.randn([2, 36], r, { dtype: 'float64' });
    const bias = E.randn([6], r, { dtype: 'float64' });
    const x = E.randn([2, 4, 5, 5], r, { dtype: 'float64' });
    const delta = E.matmul(Bm, Am).reshape([6, 4, 3, 3]);
    const one = conv2d(x, E.add(W, delta), bias, { pad: 1 }).toArray();
    const two = E.add(conv2d(x, W, bias, { pad: 1 }), conv2d(x, delta, null, { pad: 1 })).toArray();
    assert.ok(maxAbsDiff(one, two) < 1e-12);
  } finally {
    E.useBackend();
  }
});

// A toy two-pass ε-net in float64: base h = x·W, full h = x·(W + B·A) (B·A low rank).
const NB = 6, ND = 5;
function toyNets(bScale: number): { W: E.Tensor; Bm: E.Tensor; Am: E.Tensor; pair: TwoPassNet } {
  const r = new Rng(21);
  const W = E.randn([ND, ND], r, { dtype: 'float64', requiresGrad: true });
  const Bm = E.randn([ND, 2], r, { dtype: 'float64' });
  Bm.backend.write(Bm.storageFor('test'), Bm.toArray().map((v) => v * bScale));
  Bm.requiresGrad = true;
  const Am = E.randn([2, ND], r, { dtype: 'float64', requiresGrad: true });
  const pair: TwoPassNet = {
    full: (xt) => E.matmul(xt.reshape([NB, ND]), E.add(W, E.matmul(Bm, Am))),
    base: (xt) => E.matmul(xt.reshape([NB, ND]), W),
  };
  return { W, Bm, Am, pair };
}

const CM_CFG: LossConfig = { ...DEFAULT_LOSS, method: 'cm', labelDropProb: 0, cm: { rankRatio: 0.1, lambda: 0.7 } };
const COUNTS = [50, 10, 2];
const Y0 = Int32Array.from([0, 1, 2, 0, 1, 2]);
const X0 = Float32Array.from(new Rng(1).fillNormal(new Float64Array(NB * ND)));

function lossValue(pair: TwoPassNet, cfg: LossConfig = CM_CFG): number {
  return E.tidy(() => E.noGrad(() => trainingLoss({ net: pair, x0: X0, y0: Y0, shape: [NB, ND], sched: defaultSchedule(), cfg, counts: COUNTS, rng: new Rng(31), dtype: 'float64' }).loss.item()));
}

test('CM loss equals the hand-computed L_base + λ·mean[(ω_con − ω_div)·‖ε_full − ε_base‖²] on a tiny case', () => {
  E.useBackend('js');
  try {
    const { W, Bm, Am, pair } = toyNets(1);
    const d = drawStep({ x0: X0, batch: NB, sched: defaultSchedule(), cfg: CM_CFG, counts: COUNTS, rng: new Rng(31) });
    const w = W.toArray(), b = Bm.toArray(), a = Am.toArray();
    const Wf = Array.from({ length: ND * ND }, (_, ij) => w[ij]! + b[Math.floor(ij / ND) * 2]! * a[ij % ND]! + b[Math.floor(ij / ND) * 2 + 1]! * a[ND + (ij % ND)]!);
    let base = 0, cm = 0;
    const om = cmClassWeights(COUNTS);
    for (let i = 0; i < NB; i++) {
      let dd = 0;
      for (let k = 0; k < ND; k++) {
        let hf = 0, hb = 0;
        for (let j = 0; j < ND; j++) { hf += d.xt[i * ND + j]! * Wf[j * ND + k]!; hb += d.xt[i * ND + j]! * w[j * ND + k]!; }
        base += (hf - d.eps[i * ND + k]!) ** 2;
        dd += (hf - hb) ** 2;
      }
      cm += (om.con[Y0[i]!]! - om.div[Y0[i]!]!) * dd;
    }
    const want = base / (NB * ND) + 0.7 * cm / (NB * ND);
    const parts = E.tidy(() => trainingLoss({ net: pair, x0: X0, y0: Y0, shape: [NB, ND], sched: defaultSchedule(), cfg: CM_CFG, counts: COUNTS, rng: new Rng(31), dtype: 'float64' }));
    assert.ok(Math.abs(parts.loss.item() - want) < 1e-12, `${parts.loss.item()} vs ${want}`);
    assert.ok(Math.abs(parts.lCm! - 0.7 * cm / (NB * ND)) < 1e-12);
    assert.throws(() => trainingLoss({ net: pair.full, x0: X0, y0: Y0, shape: [NB, ND], sched: defaultSchedule(), cfg: CM_CFG, counts: COUNTS, rng: new Rng(31), dtype: 'float64' }), /method cm needs both passes/);
  } finally {
    E.useBackend();
  }
});

test('CM gradients: no stop-gradient — autodiff equals central differences on W_g, B and A of a toy two-pass net', () => {
  E.useBackend('js');
  try {
    const { W, Bm, Am, pair } = toyNets(1);
    const grad = (cfg: LossConfig) => {
      for (const p of [W, Bm, Am]) { p.grad?.dispose(); p.grad = null; }
      E.tidy(() => E.backward(trainingLoss({ net: pair, x0: X0, y0: Y0, shape: [NB, ND], sched: defaultSchedule(), cfg, counts: COUNTS, rng: new Rng(31), dtype: 'float64' }).loss));
      return [W, Bm, Am].map((p) => Float64Array.from(p.grad!.toArray()));
    };
    const g = grad(CM_CFG);
    const h = 1e-6;
    for (const [pi, p] of [W, Bm, Am].entries()) {
      const base = Float64Array.from(p.toArray());
      for (let i = 0; i < base.length; i++) {
        const at = (v: number) => { const c = Float64Array.from(base); c[i] = v; p.backend.write(p.storageFor('fd'), c); return lossValue(pair); };
        const fd = (at(base[i]! + h) - at(base[i]! - h)) / (2 * h);
        p.backend.write(p.storageFor('fd'), base);
        assert.ok(Math.abs(fd - g[pi]![i]!) < 1e-6 * Math.max(1, Math.abs(fd)), `param ${pi}[${i}]: autodiff ${g[pi]![i]} vs fd ${fd}`);
      }
    }
    // Here d = x·B·A does not depend on W_g (the toy is linear), so the CM term moves B and A only.
    const g0 = grad({ ...CM_CFG, cm: { rankRatio: 0.1, lambda: 0 } });
    assert.ok(maxAbsDiff(g[1]!, g0[1]!) > 1e-6, 'the CM term moves B');
    assert.ok(maxAbsDiff(g[2]!, g0[2]!) > 1e-6, 'the CM term moves A');
    assert.ok(maxAbsDiff(g[0]!, g0[0]!) < 1e-12);
  } finally {
    E.useBackend();
  }
});

test('CM at B = 0: the CM term and its gradient are zero, A gets no gradient, B does (from L_base)', () => {
  E.useBackend('js');
  try {
    const { W, Bm, Am, pair } = toyNets(0);
    for (const p of [W, Bm, Am]) { p.grad?.dispose(); p.grad = null; }
    E.tidy(() => {
      const parts = trainingLoss({ net: pair, x0: X0, y0: Y0, shape: [NB, ND], sched: defaultSchedule(), cfg: CM_CFG, counts: COUNTS, rng: new Rng(31), dtype: 'float64' });
      assert.equal(parts.lCm, 0);
      E.backward(parts.loss);
    });
    assert.ok(Am.grad!.toArray().every((v) => v === 0));
    assert.ok(Bm.grad!.toArray().some((v) => v !== 0));
    // capacityTerm alone: zero value and zero gradient when both passes agree.
    const t = E.tidy(() => capacityTerm(E.tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' }), E.tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' }), Int32Array.from([0, 1]), [9, 1], 1, 'float64').term.item());
    assert.equal(t, 0);
  } finally {
    E.useBackend();
  }
});

test('CM term on the UNet: its gradient reaches W_g (through both passes) and every B and A', () => {
  const { net, br } = microWithBranches(0.25);
  randomizeB(br, 14);
  const r = new Rng(15);
  const x = E.tensor(r.fillNormal(new Float32Array(3 * 64)), [3, 1, 8, 8]);
  const t = Int32Array.from([5, 500, 900]), y = Int32Array.from([0, 1, 2]);
  net.store.zeroGrad();
  const pair = twoPassNet(net, br, new Rng(16));
  E.tidy(() => {
    const hFull = pair.full(x, t, y);
    const hBase = pair.base(x, t, y);
    E.backward(capacityTerm(hFull, hBase, y, [40, 8, 2], 1).term);
  });
  const nonzero = (p: { value: E.Tensor }) => p.value.grad!.toArray().some((v) => v !== 0);
  assert.ok(br.branches.every((b) => nonzero(b.B) && nonzero(b.A)), 'every branch gets a gradient');
  assert.ok(br.branches.filter((b) => nonzero(b.weight)).length === br.branches.length, 'every W_g gets a gradient');
  assert.ok(nonzero(net.store.get('label_embedding.weight')));
  net.store.zeroGrad();
});

const microTrain = { ch: 32, chMult: [1], attn: [0], numResBlocks: 1 };

test('CM trains, resumes bit-exactly, and exports a plain UNet EMA (published keys only)', async () => {
  const cfg = resolveTrainConfig({
    method: 'cm', preset: 'tiny', dataset: 'shapes10-lt', imageSize: 16, steps: 4, batch: 3, lr: 1e-3, warmup: 2,
    logEvery: 1, ckptEvery: 2, labelDropProb: 0.3, seed: 5, model: microTrain,
  });
  const a = mkdtempSync(join(tmpdir(), 'cbdm-cm-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-cm-b-'));
  const ra = await train(cfg, { out: a, progress: false });
  await train(cfg, { out: b, progress: false, stopAfter: 2 });
  await train(cfg, { out: b, progress: false, resume: true });
  const blobs = (dir: string) => {
    const { tensors, metadata } = readSafetensors(readFileSync(latestCheckpoint(dir)!));
    return { bytes: Buffer.concat(['net', 'ema', 'adam_m', 'adam_v'].map((k) => Buffer.from((tensors.get(k)!.data as Float32Array).buffer))), state: JSON.parse(metadata!.cbdm_state!) };
  };
  const ba = blobs(a), bb = blobs(b);
  assert.ok(ba.bytes.equals(bb.bytes), 'weights, branches, EMA and Adam moments differ after resume');
  const metrics = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; l_cm: number })
    .map((m) => ({ loss: m.loss, l_cm: m.l_cm }));
  assert.deepEqual(metrics(b), metrics(a));
  assert.ok(metrics(a).every((m) => typeof m.l_cm === 'number'));
  // The training checkpoint holds the branches; the EMA export does not.
  const plainKeys = new UNet(ra.modelConfig).store.params.map((p) => p.name).sort();
  const layoutNames = (ba.state.layout as Array<{ name: string }>).map((l) => l.name);
  assert.ok(layoutNames.some((n) => n.startsWith('cm_branch.')));
  const ema = readSafetensors(readFileSync(join(a, 'ema.safetensors')));
  assert.deepEqual([...ema.tensors.keys()].sort(), plainKeys);
  const loaded = loadWeightsFile(join(a, 'ema.safetensors'), E.currentBackend(), { imageSize: 16 });
  assert.equal(loaded.net.store.numel, new UNet(ra.modelConfig).store.numel);
  // Sampling a CM run reads the EMA from its latest checkpoint into a plain UNet (the branches
  // stored after the UNet's parameters are skipped): the same weights as ema.safetensors.
  const fromRun = loadRunModel(a, E.currentBackend());
  assert.ok(Buffer.from(fromRun.net.store.readArena().buffer).equals(Buffer.from(loaded.net.store.readArena().buffer)));
  const plain = new UNet(ra.modelConfig);
  plain.store.materialize(E.currentBackend(), 0);
  loadCheckpoint(latestCheckpoint(a)!, plain.store, null, null, { emaInto: true });
  assert.ok(Buffer.from(plain.store.readArena().buffer).equals(Buffer.from(loaded.net.store.readArena().buffer)));
  // Everything but the EMA (resume) needs the branches: a plain layout is refused.
  assert.throws(() => readCheckpointFile(latestCheckpoint(a)!, plain.store.layout), /different model/);
  // The branches learned something (B left zero).
  const bValues = ra.net.store.params.filter((p) => /^cm_branch\..*\.B$/.test(p.name)).flatMap((p) => Array.from(p.value.toArray()));
  assert.ok(bValues.some((v) => v !== 0));
  const config = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8')) as { approximate?: string };
  assert.match(config.approximate ?? '', new RegExp(CM_APPROXIMATE));
});

test('CM: the EMA follows the merged weights W_g + B·A (EMA decay 0: equal to them exactly)', async () => {
  const cfg = resolveTrainConfig({
    method: 'cm', preset: 'tiny', dataset: 'shapes10-lt', imageSize: 16, steps: 2, batch: 2, lr: 1e-3, warmup: 0,
    logEvery: 1, ckptEvery: 2, emaDecay: 0, seed: 2, model: microTrain, cmRankRatio: 0.25,
  });
  const r = await train(cfg, { out: mkdtempSync(join(tmpdir(), 'cbdm-cm-ema-')), progress: false });
  const net = new UNet(r.modelConfig);
  const br = new CapacityBranches(net, 0.25);
  net.store.materialize(E.currentBackend(), 0);
  net.store.writeArena(r.net.store.readArena());
  const merged = br.merged().readArena();
  assert.equal(maxAbsDiff(merged, r.ema.store.readArena()), 0);
  // …and differs from W_g alone once the branches moved.
  assert.ok(maxAbsDiff(merged, r.net.store.readArena().subarray(0, merged.length)) > 0);
});

test('CM step 1 equals DDPM step 1 (same seed): B = 0, W_g initialised as in a plain run, the same draws', async () => {
  const base = { preset: 'tiny' as const, dataset: 'shapes10-lt', imageSize: 16, steps: 1, batch: 2, logEvery: 1, ckptEvery: 1, seed: 7, model: microTrain };
  const loss = async (method: 'ddpm' | 'cm') => {
    const dir = mkdtempSync(join(tmpdir(), `cbdm-cm-step1-${method}-`));
    await train(resolveTrainConfig({ ...base, method }), { out: dir, progress: false });
    return JSON.parse(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim()) as { loss: number; l_cm?: number };
  };
  const [d, c] = [await loss('ddpm'), await loss('cm')];
  assert.equal(c.loss, d.loss);
  assert.equal(c.l_cm, 0);
});

test('CM settings: bad values and CM flags on another method are one clear error naming the flag', () => {
  assert.throws(() => resolveTrainConfig({ method: 'cm', cmRankRatio: 0 }), /--cm-rank-ratio must be in \(0, 1\].*rank 0\), got 0/);
  assert.throws(() => resolveTrainConfig({ method: 'cm', cmRankRatio: -0.1 }), /--cm-rank-ratio/);
  assert.throws(() => resolveTrainConfig({ method: 'cm', cmRankRatio: 1.01 }), /--cm-rank-ratio/);
  assert.throws(() => resolveTrainConfig({ method: 'cm', cmRankRatio: Number.NaN }), /--cm-rank-ratio/);
  assert.throws(() => resolveTrainConfig({ method: 'cm', cmLambda: -1 }), /--cm-lambda must be a finite number ≥ 0/);
  assert.throws(() => resolveTrainConfig({ method: 'ddpm', cmRankRatio: 0.2 }), /--cm-rank-ratio applies to --method cm only \(this run is ddpm\)/);
  assert.throws(() => resolveTrainConfig({ method: 'cm', finetuneFrom: '/x' }), /--finetune-from .* does not apply to --method cm/);
  // A CM run's config.json (with its top-level "approximate" entry) is accepted as --config.
  const file = join(mkdtempSync(join(tmpdir(), 'cbdm-cm-cfg-')), 'config.json');
  writeFileSync(file, JSON.stringify({ train: { ...resolveTrainConfig({ method: 'cm', cmLambda: 0.5 }) }, approximate: `method cm: ${CM_APPROXIMATE}`, model: {} }));
  const fromFile = readTrainConfigFile(file).values;
  assert.equal(fromFile.method, 'cm');
  assert.equal(fromFile.cmLambda, 0.5);
  const c = resolveTrainConfig({ method: 'cm' });
  assert.equal(c.cmRankRatio, 0.1);
  assert.equal(c.cmLambda, 1);
  assert.equal(c.batch, 64);
});

test('report: a CM run is read and its method is labelled approximate in the summary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-cm-report-'));
  makeFakeRun(dir, { method: 'cm', seed: 2, logLines: 3, evaluated: false });
  const html = renderReport([await readRunDir(dir)], { chartJs: '/* stand-in */', generatedAt: new Date('2026-12-06T00:00:00Z') });
  assert.ok(html.includes(`cm (${CM_APPROXIMATE})`));
});
