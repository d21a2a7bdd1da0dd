/**
 * Reference kernels for global gradient-norm clipping (`torch.nn.utils.clip_grad_norm_`):
 *   sumSquares(a) = Σ a² (float64 accumulation; the caller sums over buffers and takes √)
 *   scaleInPlace(a, s): a ← s·a
 */
import type { FloatArray } from '../dtype.ts';

export function sumSquares(a: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

export function scaleInPlace(a: FloatArray, s: number): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * s;
}
