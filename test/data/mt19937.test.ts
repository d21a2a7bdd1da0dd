import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MT19937 } from '../../src/data/mt19937.ts';
import { selectLongTail, makeLongTail } from '../../src/data/subset.ts';
import type { ImageDataset } from '../../src/data/dataset.ts';

interface Fixture {
  raw_int_seed: Record<string, number[]>;
  raw_seed0_1000: number[];
  raw_array_seed: Record<string, number[]>;
  rand_seed0: number[];
  shuffle_sequences: Record<string, { n: number; perm: number[] }[]>;
  lt_selection: { targets: number[]; counts: number[]; selected: number[] };
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/data/numpy_mt.json', import.meta.url), 'utf8')) as Fixture;

test('MT19937 int seeding matches np.random.seed(s) raw uint32 output', () => {
  for (const [seed, want] of Object.entries(fx.raw_int_seed)) {
    const g = new MT19937(Number(seed));
    assert.deepEqual(Array.from({ length: want.length }, () => g.nextU32()), want, `seed ${seed}`);
  }
  const g = new MT19937(0);
  const got = Array.from({ length: fx.raw_seed0_1000.length }, () => g.nextU32());
  assert.deepEqual(got, fx.raw_seed0_1000);
});

test('MT19937 array seeding matches init_by_array', () => {
  for (const [key, want] of Object.entries(fx.raw_array_seed)) {
    const g = new MT19937(0);
    g.seedByArray(key.split(',').map(Number));
    assert.deepEqual(Array.from({ length: want.length }, () => g.nextU32()), want, `key ${key}`);
  }
});

test('MT19937 doubles match np.random.rand() bit for bit', () => {
  const g = new MT19937(0);
  for (const want of fx.rand_seed0) assert.equal(g.nextDouble(), want);
});

test('MT19937 shuffle matches a sequence of np.random.shuffle(arange(n)) calls', () => {
  for (const [seed, seq] of Object.entries(fx.shuffle_sequences)) {
    const g = new MT19937(Number(seed));
    for (const { n, perm } of seq) {
      const a = Int32Array.from({ length: n }, (_, i) => i);
      g.shuffle(a);
      assert.deepEqual(Array.from(a), perm, `seed ${seed} n ${n}`);
    }
  }
});

test('MT19937 state round-trips through JSON mid-stream', () => {
  const g = new MT19937(42);
  for (let i = 0; i < 700; i++) g.nextU32();
  const h = MT19937.fromState(JSON.parse(JSON.stringify(g.state())));
  for (let i = 0; i < 1000; i++) assert.equal(h.nextU32(), g.nextU32());
});

test('numpy-compat long-tail selection reproduces the published gen_imbalanced_data', () => {
  const { targets, counts, selected } = fx.lt_selection;
  const got = selectLongTail(Int32Array.from(targets), 10, counts, true, 0);
  assert.deepEqual(Array.from(got), selected);
  const own = selectLongTail(Int32Array.from(targets), 10, counts, false, 0);
  assert.equal(own.length, selected.length);
  assert.notDeepEqual(Array.from(own), selected);
});

test('makeLongTail gives CIFAR-LT sizes, class-ordered images and composed source indices', () => {
  const C = 10;
  const perClass = 50;
  const n = C * perClass;
  const labels = Int32Array.from({ length: n }, (_, i) => i % C);
  const images = new Uint8Array(n * 3 * 2 * 2);
  for (let i = 0; i < n; i++) images.fill(i % 256, i * 12, (i + 1) * 12);
  const ds: ImageDataset = { name: 'toy', numClasses: C, classNames: Array.from({ length: C }, (_, i) => `c${i}`), size: 2, channels: 3, images, labels, counts: new Array(C).fill(perClass) };
  const lt = makeLongTail(ds, { imb: 0.1 });
  assert.deepEqual(lt.counts, [50, 38, 29, 23, 17, 13, 10, 8, 6, 5]);
  assert.equal(lt.labels.length, 199);
  for (let k = 1; k < lt.labels.length; k++) assert.ok(lt.labels[k]! >= lt.labels[k - 1]!);
  for (let k = 0; k < lt.labels.length; k++) {
    const src = lt.sourceIndex![k]!;
    assert.equal(ds.labels[src], lt.labels[k]);
    assert.equal(lt.images[k * 12], src % 256);
  }
  assert.equal(new Set(lt.sourceIndex).size, lt.labels.length);
  const step = makeLongTail(ds, { imb: 0.1, profile: 'step' });
  assert.deepEqual(step.counts, [50, 50, 50, 50, 50, 5, 5, 5, 5, 5]);
  const again = makeLongTail(ds, { imb: 0.1, seed: 0 });
  assert.deepEqual(again.sourceIndex, lt.sourceIndex);
  assert.notDeepEqual(makeLongTail(ds, { imb: 0.1, seed: 1 }).sourceIndex, lt.sourceIndex);
});
