/** Element types of engine tensors. float64 exists for gradient checks on the `js` backend. */
export type DType = 'float32' | 'float64';

export type FloatArray = Float32Array | Float64Array;

/** A zero-filled typed array of the dtype. */
export function allocArray(dtype: DType, n: number): FloatArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    default: {
      const never: never = dtype;
      throw new Error(`unknown dtype ${String(never)}`);
    }
  }
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
}
