import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadDataset, parseDatasetName } from '../../src/data/registry.ts';
import { makeLongTail, selectLongTail } from '../../src/data/subset.ts';
import { loadCifar } from '../../src/data/cifar.ts';
import { runInspect, runExport, textBar, type InspectReport } from '../../src/cli/data.ts';
import type { ImageDataset } from '../../src/data/dataset.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { binaryFiles, writeFiles } from './cifar_helpers.ts';
import { CBDM } from '../cli/source-cli.ts';

const quiet = () => {};

test('parseDatasetName knows every name and lists them on a typo', () => {
  assert.deepEqual(parseDatasetName('cifar100-lt'), { kind: 'cifar', variant: 'cifar100', longTail: true });
  assert.deepEqual(parseDatasetName('shapes10-lt'), { kind: 'shapes', classes: 10 });
  assert.deepEqual(parseDatasetName('folder:/a/b'), { kind: 'folder', path: '/a/b' });
  assert.throws(() => parseDatasetName('cifar-100'), (e: unknown) => e instanceof CbdmError && /shapes10-lt, shapes100-lt, cifar10, cifar10-lt, cifar100, cifar100-lt, fashion-mnist, fashion-mnist-lt, folder:PATH/.test(e.message));
  assert.throws(() => parseDatasetName('folder:'), CbdmError);
});

test('full-size label sets give the published CIFAR-LT sizes (10,847 and 12,406)', () => {
  for (const [C, want] of [[100, 10847], [10, 12406]] as const) {
    const n = 50000;
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7919) % C);
    const ds: ImageDataset = { name: `c${C}`, numClasses: C, classNames: Array.from({ length: C }, String), size: 1, channels: 3, images: new Uint8Array(3 * n), labels, counts: new Array(C).fill(n / C) };
    for (const numpyCompat of [false, true]) {
      const lt = makeLongTail(ds, { imb: 0.01, numpyCompat });
      assert.equal(lt.labels.length, want);
      assert.equal(lt.counts[0], n / C);
      assert.equal(lt.counts[C - 1], n / C / 100);
    }
  }
});

test('loadDataset builds CIFAR-LT (own RNG and numpy-compat), checks its arguments', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-reg-'));
  try {
    writeFiles(root, binaryFiles('cifar10', 10));
    const full = loadCifar({ root, variant: 'cifar10', onWarning: quiet });
    const lt = await loadDataset({ name: 'cifar10-lt', root, imb: 0.2, onWarning: quiet });
    assert.equal(lt.name, 'cifar10-lt');
    assert.deepEqual(lt.counts, [5, 4, 3, 2, 2, 2, 1, 1, 1, 1]);
    const np = await loadDataset({ name: 'cifar10-lt', root, imb: 0.2, numpyCompat: true, onWarning: quiet });
    assert.deepEqual(np.sourceIndex, selectLongTail(full.labels, 10, lt.counts, true, 0));
    const test = await loadDataset({ name: 'cifar10', root, split: 'test', onWarning: quiet });
    assert.equal(test.labels.length, 10);
    await assert.rejects(loadDataset({ name: 'cifar10-lt', root, split: 'test' }), /subset of the train split/);
    await assert.rejects(loadDataset({ name: 'cifar10' }), /needs --root/);
    await assert.rejects(loadDataset({ name: 'cifar10', root, size: 64 }), /32×32/);
    await assert.rejects(loadDataset({ name: 'shapes10-lt', size: 24 }), /16 or 32/);
    await assert.rejects(loadDataset({ name: 'cifar10-lt', root, imb: 2 }), /--imb must be in \(0, 1\]/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('data inspect (text and JSON) and data export on CIFAR-10-LT', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-cli-'));
  try {
    writeFiles(join(root, 'c10'), binaryFiles('cifar10', 10));
    const base = { dataset: 'cifar10-lt', root: join(root, 'c10'), imb: 0.2, seed: 0 };
    const r = JSON.parse(await runInspect({ ...base, json: true })) as InspectReport;
    assert.equal(r.images, 22);
    assert.equal(r.imbalanceRatio, 5);
    assert.deepEqual(r.groups.few.classes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(r.groups.few.images + r.groups.medium.images + r.groups.many.images, 22);
    const text = await runInspect(base);
    assert.match(text, /^cifar10-lt: 22 images, 10 classes, 32×32, imbalance 5\.00:1/);
    assert.match(text, /\n0 airplane +5 █{40}\n/);
    assert.match(text, /\n9 truck +1 █{8}\n/);
    assert.match(text, /few +< 20 +10 +22/);
    const msg = await runExport({ ...base, out: join(root, 'out') });
    assert.match(msg, /wrote 22 PNGs in 10 class folders/);
    const index = JSON.parse(readFileSync(join(root, 'out', 'index.json'), 'utf8'));
    assert.equal(index.images.length, 22);
    const lt = await loadDataset({ name: 'cifar10-lt', root: join(root, 'c10'), imb: 0.2, onWarning: quiet });
    assert.deepEqual(index.images.map((x: { sourceIndex: number }) => x.sourceIndex), Array.from(lt.sourceIndex!));
    assert.deepEqual(readdirSync(join(root, 'out', '000_airplane')).length, 5);
    assert.equal(textBar(0, 10), '');
    assert.equal(textBar(1, 16, 2), '▏');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cbdm data inspect runs from the binary; bad names exit 2 with the list', () => {
  const ok = spawnSync(process.execPath, [...CBDM, 'data', 'inspect', '--dataset', 'shapes10-lt', '--size', '16', '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const r = JSON.parse(ok.stdout) as InspectReport;
  assert.equal(r.images, 1236);
  assert.equal(r.counts[0], 500);
  const bad = spawnSync(process.execPath, [...CBDM, 'data', 'inspect', '--dataset', 'cifar1000'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown dataset "cifar1000"; valid names: .*folder:PATH/);
});
