import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.ts';
import { ResNet32, OptionAShortcut, resnet32ParamCount } from '../../src/models/resnet32.ts';
import { Rng } from '../../src/util/rng.ts';

test('ResNet-32 has the published parameter count (option-A shortcuts: 464,154 for 10 classes)', () => {
  // conv1 432 + bn1 32; layer1 5·(2·2304 + 64); layer2 (4608 + 9216 + 128) + 4·(2·9216 + 128);
  // layer3 (18432 + 36864 + 256) + 4·(2·36864 + 256); linear 64·K + K.
  assert.equal(resnet32ParamCount(10), 464_154);
  assert.equal(resnet32ParamCount(100), 470_004);
  for (const K of [10, 100]) {
    const net = new ResNet32({ numClasses: K, imageSize: 32 });
    assert.equal(net.numTrainable, resnet32ParamCount(K));
    // Running mean and variance of the 31 batch norms are buffers, not parameters.
    const buffers = net.store.params.filter((p) => !p.trainable);
    assert.equal(buffers.length, 2 * 31);
    assert.equal(net.store.numel - net.numTrainable, 2 * (16 + 5 * 2 * 16 + 5 * 2 * 32 + 5 * 2 * 64));
  }
  const names = new ResNet32({ numClasses: 10, imageSize: 32 }).store.params.map((p) => p.name);
  assert.ok(names.includes('layer3.4.bn2.running_var'));
  assert.ok(names.includes('linear.weight'));
  assert.equal(names.filter((n) => n.includes('shortcut')).length, 0);
});

test('option-A shortcut is x[:, :, ::2, ::2] zero-padded by C/4 channels on each side', () => {
  E.useBackend('js');
  const rng = new Rng(2);
  const x = E.randn([2, 4, 6, 6], rng);
  const y = new OptionAShortcut(4, 8).forward(x);
  assert.deepEqual(y.shape, [2, 8, 3, 3]);
  const xv = x.toArray();
  const yv = y.toArray();
  for (let n = 0; n < 2; n++) for (let c = 0; c < 8; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const src = c - 2;
    const want = src >= 0 && src < 4 ? xv[((n * 4 + src) * 6 + 2 * i) * 6 + 2 * j]! : 0;
    assert.equal(yv[((n * 8 + c) * 3 + i) * 3 + j], want);
  }
});

test('ResNet-32 batch norm: training mode uses batch statistics and updates running ones; eval mode does neither', () => {
  const be = E.useBackend('js');
  const net = new ResNet32({ numClasses: 10, imageSize: 8 });
  net.store.materialize(be, 0);
  const rng = new Rng(4);
  const x = E.randn([4, 3, 8, 8], rng);
  const rm = net.store.get('bn1.running_mean');
  const before = Float32Array.from(rm.value.toArray());
  assert.ok(before.every((v) => v === 0));
  // Eval: running statistics untouched, each sample independent of the rest of the batch.
  const ev = E.noGrad(() => net.forward(x, false).logits.toArray());
  assert.ok(rm.value.toArray().every((v) => v === 0));
  const x0 = E.tensor(x.toArray().subarray(0, 3 * 64), [1, 3, 8, 8]);
  const ev0 = E.noGrad(() => net.forward(x0, false).logits.toArray());
  for (let k = 0; k < 10; k++) assert.ok(Math.abs(ev[k]! - ev0[k]!) < 1e-4);
  // Train: different output, running mean moves by momentum 0.1 towards the batch mean.
  const tr = E.noGrad(() => net.forward(x, true).logits.toArray());
  let diff = 0;
  for (let k = 0; k < 40; k++) diff = Math.max(diff, Math.abs(tr[k]! - ev[k]!));
  assert.ok(diff > 1e-3, `train and eval outputs should differ, max diff ${diff}`);
  const after = rm.value.toArray();
  assert.ok(after.some((v) => v !== 0));
  // bn1 sees conv1(x): its running mean is 0.1 × the batch mean of conv1's output.
  const c1 = E.noGrad(() => E.conv2d(x, net.store.get('conv1.weight').value, null, { pad: 1 }).toArray());
  for (let c = 0; c < 16; c += 5) {
    let s = 0;
    for (let n = 0; n < 4; n++) for (let p = 0; p < 64; p++) s += c1[(n * 16 + c) * 64 + p]!;
    assert.ok(Math.abs(after[c]! - 0.1 * s / 256) < 1e-5);
  }
});

test('ResNet-32 forward shapes and a training step reaches every parameter', () => {
  const be = E.useBackend('js');
  const net = new ResNet32({ numClasses: 10, imageSize: 8 });
  net.store.materialize(be, 0);
  const x = E.randn([2, 3, 8, 8], new Rng(7));
  net.store.zeroGrad();
  E.tidy(() => {
    const out = net.forward(x, true);
    assert.deepEqual(out.features.shape, [2, 64]);
    assert.deepEqual(out.logits.shape, [2, 10]);
    E.backward(E.sum(out.logits));
  });
  for (const p of net.store.params) {
    const g = p.value.grad;
    if (!p.trainable) { assert.equal(g, null); continue; }
    assert.ok(g!.toArray().some((v) => v !== 0), `no gradient reached ${p.name}`);
  }
});
