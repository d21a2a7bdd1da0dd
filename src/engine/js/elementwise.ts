/**
 * Reference kernels: elementwise maths, broadcasts over a channel axis, reductions, activations.
 * Shape letters: a tensor viewed as O×C×I (outer, channel, inner) for the channel broadcasts.
 */
import type { FloatArray } from '../dtype.ts';

export function add(a: FloatArray, b: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
}

export function sub(a: FloatArray, b: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
}

export function mul(a: FloatArray, b: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * b[i]!;
}

export function affine(a: FloatArray, alpha: number, beta: number, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = alpha * a[i]! + beta;
}

export function axpy(a: FloatArray, alpha: number, b: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + alpha * b[i]!;
}

/** out[o,c,i] = a[o,c,i] + v[c]. */
export function addBroadcast(a: FloatArray, v: FloatArray, O: number, C: number, I: number, out: FloatArray): void {
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const b = v[c]!;
      const base = (o * C + c) * I;
      for (let i = 0; i < I; i++) out[base + i] = a[base + i]! + b;
    }
  }
}

/** The adjoint of addBroadcast: out[c] = Σ_{o,i} a[o,c,i]. */
export function sumBroadcast(a: FloatArray, O: number, C: number, I: number, out: FloatArray): void {
  out.fill(0);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * I;
      let s = 0;
      for (let i = 0; i < I; i++) s += a[base + i]!;
      out[c] = out[c]! + s;
    }
  }
}

/** out[n,d] = a[n,d]·w[n] for a viewed as N×D. */
export function mulRows(a: FloatArray, w: FloatArray, N: number, D: number, out: FloatArray): void {
  for (let n = 0; n < N; n++) {
    const s = w[n]!;
    for (let d = n * D; d < (n + 1) * D; d++) out[d] = a[d]! * s;
  }
}

export function sumAll(a: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

export function sumSquaredDiff(a: FloatArray, b: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/** Σ_n w[n] Σ_d (a[n,d] − b[n,d])². */
export function weightedSquaredDiff(a: FloatArray, b: FloatArray, w: FloatArray, N: number, D: number): number {
  let s = 0;
  for (let n = 0; n < N; n++) {
    let r = 0;
    for (let d = n * D; d < (n + 1) * D; d++) {
      const e = a[d]! - b[d]!;
      r += e * e;
    }
    s += w[n]! * r;
  }
  return s;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** swish(x) = x·σ(x). */
export function swishForward(x: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i]! * sigmoid(x[i]!);
}

/** d swish / dx = σ(x)·(1 + x·(1 − σ(x))). */
export function swishBackward(x: FloatArray, gy: FloatArray, gx: FloatArray): void {
  for (let i = 0; i < gx.length; i++) {
    const s = sigmoid(x[i]!);
    gx[i] = gy[i]! * s * (1 + x[i]! * (1 - s));
  }
}

export function reluForward(x: FloatArray, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i]! > 0 ? x[i]! : 0;
}

export function reluBackward(x: FloatArray, gy: FloatArray, gx: FloatArray): void {
  for (let i = 0; i < gx.length; i++) gx[i] = x[i]! > 0 ? gy[i]! : 0;
}
