/**
 * Softmax, log-softmax (over one axis, numerically stable) and cross-entropy (fused log-softmax +
 * negative log-likelihood, mean over the batch, as PyTorch's `F.cross_entropy`).
 *   softmax / logSoftmax: x any shape, axis a → y same shape; x viewed as O×K×I, K = shape[a].
 *     Saves y.
 *   crossEntropy: logits N×K, labels N host ints in [0, K) → scalar mean_n −log softmax(x_n)[y_n].
 *     Saves log-probabilities (N×K) and the labels.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, newLike, st } from './util.ts';
import { checkIds } from './embedding.ts';

function axisView(op: string, x: Tensor, axis: number): { O: number; K: number; I: number } {
  const r = x.shape.length;
  const a = axis < 0 ? axis + r : axis;
  if (!(Number.isInteger(a) && a >= 0 && a < r)) throw new Error(`${op}: axis ${axis} is out of range for ${x.describe()}`);
  const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  return { O: prod(x.shape.slice(0, a)), K: x.shape[a]!, I: prod(x.shape.slice(a + 1)) };
}

function softmaxOp(op: string, x: Tensor, axis: number, log: boolean): Tensor {
  const { O, K, I } = axisView(op, x, axis);
  const be = x.backend;
  const y = newLike(x);
  be.softmaxForward(st(x, op), st(y, op), O, K, I, log);
  return record(op, [x], y, (gy) => {
    const gx = newLike(x);
    be.softmaxBackward(st(y, `${op}.backward`), st(gy, `${op}.backward`), st(gx, `${op}.backward`), O, K, I, log);
    return [gx];
  });
}

/** exp(x) / Σ exp(x) along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('softmax', x, axis, false);
}

/** x − log Σ exp(x) along `axis` (default the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('logSoftmax', x, axis, true);
}

/** Mean cross-entropy of N×K logits against integer labels (no gradient into the labels). */
export function crossEntropy(logits: Tensor, labels: Int32Array | readonly number[]): Tensor {
  checkRank('crossEntropy', 'logits', logits, 2);
  const [N, K] = logits.shape as [number, number];
  if (labels.length !== N) throw new Error(`crossEntropy: ${labels.length} labels for ${logits.describe()} (need one per row)`);
  const y = checkIds('crossEntropy', labels, K, 'label', 'classes');
  const be = logits.backend;
  const logp = newLike(logits);
  const total = be.crossEntropyForward(st(logits, 'crossEntropy'), y, st(logp, 'crossEntropy'), N, K);
  const out = newLike(logits, []);
  be.fill(st(out, 'crossEntropy'), total / N);
  const res = record('crossEntropy', [logits], out, (gy) => {
    const gx = newLike(logits);
    be.crossEntropyBackward(st(logp, 'crossEntropy.backward'), y, gy.item() / N, st(gx, 'crossEntropy.backward'), N, K);
    return [gx];
  });
  if (res.node === null) logp.dispose();
  return res;
}
