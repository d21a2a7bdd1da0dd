import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { NO_LABEL, UNet, sinusoidalTable, validateUNetConfig } from '../../src/models/unet.ts';
import { guidedUnetEpsModel, unetEpsModel } from '../../src/diffusion/generate.ts';
import { classifierFreeGuidance } from '../../src/diffusion/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { loadStateDictFile } from '../../src/io/torch.ts';
import { readNpz } from '../../src/io/npz.ts';
import { toFloat32 } from '../../src/io/ndarray.ts';
import { assertClose, fastBackends } from '../engine/harness.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'unet');

test('paper preset has exactly the published parameter count and state-dict entries', () => {
  const n100 = new UNet(presetConfig('cifar', 100));
  assert.equal(n100.store.numel, 35_925_507);
  assert.equal(n100.store.params.length, 330);
  assert.equal(new UNet(presetConfig('cifar', 10)).store.numel, 35_879_427);
  for (const k of ['time_embedding.timembedding.0.weight', 'label_embedding.weight', 'head.weight', 'tail.2.bias',
    'downblocks.0.block1.0.weight', 'downblocks.2.main.weight', 'downblocks.3.attn.proj_q.weight', 'upblocks.0.shortcut.weight', 'middleblocks.0.attn.proj.bias']) {
    assert.ok(n100.store.has(k), `missing ${k}`);
  }
  assert.ok(Math.abs(n100.macsPerImage() / 1e9 - 6.2) < 0.2);
});

test('bad model configs are clear errors', () => {
  assert.throws(() => validateUNetConfig({ ...presetConfig('tiny', 10), ch: 48 }), /multiple of 32/);
  assert.throws(() => validateUNetConfig({ ...presetConfig('tiny', 10), imageSize: 18 }), /not divisible/);
  assert.throws(() => validateUNetConfig({ ...presetConfig('tiny', 10), attn: [5] }), /attention levels/);
  assert.throws(() => validateUNetConfig({ ...presetConfig('tiny', 10), channels: 2 }), /channels must be 1 or 3/);
});

test('a greyscale UNet: head takes and tail gives one channel; configs without channels are RGB', () => {
  const grey = new UNet(presetConfig('tiny', 10, 16, 1));
  assert.deepEqual(grey.store.get('head.weight').shape, [32, 1, 3, 3]);
  assert.deepEqual(grey.store.get('tail.2.weight').shape, [1, 32, 3, 3]);
  assert.equal(new UNet(presetConfig('tiny', 10)).store.numel - grey.store.numel, 2 * (2 * 32 * 9) + 2); // head and tail weights, tail bias
  const { channels: _c, ...legacy } = presetConfig('tiny', 10);
  assert.equal(new UNet(legacy).config.channels, 3);
});

test('sinusoidal table interleaves sin and cos as the published TimeEmbedding', () => {
  const tab = sinusoidalTable(10, 4);
  assert.equal(tab[4 * 3 + 0], Math.fround(Math.sin(3)));
  assert.equal(tab[4 * 3 + 1], Math.fround(Math.cos(3)));
  assert.equal(tab[4 * 3 + 2], Math.fround(Math.sin(3 * Math.exp(-0.5 * Math.log(10000)))));
});

/** The tiny UNet with the PyTorch fixture's weights on `backend`, and the fixture's inputs and outputs. */
function tinyReference(backend: string): { net: UNet; io: ReturnType<typeof readNpz> } {
  const be = E.useBackend(backend);
  const net = new UNet({ T: 100, ch: 32, chMult: [1, 1], attn: [1], numResBlocks: 1, dropout: 0.1, numClasses: 3, imageSize: 8 });
  net.store.materialize(be, 0);
  const sd = loadStateDictFile(join(FIX, 'tiny_ckpt.pt'), 'ema_model');
  net.store.loadStateDict(new Map([...sd].map(([k, v]) => [k, { shape: v.shape, data: toFloat32(v) }])));
  return { net, io: readNpz(join(FIX, 'tiny_io.npz')) };
}

for (const backend of ['js', ...fastBackends()]) {
  test(`forward matches the PyTorch reference on the same weights (${backend})`, () => {
    const { net, io } = tinyReference(backend);
    const x = E.tensor(toFloat32(io.x!), io.x!.shape);
    const t = Int32Array.from(toFloat32(io.t!));
    const y = Int32Array.from(toFloat32(io.y!));
    E.noGrad(() => E.tidy(() => {
      assertClose(toFloat32(io.eps_y!), net.forward(x, t, y, { training: false }).toArray(), 1e-4, 'ε̂ with labels');
      assertClose(toFloat32(io.eps_n!), net.forward(x, t, null, { training: false }).toArray(), 1e-4, 'ε̂ without labels');
    }));
  });
}

for (const backend of ['js', ...fastBackends()]) {
  test(`guidance batched in one forward (labels, then NO_LABEL) equals two passes (${backend})`, async () => {
    const { net, io } = tinyReference(backend);
    const x = toFloat32(io.x!);
    const t = Int32Array.from(toFloat32(io.t!));
    const y = Int32Array.from(toFloat32(io.y!));
    const two = await classifierFreeGuidance(unetEpsModel(net), 1.6)(x, t, y);
    const one = await guidedUnetEpsModel(net, 1.6)(x, t, y);
    assertClose(two, one, 1e-5, 'ε̃ batched vs two passes');
    // A NO_LABEL row gives exactly the unlabelled pass; a labelled row the labelled one.
    E.noGrad(() => E.tidy(() => {
      const mixed = net.forward(E.tensor(x, io.x!.shape), t, Int32Array.from(y, (v, i) => (i % 2 ? NO_LABEL : v)), { training: false }).toArray();
      const none = net.forward(E.tensor(x, io.x!.shape), t, null, { training: false }).toArray();
      const lab = net.forward(E.tensor(x, io.x!.shape), t, y, { training: false }).toArray();
      const D = mixed.length / t.length;
      for (let i = 0; i < mixed.length; i++) assert.ok(Math.abs(mixed[i]! - (Math.floor(i / D) % 2 ? none[i]! : lab[i]!)) <= 1e-5, `row ${Math.floor(i / D)}`);
    }));
  });
}
