/**
 * Inverted dropout, as PyTorch's `F.dropout`: in training each element is kept with probability
 * 1 − p and scaled by 1/(1 − p), so the expectation is unchanged; in eval it is the identity.
 *   x any shape → y same shape,  y = x ⊙ mask,  mask_i ∈ {0, 1/(1−p)}.  Saves the mask.
 * The mask is drawn on the host from the caller's `Rng` in a fixed order (one `nextU32()` per
 * element in flat index order; element i is dropped iff u_i < p·2³²), so every backend applies the
 * same mask and a resumed run (RNG state in the checkpoint) draws the same masks.
 */
import type { Rng } from '../../util/rng.ts';
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { tensor } from './create.ts';
import { newLike, st } from './util.ts';

/** The dropout mask for n elements: 0 for dropped, 1/(1−p) for kept (all 0 when p = 1). */
export function dropoutMask(n: number, p: number, rng: Rng, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  const mask = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  if (p >= 1) return mask;
  const threshold = p * 0x100000000;
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = rng.nextU32() < threshold ? 0 : keep;
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
  const mask = tensor(dropoutMask(x.size, p, rng, x.dtype), x.shape, { dtype: x.dtype, backend: be });
  const y = newLike(x);
  be.mul(st(x, 'dropout'), st(mask, 'dropout'), st(y, 'dropout'));
  const out = record('dropout', [x], y, (gy) => {
    const gx = newLike(x);
    be.mul(st(gy, 'dropout.backward'), st(mask, 'dropout.backward'), st(gx, 'dropout.backward'));
    return [gx];
  });
  if (out.node === null) mask.dispose();
  return out;
}
