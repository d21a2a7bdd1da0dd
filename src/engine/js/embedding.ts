/**
 * Reference embedding lookup (the class embedding of the conditional UNet).
 *   w  V×D (table)     ids  N host integers in [0, V)     y  N×D
 *   y[n, :] = w[ids[n], :]
 * Backward scatter-adds: gw[v, :] = Σ_{n : ids[n] = v} gy[n, :] (rows never looked up stay 0).
 */
import type { FloatArray } from '../dtype.ts';

export function embeddingForward(w: FloatArray, ids: Int32Array, V: number, D: number, y: FloatArray): void {
  for (let n = 0; n < ids.length; n++) {
    const row = ids[n]!;
    if (row < 0 || row >= V) throw new Error(`embeddingForward: id ${row} outside [0, ${V})`);
    y.set(w.subarray(row * D, (row + 1) * D), n * D);
  }
}

export function embeddingBackward(gy: FloatArray, ids: Int32Array, V: number, D: number, gw: FloatArray): void {
  gw.fill(0);
  for (let n = 0; n < ids.length; n++) {
    const base = ids[n]! * D;
    if (base < 0 || base >= V * D) throw new Error(`embeddingBackward: id ${ids[n]} outside [0, ${V})`);
    for (let d = 0; d < D; d++) gw[base + d] = gw[base + d]! + gy[n * D + d]!;
  }
}
