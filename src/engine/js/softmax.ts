/**
 * Reference softmax, log-softmax and cross-entropy.
 *   x, y  O×K×I (softmax over the K axis; a 2-D N×K tensor is O = N, I = 1)
 *   softmax:     y_k = exp(x_k − m) / Σ_k' exp(x_k' − m),  m = max_k x_k   (numerically stable)
 *   log-softmax: y_k = x_k − m − log Σ_k' exp(x_k' − m)
 *   backward (saves y): softmax gx = y⊙(gy − Σ gy⊙y); log-softmax gx = gy − exp(y)·Σ gy
 * Cross-entropy (fused log-softmax + NLL), logits and logp N×K, labels N host ints in [0, K):
 *   loss_sum = Σ_n −logp[n, labels[n]];  gx = scale·(exp(logp) − onehot(labels))  (saves logp)
 */
import type { FloatArray } from '../dtype.ts';

export function softmaxForward(x: FloatArray, y: FloatArray, O: number, K: number, I: number, log: boolean): void {
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      const base = o * K * I + i;
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, x[base + k * I]!);
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(x[base + k * I]! - m);
      if (log) {
        const lz = m + Math.log(z);
        for (let k = 0; k < K; k++) y[base + k * I] = x[base + k * I]! - lz;
      } else {
        for (let k = 0; k < K; k++) y[base + k * I] = Math.exp(x[base + k * I]! - m) / z;
      }
    }
  }
}

export function softmaxBackward(y: FloatArray, gy: FloatArray, gx: FloatArray, O: number, K: number, I: number, log: boolean): void {
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      const base = o * K * I + i;
      let s = 0;
      for (let k = 0; k < K; k++) s += log ? gy[base + k * I]! : gy[base + k * I]! * y[base + k * I]!;
      for (let k = 0; k < K; k++) {
        const j = base + k * I;
        gx[j] = log ? gy[j]! - Math.exp(y[j]!) * s : y[j]! * (gy[j]! - s);
      }
    }
  }
}

export function crossEntropyForward(logits: FloatArray, labels: Int32Array, logp: FloatArray, N: number, K: number): number {
  softmaxForward(logits, logp, N, K, 1, true);
  let loss = 0;
  for (let n = 0; n < N; n++) loss -= logp[n * K + labels[n]!]!;
  return loss;
}

export function crossEntropyBackward(logp: FloatArray, labels: Int32Array, scale: number, gx: FloatArray, N: number, K: number): void {
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) gx[n * K + k] = scale * Math.exp(logp[n * K + k]!);
    const j = n * K + labels[n]!;
    gx[j] = gx[j]! - scale;
  }
}
