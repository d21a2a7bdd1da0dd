/**
 * Reference strided block copy: the one kernel behind concat along any axis and its adjoint slice.
 * A contiguous tensor split at an axis is `count` outer blocks; concat copies each input's block of
 * `len` = (its axis size)·(inner size) elements into the output's block at an offset.
 *   for o < count:  out[outOff + o·outStride + i] = a[aOff + o·aStride + i],  i < len
 */
import type { FloatArray } from '../dtype.ts';

export function copyBlocks(a: FloatArray, aOff: number, aStride: number, out: FloatArray, outOff: number, outStride: number,
  len: number, count: number): void {
  for (let o = 0; o < count; o++) {
    const s = aOff + o * aStride;
    out.set(a.subarray(s, s + len), outOff + o * outStride);
  }
}
