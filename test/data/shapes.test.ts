import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeShapesLT, renderShape, renderShapeSupersampled, sampleShapesBalanced, sampleShapesReference, shapesClassNames, SHAPES_LATENT_CIRCULAR, SHAPES_LATENT_NAMES, SHAPES_NUM_LATENTS } from '../../src/data/shapes.ts';
import { longTailCounts } from '../../src/data/longtail.ts';
import { groupClasses } from '../../src/data/groups.ts';
import { CbdmError } from '../../src/util/errors.ts';

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

test('shapes10-lt: counts follow longTailCounts (500 → 5, 1,236 images), grouped by class', () => {
  const ds = makeShapesLT({ classes: 10, size: 16 });
  assert.equal(ds.name, 'shapes10-lt');
  assert.deepEqual(ds.counts, longTailCounts(500, 10, 0.01, 'exp'));
  assert.deepEqual(ds.counts, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
  assert.equal(ds.labels.length, 1236);
  assert.equal(ds.images.length, 1236 * 3 * 16 * 16);
  assert.equal(ds.latents.values.length, 1236 * SHAPES_NUM_LATENTS);
  assert.deepEqual(ds.latents.names, [...SHAPES_LATENT_NAMES]);
  assert.equal(ds.numClasses, 10);
  assert.deepEqual(ds.classNames, shapesClassNames(10));
  let i = 0;
  for (let c = 0; c < 10; c++) for (let k = 0; k < ds.counts[c]!; k++) assert.equal(ds.labels[i++], c);
});

test('shapes100-lt: 10,847 images, class 0 has 500 and class 99 has 5; step profile and options honoured', () => {
  const ds = makeShapesLT({ classes: 100, size: 16 });
  assert.equal(ds.name, 'shapes100-lt');
  assert.equal(ds.labels.length, 10847);
  assert.equal(ds.counts[0], 500);
  assert.equal(ds.counts[99], 5);
  const g = groupClasses(ds.counts);
  assert.ok(g.many.length > 0 && g.medium.length > 0 && g.few.length > 0);
  const step = makeShapesLT({ classes: 10, size: 16, profile: 'step', nMax: 40, imb: 0.1 });
  assert.deepEqual(step.counts, [40, 40, 40, 40, 40, 4, 4, 4, 4, 4]);
  assert.equal(step.labels.length, 220);
  assert.equal(makeShapesLT({ classes: 10 }).size, 32);
});

test('class names are unique <palette>-<shape>, and shapes100 starts with the shapes10 classes', () => {
  const n10 = shapesClassNames(10);
  const n100 = shapesClassNames(100);
  assert.equal(new Set(n100).size, 100);
  assert.deepEqual(n100.slice(0, 10), n10);
  assert.equal(n10[0], 'red-ellipse');
  // Every shape appears in every palette exactly once.
  const shapes = new Set(n100.map((s) => s.split('-')[1]));
  const palettes = new Set(n100.map((s) => s.split('-')[0]));
  assert.equal(shapes.size, 10);
  assert.equal(palettes.size, 10);
});

test('deterministic by seed: bit-identical images and latents; another seed differs', () => {
  const a = makeShapesLT({ classes: 10, size: 16, nMax: 50, seed: 7 });
  const b = makeShapesLT({ classes: 10, size: 16, nMax: 50, seed: 7 });
  const c = makeShapesLT({ classes: 10, size: 16, nMax: 50, seed: 8 });
  assert.ok(equalBytes(a.images, b.images));
  assert.deepEqual(a.latents.values, b.latents.values);
  assert.ok(!equalBytes(a.images, c.images));
  const r1 = sampleShapesReference({ classes: 100, size: 16, classIndex: 42, n: 20, seed: 3 });
  const r2 = sampleShapesReference({ classes: 100, size: 16, classIndex: 42, n: 20, seed: 3 });
  assert.ok(equalBytes(r1.images, r2.images));
});

test('per-class streams: a class does not depend on nMax or on the other classes', () => {
  const big = makeShapesLT({ classes: 10, size: 16, nMax: 100, seed: 1 });
  const small = makeShapesLT({ classes: 10, size: 16, nMax: 40, seed: 1 });
  const img = 3 * 16 * 16;
  // Class 2 starts after classes 0 and 1 in each set; its first min(n) images agree.
  const off = (ds: typeof big): number => ds.counts[0]! + ds.counts[1]!;
  const n = small.counts[2]!;
  assert.ok(equalBytes(big.images.subarray(off(big) * img, (off(big) + n) * img), small.images.subarray(off(small) * img, (off(small) + n) * img)));
});

test('renderShape reproduces every dataset image bit for bit from its latents', () => {
  for (const size of [16, 32] as const) {
    const ds = makeShapesLT({ classes: 100, size, nMax: 20, seed: 5 });
    const img = 3 * size * size;
    for (let i = 0; i < ds.labels.length; i += 37) {
      const lat = ds.latents.values.subarray(i * SHAPES_NUM_LATENTS, (i + 1) * SHAPES_NUM_LATENTS);
      assert.ok(equalBytes(renderShape(ds.labels[i]!, lat, size), ds.images.subarray(i * img, (i + 1) * img)), `image ${i} at ${size}`);
    }
  }
});

test('reference sampler: independent of the training set, prefix-stable, and equal to the balanced set', () => {
  const train = makeShapesLT({ classes: 10, size: 16, seed: 0 });
  const img = 3 * 16 * 16;
  const ref = sampleShapesReference({ classes: 10, size: 16, classIndex: 0, n: 500, seed: 0 });
  // No reference image of class 0 equals any of its 500 training images (continuous factors).
  const seen = new Set<string>();
  for (let k = 0; k < 500; k++) seen.add(Buffer.from(train.images.subarray(k * img, (k + 1) * img)).toString('base64'));
  let dup = 0;
  for (let k = 0; k < 500; k++) if (seen.has(Buffer.from(ref.images.subarray(k * img, (k + 1) * img)).toString('base64'))) dup++;
  assert.equal(dup, 0);
  const short = sampleShapesReference({ classes: 10, size: 16, classIndex: 0, n: 10, seed: 0 });
  assert.ok(equalBytes(short.images, ref.images.subarray(0, 10 * img)));
  const bal = sampleShapesBalanced({ classes: 10, size: 16, perClass: 6, seed: 4 });
  assert.equal(bal.name, 'shapes10-balanced');
  assert.deepEqual(bal.counts, new Array(10).fill(6));
  const r7 = sampleShapesReference({ classes: 10, size: 16, classIndex: 7, n: 6, seed: 4 });
  assert.ok(equalBytes(bal.images.subarray(7 * 6 * img, 8 * 6 * img), r7.images));
  assert.deepEqual(Array.from(bal.labels.subarray(42, 48)), [7, 7, 7, 7, 7, 7]);
  assert.equal(sampleShapesReference({ classes: 10, classIndex: 3, n: 0, seed: 0 }).images.length, 0);
});

test('analytic anti-aliasing matches 16×16-supersampling of the same shapes (every family, 16 and 32)', () => {
  let worstMean = 0;
  let far = 0;
  let total = 0;
  for (const size of [16, 32]) {
    for (let c = 0; c < 10; c++) {
      const { latents } = sampleShapesReference({ classes: 10, size: 16, classIndex: c, n: 3, seed: 11 });
      for (let k = 0; k < 3; k++) {
        const lat = latents.values.subarray(k * SHAPES_NUM_LATENTS, (k + 1) * SHAPES_NUM_LATENTS);
        const fast = renderShape(c, lat, size);
        const ref = renderShapeSupersampled(c, lat, size, 16);
        let sum = 0;
        for (let i = 0; i < fast.length; i++) {
          const d = Math.abs(fast[i]! - ref[i]!);
          sum += d;
          if (d > 32) far++;
        }
        total += fast.length;
        worstMean = Math.max(worstMean, sum / fast.length);
        // Anti-aliased: the edge has intermediate tones, not just background and foreground.
        const tones = new Set<number>();
        for (let i = 0; i < size * size; i++) tones.add((fast[i]! << 16) | (fast[i + size * size]! << 8) | fast[i + 2 * size * size]!);
        assert.ok(tones.size >= 5, `class ${c} at ${size} has hard edges (${tones.size} colours)`);
      }
    }
  }
  // Measured (20 images per family): worst mean |Δ| 1.05 / 255 at 16×16, 0.43 at 32×32; the
  // large differences are single pixels at sharp tips (star points, crescent horns).
  assert.ok(worstMean < 2, `worst mean abs difference ${worstMean.toFixed(2)} / 255`);
  assert.ok(far / total < 0.005, `${far} of ${total} values differ by more than 32`);
});

test('circular factors wrap: rotation over one symmetry period and background hue; others matter', () => {
  const meanDiff = (a: Uint8Array, b: Uint8Array): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
  assert.deepEqual(SHAPES_LATENT_NAMES.filter((_, f) => SHAPES_LATENT_CIRCULAR[f]), ['rotation', 'bgHue']);
  for (let c = 0; c < 10; c++) {
    const base = [0.3, 0.6, 0.8, 0, 0.5, 0.7, 0.9, 0.4, 0];
    const img0 = renderShape(c, base, 32);
    for (let f = 0; f < SHAPES_NUM_LATENTS; f++) {
      const moved = [...base];
      moved[f] = SHAPES_LATENT_CIRCULAR[f] ? 1 - 1e-7 : base[f]! < 0.5 ? base[f]! + 0.5 : base[f]! - 0.5;
      const d = meanDiff(img0, renderShape(c, moved, 32));
      if (SHAPES_LATENT_CIRCULAR[f]) assert.ok(d < 0.05, `class ${c}: ${SHAPES_LATENT_NAMES[f]} 0 vs 1 differ by ${d}`);
      else assert.ok(d > 0.5, `class ${c}: factor ${SHAPES_LATENT_NAMES[f]} has no visible effect (${d})`);
    }
    // Half a symmetry period changes the image: the declared order is not too small.
    const half = [...base];
    half[3] = 0.5;
    assert.ok(meanDiff(img0, renderShape(c, half, 32)) > 0.5, `class ${c}: rotation by half a period is invisible`);
  }
});

test('latents are in [0, 1) and cover every factor range within a class', () => {
  const { latents } = sampleShapesReference({ classes: 10, size: 16, classIndex: 9, n: 400, seed: 2 });
  const F = SHAPES_NUM_LATENTS;
  for (let f = 0; f < F; f++) {
    let lo = 1;
    let hi = 0;
    let mean = 0;
    for (let k = 0; k < 400; k++) {
      const v = latents.values[k * F + f]!;
      assert.ok(v >= 0 && v < 1);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      mean += v / 400;
    }
    assert.ok(lo < 0.02 && hi > 0.98, `${SHAPES_LATENT_NAMES[f]} covers [${lo}, ${hi}]`);
    assert.ok(Math.abs(mean - 0.5) < 0.06, `${SHAPES_LATENT_NAMES[f]} mean ${mean}`);
  }
});

test('bad options throw CbdmError', () => {
  assert.throws(() => makeShapesLT({ classes: 20 as 10 }), CbdmError);
  assert.throws(() => makeShapesLT({ classes: 10, size: 24 as 16 }), CbdmError);
  assert.throws(() => makeShapesLT({ classes: 10, imb: 2 }), CbdmError);
  assert.throws(() => sampleShapesReference({ classes: 10, classIndex: 10, n: 1, seed: 0 }), CbdmError);
  assert.throws(() => sampleShapesReference({ classes: 10, classIndex: 0, n: -1, seed: 0 }), CbdmError);
  assert.throws(() => sampleShapesBalanced({ classes: 100, perClass: 0, seed: 0 }), CbdmError);
  assert.throws(() => renderShape(100, new Float32Array(SHAPES_NUM_LATENTS), 16), CbdmError);
  assert.throws(() => renderShape(0, new Float32Array(3), 16), CbdmError);
});

test('full shapes10-lt and shapes100-lt at 32×32: every class present, head to tail non-increasing', () => {
  // Generation time is a benchmark (bench/shapes-generate.ts), not asserted here.
  for (const classes of [10, 100] as const) {
    const d = makeShapesLT({ classes, size: 32 });
    const counts = new Array<number>(classes).fill(0);
    for (const y of d.labels) counts[y]!++;
    assert.ok(counts.every((c) => c > 0), `shapes${classes}-lt: a class has no image`);
    for (let c = 1; c < classes; c++) assert.ok(counts[c]! <= counts[c - 1]!, `shapes${classes}-lt: class ${c} has more images than class ${c - 1}`);
  }
});
