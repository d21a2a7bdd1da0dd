/**
 * The ops beyond the core set: embedding, dropout, attention, softmax family, upsampling, pooling,
 * batch norm, concat/narrow, gradient-norm clipping and bilinear resize. Each differentiable op has a
 * float64 finite-difference gradient check on `js` and parity on every faster backend present;
 * PyTorch semantics (pool padding/ties, batch-norm running stats, clip_grad_norm_, bilinear
 * resize, cross-entropy, attention) are checked against `test/fixtures/engine/ops.json`
 * (generator: make_ops.py beside it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gradcheck, parity, fastBackends, assertClose, type InputSpec } from './harness.ts';
import * as E from '../../src/engine/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { dropoutBits } from '../../src/engine/js/dropout.ts';
import { dropoutMask } from '../../src/engine/ops/dropout.ts';

const backends = fastBackends();
const positive = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 0.5 + ((i * 7 + seed) % 5) * 0.3);

const cases: Array<{ name: string; f: (...xs: E.Tensor[]) => E.Tensor; specs: InputSpec[]; tol?: number }> = [
  { name: 'embedding (repeated ids scatter-add)', f: (w) => E.embedding(w!, [2, 0, 2, 1, 2]), specs: [{ shape: [4, 3] }] },
  { name: 'dropout p=0.3 (seeded mask)', f: (x) => E.dropout(x!, 0.3, new Rng(7), true), specs: [{ shape: [4, 5] }] },
  { name: 'attention N×C×L', f: (q, k, v) => E.attention(q!, k!, v!), specs: [{ shape: [2, 3, 5] }, { shape: [2, 3, 5] }, { shape: [2, 3, 5] }] },
  { name: 'softmax last axis', f: (x) => E.softmax(x!), specs: [{ shape: [3, 5] }] },
  { name: 'softmax axis 1 of 3-D', f: (x) => E.softmax(x!, 1), specs: [{ shape: [2, 3, 4] }] },
  { name: 'logSoftmax', f: (x) => E.logSoftmax(x!), specs: [{ shape: [3, 5] }] },
  { name: 'crossEntropy', f: (x) => E.crossEntropy(x!, [1, 0, 4]), specs: [{ shape: [3, 5] }] },
  { name: 'upsampleNearest2x', f: (x) => E.upsampleNearest2x(x!), specs: [{ shape: [2, 3, 3, 2] }] },
  { name: 'avgPool2d 3×3 s1 p1 count_include_pad=False', f: (x) => E.avgPool2d(x!, { kernel: 3, stride: 1, pad: 1, countIncludePad: false }), specs: [{ shape: [2, 2, 5, 4] }] },
  { name: 'avgPool2d 3×3 s2 p1 count_include_pad=True', f: (x) => E.avgPool2d(x!, { kernel: 3, stride: 2, pad: 1 }), specs: [{ shape: [1, 2, 6, 5] }] },
  { name: 'avgPool2d 2×2', f: (x) => E.avgPool2d(x!, { kernel: 2 }), specs: [{ shape: [1, 3, 4, 4] }] },
  { name: 'maxPool2d 3×3 s2', f: (x) => E.maxPool2d(x!, { kernel: 3, stride: 2 }), specs: [{ shape: [2, 2, 7, 7] }] },
  { name: 'maxPool2d 3×3 s1 p1', f: (x) => E.maxPool2d(x!, { kernel: 3, stride: 1, pad: 1 }), specs: [{ shape: [1, 2, 4, 5] }] },
  { name: 'globalAvgPool', f: (x) => E.globalAvgPool(x!), specs: [{ shape: [2, 3, 2, 3] }] },
  {
    name: 'batchNormInference',
    f: (x, m, v, g, b) => E.batchNormInference(x!, m!, v!, g!, b!, 1e-3),
    specs: [{ shape: [2, 3, 2, 2] }, { shape: [3], grad: false }, { shape: [3], grad: false, values: positive(3, 1) }, { shape: [3] }, { shape: [3] }],
  },
  { name: 'batchNormTrain (through batch statistics)', f: (x, g, b) => E.batchNormTrain(x!, g!, b!).y, specs: [{ shape: [3, 2, 2, 2] }, { shape: [2] }, { shape: [2] }] },
  { name: 'concat channels of NCHW', f: (a, b, c) => E.concat([a!, b!, c!], 1), specs: [{ shape: [2, 1, 2, 2] }, { shape: [2, 3, 2, 2] }, { shape: [2, 2, 2, 2] }] },
  { name: 'concat axis 0 and −1', f: (a, b) => E.concat([E.concat([a!, b!], 0), E.concat([b!, a!], 0)], -1), specs: [{ shape: [2, 3] }, { shape: [2, 3] }] },
  { name: 'narrow / sliceChannels', f: (x) => E.add(E.sliceChannels(x!, 1, 2), E.narrow(x!, 1, 0, 2)), specs: [{ shape: [2, 4, 2, 1] }] },
];

for (const c of cases) {
  test(`gradcheck float64 js: ${c.name}`, () => gradcheck(c.f, c.specs, { tol: c.tol ?? 1e-6 }));
  for (const b of backends) test(`parity ${b} vs js: ${c.name}`, () => parity(b, c.f, c.specs, { tol: 1e-4 }));
}

test('resizeBilinear parity on faster backends', () => {
  for (const b of backends) parity(b, (x) => E.resizeBilinear(x!, 11, 7), [{ shape: [2, 3, 5, 4], grad: false }]);
});

// ---- PyTorch reference values ---------------------------------------------------------------------

// Fixture fields are number, number[] or number[][] by case; the tests below know which.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Case = Record<string, any>;
const fixture = JSON.parse(readFileSync(new URL('../fixtures/engine/ops.json', import.meta.url), 'utf8')) as { cases: Record<string, Case> };
const fx = (name: string): Case => {
  const c = fixture.cases[name];
  assert.ok(c, `fixture case ${name} missing: rerun test/fixtures/engine/make_ops.py`);
  return c;
};
const T = (data: ArrayLike<number>, shape: readonly number[], requiresGrad = false) => E.tensor(data, shape, { requiresGrad });

test('resizeBilinear matches F.interpolate(bilinear, align_corners=False): up, down, 32→299', () => {
  E.useBackend('js');
  E.tidy(() => {
    for (const name of ['bilinear_up', 'bilinear_down']) {
      const c = fx(name);
      const y = E.resizeBilinear(T(c.x, c.shape), c.out[0]!, c.out[1]!);
      assert.deepEqual(y.shape, [c.shape[0], c.shape[1], c.out[0], c.out[1]]);
      assertClose(c.y, y.toArray(), 1e-6, name);
    }
    const c = fx('bilinear_299');
    const y = E.resizeBilinear(T(c.x, c.shape), 299, 299).toArray();
    assertClose(c.y, (c.idx as number[]).map((i) => y[i]!), 1e-6, 'bilinear 32→299');
  });
});

test('pooling matches PyTorch, including padding divisors and first-max gradient routing on ties', () => {
  E.useBackend('js');
  const ops: Record<string, (x: E.Tensor) => E.Tensor> = {
    avg_k3s1p1_nocip: (x) => E.avgPool2d(x, { kernel: 3, stride: 1, pad: 1, countIncludePad: false }),
    avg_k3s1p1_cip: (x) => E.avgPool2d(x, { kernel: 3, stride: 1, pad: 1, countIncludePad: true }),
    avg_k3s2p1_nocip: (x) => E.avgPool2d(x, { kernel: 3, stride: 2, pad: 1, countIncludePad: false }),
    max_k3s2: (x) => E.maxPool2d(x, { kernel: 3, stride: 2 }),
    max_k3s1p1: (x) => E.maxPool2d(x, { kernel: 3, stride: 1, pad: 1 }),
    max_k2s2: (x) => E.maxPool2d(x, { kernel: 2 }),
  };
  for (const [name, f] of Object.entries(ops)) {
    const c = fx(`pool_${name}`);
    const x = T(c.x, c.shape, true);
    E.tidy(() => {
      const y = f(x);
      assert.deepEqual(y.shape, c.yshape, name);
      assertClose(c.y, y.toArray(), 1e-6, `${name} forward`);
      E.backward(y, T(c.r, c.yshape));
    });
    assertClose(c.gx, x.grad!.toArray(), 1e-6, `${name} gradient`);
    x.grad!.dispose();
    x.dispose();
  }
});

test('batchNormTrain + updateRunningStats match BatchNorm2d in train mode (momentum 0.1, unbiased running var)', () => {
  E.useBackend('js');
  const c = fx('batchnorm_train');
  const x = T(c.x, c.shape, true);
  const gamma = T(c.gamma, [4], true);
  const beta = T(c.beta, [4], true);
  const rm = T(c.running_mean0, [4]);
  const rv = T(c.running_var0, [4]);
  E.tidy(() => {
    const r = E.batchNormTrain(x, gamma, beta);
    assertClose(c.y, r.y.toArray(), 1e-5, 'y');
    E.backward(r.y, T(c.r, c.shape));
    E.updateRunningStats(rm, rv, r);
  });
  assertClose(c.gx, x.grad!.toArray(), 1e-5, 'gx');
  assertClose(c.ggamma, gamma.grad!.toArray(), 1e-5, 'gγ');
  assertClose(c.gbeta, beta.grad!.toArray(), 1e-5, 'gβ');
  assertClose(c.running_mean1, rm.toArray(), 1e-6, 'running mean');
  assertClose(c.running_var1, rv.toArray(), 1e-6, 'running var');
  E.tidy(() => assertClose(c.y_eval, E.batchNormInference(x, rm, rv, gamma, beta).toArray(), 1e-5, 'eval-mode y'));
  for (const t of [x, gamma, beta]) t.grad!.dispose();
  for (const t of [x, gamma, beta, rm, rv]) t.dispose();
});

test('crossEntropy matches F.cross_entropy (mean) and its gradient', () => {
  E.useBackend('js');
  const c = fx('cross_entropy');
  const x = T(c.x, [4, 5], true);
  E.tidy(() => {
    const loss = E.crossEntropy(x, Int32Array.from(c.labels));
    assert.ok(Math.abs(loss.item() - c.loss) < 1e-5, `loss ${loss.item()} vs ${c.loss}`);
    E.backward(loss);
  });
  assertClose(c.gx, x.grad!.toArray(), 1e-6, 'gx');
  x.grad!.dispose();
  x.dispose();
});

test('attention matches the AttnBlock composition in PyTorch (bmm, softmax, bmm)', () => {
  E.useBackend('js');
  const c = fx('attention');
  const [q, k, v] = [c.q, c.k, c.v].map((d) => T(d, c.shape, true)) as [E.Tensor, E.Tensor, E.Tensor];
  E.tidy(() => {
    const y = E.attention(q, k, v);
    assertClose(c.y, y.toArray(), 1e-6, 'y');
    E.backward(y, T(c.r, c.shape));
  });
  assertClose(c.gq, q.grad!.toArray(), 1e-5, 'gq');
  assertClose(c.gk, k.grad!.toArray(), 1e-5, 'gk');
  assertClose(c.gv, v.grad!.toArray(), 1e-5, 'gv');
  for (const t of [q, k, v]) { t.grad!.dispose(); t.dispose(); }
});

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_ (clipped and untouched)', () => {
  E.useBackend('js');
  for (const name of ['clipgrad_clip', 'clipgrad_noclip']) {
    const c = fx(name);
    const ps = (c.shapes as number[][]).map((s) => E.zeros(s, { requiresGrad: true }));
    ps.forEach((p, i) => { p.grad = T(c.g0[i]!, c.shapes[i]!); });
    const norm = E.clipGradNorm(ps, 1.0);
    assert.ok(Math.abs(norm - c.norm) < 1e-5 * Math.max(1, norm), `${name}: norm ${norm} vs ${c.norm}`);
    ps.forEach((p, i) => assertClose(c.g1[i]!, p.grad!.toArray(), 1e-6, `${name} grad ${i}`));
    assert.equal(E.gradNorm([]), 0);
    for (const p of ps) { p.grad!.dispose(); p.dispose(); }
  }
});

test('clipGradNorm uses max_norm / (norm + 1e-6) exactly (float64)', () => {
  E.useBackend('js');
  const p = E.zeros([2], { dtype: 'float64', requiresGrad: true });
  p.grad = E.tensor([3, 4], [2], { dtype: 'float64' });
  const noGrad = E.zeros([1], { requiresGrad: true });
  assert.equal(E.clipGradNorm([p, noGrad], 1), 5, 'parameters without a grad are skipped');
  const coef = 1 / (5 + 1e-6);
  assert.deepEqual(Array.from(p.grad.toArray()), [3 * coef, 4 * coef]);
  p.grad.dispose();
  p.dispose();
  noGrad.dispose();
});

// ---- behaviour ----------------------------------------------------------------------------------

test('dropout: inverted scaling, drop rate, identity in eval / p=0, zeros at p=1, seeded reproducibility', () => {
  E.useBackend('js');
  E.tidy(() => {
    const x = E.full([100, 100], 2);
    const y = E.dropout(x, 0.25, new Rng(3), true).toArray();
    let dropped = 0;
    for (const v of y) {
      if (v === 0) dropped++;
      else assert.ok(Math.abs(v - 2 / 0.75) < 1e-6, `kept value ${v} is not x/(1−p)`);
    }
    assert.ok(Math.abs(dropped / 1e4 - 0.25) < 0.02, `drop rate ${dropped / 1e4}`);
    assert.deepEqual(E.dropout(x, 0.25, new Rng(3), true).toArray(), y, 'same seed, same mask');
    assert.notDeepEqual(E.dropout(x, 0.25, new Rng(4), true).toArray(), y, 'other seed, other mask');
    const rng = new Rng(5);
    const before = JSON.stringify(rng.state());
    assert.equal(E.dropout(x, 0.25, rng, false), x, 'eval mode is the identity');
    assert.equal(E.dropout(x, 0, rng, true), x, 'p = 0 is the identity');
    assert.equal(JSON.stringify(rng.state()), before, 'identity draws nothing');
    assert.ok(E.dropout(x, 1, rng, true).toArray().every((v) => v === 0));
    assert.throws(() => E.dropout(x, 1.5, rng, true), /dropout: probability must be in \[0, 1\], got 1.5/);
  });
});

test('dropout mask: the documented hash (values from an independent Python implementation), rate and independence', () => {
  // fmix32(fmix32(i + s0) ^ s1), computed in Python with explicit 32-bit masking.
  assert.deepEqual([0, 1, 2, 1_000_000].map((i) => dropoutBits(i, 123456789, 987654321)), [1031738543, 3122686208, 894831789, 2077192692]);
  assert.deepEqual([0, 1].map((i) => dropoutBits(i, 0xffffffff, 0)), [3807975093, 0], 'i + s0 wraps modulo 2^32');
  const n = 200_000;
  for (const p of [0.1, 0.5]) {
    const m = dropoutMask(n, p, 11, 22);
    const k = m.map((v) => (v === 0 ? 0 : 1));
    const rate = 1 - k.reduce((a, v) => a + v, 0) / n;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(rate - p) < 5 * sd, `p=${p}: drop rate ${rate}`);
    // neighbours and the next call's mask are uncorrelated (|corr| < 5/√n)
    const corr = (a: Float64Array, b: Float64Array) => {
      let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
      for (let i = 0; i < a.length; i++) { sa += a[i]!; sb += b[i]!; sab += a[i]! * b[i]!; saa += a[i]! * a[i]!; sbb += b[i]! * b[i]!; }
      const L = a.length;
      return (sab / L - (sa / L) * (sb / L)) / Math.sqrt((saa / L - (sa / L) ** 2) * (sbb / L - (sb / L) ** 2));
    };
    assert.ok(Math.abs(corr(k.subarray(0, n - 1), k.subarray(1))) < 5 / Math.sqrt(n), 'lag-1 correlation');
    const other = dropoutMask(n, p, 12, 22).map((v) => (v === 0 ? 0 : 1));
    assert.ok(Math.abs(corr(k, other)) < 5 / Math.sqrt(n), 'masks of consecutive seeds are independent');
  }
});

test('dropout on faster backends equals js bit for bit on a large tensor (many chunks and threads)', () => {
  for (const b of backends) {
    const x = new Rng(9).fillNormal(new Float32Array(300_001)) as Float32Array;
    const run = (name: string) => {
      E.useBackend(name);
      return E.tidy(() => {
        const t = E.tensor(x, [x.length], { requiresGrad: true });
        const y = E.dropout(t, 0.1, new Rng(4), true);
        E.backward(E.sum(E.mul(y, y)));
        return [y.toArray(), t.grad!.toArray()];
      });
    };
    const [yj, gj] = run('js');
    const [yb, gb] = run(b);
    assert.deepEqual(yb, yj, `${b} forward`);
    assert.deepEqual(gb, gj, `${b} backward`);
  }
});

test('softmax rows sum to one and survive huge logits; crossEntropy equals −mean logSoftmax at the labels', () => {
  E.useBackend('js');
  E.tidy(() => {
    const x = T([1000, 1001, 999, -1e4, 0, 1e4], [2, 3]);
    const p = E.softmax(x).toArray();
    assert.ok(p.every((v) => Number.isFinite(v)));
    assertClose([p[0]! + p[1]! + p[2]!, p[3]! + p[4]! + p[5]!], [1, 1], 1e-6, 'row sums');
    const lp = E.logSoftmax(x).toArray();
    assert.ok(Math.abs(lp[1]! - -Math.log(1 + Math.exp(-1) + Math.exp(-2))) < 1e-5);
    const ce = E.crossEntropy(x, [2, 1]).item();
    assert.ok(Math.abs(ce - -(lp[2]! + lp[4]!) / 2) < 1e-3);
  });
});

test('upsampleNearest2x copies each pixel to a 2×2 block; concat/narrow round-trip', () => {
  E.useBackend('js');
  E.tidy(() => {
    const y = E.upsampleNearest2x(T([1, 2, 3, 4], [1, 1, 2, 2]));
    assert.deepEqual(Array.from(y.toArray()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const a = T([1, 2, 3, 4], [2, 2]);
    const b = T([5, 6], [2, 1]);
    const c = E.concat([a, b], 1);
    assert.deepEqual(Array.from(c.toArray()), [1, 2, 5, 3, 4, 6]);
    assert.deepEqual(Array.from(E.narrow(c, 1, 2, 1).toArray()), [5, 6]);
    assert.deepEqual(Array.from(E.globalAvgPool(T([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2])).toArray()), [2.5, 6.5]);
  });
});

test('errors name the op, the range and the shapes', () => {
  E.useBackend('js');
  E.tidy(() => {
    const w = E.zeros([10, 4]);
    assert.throws(() => E.embedding(w, [3, 10]), /embedding: id 10 at position 1 is outside the valid range \[0, 9\] \(10 rows in the table\)/);
    assert.throws(() => E.embedding(w, [-1]), /embedding: id -1 .*\[0, 9\]/);
    assert.throws(() => E.crossEntropy(E.zeros([2, 3]), [0, 3]), /crossEntropy: label 3 at position 1 is outside the valid range \[0, 2\] \(3 classes\)/);
    assert.throws(() => E.crossEntropy(E.zeros([2, 3]), [0]), /crossEntropy: 1 labels for \[2, 3\]/);
    assert.throws(() => E.attention(E.zeros([1, 2, 3]), E.zeros([1, 2, 4]), E.zeros([1, 2, 3])), /attention: k must have shape \[1, 2, 3\], got \[1, 2, 4\]/);
    assert.throws(() => E.concat([E.zeros([1, 2, 3, 3]), E.zeros([1, 2, 4, 3])]), /concat: shapes must match except along axis 1: \[1, 2, 3, 3\] vs \[1, 2, 4, 3\]/);
    assert.throws(() => E.maxPool2d(E.zeros([1, 1, 4, 4]), { kernel: 3, pad: 2 }), /maxPool2d: pad 2 must be at most half the kernel size 3/);
    assert.throws(() => E.avgPool2d(E.zeros([1, 1, 2, 2]), { kernel: 3 }), /avgPool2d: a 3×3 window .* does not fit input \[1, 1, 2, 2\]/);
    assert.throws(() => E.upsampleNearest2x(E.zeros([2, 2])), /upsampleNearest2x: input must be 4-D, got \[2, 2\]/);
    assert.throws(() => E.batchNormTrain(E.zeros([2, 3, 2]), E.zeros([2]), E.zeros([2])), /batchNormTrain: per-channel parameters must have 3 elements/);
    assert.throws(() => E.batchNormTrain(E.zeros([1, 3, 1, 1]), E.zeros([3]), E.zeros([3])), /more than 1 value per channel/);
    assert.throws(() => E.softmax(E.zeros([2, 3]), 2), /softmax: axis 2 is out of range for \[2, 3\]/);
    assert.throws(() => E.narrow(E.zeros([2, 3]), 1, 2, 2), /narrow: range \[2, 4\) is outside \[0, 3\) on axis 1/);
    assert.throws(() => E.resizeBilinear(E.zeros([1, 1, 2, 2]), 0, 3), /resizeBilinear: output size/);
    assert.throws(() => E.clipGradNorm([], 0), /clipGradNorm: maxNorm must be positive/);
  });
});

test('no graph, no saved buffers: attention under noGrad frees its probabilities at once', () => {
  E.useBackend('js');
  const be = E.currentBackend();
  const q = E.zeros([1, 2, 8]);
  const bytes = be.liveBytes();
  const y = E.noGrad(() => E.attention(q, q, q));
  assert.equal(be.liveBytes(), bytes + y.size * 4, 'only the output stays allocated');
  y.dispose();
  q.dispose();
});
