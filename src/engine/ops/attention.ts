/**
 * Scaled dot-product self-attention over the H·W positions of a feature map (DDPM AttnBlock):
 *   q, k, v N×C×L (L = H·W, channel-major as 1×1 convs produce on NCHW) → y N×C×L,
 *   y[n,:,i] = Σ_j softmax_j(q[n,:,i]·k[n,:,j] / √C) · v[n,:,j].
 * One coarse kernel pair (`src/engine/js/attention.ts`). Saves q, k, v and the probabilities P
 * (N×L×L; 16 MB for a batch of 64 at 16×16 in float32).
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, checkSame, checkShape, newLike, outputLike, st } from './util.ts';

export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  checkSame('attention', q, k, v);
  checkRank('attention', 'q', q, 3);
  const [N, C, L] = q.shape as [number, number, number];
  checkShape('attention', 'k', k, [N, C, L]);
  checkShape('attention', 'v', v, [N, C, L]);
  const be = q.backend;
  // Both written in full by every backend (gemms with β = 0, the softmax in place): not zeroed
  // first, which was 10 memsets of 4 MB per cifar-UNet forward at 16 images.
  const y = outputLike(q);
  const P = outputLike(q, [N, L, L]);
  be.attentionForward(st(q, 'attention'), st(k, 'attention'), st(v, 'attention'), st(y, 'attention'), st(P, 'attention'), N, C, L);
  const out = record('attention', [q, k, v], y, (gy) => {
    const gq = newLike(q);
    const gk = newLike(k);
    const gv = newLike(v);
    be.attentionBackward(st(q, 'attention.backward'), st(k, 'attention.backward'), st(v, 'attention.backward'),
      st(P, 'attention.backward'), st(gy, 'attention.backward'),
      st(gq, 'attention.backward'), st(gk, 'attention.backward'), st(gv, 'attention.backward'), N, C, L);
    return [gq, gk, gv];
  });
  // Without a graph nothing will read P: free its N·L² floats now rather than at scope end.
  if (out.node === null) P.dispose();
  return out;
}
