import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadCifar, CIFAR10_CLASSES } from '../../src/data/cifar.ts';
import { writeTar } from '../../src/data/tar.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { binaryFiles, binaryBatch, writeFiles, pixel, labelOf, pythonFiles, py2Pickle } from './cifar_helpers.ts';

const quiet = { onWarning: () => {} };

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-cifar-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function checkImages(ds: ReturnType<typeof loadCifar>, first: number, numClasses: number): void {
  for (let i = 0; i < ds.labels.length; i++) {
    const g = first + i;
    assert.equal(ds.labels[i], labelOf(g, numClasses));
    for (const [c, p] of [[0, 0], [1, 517], [2, 1023]] as const) assert.equal(ds.images[i * 3072 + c * 1024 + p], pixel(g, c, p));
  }
}

test('CIFAR-10 binary: folder, extracted sub-folder, .tar.gz and a folder holding the archive', () => {
  withTmp((dir) => {
    const files = binaryFiles('cifar10');
    writeFiles(join(dir, 'flat'), files);
    writeFiles(join(dir, 'parent', 'cifar-10-batches-bin'), files);
    const tgz = gzipSync(writeTar(files.map((f) => ({ name: `cifar-10-batches-bin/${f.name}`, data: f.data }))));
    writeFileSync(join(dir, 'c10.tar.gz'), tgz);
    writeFiles(join(dir, 'dl'), [{ name: 'cifar-10-binary.tar.gz', data: tgz }]);
    for (const root of ['flat', 'parent', 'c10.tar.gz', 'dl']) {
      const tr = loadCifar({ root: join(dir, root), variant: 'cifar10', ...quiet });
      assert.equal(tr.labels.length, 20, root);
      assert.equal(tr.size, 32);
      assert.deepEqual(tr.classNames, CIFAR10_CLASSES);
      checkImages(tr, 0, 10);
      assert.equal(tr.counts.reduce((a, b) => a + b, 0), 20);
      assert.equal(tr.sourceIndex![7], 7);
      const te = loadCifar({ root: join(dir, root), variant: 'cifar10', split: 'test', ...quiet });
      assert.equal(te.labels.length, 4);
      checkImages(te, 1000, 10);
    }
    const warnings: string[] = [];
    loadCifar({ root: join(dir, 'flat'), variant: 'cifar10', onWarning: (m) => warnings.push(m) });
    assert.equal(warnings.length, 5);
    assert.match(warnings[0]!, /data_batch_1\.bin holds 4 images; the official file holds 10000/);
  });
});

test('CIFAR-100 binary uses the fine label', () => {
  withTmp((dir) => {
    writeFiles(dir, binaryFiles('cifar100'));
    const ds = loadCifar({ root: dir, variant: 'cifar100', ...quiet });
    assert.equal(ds.numClasses, 100);
    assert.equal(ds.classNames.length, 100);
    checkImages(ds, 0, 100);
  });
});

test('missing, truncated and wrong CIFAR files fail with actionable errors', () => {
  withTmp((dir) => {
    const is = (re: RegExp[]) => (e: unknown) => {
      assert.ok(e instanceof CbdmError, String(e));
      for (const r of re) assert.match(e.message, r);
      return true;
    };
    const url = /https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html/;
    assert.throws(() => loadCifar({ root: join(dir, 'nope'), variant: 'cifar10' }), is([/does not exist/, /data_batch_1\.bin/, /cifar-10-binary\.tar\.gz/, url]));
    assert.throws(() => loadCifar({ root: dir, variant: 'cifar100' }), is([/no CIFAR files/, /train\.bin/, /cifar-100-python\/\{train\}/, url]));

    writeFiles(join(dir, 'c100'), binaryFiles('cifar100'));
    assert.throws(() => loadCifar({ root: join(dir, 'c100'), variant: 'cifar10' }), is([/holds cifar100 files, not cifar10/]));
    writeFiles(join(dir, 'trunc'), binaryFiles('cifar10'));
    writeFileSync(join(dir, 'trunc', 'data_batch_2.bin'), binaryBatch('cifar10', 0, 4).subarray(0, 5000));
    assert.throws(() => loadCifar({ root: join(dir, 'trunc'), variant: 'cifar10', ...quiet }), is([/data_batch_2\.bin is truncated/, /5000 bytes/, /30730000 bytes/, url]));

    writeFiles(join(dir, 'gap'), binaryFiles('cifar10'));
    unlinkSync(join(dir, 'gap', 'data_batch_3.bin'));
    assert.throws(() => loadCifar({ root: join(dir, 'gap'), variant: 'cifar10', ...quiet }), is([/data_batch_3\.bin is missing/, url]));

    writeFiles(join(dir, 'wrong'), binaryFiles('cifar10'));
    // A CIFAR-100 record stream (3074 bytes) read as CIFAR-10: 2 records of 3074 = 6148 bytes ≠ k·3073.
    writeFileSync(join(dir, 'wrong', 'data_batch_1.bin'), binaryBatch('cifar100', 0, 2));
    assert.throws(() => loadCifar({ root: join(dir, 'wrong'), variant: 'cifar10', ...quiet }), is([/data_batch_1\.bin/, /3073-byte records/]));
    const labels = binaryBatch('cifar10', 0, 4);
    labels[0] = 57;
    writeFileSync(join(dir, 'wrong', 'data_batch_1.bin'), labels);
    assert.throws(() => loadCifar({ root: join(dir, 'wrong'), variant: 'cifar10', ...quiet }), is([/label 57/, /CIFAR-100 file\?/]));

    const tgz = gzipSync(writeTar(binaryFiles('cifar10').map((f) => ({ name: `cifar-10-batches-bin/${f.name}`, data: f.data }))));
    writeFileSync(join(dir, 'cut.tar.gz'), tgz.subarray(0, tgz.length >> 1));
    assert.throws(() => loadCifar({ root: join(dir, 'cut.tar.gz'), variant: 'cifar10', ...quiet }), is([/cut\.tar\.gz/, /download it again/]));
    writeFileSync(join(dir, 'other.tar.gz'), gzipSync(writeTar([{ name: 'readme.txt', data: Buffer.from('x') }])));
    assert.throws(() => loadCifar({ root: join(dir, 'other.tar.gz'), variant: 'cifar10', ...quiet }), is([/none of the cifar10 train files/, /readme\.txt/]));
  });
});

test('CIFAR python version: Python-2-style pickles in a folder, a .tar.gz, and format selection', () => {
  withTmp((dir) => {
    const files = pythonFiles('cifar10');
    writeFiles(join(dir, 'cifar-10-batches-py'), files);
    const tr = loadCifar({ root: dir, variant: 'cifar10', ...quiet });
    assert.equal(tr.labels.length, 20);
    assert.deepEqual(tr.classNames, CIFAR10_CLASSES);
    checkImages(tr, 0, 10);
    checkImages(loadCifar({ root: dir, variant: 'cifar10', split: 'test', ...quiet }), 1000, 10);
    writeFiles(join(dir, 'cifar-10-batches-bin'), binaryFiles('cifar10'));
    assert.deepEqual(loadCifar({ root: dir, variant: 'cifar10', format: 'python', ...quiet }).images, tr.images);
    assert.deepEqual(loadCifar({ root: dir, variant: 'cifar10', format: 'binary', ...quiet }).images, tr.images);
    const tgz = gzipSync(writeTar(pythonFiles('cifar100').map((f) => ({ name: `cifar-100-python/${f.name}`, data: f.data }))));
    writeFileSync(join(dir, 'cifar-100-python.tar.gz'), tgz);
    const c100 = loadCifar({ root: join(dir, 'cifar-100-python.tar.gz'), variant: 'cifar100', ...quiet });
    checkImages(c100, 0, 100);
    assert.equal(c100.classNames[42], 'fine42');
    assert.throws(() => loadCifar({ root: join(dir, 'cifar-100-python.tar.gz'), variant: 'cifar100', format: 'binary' }), /holds the python version, not the binary version/);
  });
});

test('CIFAR python version pickled by CPython 3 (protocols 2 and 4, committed fixtures)', () => {
  const fx = (n: string) => fileURLToPath(new URL(`../fixtures/data/${n}`, import.meta.url));
  const c10 = loadCifar({ root: fx('cifar-10-python-tiny.tar.gz'), variant: 'cifar10', ...quiet });
  assert.equal(c10.labels.length, 5);
  assert.deepEqual(c10.classNames, CIFAR10_CLASSES);
  checkImages(c10, 0, 10);
  checkImages(loadCifar({ root: fx('cifar-10-python-tiny.tar.gz'), variant: 'cifar10', split: 'test', ...quiet }), 1000, 10);
  const c100 = loadCifar({ root: fx('cifar-100-python-tiny.tar.gz'), variant: 'cifar100', ...quiet });
  assert.equal(c100.labels.length, 3);
  assert.equal(c100.classNames[99], 'fine99');
  checkImages(c100, 0, 100);
});

test('damaged CIFAR python files fail naming the file', () => {
  withTmp((dir) => {
    const files = pythonFiles('cifar10');
    writeFiles(dir, files);
    writeFileSync(join(dir, 'data_batch_4'), files[3]!.data.subarray(0, 3000));
    assert.throws(() => loadCifar({ root: dir, variant: 'cifar10', ...quiet }), (e: unknown) => e instanceof CbdmError && /data_batch_4: cannot read it as a pickled CIFAR batch/.test(e.message) && /cifar\.html/.test(e.message));
    writeFileSync(join(dir, 'data_batch_4'), py2Pickle({ dict: [['labels', [1, 2]]] }));
    assert.throws(() => loadCifar({ root: dir, variant: 'cifar10', ...quiet }), /data_batch_4: a cifar10 python batch needs keys "data" and "labels", found: labels/);
    writeFileSync(join(dir, 'data_batch_4'), py2Pickle({ dict: [['data', { u8: new Uint8Array(2 * 3072), shape: [2, 3072] }], ['labels', [1, 12]]] }));
    assert.throws(() => loadCifar({ root: dir, variant: 'cifar10', ...quiet }), /labels\[1\] = 12 is not a class of cifar10/);
  });
});
