// The host buffer pool (src/engine/js/buffer-pool.ts): exact-size reuse, a limit that follows the
// largest working set, least-recently-used sizes released first, and byte accounting that returns
// to zero. Sizes are small, with the floor set low so the limit rules are exercised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/engine/js/buffer-pool.ts';

const KB = 1024;

test('a freed array is handed out again for the same dtype and length, a fresh zeroed one otherwise', () => {
  const p = new BufferPool(64 * KB);
  const a = p.take('float32', 100);
  assert.equal(a.fresh, true);
  a.data.fill(7);
  p.give(a.data);
  const b = p.take('float32', 100);
  assert.equal(b.fresh, false);
  assert.equal(b.data, a.data, 'the same array comes back');
  const c = p.take('float64', 100);
  assert.equal(c.fresh, true, 'another dtype is not the same size class');
  assert.ok(c.data instanceof Float64Array);
  const d = p.take('float32', 101);
  assert.equal(d.fresh, true);
  assert.ok(d.data.every((v) => v === 0));
  for (const x of [b, c, d]) p.give(x.data);
  assert.equal(p.liveBytes(), 0);
  assert.equal(p.pooledBytes(), 400 + 800 + 404);
});

test('the limit is the larger of the floor and the most bytes ever live, so a repeated step above the floor is fully pooled', () => {
  const p = new BufferPool(16 * KB);
  // One "step": 10 arrays of 4 KiB live at once (40 KiB, above the 16 KiB floor), then all freed.
  const step = () => {
    const xs = Array.from({ length: 10 }, () => p.take('float32', KB));
    const fresh = xs.filter((x) => x.fresh).length;
    for (const x of xs) p.give(x.data);
    return fresh;
  };
  assert.equal(step(), 10);
  assert.equal(p.limitBytes(), 40 * KB);
  assert.equal(p.pooledBytes(), 40 * KB);
  assert.equal(step(), 0, 'the second step reuses every array');
  assert.equal(step(), 0);
  assert.equal(p.liveBytes(), 0);
});

test('the pool never holds more than its limit, and releases the least recently used sizes first', () => {
  const p = new BufferPool(16 * KB);
  const a = p.take('float32', KB); // 4 KiB
  const b = p.take('float32', 2 * KB); // 8 KiB
  p.give(a.data);
  p.give(b.data); // high water 12 KiB < floor: limit 16 KiB, pooled 12 KiB
  assert.equal(p.pooledBytes(), 12 * KB);
  // Use size a again (making b the least recently used), then free an 8 KiB array of a new size:
  // 12 + 8 > 16, so b's array is released, not a's.
  const a2 = p.take('float32', KB);
  assert.equal(a2.fresh, false);
  p.give(a2.data);
  const c = p.take('float32', 2 * KB + 1);
  p.give(c.data);
  assert.ok(p.pooledBytes() <= p.limitBytes());
  assert.equal(p.take('float32', KB).fresh, false, 'the recently used size stayed');
  assert.equal(p.take('float32', 2 * KB + 1).fresh, false, 'the newest size was pooled');
  assert.equal(p.take('float32', 2 * KB).fresh, true, 'the least recently used size was released');
});

test('with shapes that keep changing, pooled bytes stay within the limit and live + pooled within twice it', () => {
  const p = new BufferPool(8 * KB);
  let seed = 1;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const held: Float32Array[] = [];
  for (let i = 0; i < 2000; i++) {
    if (held.length > 0 && rand(2) === 0) p.give(held.splice(rand(held.length), 1)[0]!);
    else held.push(p.take('float32', 64 * (1 + rand(40))).data as Float32Array);
    assert.ok(p.pooledBytes() <= p.limitBytes(), `step ${i}: pooled ${p.pooledBytes()} over the limit ${p.limitBytes()}`);
    assert.ok(p.liveBytes() + p.pooledBytes() <= 2 * p.limitBytes());
  }
  for (const x of held) p.give(x);
  assert.equal(p.liveBytes(), 0);
});
