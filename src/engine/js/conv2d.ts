/**
 * Reference 2-D convolution (cross-correlation, as in PyTorch), direct loops.
 *   x  N×Ci×H×W      w  Co×Ci×KH×KW      b  Co      y  N×Co×Ho×Wo
 *   y[n,co,i,j] = b[co] + Σ_{ci,p,q} w[co,ci,p,q] · x[n, ci, i·s − pad + p, j·s − pad + q]
 * (zero outside the image). Backward-data and backward-weight are the two adjoints of that sum.
 */
import type { ConvGeom } from '../backend.ts';
import type { FloatArray } from '../dtype.ts';

export function conv2dForward(x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray, g: ConvGeom): void {
  const { N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo } = g;
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      const yBase = (n * Co + co) * Ho * Wo;
      const bias = b ? b[co]! : 0;
      for (let i = 0; i < Ho * Wo; i++) y[yBase + i] = bias;
      for (let ci = 0; ci < Ci; ci++) {
        const xBase = (n * Ci + ci) * H * W;
        for (let p = 0; p < KH; p++) {
          for (let q = 0; q < KW; q++) {
            const wv = w[((co * Ci + ci) * KH + p) * KW + q]!;
            for (let i = 0; i < Ho; i++) {
              const hi = i * stride - pad + p;
              if (hi < 0 || hi >= H) continue;
              for (let j = 0; j < Wo; j++) {
                const wj = j * stride - pad + q;
                if (wj < 0 || wj >= W) continue;
                y[yBase + i * Wo + j] = y[yBase + i * Wo + j]! + wv * x[xBase + hi * W + wj]!;
              }
            }
          }
        }
      }
    }
  }
}

/** gx[n,ci,h,w] = Σ_{co,p,q} gy[n,co,i,j] · w[co,ci,p,q] over the (i,j) that read (h,w). */
export function conv2dBackwardData(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeom): void {
  const { N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo } = g;
  gx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      const yBase = (n * Co + co) * Ho * Wo;
      for (let ci = 0; ci < Ci; ci++) {
        const xBase = (n * Ci + ci) * H * W;
        for (let p = 0; p < KH; p++) {
          for (let q = 0; q < KW; q++) {
            const wv = w[((co * Ci + ci) * KH + p) * KW + q]!;
            for (let i = 0; i < Ho; i++) {
              const hi = i * stride - pad + p;
              if (hi < 0 || hi >= H) continue;
              for (let j = 0; j < Wo; j++) {
                const wj = j * stride - pad + q;
                if (wj < 0 || wj >= W) continue;
                gx[xBase + hi * W + wj] = gx[xBase + hi * W + wj]! + wv * gy[yBase + i * Wo + j]!;
              }
            }
          }
        }
      }
    }
  }
}

/** gw[co,ci,p,q] = Σ_{n,i,j} gy[n,co,i,j] · x[n,ci,i·s−pad+p, j·s−pad+q];  gb[co] = Σ_{n,i,j} gy[n,co,i,j]. */
export function conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, gb: FloatArray | null, g: ConvGeom): void {
  const { N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo } = g;
  gw.fill(0);
  if (gb) gb.fill(0);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      const yBase = (n * Co + co) * Ho * Wo;
      if (gb) {
        let s = 0;
        for (let i = 0; i < Ho * Wo; i++) s += gy[yBase + i]!;
        gb[co] = gb[co]! + s;
      }
      for (let ci = 0; ci < Ci; ci++) {
        const xBase = (n * Ci + ci) * H * W;
        for (let p = 0; p < KH; p++) {
          for (let q = 0; q < KW; q++) {
            let s = 0;
            for (let i = 0; i < Ho; i++) {
              const hi = i * stride - pad + p;
              if (hi < 0 || hi >= H) continue;
              for (let j = 0; j < Wo; j++) {
                const wj = j * stride - pad + q;
                if (wj < 0 || wj >= W) continue;
                s += gy[yBase + i * Wo + j]! * x[xBase + hi * W + wj]!;
              }
            }
            const k = ((co * Ci + ci) * KH + p) * KW + q;
            gw[k] = gw[k]! + s;
          }
        }
      }
    }
  }
}
