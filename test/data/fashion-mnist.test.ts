import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { decodeIdx, encodeIdx, readIdxFile } from '../../src/io/idx.ts';
import { loadDataset, parseDatasetName } from '../../src/data/registry.ts';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_ROOT, fashionMnistFiles, loadFashionMnist } from '../../src/data/fashion-mnist.ts';
import { bilinearCoefficients, padImage, resizeBilinear } from '../../src/data/resize.ts';
import { runExport, runInspect, type InspectReport } from '../../src/cli/data.ts';
import { BatchLoader } from '../../src/data/loader.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { writeFashionFixture as writeFixture } from './fashion-helpers.ts';

const withDir = (fn: (dir: string) => void | Promise<void>) => async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-fmnist-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const cbdmError = (re: RegExp) => (e: unknown) => e instanceof CbdmError && re.test(e.message);

test('IDX round trip and header checks name the file', () => {
  const data = Uint8Array.from({ length: 24 }, (_, i) => i);
  const buf = encodeIdx([2, 3, 4], data);
  assert.deepEqual([...buf.subarray(0, 4)], [0, 0, 8, 3]);
  const a = decodeIdx(buf, 'x.idx', 3);
  assert.deepEqual(a.shape, [2, 3, 4]);
  assert.deepEqual([...a.data], [...data]);
  assert.throws(() => decodeIdx(Uint8Array.from([0x1f, 0x8b, 8, 0]), 'bad.idx'), cbdmError(/bad\.idx is not an IDX file: wrong magic number \(first bytes 1f 8b 08 00/));
  assert.throws(() => decodeIdx(buf.subarray(0, buf.length - 1), 'short.idx'), cbdmError(/short\.idx is truncated: its header announces \[2 × 3 × 4\] = 24 bytes of data, the file holds 23/));
  assert.throws(() => decodeIdx(buf.subarray(0, 9), 'hdr.idx'), cbdmError(/hdr\.idx is truncated: 9 bytes, the IDX header alone needs 16/));
  assert.throws(() => decodeIdx(buf, 'lbl.idx', 1), cbdmError(/lbl\.idx: IDX file has 3 dimension\(s\), expected 1 .*swapped/));
  const f32 = buf.slice();
  f32[2] = 0x0d;
  assert.throws(() => decodeIdx(f32, 'f.idx'), cbdmError(/f\.idx: IDX element type 0xd \(float\) is not supported/));
});

test('readIdxFile reads plain and gzip files and reports a truncated gzip', withDir((dir) => {
  const raw = encodeIdx([3], Uint8Array.from([1, 2, 3]));
  writeFileSync(join(dir, 'a.idx'), raw);
  writeFileSync(join(dir, 'a.idx.gz'), gzipSync(raw));
  assert.deepEqual([...readIdxFile(join(dir, 'a.idx'), 1).data], [1, 2, 3]);
  assert.deepEqual([...readIdxFile(join(dir, 'a.idx.gz'), 1).data], [1, 2, 3]);
  const gz = gzipSync(encodeIdx([1000], new Uint8Array(1000).fill(7)));
  writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 12));
  assert.throws(() => readIdxFile(join(dir, 'cut.gz'), 1), cbdmError(/cut\.gz is a truncated or corrupt gzip file/));
}));

test('resize: padding keeps every pixel, bilinear weights sum to 1 and preserve constants', () => {
  const img = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 251 + 1);
  const padded = padImage(img, 1, 28, 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
      assert.equal(padded[y * 32 + x], inside ? img[(y - 2) * 28 + (x - 2)] : 0);
    }
  }
  const c = bilinearCoefficients(28, 16);
  for (let o = 0; o < 16; o++) {
    let s = 0;
    for (let t = 0; t < c.count[o]!; t++) s += c.weights[o * c.maxTaps + t]!;
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  assert.ok(resizeBilinear(new Uint8Array(2 * 784).fill(200), 2, 28, 16).every((v) => v === 200));
  // a left-half-white image stays left-bright, right-dark, mirror-symmetric about the centre
  const half = Uint8Array.from({ length: 784 }, (_, p) => (p % 28 < 14 ? 255 : 0));
  const r = resizeBilinear(half, 1, 28, 16);
  assert.equal(r[0], 255);
  assert.equal(r[15], 0);
  for (let x = 0; x < 16; x++) assert.equal(r[x]! + r[15 - x]!, 255);
});

test('fashion-mnist loads a fixture: one channel, padded to 32 or resized to 16, labels and counts kept', withDir(async (dir) => {
  const { images, labels } = writeFixture(dir, 'train', 6);
  writeFixture(dir, 'test', 2, { gzip: false }); // .gz names holding raw IDX are read too
  const ds = await loadDataset({ name: 'fashion-mnist', root: dir });
  assert.equal(ds.channels, 1);
  assert.equal(ds.size, 32);
  assert.equal(ds.images.length, 60 * 32 * 32);
  assert.deepEqual([...ds.labels], [...labels]);
  assert.deepEqual(ds.counts, new Array(10).fill(6));
  assert.deepEqual(ds.classNames, FASHION_MNIST_CLASSES);
  assert.equal(ds.images[5 * 1024 + 2 * 32 + 2], images[5 * 784]);
  assert.equal(ds.images[5 * 1024], 0);
  const small = await loadDataset({ name: 'fashion-mnist', root: dir, size: 16 });
  assert.equal(small.images.length, 60 * 256);
  const test = await loadDataset({ name: 'fashion-mnist', root: dir, split: 'test' });
  assert.equal(test.name, 'fashion-mnist-test');
  assert.equal(test.labels.length, 20);
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir, size: 28 }), cbdmError(/32 px .* or 16 px/));
  // the loader serves 1×S×S batches in [−1, 1]
  const b = new BatchLoader(small, { batchSize: 4, seed: 0 }).next();
  assert.equal(b.x.length, 4 * 256);
  assert.ok(b.x.every((v) => v >= -1 && v <= 1));
}));

test('fashion-mnist-lt: exp profile from --max-per-class, seeded selection, train split only', withDir(async (dir) => {
  writeFixture(dir, 'train', 40);
  assert.deepEqual(parseDatasetName('fashion-mnist-lt'), { kind: 'fashion-mnist', longTail: true });
  const lt = await loadDataset({ name: 'fashion-mnist-lt', root: dir, nMax: 30, imb: 0.1 });
  const want = Array.from({ length: 10 }, (_, i) => Math.floor(30 * 0.1 ** (i / 9)));
  assert.deepEqual(lt.counts, want);
  assert.equal(lt.channels, 1);
  assert.equal(lt.name, 'fashion-mnist-lt');
  const again = await loadDataset({ name: 'fashion-mnist-lt', root: dir, nMax: 30, imb: 0.1 });
  assert.deepEqual([...again.sourceIndex!], [...lt.sourceIndex!]);
  const other = await loadDataset({ name: 'fashion-mnist-lt', root: dir, nMax: 30, imb: 0.1, seed: 1 });
  assert.notDeepEqual([...other.sourceIndex!], [...lt.sourceIndex!]);
  // every kept image is the source image at its recorded index, with its label
  const full = await loadDataset({ name: 'fashion-mnist', root: dir });
  for (let k = 0; k < lt.labels.length; k++) {
    const i = lt.sourceIndex![k]!;
    assert.equal(lt.labels[k], full.labels[i]);
    assert.deepEqual(lt.images.subarray(k * 1024, (k + 1) * 1024), full.images.subarray(i * 1024, (i + 1) * 1024));
  }
  await assert.rejects(loadDataset({ name: 'fashion-mnist-lt', root: dir, split: 'test' }), cbdmError(/subset of the train split/));
  await assert.rejects(loadDataset({ name: 'fashion-mnist-lt', root: dir, nMax: 0 }), cbdmError(/--max-per-class must be an integer in 1\.\.6000/));
  // default head size is 500 → 5 at imb 0.01 (the fixture has 40 per class, so all are kept up to 40)
  const def = await loadDataset({ name: 'fashion-mnist-lt', root: dir });
  assert.deepEqual(def.counts, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5].map((n) => Math.min(n, 40)));
}));

test('fashion-mnist errors: missing folder names the Debian package, missing or mismatched files are named', withDir(async (dir) => {
  const absent = join(dir, 'nope');
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: absent }), cbdmError(new RegExp(`Fashion-MNIST not found at ${absent}: the folder does not exist.*apt-get install dataset-fashion-mnist`)));
  if (!existsSync(FASHION_MNIST_DEFAULT_ROOT)) {
    assert.throws(() => loadFashionMnist(), cbdmError(/sudo apt-get install dataset-fashion-mnist/));
  }
  writeFixture(dir, 'train', 3);
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir, split: 'test' }), cbdmError(/t10k-images-idx3-ubyte\.gz is missing/));
  const f = fashionMnistFiles('train');
  writeFileSync(join(dir, f.labels), gzipSync(encodeIdx([29], new Uint8Array(29))));
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir }), cbdmError(/train-labels-idx1-ubyte\.gz holds 29 labels but .*train-images-idx3-ubyte\.gz holds 30 images/));
  writeFileSync(join(dir, f.labels), gzipSync(encodeIdx([30], new Uint8Array(30).fill(10))));
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir }), cbdmError(/label 10 at index 0/));
  // swapped files: the image reader meets a 1-d file
  writeFileSync(join(dir, f.images), gzipSync(encodeIdx([30], new Uint8Array(30))));
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir }), cbdmError(/train-images-idx3-ubyte\.gz: IDX file has 1 dimension\(s\), expected 3/));
  const good = gzipSync(encodeIdx([30, 28, 28], new Uint8Array(30 * 784)));
  writeFileSync(join(dir, f.images), good.subarray(0, good.length >> 1));
  await assert.rejects(loadDataset({ name: 'fashion-mnist', root: dir }), cbdmError(/train-images-idx3-ubyte\.gz is a truncated or corrupt gzip file/));
}));

test('data inspect and export handle fashion-mnist-lt (greyscale PNGs)', withDir(async (dir) => {
  writeFixture(dir, 'train', 12);
  const r = JSON.parse(await runInspect({ dataset: 'fashion-mnist-lt', root: dir, maxPerClass: 10, imb: 0.1, json: true })) as InspectReport;
  assert.deepEqual(r.counts, Array.from({ length: 10 }, (_, i) => Math.floor(10 * 0.1 ** (i / 9))));
  assert.equal(r.size, 32);
  const out = join(dir, 'export');
  await runExport({ dataset: 'fashion-mnist-lt', root: dir, maxPerClass: 10, imb: 0.1, size: 16, out });
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { images: Array<{ file: string }> };
  assert.equal(index.images.length, r.images);
  const png = PNG.sync.read(readFileSync(join(out, index.images[0]!.file)));
  assert.equal(png.width, 16);
  assert.equal(png.colorType, 0);
}));

test('the installed Debian dataset-fashion-mnist loads: 60k/10k balanced, LT 500 → 5', async (t) => {
  if (!existsSync(join(FASHION_MNIST_DEFAULT_ROOT, fashionMnistFiles('train').images))) {
    t.skip(`${FASHION_MNIST_DEFAULT_ROOT} absent (apt-get install dataset-fashion-mnist to run this)`);
    return;
  }
  const train = loadFashionMnist({ split: 'train', size: 16 });
  assert.equal(train.labels.length, 60000);
  assert.deepEqual(train.counts, new Array(10).fill(6000));
  const test = loadFashionMnist({ split: 'test', size: 16 });
  assert.deepEqual(test.counts, new Array(10).fill(1000));
  const lt = await loadDataset({ name: 'fashion-mnist-lt' });
  assert.deepEqual(lt.counts, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
  // garments are white on black: the 2-pixel padding border and the image corners are background
  let border = 0;
  for (let k = 0; k < lt.labels.length; k++) for (let x = 0; x < 32; x++) border += lt.images[k * 1024 + x]!;
  assert.equal(border, 0);
});
