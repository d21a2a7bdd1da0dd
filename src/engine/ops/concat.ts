/**
 * Concatenation and slicing of contiguous tensors along any axis (channels of NCHW for the UNet's
 * skip connections). Around axis a a tensor is `outer` = Π shape[<a] blocks of shape[a]·inner
 * elements (inner = Π shape[>a]); both ops are one strided block copy per input (`copyBlocks`).
 *   concat: xs_t with equal shapes except at a → y with Σ_t shape_t[a] at a. Backward: slices.
 *   narrow: x → the `length` entries from `start` along a (torch.narrow). Backward: zero-padded copy.
 * Neither saves tensors, only shapes.
 */
import { Tensor, fmtShape } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkSame, newLike, outputLike, st } from './util.ts';

function normAxis(op: string, shape: readonly number[], axis: number): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (!(Number.isInteger(a) && a >= 0 && a < shape.length)) throw new Error(`${op}: axis ${axis} is out of range for shape ${fmtShape(shape)}`);
  return a;
}

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Concatenate tensors along `axis` (default 1, the channels of NCHW). */
export function concat(xs: readonly Tensor[], axis = 1): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  checkSame('concat', ...xs);
  const first = xs[0]!;
  const a = normAxis('concat', first.shape, axis);
  for (const t of xs) {
    const ok = t.shape.length === first.shape.length && t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new Error(`concat: shapes must match except along axis ${a}: ${xs.map((x) => fmtShape(x.shape)).join(' vs ')}`);
  }
  const outer = prod(first.shape.slice(0, a));
  const inner = prod(first.shape.slice(a + 1));
  const sizes = xs.map((t) => t.shape[a]!);
  const total = sizes.reduce((p, d) => p + d, 0);
  const shape = [...first.shape];
  shape[a] = total;
  const be = first.backend;
  const y = outputLike(first, shape);  // the blocks cover every element
  const yStride = total * inner;
  let off = 0;
  const offsets = sizes.map((s) => { const o = off; off += s; return o; });
  xs.forEach((t, i) => {
    const len = sizes[i]! * inner;
    be.copyBlocks(st(t, 'concat'), 0, len, st(y, 'concat'), offsets[i]! * inner, yStride, len, outer);
  });
  return record('concat', [...xs], y, (gy) => xs.map((t, i) => {
    if (!t.requiresGrad) return null;
    const len = sizes[i]! * inner;
    const gx = newLike(t);
    be.copyBlocks(st(gy, 'concat.backward'), offsets[i]! * inner, yStride, st(gx, 'concat.backward'), 0, len, len, outer);
    return gx;
  }));
}

/** The `length` entries of x from `start` along `axis` (a copy; differentiable). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', x.shape, axis);
  const n = x.shape[a]!;
  if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 0 && start + length <= n)) {
    throw new Error(`narrow: range [${start}, ${start + length}) is outside [0, ${n}) on axis ${a} of ${x.describe()}`);
  }
  const outer = prod(x.shape.slice(0, a));
  const inner = prod(x.shape.slice(a + 1));
  const shape = [...x.shape];
  shape[a] = length;
  const be = x.backend;
  const y = newLike(x, shape);
  const len = length * inner;
  be.copyBlocks(st(x, 'narrow'), start * inner, n * inner, st(y, 'narrow'), 0, len, len, outer);
  return record('narrow', [x], y, (gy) => {
    const gx = newLike(x);
    be.copyBlocks(st(gy, 'narrow.backward'), 0, len, st(gx, 'narrow.backward'), start * inner, n * inner, len, outer);
    return [gx];
  });
}

/** Channels [start, start + length) of an N×C×… tensor. */
export function sliceChannels(x: Tensor, start: number, length: number): Tensor {
  return narrow(x, 1, start, length);
}
