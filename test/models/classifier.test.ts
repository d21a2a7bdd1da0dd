import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.ts';
import { crossEntropy } from '../../src/engine/ops/softmax.ts';
import { SmallClassifier, type SmallClassifierConfig } from '../../src/models/classifier.ts';
import { trainClassifier, classifierLr, randomCropInPlace, SMALL_RECIPE } from '../../src/train/classifier-train.ts';
import { predict, accuracyReport, groupAccuracy } from '../../src/train/classifier-eval.ts';
import { WeightDecay, SgdMomentum } from '../../src/train/sgd.ts';
import { sampleShapesBalanced } from '../../src/data/shapes.ts';
import { Rng } from '../../src/util/rng.ts';
import { ParamStore } from '../../src/nn/params.ts';

const TINY: SmallClassifierConfig = { numClasses: 4, imageSize: 16, channels: 3, widths: [4, 8, 8], groups: 4 };

function batch(n: number, seed: number, dtype: 'float32' | 'float64' = 'float32'): { x: E.Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const x = E.randn([n, 3, 16, 16], rng, { dtype });
  const y = Int32Array.from({ length: n }, (_, i) => i % 4);
  return { x, y };
}

test('small classifier: shapes of features and logits, MAC count', () => {
  const be = E.useBackend('js');
  const net = new SmallClassifier(TINY);
  net.store.materialize(be, 0);
  E.tidy(() => {
    const { x } = batch(3, 1);
    const out = net.forward(x);
    assert.deepEqual(out.features.shape, [3, 8]);
    assert.deepEqual(out.logits.shape, [3, 4]);
  });
  // stem 16²·4·3·9 + 8²·8·4·9 + 8²·8·8·9 + 4²·8·8·9 + 4²·8·8·9 + fc 8·4
  assert.equal(net.macs(), 256 * 108 + 64 * 288 + 64 * 576 + 16 * 576 + 16 * 576 + 32);
  assert.throws(() => net.forward(E.zeros([1, 3, 32, 32])), /expected N×3×16×16/);
});

test('small classifier: analytic gradient of the loss matches central differences (float64)', () => {
  const be = E.useBackend('js');
  const net = new SmallClassifier(TINY);
  net.store.materialize(be, 3, 'float64');
  const { x, y } = batch(4, 2, 'float64');
  const loss = (): number => E.noGrad(() => E.tidy(() => crossEntropy(net.forward(x).logits, y).item()));
  net.store.zeroGrad();
  E.tidy(() => E.backward(crossEntropy(net.forward(x).logits, y)));
  const grad = be.read(net.store.gradArena);
  const arena = be.read(net.store.arena);
  const rng = new Rng(9);
  const eps = 1e-5;
  let worst = 0;
  for (let k = 0; k < 24; k++) {
    const i = rng.int(arena.length);
    const p = arena.slice();
    p[i] = arena[i]! + eps;
    net.store.writeArena(p);
    const lp = loss();
    p[i] = arena[i]! - eps;
    net.store.writeArena(p);
    const lm = loss();
    net.store.writeArena(arena);
    const fd = (lp - lm) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grad[i]!) / Math.max(1e-3, Math.abs(fd)));
  }
  assert.ok(worst < 1e-4, `worst relative gradient error ${worst}`);
});

test('small classifier: loss on a fixed batch falls over a few Adam steps', () => {
  const be = E.useBackend('js');
  const net = new SmallClassifier(TINY);
  net.store.materialize(be, 0);
  const ds = sampleShapesBalanced({ classes: 10, size: 16, perClass: 1, seed: 5 });
  const four = { ...ds, numClasses: 4, classNames: ds.classNames.slice(0, 4), counts: [1, 1, 1, 1], images: ds.images.subarray(0, 4 * 768), labels: ds.labels.subarray(0, 4) };
  const bytes = be.liveBytes();
  const tensors = E.liveTensorCount();
  const r = trainClassifier(net, four, { ...SMALL_RECIPE, steps: 20, batchSize: 4, lr: 1e-2, warmupEpochs: 0, decayAt: [], flip: false }, { logEvery: 1 });
  // Training leaves no tensors or buffers behind (optimiser state included).
  assert.equal(E.liveTensorCount(), tensors);
  assert.equal(be.liveBytes(), bytes);
  assert.equal(r.losses.length, 20);
  assert.ok(r.losses[19]! < 0.5 * r.losses[0]!, `loss ${r.losses[0]} → ${r.losses[19]}`);
  const { logits } = predict(net, four.images, 4, 16);
  const rep = accuracyReport(Int32Array.from({ length: 4 }, (_, i) => { let b = 0; for (let k = 1; k < 4; k++) if (logits[i * 4 + k]! > logits[i * 4 + b]!) b = k; return b; }), four.labels, 4);
  assert.equal(rep.overall, 1);
});

test('small classifier: a sample\'s features do not depend on its batch (GroupNorm, no batch statistics)', () => {
  const be = E.useBackend('js');
  const net = new SmallClassifier(TINY);
  net.store.materialize(be, 1);
  const ds = sampleShapesBalanced({ classes: 10, size: 16, perClass: 1, seed: 6 });
  const all = predict(net, ds.images, 10, 16, 10).features;
  const one = predict(net, ds.images.subarray(3 * 768, 4 * 768), 1, 16).features;
  for (let d = 0; d < 8; d++) assert.ok(Math.abs(all[3 * 8 + d]! - one[d]!) < 1e-5);
});

test('accuracy, group accuracy, lr schedule and random crop', () => {
  const rep = accuracyReport(Int32Array.from([0, 1, 1, 2, 0, 0]), Int32Array.from([0, 1, 2, 2, 0, 1]), 4);
  assert.deepEqual(rep.perClass.slice(0, 3), [1, 0.5, 0.5]);
  assert.ok(Number.isNaN(rep.perClass[3]!));
  assert.equal(rep.overall, 4 / 6);
  assert.equal(rep.balanced, 2 / 3);
  const g = groupAccuracy([1, 0.5, 0.25, 0], [500, 50, 10, 5]);
  assert.deepEqual(g, { many: 1, medium: 0.5, few: 0.125 });
  const cfg = { ...SMALL_RECIPE, lr: 1, warmupEpochs: 1, decayAt: [0.5], decayFactor: 0.1 };
  assert.equal(classifierLr(cfg, 0, 100, 10), 0.1);
  assert.equal(classifierLr(cfg, 20, 100, 10), 1);
  assert.ok(Math.abs(classifierLr(cfg, 60, 100, 10) - 0.1) < 1e-12);
  const x = Float32Array.from({ length: 3 * 16 }, (_, i) => i);
  randomCropInPlace(x, 1, 4, 1, new Rng(1));
  // Every value is either −1 (padding) or a shifted original pixel of the same channel.
  for (let c = 0; c < 3; c++) for (let p = 0; p < 16; p++) {
    const v = x[c * 16 + p]!;
    assert.ok(v === -1 || (v >= c * 16 && v < (c + 1) * 16));
  }
});

test('SGD momentum and weight decay follow torch.optim.SGD; frozen buffers are not decayed', () => {
  const be = E.useBackend('js');
  const store = new ParamStore();
  store.declare('w', [2], { kind: 'fixed', values: [1, -2] });
  store.declare('running_var', [1], { kind: 'ones' }, false);
  store.materialize(be, 0);
  const decay = new WeightDecay(store, 0.1);
  const sgd = new SgdMomentum(store, 0.9);
  const grads = [[0.5, 0.5], [1, -1]];
  // PyTorch: d = g + wd·p; buf = d (step 1), buf = 0.9·buf + d; p -= lr·buf.
  let p = [1, -2];
  let buf = [0, 0];
  for (const g of grads) {
    store.zeroGrad();
    be.write(store.get('w').value.grad!.storageFor('test'), g);
    decay.apply();
    sgd.update(0.5);
    const d = g.map((gi, i) => gi + 0.1 * p[i]!);
    buf = buf.map((b, i) => 0.9 * b + d[i]!);
    p = p.map((pi, i) => pi - 0.5 * buf[i]!);
  }
  const got = Array.from(store.readArena());
  assert.ok(Math.abs(got[0]! - p[0]!) < 1e-6 && Math.abs(got[1]! - p[1]!) < 1e-6, `${got} vs ${p}`);
  assert.equal(got[2], 1);
  decay.dispose();
  sgd.dispose();
});
