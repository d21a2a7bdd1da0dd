/**
 * Inverted dropout, as PyTorch's `F.dropout`: in training each element is kept with probability
 * 1 − p and scaled by 1/(1 − p), so the expectation is unchanged; in eval it is the identity.
 *   x any shape → y same shape,  y = x ⊙ mask,  mask_i ∈ {0, 1/(1−p)}.
 * The mask is counter-based (src/engine/js/dropout.ts): two `nextU32()` draws from the caller's
 * `Rng` seed it, element i's fate is a hash of (i, seeds). Every backend applies the same mask,
 * nothing is stored for the backward (it recomputes the mask), and a resumed run (RNG state in
 * the checkpoint) draws the same masks.
 */
import type { Rng } from '../../util/rng.ts';
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { dropoutBits, dropoutThreshold } from '../js/dropout.ts';
import { newLike, st } from './util.ts';

/** The dropout mask for n elements and seeds (s0, s1): 0 for dropped, 1/(1−p) for kept. */
export function dropoutMask(n: number, p: number, s0: number, s1: number): Float64Array {
  const mask = new Float64Array(n);
  if (p >= 1) return mask;
  const thr = dropoutThreshold(p);
  for (let i = 0; i < n; i++) mask[i] = dropoutBits(i, s0, s1) < thr ? 0 : 1 / (1 - p);
  return mask;
}

/**
 * Dropout with drop probability `p` ∈ [0, 1]. Returns `x` itself (no copy, no RNG draws) when
 * `training` is false or p = 0, as PyTorch does.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const be = x.backend;
  const s0 = rng.nextU32();
  const s1 = rng.nextU32();
  const y = newLike(x);
  if (p >= 1) be.fill(st(y, 'dropout'), 0);
  else be.dropout(st(x, 'dropout'), st(y, 'dropout'), p, s0, s1);
  return record('dropout', [x], y, (gy) => {
    const gx = newLike(x);
    if (p >= 1) be.fill(st(gx, 'dropout.backward'), 0);
    else be.dropout(st(gy, 'dropout.backward'), st(gx, 'dropout.backward'), p, s0, s1);
    return [gx];
  });
}
