/**
 * Elementwise arithmetic with broadcasting, plus scalar affine maps.
 *
 * Broadcasting follows NumPy's rule (shapes aligned on the right, size-1 dims stretch) for the
 * patterns a UNet needs, all reducible to a view O×C×I of the larger operand with the smaller one
 * covering C (bias [C] over NCHW) or O×C (time embedding [N,C,1,1] over NCHW) or nothing (scalar).
 * Other patterns are rejected with the shapes named.
 */
import { Tensor, fmtShape } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkSame, newLike, outputLike, st } from './util.ts';

/** How `small` broadcasts over `big`: big viewed as O×C×I, small covering the C block. */
interface BroadcastPlan { O: number; C: number; I: number }

function plan(op: string, big: readonly number[], small: readonly number[]): BroadcastPlan {
  if (small.length > big.length) throw new Error(`${op}: cannot broadcast ${fmtShape(small)} to ${fmtShape(big)}`);
  const s = [...new Array(big.length - small.length).fill(1), ...small];
  for (let i = 0; i < big.length; i++) {
    if (s[i] !== 1 && s[i] !== big[i]) throw new Error(`${op}: shapes ${fmtShape(big)} and ${fmtShape(small)} do not broadcast`);
  }
  // Find the contiguous run of non-1 dims in s; dims before it are O, after it are I.
  const first = s.findIndex((d) => d !== 1);
  if (first < 0) return { O: 1, C: 1, I: prod(big) };
  let last = first;
  for (let i = first; i < s.length; i++) if (s[i] !== 1) last = i;
  for (let i = first; i <= last; i++) {
    if (s[i] === 1 && big[i] !== 1) {
      throw new Error(`${op}: broadcasting ${fmtShape(small)} over ${fmtShape(big)} is not supported (non-contiguous broadcast dims)`);
    }
  }
  // e.g. [N,C,1,1] over [N,C,H,W]: O = 1, C = N·C, I = H·W;  [C] over [N,C]: O = N, C, I = 1.
  return { O: prod(big.slice(0, first)), C: prod(big.slice(first, last + 1)), I: prod(big.slice(last + 1)) };
}

function prod(a: readonly number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** a + b (b may broadcast over a, or a over b). */
export function add(a: Tensor, b: Tensor): Tensor {
  checkSame('add', a, b);
  if (sameShape(a, b)) {
    const out = outputLike(a);
    a.backend.add(st(a, 'add'), st(b, 'add'), st(out, 'add'));
    return record('add', [a, b], out, (gy) => [gy, gy]);
  }
  const [big, small, swapped] = a.size >= b.size ? [a, b, false] : [b, a, true];
  const p = plan('add', big.shape, small.shape);
  const out = outputLike(big);
  big.backend.addBroadcast(st(big, 'add'), st(small, 'add'), p.O, p.C, p.I, st(out, 'add'));
  return record('add', [a, b], out, (gy) => {
    const gs = newLike(small);
    gy.backend.sumBroadcast(st(gy, 'add.backward'), p.O, p.C, p.I, st(gs, 'add.backward'));
    return swapped ? [gs, gy] : [gy, gs];
  });
}

/** a − b (same shape). */
export function sub(a: Tensor, b: Tensor): Tensor {
  checkSame('sub', a, b);
  if (!sameShape(a, b)) throw new Error(`sub: shapes must match, got ${a.describe()} and ${b.describe()}`);
  const out = newLike(a);
  a.backend.sub(st(a, 'sub'), st(b, 'sub'), st(out, 'sub'));
  return record('sub', [a, b], out, (gy) => [gy, scale(gy, -1)]);
}

/** a ⊙ b (same shape). Saves a and b. */
export function mul(a: Tensor, b: Tensor): Tensor {
  checkSame('mul', a, b);
  if (!sameShape(a, b)) throw new Error(`mul: shapes must match, got ${a.describe()} and ${b.describe()}`);
  const out = newLike(a);
  a.backend.mul(st(a, 'mul'), st(b, 'mul'), st(out, 'mul'));
  return record('mul', [a, b], out, (gy) => {
    const ga = newLike(a);
    const gb = newLike(b);
    gy.backend.mul(st(gy, 'mul.backward'), st(b, 'mul.backward'), st(ga, 'mul.backward'));
    gy.backend.mul(st(gy, 'mul.backward'), st(a, 'mul.backward'), st(gb, 'mul.backward'));
    return [ga, gb];
  });
}

/** alpha·a + beta. */
export function affine(a: Tensor, alpha: number, beta = 0): Tensor {
  const out = newLike(a);
  a.backend.affine(st(a, 'affine'), alpha, beta, st(out, 'affine'));
  return record('affine', [a], out, (gy) => [alpha === 1 ? gy : scale(gy, alpha)]);
}

/** alpha·a. */
export function scale(a: Tensor, alpha: number): Tensor {
  return affine(a, alpha, 0);
}
