/**
 * The engine's test harness (tinygrad/tfjs style): one helper checks any op's gradients against
 * float64 central differences on `js`, another runs an op on two backends and compares.
 */
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { backward } from '../../src/engine/autograd.ts';
import { tidy, noGrad, setCurrentBackend } from '../../src/engine/context.ts';
import { getBackend, backendAvailable } from '../../src/engine/backends.ts';
import type { Backend, BackendName } from '../../src/engine/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import { cudaShimBackend } from './cuda-shim.ts';

export interface InputSpec {
  shape: number[];
  /** Differentiate w.r.t. this input (default true). */
  grad?: boolean;
  /** Custom values (default N(0,1) from the seeded rng). */
  values?: ArrayLike<number>;
}

function makeInputs(specs: InputSpec[], seed: number, dtype: 'float32' | 'float64', backend: Backend): { data: Float64Array[]; ts: Tensor[] } {
  const rng = new Rng(seed);
  const data = specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return s.values ? Float64Array.from(s.values) : rng.fillNormal(new Float64Array(n)) as Float64Array;
  });
  const ts = specs.map((s, i) => tensor(data[i]!, s.shape, { dtype, backend, requiresGrad: s.grad ?? true }));
  return { data, ts };
}

/**
 * Finite-difference gradient check in float64 on `js`: the analytic gradient of
 * L = Σ r ⊙ f(inputs) (r a fixed random projection) must match central differences for every
 * input element, to `tol` relative (max-abs-normalised).
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], opts: { seed?: number; eps?: number; tol?: number; maxElems?: number } = {}): void {
  const js = getBackend('js');
  setCurrentBackend(js);
  const eps = opts.eps ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const seed = opts.seed ?? 1;
  const { data, ts } = makeInputs(specs, seed, 'float64', js);
  const out0 = noGrad(() => f(...ts));
  const rng = new Rng(seed + 1000);
  const r = rng.fillNormal(new Float64Array(out0.size)) as Float64Array;
  const outShape = [...out0.shape];
  out0.dispose();
  const loss = (xs: Tensor[]): number => noGrad(() => tidy(() => {
    const y = f(...xs).toArray();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += r[i]! * y[i]!;
    return s;
  }));
  // analytic
  tidy(() => {
    const y = f(...ts);
    backward(y, tensor(r, outShape, { dtype: 'float64', backend: js }));
  });
  specs.forEach((s, k) => {
    if (s.grad === false) return;
    const analytic = ts[k]!.grad?.toArray();
    assert.ok(analytic, `gradcheck: input ${k} got no gradient`);
    const n = data[k]!.length;
    const idx = pickIndices(n, opts.maxElems ?? 400, seed + k);
    let maxErr = 0;
    let maxRef = 1e-12;
    for (const i of idx) {
      const orig = data[k]![i]!;
      const plus = data.map((d) => Float64Array.from(d));
      const minus = data.map((d) => Float64Array.from(d));
      plus[k]![i] = orig + eps;
      minus[k]![i] = orig - eps;
      const tp = plus.map((d, j) => tensor(d, specs[j]!.shape, { dtype: 'float64', backend: js }));
      const tm = minus.map((d, j) => tensor(d, specs[j]!.shape, { dtype: 'float64', backend: js }));
      const num = (loss(tp) - loss(tm)) / (2 * eps);
      tp.forEach((t) => t.dispose());
      tm.forEach((t) => t.dispose());
      maxErr = Math.max(maxErr, Math.abs(num - analytic![i]!));
      maxRef = Math.max(maxRef, Math.abs(num));
    }
    assert.ok(maxErr / maxRef < tol, `gradcheck: input ${k} ${JSON.stringify(s.shape)}: max |numeric − analytic| = ${maxErr.toExponential(3)} (relative ${(maxErr / maxRef).toExponential(3)} ≥ ${tol})`);
  });
  ts.forEach((t) => { t.grad?.dispose(); t.dispose(); });
}

function pickIndices(n: number, max: number, seed: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  return Array.from({ length: max }, () => rng.int(n));
}

/**
 * Run f forward and backward on `js` and on `other` (float32, same inputs) and compare outputs
 * and input gradients to `tol` (max |a − b| / max(1, max |a|)).
 */
export function parity(other: BackendName, f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], opts: { seed?: number; tol?: number } = {}): void {
  const tol = opts.tol ?? 1e-5;
  const results = (['js', other] as BackendName[]).map((name) => {
    const be = getBackend(name);
    setCurrentBackend(be);
    const { ts } = makeInputs(specs, opts.seed ?? 3, 'float32', be);
    const r = new Rng(99);
    const res = tidy(() => {
      const y = f(...ts);
      const proj = tensor(r.fillNormal(new Float64Array(y.size)), [...y.shape], { backend: be });
      const out = y.toArray();
      if (y.requiresGrad) backward(y, proj);
      return out;
    });
    const grads = ts.map((t) => (t.grad ? t.grad.toArray() : null));
    ts.forEach((t) => { t.grad?.dispose(); t.dispose(); });
    return { out: res, grads };
  });
  const [a, b] = results as [typeof results[0], typeof results[0]];
  assertClose(a.out, b.out, tol, `output (${other} vs js)`);
  a.grads.forEach((g, i) => {
    if (g && b.grads[i]) assertClose(g, b.grads[i]!, tol, `grad of input ${i} (${other} vs js)`);
  });
}

/** How `relativeError` scales differences. */
export interface CloseOptions {
  /**
   * Smallest scale (default 1: values below 1 in size are compared absolutely; 1e-30 makes the
   * comparison purely relative).
   */
  floor?: number;
  /** Scale each element by its own |ref| (default: all by the largest |ref|). */
  elementwise?: boolean;
}

/**
 * The one closeness measure of the tests: max |got − ref| / max(floor, max |ref|), or with
 * `elementwise` max over i of |got_i − ref_i| / max(floor, |ref_i|). Infinity when the lengths
 * differ or a NaN appears on one side only.
 */
export function relativeError(ref: ArrayLike<number>, got: ArrayLike<number>, opts: CloseOptions = {}): number {
  if (ref.length !== got.length) return Infinity;
  const floor = opts.floor ?? 1;
  let maxErr = 0, maxRef = floor, worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]!) !== Number.isNaN(got[i]!)) return Infinity;
    if (Number.isNaN(ref[i]!)) continue;
    const d = Math.abs(got[i]! - ref[i]!);
    if (opts.elementwise) worst = Math.max(worst, d / Math.max(floor, Math.abs(ref[i]!)));
    maxErr = Math.max(maxErr, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return opts.elementwise ? worst : maxErr / maxRef;
}

/** `relativeError(ref, got, opts) < tol`, with the error named in the message. */
export function assertClose(ref: ArrayLike<number>, got: ArrayLike<number>, tol: number, what: string, opts: CloseOptions = {}): void {
  assert.equal(got.length, ref.length, `${what}: lengths ${ref.length} vs ${got.length}`);
  const err = relativeError(ref, got, opts);
  assert.ok(err < tol, `${what}: ${Number.isFinite(err) ? `scaled error ${err.toExponential(3)}` : 'NaN mismatch'} ≥ ${tol}`);
}

/**
 * Backends other than js that are available here (parity tests run on each, skip otherwise),
 * including `cuda-shim`: the cuda kernels compiled for the CPU (test/engine/cuda-shim.ts).
 */
export function fastBackends(): BackendName[] {
  cudaShimBackend();
  return (['cpu', 'cuda', 'cuda-shim'] as BackendName[]).filter((n) => backendAvailable(n));
}
