// Outputs allocated 'overwritten' (src/engine/ops/util.ts outputLike) may be pooled buffers that
// are not zeroed first: every kernel behind such an op must write every element. Each case runs
// the op once on fresh memory, then again after a NaN-filled buffer of the output's size went back
// to the pool (the pool hands out the last freed buffer of a size), and asserts both outputs are
// identical — on the js reference and on the native cpu backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, backendAvailable } from '../../src/engine/backends.ts';
import { setCurrentBackend, noGrad, tidy } from '../../src/engine/context.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { empty, type Tensor } from '../../src/engine/tensor.ts';
import { add } from '../../src/engine/ops/arith.ts';
import { groupNorm } from '../../src/engine/ops/groupnorm.ts';
import { concat } from '../../src/engine/ops/concat.ts';
import { upsampleNearest2x } from '../../src/engine/ops/upsample.ts';
import { conv2d } from '../../src/engine/ops/conv2d.ts';
import { attention } from '../../src/engine/ops/attention.ts';
import type { BackendName } from '../../src/engine/backend.ts';
import { Rng } from '../../src/util/rng.ts';

const normal = (shape: number[], seed: number) => tensor(new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))) as Float32Array, shape);

/** Run op twice, the second time after poisoning the pool for its output size; both must be equal and NaN-free. */
function checkOverwrites(name: string, op: () => Tensor): void {
  const fresh = noGrad(() => tidy(() => op().toArray()));
  const poison = empty([fresh.length]);
  poison.backend.write(poison.storageFor('test'), new Float32Array(fresh.length).fill(NaN));
  poison.dispose();
  const again = noGrad(() => tidy(() => op().toArray()));
  assert.ok(fresh.every((v) => Number.isFinite(v)), `${name}: non-finite output on fresh memory`);
  assert.deepEqual(Array.from(again), Array.from(fresh), `${name}: output differs when the pool hands out a NaN-filled buffer`);
}

for (const name of ['js', 'cpu'] as BackendName[]) {
  test(`${name}: ops with 'overwritten' outputs write every element (add, broadcast add, group norm ± swish, concat, upsample, conv2d, attention)`, { skip: backendAvailable(name) ? false : `${name} backend not available` }, () => {
    const be = getBackend(name);
    setCurrentBackend(be);
    // a pooled buffer is handed out as it is for 'overwritten', zeroed otherwise
    const t = empty([7]);
    be.write(t.storageFor('test'), new Float32Array(7).fill(3));
    t.dispose();
    assert.deepEqual(Array.from(empty([7]).toArray()), new Array(7).fill(0), 'a reused buffer is zeroed by default');
    const x = normal([2, 32, 6, 6], 1), y = normal([2, 32, 6, 6], 2), v = normal([2, 32, 1, 1], 3);
    const gamma = normal([32], 4), beta = normal([32], 5);
    checkOverwrites('add', () => add(x, y));
    checkOverwrites('add broadcast', () => add(x, v));
    checkOverwrites('groupNorm', () => groupNorm(x, gamma, beta, { groups: 8 }));
    checkOverwrites('groupNorm+swish', () => groupNorm(x, gamma, beta, { groups: 8, swish: true }));
    checkOverwrites('concat', () => concat([x, normal([2, 16, 6, 6], 6)], 1));
    checkOverwrites('upsample', () => upsampleNearest2x(x));
    // attention: y and its probabilities P (N·L·L, here the size of y too, so either may get the poison)
    checkOverwrites('attention', () => attention(normal([2, 16, 16], 10), normal([2, 16, 16], 11), normal([2, 16, 16], 12)));
    checkOverwrites('attention 32×36', () => attention(normal([2, 32, 36], 13), normal([2, 32, 36], 14), normal([2, 32, 36], 15)));
    // the conv kernels the rule tables pick at these shapes (direct 3×3, channel-vector, gemm, 1×1)
    for (const [ci, co, s, k] of [[32, 32, 16, 3], [32, 64, 6, 3], [32, 48, 6, 3], [32, 64, 6, 1], [3, 32, 16, 3]] as const) {
      const xin = normal([2, ci, s, s], 7), w = normal([co, ci, k, k], 8), b = normal([co], 9);
      checkOverwrites(`conv2d ${ci}→${co} ${s}×${s} k${k}`, () => conv2d(xin, w, b, { pad: k === 3 ? 1 : 0 }));
    }
  });
}
