import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { longTailCounts } from '../../src/data/longtail.ts';
import { groupClasses } from '../../src/data/groups.ts';

test('Rng is deterministic, resumable from its state, and well distributed', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  a.normal();
  const st = a.state();
  const c = Rng.fromState(JSON.parse(JSON.stringify(st)));
  for (let i = 0; i < 5; i++) assert.equal(a.normal(), c.normal());
  assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
  assert.notEqual(new Rng(1, 0).nextU32(), new Rng(1, 1).nextU32());
  const r = new Rng(7);
  let s = 0, s2 = 0;
  const n = 200000;
  for (let i = 0; i < n; i++) { const x = r.normal(); s += x; s2 += x * x; }
  assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.02, `var ${s2 / n}`);
  const hist = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) hist[r.int(10)]++;
  for (const h of hist) assert.ok(Math.abs(h - 10000) < 500, `int histogram ${hist}`);
});

test('long-tail profiles give the published CIFAR-LT sizes', () => {
  const c100 = longTailCounts(500, 100, 0.01);
  assert.equal(c100.reduce((a, b) => a + b, 0), 10847);
  assert.equal(c100[0], 500);
  assert.equal(c100[99], 5);
  assert.equal(longTailCounts(5000, 10, 0.01).reduce((a, b) => a + b, 0), 12406);
  assert.deepEqual(longTailCounts(100, 4, 0.1, 'step'), [100, 100, 10, 10]);
  const g = groupClasses(c100);
  assert.equal(g.many.length + g.medium.length + g.few.length, 100);
  assert.ok(g.many.includes(0) && g.few.includes(99));
});
