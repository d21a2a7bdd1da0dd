import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureStats, frechetDistance } from '../../src/metrics/fid.ts';
import { gatherRows } from '../../src/metrics/linalg.ts';
import { perClassFid, perClassKid, perClassPrecisionRecall } from '../../src/metrics/per-class.ts';
import { kernelInceptionDistance } from '../../src/metrics/kid.ts';
import { improvedPrecisionRecall } from '../../src/metrics/precision-recall.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { lcgMatrix } from './lcg.ts';

const d = 6;
// classes 0, 3: many (>100 train images), 1: medium, 2: few; real class 2 has one sample only
const trainCounts = [500, 60, 5, 120];
const realLabels = [0, 1, 3, 0, 1, 3, 0, 1, 3, 0, 1, 3, 0, 1, 3, 0, 1, 3, 0, 1, 3, 2, 0, 1, 3, 0, 1, 3];
const genLabels = Array.from({ length: 40 }, (_, i) => i % 4);
const realFeats = lcgMatrix(1, realLabels.length, d).map((v, i) => v + 0.1 * realLabels[Math.floor(i / d)]!);
const genFeats = lcgMatrix(2, genLabels.length, d).map((v, i) => v * 1.2 + 0.15 * genLabels[Math.floor(i / d)]!);
const real = { feats: realFeats, labels: realLabels, n: realLabels.length };
const gen = { feats: Float32Array.from(genFeats), labels: genLabels, n: genLabels.length };
const rowsOf = (labels: number[], c: number) => labels.flatMap((l, i) => (l === c ? [i] : []));

test('perClassFid: each class against its own rows, groups = mean over their classes, too-small classes skipped', () => {
  const r = perClassFid(real, gen, d, trainCounts);
  for (const c of [0, 1, 3]) {
    const a = featureStats(gatherRows(realFeats, d, rowsOf(realLabels, c)), rowsOf(realLabels, c).length, d);
    const b = featureStats(gatherRows(gen.feats, d, rowsOf(genLabels, c)), 10, d);
    const want = frechetDistance(b.mu, b.sigma, a.mu, a.sigma, d).fid;
    const row = r.perClass[c]!;
    assert.equal(row.class, c);
    assert.ok(Math.abs(row.fid! - want) <= 1e-12 * want, `class ${c}`);
    assert.equal(row.realCount, rowsOf(realLabels, c).length);
    assert.equal(row.genCount, 10);
    assert.equal(row.skipped, undefined);
  }
  assert.equal(r.perClass[2]!.fid, null);
  assert.match(r.perClass[2]!.skipped!, /≥ 2 real/);
  assert.deepEqual(r.perClass.map((x) => x.group), ['many', 'medium', 'few', 'many']);
  assert.equal(r.groups.many.classes, 2);
  assert.ok(Math.abs(r.groups.many.fid! - (r.perClass[0]!.fid! + r.perClass[3]!.fid!) / 2) < 1e-12);
  assert.equal(r.groups.medium.fid, r.perClass[1]!.fid);
  assert.deepEqual([r.groups.few.fid, r.groups.few.classes, r.groups.few.used], [null, 1, 0]);
  const all = featureStats(realFeats, real.n, d);
  const allGen = featureStats(gen.feats, gen.n, d);
  assert.ok(Math.abs(r.overall.fid - frechetDistance(allGen.mu, allGen.sigma, all.mu, all.sigma, d).fid) < 1e-12);
  assert.equal(r.overall.underdetermined, false);
  assert.equal(r.perClass[0]!.underdetermined, 0);
});

test('perClassPrecisionRecall: per-class manifolds, skips classes with ≤ k samples', () => {
  const r = perClassPrecisionRecall(real, gen, d, trainCounts, { k: 3 });
  for (const c of [0, 1, 3]) {
    const rr = rowsOf(realLabels, c);
    const gr = rowsOf(genLabels, c);
    const want = improvedPrecisionRecall(gatherRows(realFeats, d, rr), rr.length, gatherRows(gen.feats, d, gr), gr.length, d, { k: 3 });
    assert.equal(r.perClass[c]!.precision, want.precision);
    assert.equal(r.perClass[c]!.recall, want.recall);
  }
  assert.equal(r.perClass[2]!.precision, null);
  assert.equal(r.groups.medium.recall, r.perClass[1]!.recall);
  const overall = improvedPrecisionRecall(realFeats, real.n, gen.feats, gen.n, d, { k: 3 });
  assert.deepEqual(r.overall, { precision: overall.precision, recall: overall.recall });
  assert.equal(perClassPrecisionRecall(real, gen, d, trainCounts, { k: 3, overall: false }).overall, null);
});

test('perClassKid: per-class subsets capped by the class sizes, same seed as a direct call', () => {
  const r = perClassKid(real, gen, d, trainCounts, { subsets: 4, seed: 5 });
  const rr = rowsOf(realLabels, 1);
  const gr = rowsOf(genLabels, 1);
  const want = kernelInceptionDistance(gatherRows(gen.feats, d, gr), gr.length, gatherRows(realFeats, d, rr), rr.length, d, { subsets: 4, seed: 5 });
  assert.equal(r.perClass[1]!.kid, want.mean);
  assert.equal(r.perClass[1]!.kidStd, want.std);
  assert.equal(r.perClass[2]!.kid, null);
  assert.equal(r.groups.medium.kid, want.mean);
  assert.ok(Number.isFinite(r.overall.kid));
});

test('per-class helpers reject labels outside the class range', () => {
  const bad = { ...gen, labels: genLabels.map((l) => (l === 3 ? 4 : l)) };
  assert.throws(() => perClassFid(real, bad, d, trainCounts), CbdmError);
  assert.throws(() => perClassFid(real, gen, d, []), CbdmError);
});
