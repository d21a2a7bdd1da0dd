/**
 * Embedding lookup: the class embedding (and the sinusoidal time table) of the conditional UNet.
 *   weight V×D, ids N host integers in [0, V) → y N×D,  y[n] = weight[ids[n]]
 * Backward scatter-adds gy rows into the rows of the table (repeated ids add up). Saves the ids.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, newLike, st } from './util.ts';

/**
 * Validate host integers against [0, V) and return them as an Int32Array (copied). `what` and
 * `unit` word the error, e.g. "label 12 … (10 classes)".
 */
export function checkIds(op: string, ids: Int32Array | readonly number[], V: number, what = 'id', unit = 'rows in the table'): Int32Array {
  const out = Int32Array.from(ids);
  for (let n = 0; n < out.length; n++) {
    const v = ids[n]!;
    if (!Number.isInteger(v) || v < 0 || v >= V) {
      throw new Error(`${op}: ${what} ${v} at position ${n} is outside the valid range [0, ${V - 1}] (${V} ${unit})`);
    }
  }
  return out;
}

/** Rows `ids` of `weight` (V×D) as an N×D tensor; gradients flow into `weight` only. */
export function embedding(weight: Tensor, ids: Int32Array | readonly number[]): Tensor {
  checkRank('embedding', 'weight', weight, 2);
  const [V, D] = weight.shape as [number, number];
  const idx = checkIds('embedding', ids, V);
  const be = weight.backend;
  const y = newLike(weight, [idx.length, D]);
  be.embeddingForward(st(weight, 'embedding'), idx, V, D, st(y, 'embedding'));
  return record('embedding', [weight], y, (gy) => {
    const gw = newLike(weight);
    be.embeddingBackward(st(gy, 'embedding.backward'), idx, V, D, st(gw, 'embedding.backward'));
    return [gw];
  });
}
