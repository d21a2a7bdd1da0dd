/**
 * Host storage: a typed array in JS memory. Shared by the `js` and `cpu` backends, so the native
 * kernels read and write the same memory with no copies, and any kernel the native addon does
 * not provide falls back to the `js` one on the very same buffers.
 */
import type { Storage } from '../backend.ts';
import type { DType, FloatArray } from '../dtype.ts';

export class HostStorage implements Storage {
  readonly dtype: DType;
  readonly size: number;
  constructor(readonly data: FloatArray, readonly pooled: boolean) {
    this.dtype = data instanceof Float64Array ? 'float64' : 'float32';
    this.size = data.length;
  }
}

/** The typed array behind a storage (throws if it is not host memory). */
export function h(s: Storage): FloatArray {
  if (!(s instanceof HostStorage)) throw new Error(`expected a host buffer, got ${s.constructor.name}`);
  return s.data;
}
