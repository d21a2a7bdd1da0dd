import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { domainExtractor, domainRecipe, domainWeightsName, domainAssetsDir, DOMAIN_TRAIN_SEED, DOMAIN_TEST_SEED, type DomainRecipe } from '../../src/metrics/domain.ts';
import { sampleShapesBalanced } from '../../src/data/shapes.ts';
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
    await assert.rejects(domainExtractor(100, 16, { ...opts, allowTraining: false }), /domain-train --classes 100 --size 16/);
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
