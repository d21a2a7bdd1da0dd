import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { domainExtractor, domainRecipe, domainWeightsName, domainAssetsDir, DOMAIN_TRAIN_SEED, DOMAIN_TEST_SEED, type DomainRecipe } from '../../src/metrics/domain.ts';
import { sampleShapesBalanced } from '../../src/data/shapes.ts';
import { shapeOfClass } from '../../src/data/shapes-families.ts';
import { CbdmError } from '../../src/util/errors.ts';

/** A recipe that trains in well under a second (not for accuracy). */
function tinyRecipe(): DomainRecipe {
  const r = domainRecipe(10, 16);
  return { perClass: 2, net: { ...r.net, widths: [8, 8, 8] }, train: { ...r.train, steps: 2, batchSize: 8 } };
}

test('domain extractor: trains on first use, caches, then loads the cache (same features)', async () => {
  E.useBackend('js');
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-domain-'));
  try {
    const opts = { assetsDir: join(dir, 'none'), cacheDir: join(dir, 'cache'), recipe: tinyRecipe() };
    const a = await domainExtractor(10, 16, opts);
    assert.equal(a.source, 'trained');
    assert.equal(a.dim, 8);
    assert.equal(a.name, 'shapes10-16-domain');
    assert.ok(existsSync(join(dir, 'cache', domainWeightsName(10, 16))));
    const imgs = sampleShapesBalanced({ classes: 10, size: 16, perClass: 1, seed: 77 }).images;
    const fa = a.extract(imgs, 10, 16);
    assert.equal(fa.features.length, 10 * 8);
    assert.equal(fa.logits!.length, 10 * 10);
    // Float images in [0, 1] (generated samples) give the same features as their uint8 rendering.
    const ff = a.extract(Float32Array.from(imgs, (v) => v / 255), 10, 16).features;
    for (let i = 0; i < ff.length; i++) assert.ok(Math.abs(ff[i]! - fa.features[i]!) < 1e-4);
    assert.equal(a.acceptsFloat, true);
    const pred = a.classify(imgs, 10);
    assert.equal(pred.length, 10);
    assert.ok(pred.every((c) => c >= 0 && c < 10));
    const b = await domainExtractor(10, 16, opts);
    assert.equal(b.source, 'cache');
    assert.ok(Number.isFinite(b.heldOutAccuracy));
    assert.deepEqual(b.extract(imgs, 10, 16).features, fa.features);
    assert.deepEqual(b.classify(imgs, 10), pred);
    assert.throws(() => a.extract(imgs, 10, 32), CbdmError);
    assert.throws(() => a.classify(imgs, 9), CbdmError);
    await assert.rejects(domainExtractor(100, 16, { ...opts, allowTraining: false }), /domain-train --classes 100 --image-size 16/);
    await assert.rejects(domainExtractor(10 as 10, 24 as 16, opts), /16 or 32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('domain seeds are distinct', () => {
  assert.notEqual(DOMAIN_TRAIN_SEED, DOMAIN_TEST_SEED);
});

test('shipped weights recognise fresh reference samples', async (t) => {
  for (const [classes, size, per] of [[10, 16, 10], [10, 32, 10], [100, 16, 2], [100, 32, 2]] as const) {
    if (!existsSync(join(domainAssetsDir(), domainWeightsName(classes, size)))) {
      t.diagnostic(`no shipped weights for shapes${classes}-${size}`);
      continue;
    }
    E.useBackend('js');
    const ex = await domainExtractor(classes, size, { allowTraining: false });
    assert.equal(ex.source, 'shipped');
    assert.ok(ex.heldOutAccuracy >= 0.98, `recorded held-out accuracy ${ex.heldOutAccuracy}`);
    // A seed used by neither training nor the recorded test.
    const ds = sampleShapesBalanced({ classes, size, perClass: per, seed: 424242 });
    const n = classes * per;
    const pred = ex.classify(ds.images, n);
    const acc = pred.reduce((s, c, i) => s + (c === ds.labels[i] ? 1 : 0), 0) / n;
    assert.ok(acc >= 0.95, `shapes${classes}-${size}: accuracy on fresh samples ${acc}`);
  }
});

test('shape check: a colour-only smudge scores on shapes10 class accuracy but not on shape accuracy (shapes100 family)', async (t) => {
  const S = 16, per = 30;
  if (!existsSync(join(domainAssetsDir(), domainWeightsName(100, S))) || !existsSync(join(domainAssetsDir(), domainWeightsName(10, S)))) {
    t.skip('no shipped shapes10/shapes100 weights at 16 px');
    return;
  }
  E.useBackend();
  const ds = sampleShapesBalanced({ classes: 10, size: S, perClass: per, seed: 999 });
  const n = ds.labels.length, D = 3 * S * S;
  // colour-only counterfeits: each image box-blurred (radius 5) until no shape is left
  const smudge = new Uint8Array(ds.images.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < 3; ch++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    let s = 0, k = 0;
    for (let yy = Math.max(0, y - 5); yy <= Math.min(S - 1, y + 5); yy++) for (let xx = Math.max(0, x - 5); xx <= Math.min(S - 1, x + 5); xx++) { s += ds.images[i * D + ch * S * S + yy * S + xx]!; k++; }
    smudge[i * D + ch * S * S + y * S + x] = Math.round(s / k);
  }
  const ex10 = await domainExtractor(10, S, { allowTraining: false });
  const ex100 = await domainExtractor(100, S, { allowTraining: false });
  const rate = (pred: Int32Array, ok: (p: number, c: number) => boolean) => pred.reduce((a, p, i) => a + (ok(p, ds.labels[i]!) ? 1 : 0), 0) / n;
  const classAcc = (imgs: Uint8Array) => rate(ex10.classify(imgs, n), (p, c) => p === c);
  const shapeAcc = (imgs: Uint8Array) => rate(ex100.classify(imgs, n), (p, c) => shapeOfClass(p) === shapeOfClass(c));
  assert.ok(shapeAcc(ds.images) >= 0.95, `real images: shape accuracy ${shapeAcc(ds.images)}`);
  assert.ok(classAcc(smudge) >= 0.35, `colour alone scores on class accuracy: ${classAcc(smudge)} (chance 0.1)`);
  assert.ok(shapeAcc(smudge) <= 0.25, `colour alone is near chance on shape accuracy: ${shapeAcc(smudge)}`);
});
