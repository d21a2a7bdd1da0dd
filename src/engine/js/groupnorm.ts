/**
 * Reference group normalisation with an optional fused swish (the UNet's GroupNorm → Swish).
 *   x, y  N×C×L (L = H·W)     γ, β  C     mean, rstd  N×G     M = (C/G)·L elements per group
 *   z = γ_c·x̂ + β_c,  x̂ = (x − μ_{n,g})·rstd_{n,g},  rstd = 1/√(var + eps)  (biased variance)
 *   y = z, or y = z·σ(z) when fused with swish.
 * Backward (per group): gx = rstd·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)), gx̂ = γ_c·gz.
 */
import type { GroupNormGeom } from '../backend.ts';
import type { FloatArray } from '../dtype.ts';

export function groupNormForward(x: FloatArray, gamma: FloatArray, beta: FloatArray, y: FloatArray,
  mean: FloatArray, rstd: FloatArray, g: GroupNormGeom, swish: boolean): void {
  const { N, C, L, G, eps } = g;
  const Cg = C / G;
  const M = Cg * L;
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      const base = (n * C + gi * Cg) * L;
      let s = 0;
      for (let i = 0; i < M; i++) s += x[base + i]!;
      const mu = s / M;
      let v = 0;
      for (let i = 0; i < M; i++) {
        const d = x[base + i]! - mu;
        v += d * d;
      }
      const r = 1 / Math.sqrt(v / M + eps);
      mean[n * G + gi] = mu;
      rstd[n * G + gi] = r;
      for (let c = 0; c < Cg; c++) {
        const ch = gi * Cg + c;
        const ga = gamma[ch]!;
        const be = beta[ch]!;
        for (let l = 0; l < L; l++) {
          const k = base + c * L + l;
          const z = ga * (x[k]! - mu) * r + be;
          y[k] = swish ? z / (1 + Math.exp(-z)) : z;
        }
      }
    }
  }
}

export function groupNormBackward(x: FloatArray, gamma: FloatArray, beta: FloatArray, mean: FloatArray, rstd: FloatArray,
  gy: FloatArray, gx: FloatArray, gGamma: FloatArray, gBeta: FloatArray, g: GroupNormGeom, swish: boolean): void {
  const { N, C, L, G } = g;
  const Cg = C / G;
  const M = Cg * L;
  gGamma.fill(0);
  gBeta.fill(0);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      const base = (n * C + gi * Cg) * L;
      const mu = mean[n * G + gi]!;
      const r = rstd[n * G + gi]!;
      // First pass: gz (through swish), γ/β gradients, and the two group means of gx̂.
      let sumGxh = 0;
      let sumGxhXh = 0;
      for (let c = 0; c < Cg; c++) {
        const ch = gi * Cg + c;
        const ga = gamma[ch]!;
        let gG = 0;
        let gB = 0;
        for (let l = 0; l < L; l++) {
          const k = base + c * L + l;
          const xh = (x[k]! - mu) * r;
          let gz = gy[k]!;
          if (swish) {
            const z = ga * xh + beta[ch]!;
            const s = 1 / (1 + Math.exp(-z));
            gz *= s * (1 + z * (1 - s));
          }
          gG += gz * xh;
          gB += gz;
          const gxh = gz * ga;
          sumGxh += gxh;
          sumGxhXh += gxh * xh;
          gx[k] = gxh; // stash gx̂, finished in the second pass
        }
        gGamma[ch] = gGamma[ch]! + gG;
        gBeta[ch] = gBeta[ch]! + gB;
      }
      const m1 = sumGxh / M;
      const m2 = sumGxhXh / M;
      for (let i = 0; i < M; i++) {
        const k = base + i;
        const xh = (x[k]! - mu) * r;
        gx[k] = r * (gx[k]! - m1 - xh * m2);
      }
    }
  }
}
