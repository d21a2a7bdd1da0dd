/**
 * Tensor factories. All create on the current backend unless told otherwise.
 */
import type { Backend } from '../backend.ts';
import type { DType } from '../dtype.ts';
import { currentBackend } from '../context.ts';
import { Tensor, empty, shapeSize, fmtShape } from '../tensor.ts';
import type { Rng } from '../../util/rng.ts';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
  name?: string;
}

/** A tensor holding `data` (copied) with the given shape. */
export function tensor(data: ArrayLike<number>, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  if (shapeSize(shape) !== data.length) {
    throw new Error(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${shapeSize(shape)} elements)`);
  }
  const t = empty(shape, opts.dtype ?? 'float32', opts.backend ?? currentBackend());
  t.backend.write(t.storageFor('tensor'), data);
  t.requiresGrad = opts.requiresGrad ?? false;
  t.name = opts.name;
  return t;
}

/** A zero-filled tensor. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  const t = empty(shape, opts.dtype ?? 'float32', opts.backend ?? currentBackend());
  t.requiresGrad = opts.requiresGrad ?? false;
  t.name = opts.name;
  return t;
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const t = zeros(shape, opts);
  t.backend.fill(t.storageFor('full'), value);
  return t;
}

/** N(0, 1) samples drawn from `rng` (host-side, so every backend gets the same numbers). */
export function randn(shape: readonly number[], rng: Rng, opts: CreateOptions = {}): Tensor {
  const n = shapeSize(shape);
  const data = rng.fillNormal(new Float64Array(n));
  return tensor(data, shape, opts);
}

/** U[lo, hi) samples drawn from `rng`. */
export function rand(shape: readonly number[], rng: Rng, lo = 0, hi = 1, opts: CreateOptions = {}): Tensor {
  const n = shapeSize(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return tensor(data, shape, opts);
}
