/**
 * Reference optimiser kernels over flat parameter arenas (every parameter of a model laid out in
 * one buffer, so one call updates them all).
 *
 * Adam as PyTorch implements it (`torch.optim.Adam`, non-fused, non-amsgrad):
 *   g ← g + wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * EMA (pytorch-ddpm's `ema()`): e ← decay·e + (1−decay)·p.
 */
import type { AdamParams } from '../backend.ts';
import type { FloatArray } from '../dtype.ts';

export function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, hp: AdamParams): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = hp;
  const bc1 = 1 - Math.pow(beta1, step);
  const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! + weightDecay * p[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}

export function emaUpdate(ema: FloatArray, p: FloatArray, decay: number): void {
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i]! + (1 - decay) * p[i]!;
}
