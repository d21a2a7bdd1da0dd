/**
 * NdArray: the typed n-d array value that every file format in `src/io` reads and writes
 * (.npy/.npz, pickles, PyTorch checkpoints, safetensors).
 *
 * Data is always dense, C order (row-major), host byte order. float16 and bfloat16 keep their
 * raw 16-bit patterns in a Uint16Array (convert with `toFloat32`); int64 is a BigInt64Array;
 * bool is a Uint8Array of 0/1.
 */
import { CbdmError } from '../util/errors.ts';

/** Element types an NdArray can hold. */
export type NdDType =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'bool';

/** The typed array that backs each dtype. */
export interface NdDataMap {
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** Any NdArray backing store. */
export type NdData = NdDataMap[NdDType];

/** A dense C-order n-d array; `data.length === numel(shape)`. */
export interface NdArray<D extends NdDType = NdDType> {
  dtype: D;
  shape: number[];
  data: NdDataMap[D];
}

/** Every dtype, in a fixed order. */
export const ND_DTYPES: readonly NdDType[] = [
  'float16', 'bfloat16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'int64', 'bool',
];

/** Bytes per element of a dtype. */
export function itemSize(dtype: NdDType): number {
  switch (dtype) {
    case 'int8': case 'uint8': case 'bool': return 1;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 2;
    case 'float32': case 'int32': return 4;
    case 'float64': case 'int64': return 8;
    default: {
      const never: never = dtype;
      throw new Error(`unknown dtype ${String(never)}`);
    }
  }
}

/** Number of elements of a shape (1 for a scalar shape []). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A zero-filled typed array of `n` elements for `dtype`. */
export function allocData<D extends NdDType>(dtype: D, n: number): NdDataMap[D] {
  return allocAny(dtype, n) as NdDataMap[D];
}

function allocAny(dtype: NdDType, n: number): NdData {
  switch (dtype) {
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(n);
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    default: {
      const never: never = dtype;
      throw new Error(`unknown dtype ${String(never)}`);
    }
  }
}

/** A zero-filled NdArray. */
export function zerosNd<D extends NdDType>(dtype: D, shape: number[]): NdArray<D> {
  return { dtype, shape: [...shape], data: allocData(dtype, numel(shape)) };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Build a dtype's typed array from raw bytes (copied, so `bytes` may be unaligned or reused).
 * `littleEndian` says how the bytes are ordered; they are swapped when it differs from the host.
 */
export function dataFromBytes<D extends NdDType>(dtype: D, bytes: Uint8Array, littleEndian = true): NdDataMap[D] {
  const size = itemSize(dtype);
  if (bytes.length % size !== 0) {
    throw new CbdmError(`${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  const n = bytes.length / size;
  const out = allocData(dtype, n);
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  dst.set(bytes);
  if (size > 1 && littleEndian !== HOST_LITTLE_ENDIAN) swapBytesInPlace(dst, size);
  return out;
}

/** The array's elements as little-endian bytes (a view when the host is little-endian). */
export function dataToBytesLE(data: NdData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

function swapBytesInPlace(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo]!;
      b[lo] = b[hi]!;
      b[hi] = t;
    }
  }
}

/**
 * Gather a strided view into a new contiguous C-order array of the same kind:
 * element [i0,…,ik] is read from `src[offset + Σ i_j·strides[j]]` (strides in elements).
 */
export function gatherStrided<T extends NdData>(src: T, offset: number, shape: readonly number[], strides: readonly number[]): T {
  const n = numel(shape);
  const ctor = src.constructor as new (len: number) => T;
  const out = new ctor(n);
  if (n === 0) return out;
  const nd = shape.length;
  let contiguous = true;
  for (let j = nd - 1, expect = 1; j >= 0; j--) {
    if (shape[j]! !== 1 && strides[j]! !== expect) { contiguous = false; break; }
    expect *= shape[j]!;
  }
  let maxIdx = offset;
  for (let j = 0; j < nd; j++) maxIdx += (shape[j]! - 1) * strides[j]!;
  let minIdx = offset;
  for (let j = 0; j < nd; j++) if (strides[j]! < 0) minIdx += (shape[j]! - 1) * strides[j]!;
  if (minIdx < 0 || maxIdx >= src.length) {
    throw new CbdmError(`strided view (offset ${offset}, shape [${shape.join(', ')}], strides [${strides.join(', ')}]) reaches outside its storage of ${src.length} elements`);
  }
  if (contiguous) {
    (out as unknown as { set(a: T): void }).set(src.subarray(offset, offset + n) as T);
    return out;
  }
  const dst = out as unknown as { [i: number]: unknown };
  const from = src as unknown as { [i: number]: unknown };
  const idx = new Array<number>(nd).fill(0);
  let pos = offset;
  for (let i = 0; i < n; i++) {
    dst[i] = from[pos];
    for (let j = nd - 1; j >= 0; j--) {
      idx[j]!++;
      pos += strides[j]!;
      if (idx[j]! < shape[j]!) break;
      pos -= shape[j]! * strides[j]!;
      idx[j] = 0;
    }
  }
  return out;
}

/** Reorder a Fortran-order (column-major) buffer of `shape` into C order. */
export function fortranToC<T extends NdData>(src: T, shape: readonly number[]): T {
  const strides: number[] = [];
  let s = 1;
  for (const d of shape) { strides.push(s); s *= d; }
  return gatherStrided(src, 0, shape, strides);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits → number. */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE half-precision bits, rounding to nearest even (overflow → ±Infinity). */
export function numberToFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** bfloat16 bits → number. */
export function bfloat16BitsToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** number → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function numberToBfloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff)) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** All elements as float32 (any dtype, incl. float16/bfloat16 bits, int64, bool). */
export function toFloat32(a: NdArray): Float32Array {
  const out = new Float32Array(a.data.length);
  fillNumbers(a, out);
  return out;
}

/** All elements as float64 (any dtype; int64 beyond 2^53 loses precision). */
export function toFloat64(a: NdArray): Float64Array {
  const out = new Float64Array(a.data.length);
  fillNumbers(a, out);
  return out;
}

function fillNumbers(a: NdArray, out: Float32Array | Float64Array): void {
  const n = a.data.length;
  switch (a.dtype) {
    case 'float16': {
      const d = a.data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = float16BitsToNumber(d[i]!);
      return;
    }
    case 'bfloat16': {
      const d = a.data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = bfloat16BitsToNumber(d[i]!);
      return;
    }
    case 'int64': {
      const d = a.data as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = Number(d[i]!);
      return;
    }
    case 'float32': case 'float64': case 'int8': case 'uint8': case 'int16': case 'uint16':
    case 'int32': case 'bool':
      out.set(a.data as Exclude<NdData, BigInt64Array>);
      return;
    default: {
      const never: never = a.dtype;
      throw new Error(`unknown dtype ${String(never)}`);
    }
  }
}

/**
 * An NdArray of `dtype` holding `values` (converted: rounded to nearest even for float16/
 * bfloat16, truncated and wrapped like a typed-array store for integers, nonzero → 1 for bool).
 */
export function fromNumbers<D extends NdDType>(dtype: D, shape: number[], values: ArrayLike<number>): NdArray<D> {
  const n = numel(shape);
  if (values.length !== n) throw new CbdmError(`${values.length} values do not fill shape [${shape.join(', ')}] (${n} elements)`);
  const out = zerosNd(dtype, shape);
  const d = out.data as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (dtype as NdDType) {
      case 'float16': d[i] = numberToFloat16Bits(v); break;
      case 'bfloat16': d[i] = numberToBfloat16Bits(v); break;
      case 'int64': d[i] = BigInt(Math.trunc(v)); break;
      case 'bool': d[i] = v !== 0 ? 1 : 0; break;
      default: d[i] = v;
    }
  }
  return out;
}

/** True when `v` looks like an NdArray (plain object with a known dtype, shape and data). */
export function isNdArray(v: unknown): v is NdArray {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { dtype?: unknown; shape?: unknown; data?: unknown };
  return typeof o.dtype === 'string' && (ND_DTYPES as readonly string[]).includes(o.dtype)
    && Array.isArray(o.shape) && ArrayBuffer.isView(o.data);
}
