/**
 * Reference 2-D pooling, NCHW, PyTorch semantics (floor mode, square window k, zero-width padding
 * that is never a max candidate).
 *   x  N×C×H×W      y  N×C×Ho×Wo      Ho = ⌊(H + 2·pad − k)/stride⌋ + 1
 *   window of (i, j): rows i·stride − pad … + k − 1, clipped to the image (likewise columns)
 * Average: y = Σ window / d, d = k² with countIncludePad (PyTorch's default; PyTorch takes the
 *   window clipped to the padded image, which in floor mode is always k²), else the number of
 *   in-image cells (count_include_pad=False, the Inception-v3 FID blocks).
 * Max: y = max over in-image cells; NaN propagates; on ties the first maximum in row-major window
 *   order wins (as PyTorch's CPU kernel's `val > max || isnan(val)`). The backward recomputes the
 *   argmax from x with the same rule (nothing but x is saved) and routes gy there.
 */
import type { PoolGeom } from '../backend.ts';
import type { FloatArray } from '../dtype.ts';

/** Clipped window bounds [h0, h1) × [w0, w1) and the divisor for output (i, j). */
function window(g: PoolGeom, i: number, j: number, countIncludePad: boolean): [number, number, number, number, number] {
  const hs = i * g.stride - g.pad;
  const ws = j * g.stride - g.pad;
  const he = Math.min(hs + g.k, g.H + g.pad);
  const we = Math.min(ws + g.k, g.W + g.pad);
  const padded = (he - hs) * (we - ws);
  const h0 = Math.max(hs, 0);
  const w0 = Math.max(ws, 0);
  const h1 = Math.min(he, g.H);
  const w1 = Math.min(we, g.W);
  return [h0, h1, w0, w1, countIncludePad ? padded : (h1 - h0) * (w1 - w0)];
}

export function avgPool2dForward(x: FloatArray, y: FloatArray, g: PoolGeom, countIncludePad: boolean): void {
  const { N, C, H, W, Ho, Wo } = g;
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const [h0, h1, w0, w1, d] = window(g, i, j, countIncludePad);
        let s = 0;
        for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) s += x[(p * H + a) * W + b]!;
        y[(p * Ho + i) * Wo + j] = s / d;
      }
    }
  }
}

export function avgPool2dBackward(gy: FloatArray, gx: FloatArray, g: PoolGeom, countIncludePad: boolean): void {
  const { N, C, H, W, Ho, Wo } = g;
  gx.fill(0);
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const [h0, h1, w0, w1, d] = window(g, i, j, countIncludePad);
        const v = gy[(p * Ho + i) * Wo + j]! / d;
        for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) gx[(p * H + a) * W + b] = gx[(p * H + a) * W + b]! + v;
      }
    }
  }
}

/** Flat index into x of the window maximum for output (p, i, j) (first max wins, NaN wins). */
function argmax(x: FloatArray, g: PoolGeom, p: number, i: number, j: number): number {
  const [h0, h1, w0, w1] = window(g, i, j, true);
  let best = (p * g.H + h0) * g.W + w0;
  let max = x[best]!;
  for (let a = h0; a < h1; a++) {
    for (let b = w0; b < w1; b++) {
      const idx = (p * g.H + a) * g.W + b;
      const v = x[idx]!;
      if (v > max || Number.isNaN(v)) {
        max = v;
        best = idx;
        if (Number.isNaN(v)) return best;
      }
    }
  }
  return best;
}

export function maxPool2dForward(x: FloatArray, y: FloatArray, g: PoolGeom): void {
  const { N, C, Ho, Wo } = g;
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) y[(p * Ho + i) * Wo + j] = x[argmax(x, g, p, i, j)]!;
  }
}

export function maxPool2dBackward(x: FloatArray, gy: FloatArray, gx: FloatArray, g: PoolGeom): void {
  const { N, C, Ho, Wo } = g;
  gx.fill(0);
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const idx = argmax(x, g, p, i, j);
        gx[idx] = gx[idx]! + gy[(p * Ho + i) * Wo + j]!;
      }
    }
  }
}
