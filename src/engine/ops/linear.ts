/**
 * Matrix multiply and the fully connected layer.
 *   matmul: a M×K, b K×N → M×N;  ga = gy·bᵀ, gb = aᵀ·gy.  Saves a, b.
 *   linear: x N×Din, w Dout×Din (PyTorch layout), b Dout → y = x·wᵀ + b.  Saves x, w.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, checkSame, checkShape, newLike, st } from './util.ts';

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkSame('matmul', a, b);
  checkRank('matmul', 'a', a, 2);
  checkRank('matmul', 'b', b, 2);
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1]!;
  if (b.shape[0] !== K) throw new Error(`matmul: inner dimensions differ: ${a.describe()} × ${b.describe()}`);
  const out = newLike(a, [M, N]);
  a.backend.gemm(false, false, M, N, K, 1, st(a, 'matmul'), st(b, 'matmul'), 0, st(out, 'matmul'));
  return record('matmul', [a, b], out, (gy) => {
    const ga = a.requiresGrad ? newLike(a) : null;
    const gb = b.requiresGrad ? newLike(b) : null;
    if (ga) a.backend.gemm(false, true, M, K, N, 1, st(gy, 'matmul.backward'), st(b, 'matmul.backward'), 0, st(ga, 'matmul.backward'));
    if (gb) a.backend.gemm(true, false, K, N, M, 1, st(a, 'matmul.backward'), st(gy, 'matmul.backward'), 0, st(gb, 'matmul.backward'));
    return [ga, gb];
  });
}

export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  checkSame('linear', x, w, ...(b ? [b] : []));
  checkRank('linear', 'x', x, 2);
  checkRank('linear', 'weight', w, 2);
  const [N, Din] = x.shape as [number, number];
  const Dout = w.shape[0]!;
  checkShape('linear', 'weight', w, [Dout, Din]);
  if (b) checkShape('linear', 'bias', b, [Dout]);
  const y = newLike(x, [N, Dout]);
  const be = x.backend;
  be.gemm(false, true, N, Dout, Din, 1, st(x, 'linear'), st(w, 'linear'), 0, st(y, 'linear'));
  if (b) be.addBroadcast(st(y, 'linear'), st(b, 'linear'), N, Dout, 1, st(y, 'linear'));
  const inputs = b ? [x, w, b] : [x, w];
  return record('linear', inputs, y, (gy) => {
    const gx = x.requiresGrad ? newLike(x) : null;
    const gw = w.requiresGrad ? newLike(w) : null;
    if (gx) be.gemm(false, false, N, Din, Dout, 1, st(gy, 'linear.backward'), st(w, 'linear.backward'), 0, st(gx, 'linear.backward'));
    if (gw) be.gemm(true, false, Dout, Din, N, 1, st(gy, 'linear.backward'), st(x, 'linear.backward'), 0, st(gw, 'linear.backward'));
    const grads: Array<Tensor | null> = [gx, gw];
    if (b) {
      const gb = newLike(b);
      be.sumBroadcast(st(gy, 'linear.backward'), N, Dout, 1, st(gb, 'linear.backward'));
      grads.push(gb);
    }
    return grads;
  });
}
