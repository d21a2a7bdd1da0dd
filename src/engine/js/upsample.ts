/**
 * Reference resampling of image planes (P = N·C planes of H×W).
 * Nearest ×2 (the UNet's Upsample before its conv):
 *   y  P×2H×2W,  y[p, 2i+a, 2j+b] = x[p, i, j];   backward gx[p,i,j] = Σ_{a,b ∈ {0,1}} gy[p, 2i+a, 2j+b]
 * Bilinear resize, as PyTorch's F.interpolate(mode='bilinear', align_corners=False), no antialias
 * (the Inception preprocessing to 299×299), forward only:
 *   src = max(0, (dst + ½)·in/out − ½),  i0 = ⌊src⌋,  i1 = min(i0 + 1, in − 1),  λ = src − i0
 *   y = (1−λh)·((1−λw)·x[i0,j0] + λw·x[i0,j1]) + λh·((1−λw)·x[i1,j0] + λw·x[i1,j1])
 */
import type { FloatArray } from '../dtype.ts';

export function upsampleNearest2xForward(x: FloatArray, y: FloatArray, P: number, H: number, W: number): void {
  const W2 = 2 * W;
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < H; i++) {
      const src = (p * H + i) * W;
      const dst = (p * 2 * H + 2 * i) * W2;
      for (let j = 0; j < W; j++) {
        const v = x[src + j]!;
        y[dst + 2 * j] = v;
        y[dst + 2 * j + 1] = v;
        y[dst + W2 + 2 * j] = v;
        y[dst + W2 + 2 * j + 1] = v;
      }
    }
  }
}

export function upsampleNearest2xBackward(gy: FloatArray, gx: FloatArray, P: number, H: number, W: number): void {
  const W2 = 2 * W;
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < H; i++) {
      const dst = (p * H + i) * W;
      const src = (p * 2 * H + 2 * i) * W2;
      for (let j = 0; j < W; j++) {
        gx[dst + j] = gy[src + 2 * j]! + gy[src + 2 * j + 1]! + gy[src + W2 + 2 * j]! + gy[src + W2 + 2 * j + 1]!;
      }
    }
  }
}

/** Source indices and weights along one axis (PyTorch's linear index rule, align_corners=False). */
function linearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; lam: Float64Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const lam = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, inSize - 1);
    lam[d] = src - a;
  }
  return { i0, i1, lam };
}

export function resizeBilinear(x: FloatArray, y: FloatArray, P: number, H: number, W: number, Ho: number, Wo: number): void {
  const th = linearTaps(H, Ho);
  const tw = linearTaps(W, Wo);
  for (let p = 0; p < P; p++) {
    const xb = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const r0 = xb + th.i0[i]! * W;
      const r1 = xb + th.i1[i]! * W;
      const lh = th.lam[i]!;
      const yb = (p * Ho + i) * Wo;
      for (let j = 0; j < Wo; j++) {
        const c0 = tw.i0[j]!;
        const c1 = tw.i1[j]!;
        const lw = tw.lam[j]!;
        const top = (1 - lw) * x[r0 + c0]! + lw * x[r0 + c1]!;
        const bot = (1 - lw) * x[r1 + c0]! + lw * x[r1 + c1]!;
        y[yb + j] = (1 - lh) * top + lh * bot;
      }
    }
  }
}
