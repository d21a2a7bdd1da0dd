/**
 * Reference self-attention over the H·W positions of a feature map (the DDPM AttnBlock's core,
 * after the 1×1 q/k/v convolutions and before the output projection).
 *   q, k, v, y  N×C×L (channel-major, L = H·W)     P  N×L×L (saved for the backward)
 *   S[i,j] = Σ_c q[c,i]·k[c,j] / √C      P[i,:] = softmax_j(S[i,:])      y[c,i] = Σ_j P[i,j]·v[c,j]
 * Backward, per row i of P:
 *   gP[i,j] = Σ_c gy[c,i]·v[c,j]         gS[i,j] = P[i,j]·(gP[i,j] − Σ_j' P[i,j']·gP[i,j'])
 *   gq[c,i] = Σ_j gS[i,j]·k[c,j]/√C      gk[c,j] = Σ_i gS[i,j]·q[c,i]/√C      gv[c,j] = Σ_i P[i,j]·gy[c,i]
 * Plain loops; a faster backend replaces them with two GEMMs around a row softmax.
 */
import type { FloatArray } from '../dtype.ts';

export function attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, y: FloatArray, P: FloatArray,
  N: number, C: number, L: number): void {
  const scale = 1 / Math.sqrt(C);
  for (let n = 0; n < N; n++) {
    const base = n * C * L;
    for (let i = 0; i < L; i++) {
      const row = (n * L + i) * L;
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += q[base + c * L + i]! * k[base + c * L + j]!;
        s *= scale;
        P[row + j] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let j = 0; j < L; j++) {
        const e = Math.exp(P[row + j]! - max);
        P[row + j] = e;
        z += e;
      }
      for (let j = 0; j < L; j++) P[row + j] = P[row + j]! / z;
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let j = 0; j < L; j++) s += P[row + j]! * v[base + c * L + j]!;
        y[base + c * L + i] = s;
      }
    }
  }
}

export function attentionBackward(q: FloatArray, k: FloatArray, v: FloatArray, P: FloatArray, gy: FloatArray,
  gq: FloatArray, gk: FloatArray, gv: FloatArray, N: number, C: number, L: number): void {
  const scale = 1 / Math.sqrt(C);
  const gS = new Float64Array(L);
  gk.fill(0);
  gv.fill(0);
  for (let n = 0; n < N; n++) {
    const base = n * C * L;
    for (let i = 0; i < L; i++) {
      const row = (n * L + i) * L;
      let dot = 0;
      for (let j = 0; j < L; j++) {
        let gp = 0;
        for (let c = 0; c < C; c++) gp += gy[base + c * L + i]! * v[base + c * L + j]!;
        gS[j] = gp;
        dot += P[row + j]! * gp;
      }
      for (let j = 0; j < L; j++) gS[j] = P[row + j]! * (gS[j]! - dot) * scale;
      for (let c = 0; c < C; c++) {
        const cb = base + c * L;
        const gyci = gy[cb + i]!;
        const qci = q[cb + i]!;
        let s = 0;
        for (let j = 0; j < L; j++) {
          s += gS[j]! * k[cb + j]!;
          gk[cb + j] = gk[cb + j]! + gS[j]! * qci;
          gv[cb + j] = gv[cb + j]! + P[row + j]! * gyci;
        }
        gq[cb + i] = s;
      }
    }
  }
}
