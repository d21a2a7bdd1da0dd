/**
 * Reductions to a scalar and the regression losses built on them.
 *   sum(a) = Σ a            mean(a) = Σ a / n
 *   mse(a, b) = Σ (a − b)² / n
 *   weightedMse(a, b, w) = Σ_n w_n Σ_d (a − b)² / (N·D)   (a, b viewed as N×D, w of length N)
 * The last is the CBDM regulariser's mean(w · (h − h′)²) with a per-sample weight.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkSame, newLike, st } from './util.ts';
import { affine } from './arith.ts';

function scalarLike(a: Tensor, v: number): Tensor {
  const out = newLike(a, []);
  a.backend.fill(st(out, 'scalar'), v);
  return out;
}

/** Σ a, as a scalar tensor. */
export function sum(a: Tensor): Tensor {
  const out = scalarLike(a, a.backend.sumAll(st(a, 'sum')));
  return record('sum', [a], out, (gy) => [broadcastScalar(gy, a, 1)]);
}

/** Σ a / n. */
export function mean(a: Tensor): Tensor {
  const n = a.size;
  const out = scalarLike(a, a.backend.sumAll(st(a, 'mean')) / n);
  return record('mean', [a], out, (gy) => [broadcastScalar(gy, a, 1 / n)]);
}

/** mean((a − b)²). Saves a and b. */
export function mse(a: Tensor, b: Tensor): Tensor {
  checkSame('mse', a, b);
  if (a.size !== b.size) throw new Error(`mse: sizes differ: ${a.describe()} vs ${b.describe()}`);
  const n = a.size;
  const out = scalarLike(a, a.backend.sumSquaredDiff(st(a, 'mse'), st(b, 'mse')) / n);
  return record('mse', [a, b], out, (gy) => {
    // ∂/∂a = 2(a − b)/n · gy, ∂/∂b = −∂/∂a
    const g = gy.item() * 2 / n;
    const d = newLike(a);
    a.backend.sub(st(a, 'mse.backward'), st(b, 'mse.backward'), st(d, 'mse.backward'));
    return [affine(d, g), affine(d, -g)];
  });
}

/** mean over N×D of w_n·(a − b)², w of length N (no gradient flows into w). Saves a, b, w. */
export function weightedMse(a: Tensor, b: Tensor, w: Tensor): Tensor {
  checkSame('weightedMse', a, b, w);
  if (a.size !== b.size) throw new Error(`weightedMse: sizes differ: ${a.describe()} vs ${b.describe()}`);
  const N = a.shape[0]!;
  if (w.size !== N) throw new Error(`weightedMse: w must have one weight per sample (${N}), got ${w.describe()}`);
  const D = a.size / N;
  const n = a.size;
  const out = scalarLike(a, a.backend.weightedSquaredDiff(st(a, 'weightedMse'), st(b, 'weightedMse'), st(w, 'weightedMse'), N, D) / n);
  return record('weightedMse', [a, b, w], out, (gy) => {
    const g = gy.item() * 2 / n;
    const d = newLike(a);
    a.backend.sub(st(a, 'weightedMse.backward'), st(b, 'weightedMse.backward'), st(d, 'weightedMse.backward'));
    const wd = newLike(a);
    a.backend.mulRows(st(d, 'weightedMse.backward'), st(w, 'weightedMse.backward'), N, D, st(wd, 'weightedMse.backward'));
    d.dispose();
    return [affine(wd, g), affine(wd, -g), null];
  });
}

/** A tensor shaped like `like` filled with scale·gy (gy a scalar). */
function broadcastScalar(gy: Tensor, like: Tensor, scale: number): Tensor {
  const out = newLike(like);
  like.backend.fill(st(out, 'broadcast'), gy.item() * scale);
  return out;
}
