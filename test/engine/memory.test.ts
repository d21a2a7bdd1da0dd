/**
 * Memory stays flat over a long training loop (docs/DESIGN.md §2: explicit lifetimes so long runs hold
 * memory flat). 10,000 tiny train-like steps on `js` — conv → groupNorm+swish → dropout →
 * attention → concat skip → 1×1 conv → mse, backward, an in-place SGD update with backend kernels —
 * each inside tidy(). After every step the live tensor count and the backend's live bytes must be
 * exactly back at their baseline; after warm-up, process heap and RSS growth must stay under
 * stated bounds (a leak of even one small tensor per step would be ~10,000 objects and fail the
 * first check long before the second).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as E from '../../src/engine/index.ts';
import { Rng } from '../../src/util/rng.ts';

/** Bounds on growth between the end of warm-up and the end of the loop. */
const HEAP_GROWTH_LIMIT_MB = 20;
const RSS_GROWTH_LIMIT_MB = 50;
const STEPS = 10_000;
const WARMUP = 500;

/** A full garbage collection, so heap numbers measure retained memory rather than GC timing. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

test(`memory is flat over ${STEPS} train steps (live tensors, live bytes, heap, rss)`, () => {
  const be = E.useBackend('js');
  const rng = new Rng(11);
  const mk = (shape: number[], std: number) => {
    const t = E.tidy(() => E.scale(E.randn(shape, rng), std));
    t.requiresGrad = true;
    return t;
  };
  const params = {
    w1: mk([4, 3, 3, 3], 0.3), b1: mk([4], 0.1), gamma: mk([4], 0.1), beta: mk([4], 0.1),
    w2: mk([3, 7, 1, 1], 0.3), b2: mk([3], 0.1),
  };
  const plist = Object.values(params);
  // Fixed batch: x 2×3×4×4 and a target; the loss should go down as SGD fits it.
  const x = E.randn([2, 3, 4, 4], rng);
  const target = E.randn([2, 3, 4, 4], rng);
  const lr = 0.05;

  const step = (): number => {
    const loss = E.tidy(() => {
      const h = E.conv2d(x, params.w1, params.b1, { pad: 1 });
      const g = E.dropout(E.groupNorm(h, params.gamma, params.beta, { groups: 2, swish: true }), 0.1, rng, true);
      const s = g.reshape([2, 4, 16]);
      const a = E.attention(s, s, s).reshape([2, 4, 4, 4]);
      const y = E.conv2d(E.concat([a, x], 1), params.w2, params.b2);
      const l = E.mse(y, target);
      E.backward(l);
      return l.item();
    });
    for (const p of plist) {
      const ps = p.storageFor('sgd');
      const gs = p.grad!.storageFor('sgd');
      be.axpy(ps, -lr, gs, ps);
      be.fill(gs, 0);
    }
    return loss;
  };

  const first = step(); // creates the .grad buffers, which then live for the whole run
  const tensors = E.liveTensorCount();
  const bytes = be.liveBytes();
  let last = first;
  let heap0 = 0;
  let rss0 = 0;
  for (let i = 1; i < STEPS; i++) {
    last = step();
    if (E.liveTensorCount() !== tensors || be.liveBytes() !== bytes) {
      assert.fail(`step ${i}: ${E.liveTensorCount() - tensors} extra live tensors, ${be.liveBytes() - bytes} extra live bytes`);
    }
    if (i === WARMUP) {
      collectGarbage();
      heap0 = process.memoryUsage().heapUsed;
      rss0 = process.memoryUsage().rss;
    }
  }
  collectGarbage();
  const heapMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const rssMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(heapMB < HEAP_GROWTH_LIMIT_MB, `heap grew ${heapMB.toFixed(1)} MB after warm-up (limit ${HEAP_GROWTH_LIMIT_MB} MB)`);
  assert.ok(rssMB < RSS_GROWTH_LIMIT_MB, `rss grew ${rssMB.toFixed(1)} MB after warm-up (limit ${RSS_GROWTH_LIMIT_MB} MB)`);
  assert.ok(Number.isFinite(last) && last < first, `loss did not decrease: ${first} → ${last}`);
  console.log(`# memory: ${STEPS} steps, loss ${first.toFixed(3)} → ${last.toFixed(3)}, heap ${heapMB >= 0 ? '+' : ''}${heapMB.toFixed(2)} MB, rss ${rssMB >= 0 ? '+' : ''}${rssMB.toFixed(2)} MB`);

  for (const p of plist) { p.grad!.dispose(); p.dispose(); }
  x.dispose();
  target.dispose();
  assert.equal(E.liveTensorCount(), tensors - 2 * plist.length - 2);
});
