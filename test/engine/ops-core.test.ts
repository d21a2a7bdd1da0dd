import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, parity, fastBackends } from './harness.ts';
import * as E from '../../src/engine/index.ts';

const backends = fastBackends();

const cases: Array<{ name: string; f: (...xs: E.Tensor[]) => E.Tensor; specs: Array<{ shape: number[]; grad?: boolean }>; tol?: number }> = [
  { name: 'add same shape', f: (a, b) => E.add(a!, b!), specs: [{ shape: [2, 3] }, { shape: [2, 3] }] },
  { name: 'add bias [C] over NCHW', f: (a, b) => E.add(a!, b!.reshape([1, 3, 1, 1])), specs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }] },
  { name: 'add temb [N,C,1,1] over NCHW', f: (a, b) => E.add(a!, b!), specs: [{ shape: [2, 3, 2, 2] }, { shape: [2, 3, 1, 1] }] },
  { name: 'add scalar-shaped', f: (a, b) => E.add(b!, a!), specs: [{ shape: [2, 3] }, { shape: [1] }] },
  { name: 'sub', f: (a, b) => E.sub(a!, b!), specs: [{ shape: [4] }, { shape: [4] }] },
  { name: 'mul', f: (a, b) => E.mul(a!, b!), specs: [{ shape: [3, 2] }, { shape: [3, 2] }] },
  { name: 'affine', f: (a) => E.affine(a!, -1.5, 0.25), specs: [{ shape: [5] }] },
  { name: 'sum', f: (a) => E.sum(a!), specs: [{ shape: [2, 3] }] },
  { name: 'mean', f: (a) => E.mean(a!), specs: [{ shape: [2, 3] }] },
  { name: 'mse', f: (a, b) => E.mse(a!, b!), specs: [{ shape: [2, 5] }, { shape: [2, 5] }] },
  { name: 'weightedMse', f: (a, b, w) => E.weightedMse(a!, b!, w!), specs: [{ shape: [3, 4] }, { shape: [3, 4] }, { shape: [3], grad: false }] },
  { name: 'swish', f: (a) => E.swish(a!), specs: [{ shape: [7] }] },
  { name: 'relu', f: (a) => E.relu(a!), specs: [{ shape: [7] }] },
  { name: 'matmul', f: (a, b) => E.matmul(a!, b!), specs: [{ shape: [3, 4] }, { shape: [4, 5] }] },
  { name: 'linear', f: (x, w, b) => E.linear(x!, w!, b!), specs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }] },
  { name: 'conv2d 3×3 s1 p1', f: (x, w, b) => E.conv2d(x!, w!, b!, { pad: 1 }), specs: [{ shape: [2, 3, 5, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }] },
  { name: 'conv2d 3×3 s2 p1', f: (x, w, b) => E.conv2d(x!, w!, b!, { stride: 2, pad: 1 }), specs: [{ shape: [2, 2, 6, 6] }, { shape: [3, 2, 3, 3] }, { shape: [3] }] },
  { name: 'conv2d 1×1', f: (x, w, b) => E.conv2d(x!, w!, b!), specs: [{ shape: [2, 3, 4, 4] }, { shape: [5, 3, 1, 1] }, { shape: [5] }] },
  { name: 'conv2d no bias, s2 p0', f: (x, w) => E.conv2d(x!, w!, null, { stride: 2 }), specs: [{ shape: [1, 2, 5, 5] }, { shape: [2, 2, 3, 3] }] },
  { name: 'groupNorm', f: (x, g, b) => E.groupNorm(x!, g!, b!, { groups: 2 }), specs: [{ shape: [2, 4, 3, 3] }, { shape: [4] }, { shape: [4] }] },
  { name: 'groupNorm+swish', f: (x, g, b) => E.groupNorm(x!, g!, b!, { groups: 2, swish: true }), specs: [{ shape: [2, 4, 3, 3] }, { shape: [4] }, { shape: [4] }] },
  { name: 'reshape', f: (x) => E.mul(x!.reshape([6]), x!.reshape([6])), specs: [{ shape: [2, 3] }] },
];

for (const c of cases) {
  test(`gradcheck float64 js: ${c.name}`, () => gradcheck(c.f, c.specs, { tol: c.tol ?? 1e-6 }));
  for (const b of backends) test(`parity ${b} vs js: ${c.name}`, () => parity(b, c.f, c.specs, { tol: 1e-4 }));
}

test('a weight used by two forward passes accumulates both gradients; detach blocks one', () => {
  E.useBackend('js');
  const w = E.tensor([2], [1], { requiresGrad: true });
  const x = E.tensor([3], [1]);
  E.tidy(() => {
    const y1 = E.mul(w, x);        // dy1/dw = 3
    const y2 = E.mul(w, w);        // dy2/dw = 2w = 4
    E.backward(E.add(E.sum(y1), E.sum(y2)));
  });
  assert.deepEqual(Array.from(w.grad!.toArray()), [7]);
  w.grad!.dispose();
  w.grad = null;
  E.tidy(() => {
    const y2 = E.mul(w, w.detach()); // only one path: d/dw = w = 2
    E.backward(E.sum(y2));
  });
  assert.deepEqual(Array.from(w.grad!.toArray()), [2]);
});

test('errors name the op and the shapes', () => {
  E.useBackend('js');
  const a = E.zeros([2, 3]);
  const b = E.zeros([3, 2]);
  assert.throws(() => E.add(a, E.zeros([4])), /add: .*\[2, 3\].*\[4\]/);
  assert.throws(() => E.matmul(a, E.zeros([2, 2])), /matmul: inner dimensions differ/);
  assert.throws(() => E.conv2d(E.zeros([1, 3, 4, 4]), E.zeros([2, 4, 3, 3]), null), /conv2d: input has 3 channels/);
  assert.throws(() => E.groupNorm(E.zeros([1, 6, 2, 2]), E.zeros([6]), E.zeros([6]), { groups: 4 }), /not divisible/);
  b.dispose();
  assert.throws(() => E.add(b, b), /disposed/);
  assert.throws(() => E.backward(E.sum(a)), /does not require grad/);
  assert.throws(() => E.tensor([1, 2, 3], [2, 2]), /do not fill shape/);
  const f = E.zeros([2], { dtype: 'float64' });
  assert.throws(() => E.add(a, f), /dtype mismatch/);
});

test('tidy disposes temporaries and keeps results; live count returns to baseline', () => {
  E.useBackend('js');
  const w = E.tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
  const before = E.liveTensorCount();
  const bytes = E.currentBackend().liveBytes();
  for (let i = 0; i < 50; i++) {
    E.tidy(() => {
      const y = E.swish(E.matmul(w, w));
      E.backward(E.mean(y));
    });
  }
  // w.grad was created once and is kept
  assert.equal(E.liveTensorCount(), before + 1);
  assert.equal(E.currentBackend().liveBytes(), bytes + 4 * 4);
  const kept = E.tidy(() => E.add(w, w));
  assert.equal(kept.disposed, false);
  kept.dispose();
});
