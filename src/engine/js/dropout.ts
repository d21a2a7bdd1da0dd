/**
 * Reference dropout kernel with a counter-based mask: element i of a call with seeds (s0, s1) is
 * dropped iff u_i < ⌊p·2³²⌋, where u_i = fmix32(fmix32(i + s0) ⊕ s1) and fmix32 is MurmurHash3's
 * 32-bit finaliser (a bijection with full avalanche). The mask is a pure function of (i, s0, s1):
 * it needs no storage (the backward recomputes it), any backend can produce it in parallel in any
 * order, and a run that saves its RNG state (which draws s0, s1) redraws the same masks on resume.
 *   out[i] = u_i < ⌊p·2³²⌋ ? 0 : x[i] / (1 − p)        (forward on x, backward on gy alike)
 */
import type { FloatArray } from '../dtype.ts';

/** MurmurHash3 fmix32 on uint32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The uniform uint32 that decides element i's fate. */
export function dropoutBits(i: number, s0: number, s1: number): number {
  return fmix32((fmix32((i + s0) >>> 0) ^ s1) >>> 0);
}

/** The drop threshold for probability p ∈ [0, 1): ⌊p·2³²⌋. */
export function dropoutThreshold(p: number): number {
  return Math.floor(p * 4294967296);
}

/** out = x ⊙ mask(p, s0, s1) (p < 1; out may alias x). */
export function dropoutApply(x: FloatArray, out: FloatArray, p: number, s0: number, s1: number): void {
  const thr = dropoutThreshold(p);
  const keep = 1 / (1 - p);
  for (let i = 0; i < out.length; i++) out[i] = dropoutBits(i, s0, s1) < thr ? 0 : x[i]! * keep;
}
