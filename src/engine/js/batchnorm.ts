/**
 * Reference batch normalisation (per channel over the batch and all positions).
 *   x, y  N×C×L (L = H·W)     γ, β, mean, var  C     M = N·L values per channel
 *   mean_c = Σ x / M,  var_c = Σ (x − mean_c)² / M  (biased: what normalises, as PyTorch)
 *   y = γ_c·x̂ + β_c,  x̂ = (x − mean_c)·rstd_c,  rstd_c = 1/√(var_c + eps)
 * Backward: gγ = Σ gy·x̂, gβ = Σ gy, and
 *   inference (running statistics are constants):  gx = γ_c·rstd_c·gy
 *   training (mean, var are this batch's):          gx = rstd_c·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)), gx̂ = γ_c·gy
 * The op saves x, mean and var; rstd is recomputed per channel (C values).
 */
import type { BatchNormGeom } from '../backend.ts';
import type { FloatArray } from '../dtype.ts';

export function batchNormStats(x: FloatArray, mean: FloatArray, variance: FloatArray, g: BatchNormGeom): void {
  const { N, C, L } = g;
  const M = N * L;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let l = 0, b = (n * C + c) * L; l < L; l++) s += x[b + l]!;
    const mu = s / M;
    let v = 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0, b = (n * C + c) * L; l < L; l++) {
        const d = x[b + l]! - mu;
        v += d * d;
      }
    }
    mean[c] = mu;
    variance[c] = v / M;
  }
}

export function batchNormForward(x: FloatArray, mean: FloatArray, variance: FloatArray, gamma: FloatArray, beta: FloatArray,
  y: FloatArray, g: BatchNormGeom): void {
  const { N, C, L, eps } = g;
  for (let c = 0; c < C; c++) {
    const mu = mean[c]!;
    const a = gamma[c]! / Math.sqrt(variance[c]! + eps);
    const b = beta[c]!;
    for (let n = 0; n < N; n++) for (let l = 0, o = (n * C + c) * L; l < L; l++) y[o + l] = a * (x[o + l]! - mu) + b;
  }
}

export function batchNormBackward(x: FloatArray, mean: FloatArray, variance: FloatArray, gamma: FloatArray, gy: FloatArray,
  gx: FloatArray, gGamma: FloatArray, gBeta: FloatArray, g: BatchNormGeom, train: boolean): void {
  const { N, C, L, eps } = g;
  const M = N * L;
  for (let c = 0; c < C; c++) {
    const mu = mean[c]!;
    const r = 1 / Math.sqrt(variance[c]! + eps);
    const ga = gamma[c]!;
    let sg = 0;
    let sgx = 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0, o = (n * C + c) * L; l < L; l++) {
        sg += gy[o + l]!;
        sgx += gy[o + l]! * (x[o + l]! - mu) * r;
      }
    }
    gGamma[c] = sgx;
    gBeta[c] = sg;
    // mean(gx̂) = γ·Σgy/M and mean(gx̂·x̂) = γ·Σ(gy·x̂)/M.
    const m1 = train ? ga * sg / M : 0;
    const m2 = train ? ga * sgx / M : 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0, o = (n * C + c) * L; l < L; l++) {
        const xh = (x[o + l]! - mu) * r;
        gx[o + l] = r * (ga * gy[o + l]! - m1 - xh * m2);
      }
    }
  }
}
