import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { loadImageFolder } from '../../src/data/folder.ts';
import { exportDataset, type ExportIndex } from '../../src/data/export.ts';
import { CbdmError } from '../../src/util/errors.ts';

/** RGB PNG of w×h where pixel (x, y) = f(x, y). */
function png(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = f(x, y);
    const o = 4 * (y * w + x);
    p.data[o] = r; p.data[o + 1] = g; p.data[o + 2] = b; p.data[o + 3] = 255;
  }
  return PNG.sync.write(p);
}

async function makeTree(root: string): Promise<void> {
  mkdirSync(join(root, 'b_cat', 'nested'), { recursive: true });
  mkdirSync(join(root, 'a_dog'), { recursive: true });
  mkdirSync(join(root, 'c_empty'), { recursive: true });
  writeFileSync(join(root, 'a_dog', '1_red.png'), png(8, 8, () => [200, 10, 10]));
  // 24×6: red | green | blue column bands; cover-resize to 16×4 and crop keeps the centre (green) band.
  writeFileSync(join(root, 'a_dog', '2_bands.png'), png(24, 6, (x) => (x < 6 ? [255, 0, 0] : x < 18 ? [0, 255, 0] : [0, 0, 255])));
  writeFileSync(join(root, 'a_dog', 'notes.txt'), 'not an image');
  const grey = await sharp(Buffer.alloc(6 * 6, 90), { raw: { width: 6, height: 6, channels: 1 } }).png().toBuffer();
  writeFileSync(join(root, 'b_cat', '1_grey.png'), grey);
  const jpg = await sharp(Buffer.alloc(16 * 16 * 3, 128), { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  writeFileSync(join(root, 'b_cat', 'nested', '2_photo.JPG'), jpg);
  writeFileSync(join(root, 'b_cat', '3_corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
  writeFileSync(join(root, 'b_cat', '4_truncated.png'), png(8, 8, () => [1, 2, 3]).subarray(0, 60));
}

test('image folder: sorted classes, cover-resize + centre crop, grey/JPEG, corrupt files reported', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-folder-'));
  try {
    await makeTree(root);
    const warnings: string[] = [];
    const ds = await loadImageFolder(root, { size: 4, onWarning: (m) => warnings.push(m) });
    assert.deepEqual(ds.classNames, ['a_dog', 'b_cat', 'c_empty']);
    assert.deepEqual(ds.counts, [2, 2, 0]);
    assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1]);
    assert.equal(ds.images.length, 4 * 48);
    const px = (i: number, c: number, p: number) => ds.images[i * 48 + c * 16 + p]!;
    for (let p = 0; p < 16; p++) {
      assert.deepEqual([px(0, 0, p), px(0, 1, p), px(0, 2, p)], [200, 10, 10]);
      assert.deepEqual([px(1, 0, p), px(1, 1, p), px(1, 2, p)], [0, 255, 0], 'centre crop keeps the green band');
      assert.deepEqual([px(2, 0, p), px(2, 1, p), px(2, 2, p)], [90, 90, 90]);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(px(3, c, p) - 128) <= 2);
    }
    assert.deepEqual(ds.skipped.map((s) => s.path), [join(root, 'b_cat', '3_corrupt.png'), join(root, 'b_cat', '4_truncated.png')]);
    const all = warnings.join('\n');
    assert.match(all, /c_empty holds no PNG\/JPEG images/);
    assert.match(all, /skipped 2 unreadable image\(s\)/);
    assert.ok(all.includes(join(root, 'b_cat', '3_corrupt.png')) && all.includes('4_truncated.png'));
    await assert.rejects(loadImageFolder(root, { size: 4, strict: true, onWarning: () => {} }), (e: unknown) => e instanceof CbdmError && e.message.includes('3_corrupt.png') && e.message.includes('4_truncated.png'));
    await assert.rejects(loadImageFolder(join(root, 'missing'), { size: 4 }), CbdmError);
    await assert.rejects(loadImageFolder(join(root, 'a_dog'), { size: 4 }), /no class sub-folders/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('export writes class folders of PNGs and index.json; loading them back is lossless', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-export-'));
  try {
    const n = 7;
    const s = 5;
    const images = new Uint8Array(n * 3 * s * s).map((_, k) => (k * 37) % 256);
    const labels = Int32Array.from([0, 2, 2, 0, 2, 0, 0]);
    const ds = { name: 'toy', numClasses: 3, classNames: ['head/x', 'mid', 'tail'], size: s, channels: 3 as const, images, labels, counts: [4, 0, 3], sourceIndex: Int32Array.from([10, 11, 12, 13, 14, 15, 16]) };
    const idx = exportDataset(ds, join(root, 'out'));
    const saved = JSON.parse(readFileSync(join(root, 'out', 'index.json'), 'utf8')) as ExportIndex;
    assert.deepEqual(saved, JSON.parse(JSON.stringify(idx)));
    assert.equal(saved.images.length, 7);
    assert.deepEqual(saved.images[1], { file: '002_tail/00001.png', label: 2, sourceIndex: 11 });
    assert.ok(existsSync(join(root, 'out', '001_mid')));
    const back = await loadImageFolder(join(root, 'out'), { size: s, onWarning: () => {} });
    assert.deepEqual(back.classNames, ['000_head_x', '001_mid', '002_tail']);
    assert.deepEqual(back.counts, [4, 0, 3]);
    // Folder order is class-major; map back through the index to compare pixels.
    const order = saved.images.map((r, i) => ({ r, i })).sort((a, b) => (a.r.file < b.r.file ? -1 : 1));
    order.forEach(({ i }, k) => {
      assert.equal(back.labels[k], labels[i]);
      assert.deepEqual(back.images.subarray(k * 75, (k + 1) * 75), images.subarray(i * 75, (i + 1) * 75));
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
