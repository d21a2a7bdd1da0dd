import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/trainer.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { loadRunModel, loadWeightsFile } from '../../src/models/load.ts';
import { currentBackend } from '../../src/engine/context.ts';
import { useBackend } from '../../src/engine/backends.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { sampleToShards, shardPath } from '../../src/diffusion/shards.ts';
import { makeSchedule, linearBetas } from '../../src/diffusion/schedule.ts';
import { evaluateRunAgainst, referenceFor } from '../../src/demo/evaluate.ts';
import { SmallClassifier } from '../../src/models/classifier.ts';
import { classifierExtractor } from '../../src/metrics/domain.ts';
import { fashionExtractor, fashionEvaluatorPath } from '../../src/metrics/fashion-classifier.ts';
import { evaluateClassifier } from '../../src/train/classifier-eval.ts';
import { loadFashionMnist, FASHION_MNIST_DEFAULT_ROOT, fashionMnistFiles } from '../../src/data/fashion-mnist.ts';
import { readSamples, extractFeatures, greyToRgb } from '../../src/metrics/features.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { writeFashionFixture } from '../data/fashion-helpers.ts';

test('greyscale end to end on a fixture: train (1-channel UNet), reload, sample, evaluate per class', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-fm-root-'));
  const out = mkdtempSync(join(tmpdir(), 'cbdm-fm-run-'));
  try {
    writeFashionFixture(root, 'train', 12);
    writeFashionFixture(root, 'test', 3, { offset: 128 });
    const cfg = resolveTrainConfig({
      method: 'cbdm', preset: 'tiny', dataset: 'fashion-mnist-lt', root, maxPerClass: 12, imb: 0.25, imageSize: 16, steps: 2, batch: 4,
      lr: 1e-3, warmup: 1, logEvery: 1, ckptEvery: 2, model: { ch: 32, chMult: [1], attn: [0], numResBlocks: 1 },
    });
    const r = await train(cfg, { out, progress: false });
    assert.equal(r.modelConfig.channels, 1);
    assert.equal(r.dataset.channels, 1);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model: { channels: number }; train: { maxPerClass: number } };
    assert.equal(saved.model.channels, 1);
    assert.equal(saved.train.maxPerClass, 12);
    assert.equal((JSON.parse(readFileSync(join(out, 'data.json'), 'utf8')) as { channels: number }).channels, 1);
    // both loaders give a 1-channel model: the run directory, and the weights file (channels read off head.weight)
    const m = loadRunModel(out, currentBackend());
    assert.equal(m.net.config.channels, 1);
    const w = loadWeightsFile(join(out, 'ema.safetensors'), currentBackend(), { imageSize: 16 });
    assert.equal(w.net.config.channels, 1);
    assert.equal(w.net.store.get('head.weight').shape[1], 1);
    assert.equal(w.net.store.get('tail.2.weight').shape[0], 1);
    const sched = makeSchedule(linearBetas(1000, 1e-4, 0.02));
    const g = await generate(m.net, sched, { n: 3, labels: { kind: 'balanced' }, sampler: 'ddim', steps: 2, eta: 0, omega: 1, variance: 'fixedlarge', clip: 'clamp', batch: 3, seed: 0 });
    assert.equal(g.x.length, 3 * 16 * 16);
    // sharded sampling writes N×1×S×S shards that read back as greyscale
    const shards = join(out, 'shards');
    await sampleToShards(shards, m.net, sched, { n: 3, shardSize: 2, model: out, labels: { kind: 'balanced' }, sampler: 'ddim', steps: 2, eta: 0, omega: 1, variance: 'fixedlarge', clip: 'clamp', batch: 3, seed: 0 });
    const shard0 = readSamples(shardPath(shards, 0), 10);
    assert.equal(shard0.channels, 1);
    assert.equal(shard0.n, 2);

    // the per-class evaluation against the fixture's test split, with an (untrained) 1-channel classifier
    // the dataset's reference is its test split (resampled like the training data) and its classifier the shipped evaluator
    const shipped = await referenceFor(r.dataset, 2, { root });
    assert.equal(shipped.ref.labels.length, 30);
    assert.equal(shipped.ref.images.length, 30 * 256);
    assert.equal(shipped.ex.name, 'fashion-mnist-16-classifier');
    const test = loadFashionMnist({ root, split: 'test', size: 16 });
    const net = new SmallClassifier({ numClasses: 10, imageSize: 16, channels: 1, widths: [8, 8, 8], groups: 4 });
    net.store.materialize(currentBackend(), 0);
    const ex = classifierExtractor(net, 'test-grey-classifier', 'trained', NaN);
    const ev = await evaluateRunAgainst(out, m.net, r.dataset, sched, { perClass: 4, samplerSteps: 2, omega: 1.6, seed: 1, batch: 20, clipX0: 'clip' },
      { ref: { images: test.images, labels: test.labels, description: 'fixture test split' }, ex, shape: null });
    assert.equal(ev.perClass.length, 10);
    assert.equal(ev.reference, 'fixture test split');
    for (const row of ev.perClass) {
      assert.ok(row.nn_ratio !== null && Number.isFinite(row.nn_ratio as number) && (row.nn_ratio as number) > 0);
      assert.ok((row.accuracy as number) >= 0 && (row.accuracy as number) <= 1);
      assert.ok(!('shape_accuracy' in row), 'shape accuracy is a shapes-only check');
    }
    const s = readSamples(join(out, 'samples.npz'), 10);
    assert.equal(s.channels, 1);
    assert.equal(s.n, 40);
    assert.ok(existsSync(join(out, 'samples', 'class_009.png')));
    assert.ok(existsSync(join(out, 'nn', 'class_009.png')));
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

test('greyscale features: an RGB extractor gets the grey plane repeated; a grey one refuses RGB', () => {
  useBackend();
  const grey = Uint8Array.from({ length: 2 * 4 }, (_, i) => i * 10);
  const rgb = greyToRgb(grey, 2, 2);
  assert.deepEqual([...rgb.subarray(0, 12)], [0, 10, 20, 30, 0, 10, 20, 30, 0, 10, 20, 30]);
  const seen: number[] = [];
  const fake = { name: 'rgb', dim: 1, extract: (im: Uint8Array | Float32Array, n: number) => { seen.push(im.length / n); return { features: new Float32Array(n) }; } };
  extractFeatures(fake, grey, 2, 2, { channels: 1, progress: false });
  assert.deepEqual(seen, [12]);
  const net = new SmallClassifier({ numClasses: 10, imageSize: 16, channels: 1, widths: [8, 8, 8], groups: 4 });
  net.store.materialize(currentBackend(), 0);
  const ex = classifierExtractor(net, 'grey', 'trained', NaN);
  assert.throws(() => extractFeatures(ex, new Uint8Array(3 * 256), 1, 16, { channels: 3, progress: false }), (e: unknown) => e instanceof CbdmError && /take 1-channel images, these have 3/.test(e.message));
  assert.throws(() => fashionExtractor(16, '/nonexistent/evaluator.safetensors'), (e: unknown) => e instanceof CbdmError && /scripts\/train-fashion-evaluator\.ts --size 16/.test(e.message));
});

for (const size of [16, 32] as const) {
  test(`the shipped ${size}px Fashion-MNIST evaluator reaches its recorded test accuracy on the installed test split`, (t) => {
    if (!existsSync(join(FASHION_MNIST_DEFAULT_ROOT, fashionMnistFiles('test').images))) {
      t.skip(`${FASHION_MNIST_DEFAULT_ROOT} absent (apt-get install dataset-fashion-mnist to run this)`);
      return;
    }
    if (!existsSync(fashionEvaluatorPath(size))) {
      t.skip(`no ${size}px evaluator shipped`);
      return;
    }
    useBackend();
    const ex = fashionExtractor(size);
    // the first 2,000 test images (1/5 of the time of all 10,000): within 4 binomial standard
    // deviations (±2.5 %) of the accuracy recorded over the whole split, and the features are 128-d
    const test = loadFashionMnist({ split: 'test', size });
    const n = 2000;
    const first = { ...test, images: test.images.subarray(0, n * size * size), labels: test.labels.subarray(0, n) };
    const rep = evaluateClassifier(ex.net, first);
    assert.ok(ex.heldOutAccuracy > 0.9, `recorded accuracy ${ex.heldOutAccuracy}`);
    assert.ok(Math.abs(rep.overall - ex.heldOutAccuracy) < 0.025, `accuracy ${rep.overall} on ${n} images vs recorded ${ex.heldOutAccuracy}`);
    assert.equal(ex.dim, 128);
  });
}
