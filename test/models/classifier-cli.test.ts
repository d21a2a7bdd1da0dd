import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.ts';
import { runClassify, type ClassifyReport } from '../../src/cli/classify.ts';
import { readGeneratedSamples, fillSelection } from '../../src/cli/generated-samples.ts';
import { writeNpz } from '../../src/io/npz.ts';
import { fromNumbers } from '../../src/io/ndarray.ts';
import { sampleShapesBalanced } from '../../src/data/shapes.ts';
import { CbdmError } from '../../src/util/errors.ts';

function checkSchema(r: ClassifyReport, arch: string): void {
  assert.equal(r.dataset, 'shapes10-lt');
  assert.equal(r.arch, arch);
  for (const k of ['overall', 'balanced', 'many', 'medium', 'few'] as const) {
    assert.equal(typeof r.accuracy[k], 'number');
    assert.ok(r.accuracy[k] >= 0 && r.accuracy[k] <= 1, `${k} = ${r.accuracy[k]}`);
  }
  assert.equal(r.perClass.length, 10);
  // shapes10-lt (500 → 5): many = 0–3 (> 100), medium = 4–6 (20–100), few = 7–9 (< 20).
  assert.deepEqual(r.groups, { many: [0, 1, 2, 3], medium: [4, 5, 6], few: [7, 8, 9] });
  const mean = (cs: number[]) => cs.reduce((a, c) => a + r.perClass[c]!, 0) / cs.length;
  assert.ok(Math.abs(r.accuracy.few - mean([7, 8, 9])) < 1e-12);
  assert.deepEqual(r.trainCounts, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
}

test('cbdm classify --json (small arch, a few steps) prints the report schema', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => { lines.push(s); };
  try {
    await (await buildProgram()).parseAsync(['classify', '--dataset', 'shapes10-lt', '--size', '16', '--arch', 'small', '--steps', '3', '--batch', '8', '--test-per-class', '4', '--backend', 'js', '--json'], { from: 'user' });
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!) as ClassifyReport;
  checkSchema(r, 'small');
  assert.equal(r.train.steps, 3);
  assert.equal(r.train.real, 1236);
  assert.equal(r.train.generated, 0);
  assert.equal(r.test.images, 40);
  assert.equal(r.backend, 'js');
});

test('classify with generated samples appended (resnet32, one step)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-classify-'));
  try {
    // Tail classes 8 and 9 get 3 samples each, stored as N×S×S×3 floats in [0, 1].
    const g = sampleShapesBalanced({ classes: 10, size: 16, perClass: 3, seed: 99 });
    const idx = [24, 25, 26, 27, 28, 29];
    const x = new Float32Array(6 * 16 * 16 * 3);
    idx.forEach((src, n) => {
      for (let c = 0; c < 3; c++) for (let p = 0; p < 256; p++) x[(n * 256 + p) * 3 + c] = g.images[(src * 3 + c) * 256 + p]! / 255;
    });
    const path = join(dir, 'samples.npz');
    writeNpz(path, { x: fromNumbers('float32', [6, 16, 16, 3], x), y: fromNumbers('int64', [6], [8, 8, 8, 9, 9, 9]) });
    const back = readGeneratedSamples(path, 16, 10);
    assert.deepEqual(Array.from(back.images.subarray(0, 3 * 256)), Array.from(g.images.subarray(24 * 768, 25 * 768)));
    const r = await runClassify({ dataset: 'shapes10-lt', size: 16, arch: 'resnet32', steps: 1, batch: 4, testPerClass: 1, backend: 'js', augmentWith: path, progress: false });
    checkSchema(r, 'resnet32');
    assert.equal(r.train.generated, 6);
    assert.deepEqual(r.generatedCounts, [0, 0, 0, 0, 0, 0, 0, 0, 3, 3]);
    writeNpz(path, { x: fromNumbers('float32', [6, 16, 16, 3], x), y: fromNumbers('int32', [6], [8, 8, 8, 9, 9, 10]) });
    assert.throws(() => readGeneratedSamples(path, 16, 10), /label 10 is not a class index/);
    writeNpz(path, { x: fromNumbers('float32', [6, 3, 8, 8], new Float32Array(6 * 192)), y: fromNumbers('int32', [6], [0, 0, 0, 0, 0, 0]) });
    assert.throws(() => readGeneratedSamples(path, 16, 10), CbdmError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('classify on CIFAR uses the official test split; empty groups are NaN (null in JSON)', async () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const r = await runClassify({ dataset: 'cifar10', root: 'test/fixtures/data/cifar-10-python-tiny.tar.gz', arch: 'small', steps: 1, batch: 4, backend: 'js', progress: false });
    assert.equal(r.test.name, 'cifar10-test');
    assert.equal(r.train.real, 5);
    assert.deepEqual(r.groups.many, []);
    assert.ok(Number.isNaN(r.accuracy.many));
    assert.equal(JSON.parse(JSON.stringify(r)).accuracy.many, null);
    await assert.rejects(runClassify({ dataset: 'folder:/nonexistent', arch: 'small', steps: 1, backend: 'js' }), CbdmError);
  } finally {
    console.warn = warn;
  }
});

test('--fill-to takes, per class, the first generated images that bring it to the target count', async () => {
  // real counts 5, 3, 0; labels interleaved: class 0 needs 1, class 1 needs 3, class 2 needs 6.
  const labels = Int32Array.from([1, 0, 2, 1, 0, 2, 2, 1, 2, 2, 2, 2, 1]);
  assert.deepEqual(fillSelection([5, 3, 0], labels, 6, 'g.npz'), [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(fillSelection([5, 3, 0], labels, 2, 'g.npz'), [2, 5]);  // full classes take none
  assert.throws(() => fillSelection([5, 3, 0], labels, 8, 'g.npz'), /g\.npz: --fill-to 8 needs 3 generated images of class 0, the file has 2/);
  await assert.rejects(runClassify({ dataset: 'shapes10-lt', size: 16, arch: 'small', steps: 1, fillTo: 'head', backend: 'js' }), /--fill-to selects generated images: give them with --augment-with/);
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-classify-fill-'));
  try {
    // shapes10-lt at --max-per-class 10 --imb 0.5: counts 10 9 8 8 7 6 6 5 5 5; 6 generated per class.
    const g = sampleShapesBalanced({ classes: 10, size: 16, perClass: 6, seed: 7 });
    const path = join(dir, 'g.npz');
    writeNpz(path, { x: fromNumbers('uint8', [60, 3, 16, 16], g.images), y: fromNumbers('int32', [60], g.labels) });
    const r = await runClassify({ dataset: 'shapes10-lt', size: 16, imb: 0.5, maxPerClass: 10, arch: 'small', steps: 1, batch: 4, testPerClass: 1, backend: 'js', augmentWith: path, fillTo: 'head', progress: false });
    assert.equal(r.trainCounts[0], 10);
    assert.deepEqual(r.trainCounts.map((n, c) => n + r.generatedCounts[c]!), new Array(10).fill(10));
    assert.equal(r.train.generated, 100 - r.train.real);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
