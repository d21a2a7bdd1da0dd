/** Small helpers shared by op files: output allocation and argument checks with clear errors. */
import { Tensor, empty, fmtShape } from '../tensor.ts';

/** A new tensor on `like`'s backend with `like`'s dtype. */
export function newLike(like: Tensor, shape: readonly number[] = like.shape): Tensor {
  return empty(shape, like.dtype, like.backend);
}

/**
 * A new output tensor that the op's kernel overwrites completely (every backend's kernel, including
 * the js reference): its memory may be a reused buffer that is not zeroed first.
 */
export function outputLike(like: Tensor, shape: readonly number[] = like.shape): Tensor {
  return empty(shape, like.dtype, like.backend, 'overwritten');
}

/** Throw unless all tensors share dtype and backend. */
export function checkSame(op: string, ...ts: Tensor[]): void {
  const a = ts[0]!;
  for (const t of ts) {
    if (t.dtype !== a.dtype) throw new Error(`${op}: dtype mismatch: ${a.describe()} vs ${t.describe()}`);
    if (t.backend !== a.backend) throw new Error(`${op}: tensors live on different backends (${a.backend.name} vs ${t.backend.name})`);
  }
}

/** Throw unless `t` has exactly `shape` (−1 matches anything). */
export function checkShape(op: string, what: string, t: Tensor, shape: readonly number[]): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${op}: ${what} must have shape ${fmtShape(shape.map((d) => (d === -1 ? NaN : d))).replace(/NaN/g, '*')}, got ${t.describe()}`);
}

/** Throw unless `t` has `rank` dimensions. */
export function checkRank(op: string, what: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new Error(`${op}: ${what} must be ${rank}-D, got ${t.describe()}`);
}

/** Storage of a tensor for use by op `op`. */
export function st(t: Tensor, op: string) {
  return t.storageFor(op);
}
