/**
 * Global L2 gradient norm and clipping, as `torch.nn.utils.clip_grad_norm_` (norm_type 2):
 *   norm = √(Σ_t Σ_i g_t[i]²)   (float64 accumulation over every buffer)
 *   coef = maxNorm / (norm + 1e-6);  every g ← min(1, coef)·g  (skipped when coef ≥ 1: ×1 is exact)
 * Runs on the backend (`sumSquares`, `scaleInPlace`); nothing is recorded for autograd.
 */
import { Tensor } from '../tensor.ts';
import { st } from './util.ts';

/** √(Σ over all tensors of Σ x²). */
export function gradNorm(tensors: readonly Tensor[]): number {
  let s = 0;
  for (const t of tensors) s += t.backend.sumSquares(st(t, 'gradNorm'));
  return Math.sqrt(s);
}

/**
 * Scale the `.grad` of every parameter (those without a grad are skipped) so their global L2
 * norm is at most `maxNorm`. Returns the norm before clipping, as PyTorch does.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null && !g.disposed);
  const norm = gradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) g.backend.scaleInPlace(st(g, 'clipGradNorm'), coef);
  return norm;
}
