/**
 * The unpickler's built-in allow-list: the only Python globals a pickle may name without the
 * caller adding its own (torch.ts adds PyTorch's). Each maps to a TypeScript function that
 * builds plain values; nothing from the pickle is ever executed.
 */
import { CbdmError } from '../util/errors.ts';
import { type NdArray, dataFromBytes, fortranToC, numel, itemSize, float16BitsToNumber, bfloat16BitsToNumber } from './ndarray.ts';
import { parseDescr } from './npy.ts';
import {
  PyObject, PyGlobal, type PickleCallable, type PickleDict, type PickleValue, type PySettable,
  asBytes, asText, describe, latin1ToBytes, normInt,
} from './pickle_types.ts';

/** A NumPy dtype object; only simple (non-structured) dtypes can back arrays. */
export class NpDType extends PyObject implements PySettable {
  /** `code` is the type string without byte order, e.g. 'f8', 'u1'. */
  constructor(public code: string, public byteOrder: string = '=') {
    super('numpy.dtype');
  }
  /**
   * numpy's dtype.__setstate__: (version, byteorder, subarray, names, fields, elsize, align,
   * flags[, metadata]); older pickles have 5–7 items with `fields` at index 3. Either way a
   * non-None item 3 means a structured dtype.
   */
  setState(state: PickleValue): void {
    if (!Array.isArray(state) || state.length < 5) throw new CbdmError('pickle: numpy dtype state is not the expected tuple');
    const [, order, subarray, namesOrFields] = state;
    this.byteOrder = asText(order ?? '=');
    if (namesOrFields !== null || subarray !== null) {
      throw new CbdmError('pickle: structured or sub-array numpy dtypes are not supported (only plain numeric arrays)');
    }
  }
  /** The NdDType and byte order, or a CbdmError for dtypes cbdm does not hold. */
  resolve(): { dtype: NdArray['dtype']; littleEndian: boolean } {
    const p = parseDescr(this.code);
    if (!p) throw new CbdmError(`pickle: numpy dtype '${this.code}' is not supported (cbdm reads float16/32/64, int8/16/32/64, uint8/16 and bool)`);
    return { dtype: p.dtype, littleEndian: this.byteOrder !== '>' };
  }
}

/** Arrays made by numpy's _reconstruct, filled in place by BUILD (the memo holds the same object). */
export const pendingArrays = new WeakSet<object>();

function ndFromRaw(dt: NpDType, shape: number[], raw: Uint8Array, fortran: boolean): NdArray {
  const { dtype, littleEndian } = dt.resolve();
  const need = numel(shape) * itemSize(dtype);
  if (raw.length < need) throw new CbdmError(`pickle: numpy array data has ${raw.length} bytes, shape [${shape.join(', ')}] of ${dtype} needs ${need}`);
  let data = dataFromBytes(dtype, raw.subarray(0, need), littleEndian);
  if (fortran && shape.length > 1) data = fortranToC(data, shape);
  return { dtype, shape, data };
}

function asShape(v: PickleValue): number[] {
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new CbdmError(`pickle: expected a shape tuple, got ${describe(v)}`);
  }
  return v as number[];
}

function asDType(v: PickleValue): NpDType {
  if (!(v instanceof NpDType)) throw new CbdmError(`pickle: expected a numpy dtype, got ${describe(v)}`);
  return v;
}

/** ndarray.__setstate__, filling an array made by _reconstruct in place. */
export function numpySetState(target: NdArray, state: PickleValue): void {
  // ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata) or the 4-tuple without version.
  if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) throw new CbdmError('pickle: numpy array state is not the expected tuple');
  const s = state.length === 5 ? state.slice(1) : state;
  if (Array.isArray(s[3])) throw new CbdmError('pickle: numpy object arrays are not supported (they hold arbitrary Python objects)');
  const a = ndFromRaw(asDType(s[1]!), asShape(s[0]!), asBytes(s[3]!), s[2] === true);
  target.dtype = a.dtype;
  target.shape = a.shape;
  target.data = a.data;
  pendingArrays.delete(target);
}

function numpyReconstruct(args: PickleValue[]): PickleValue {
  const sub = args[0];
  if (!(sub instanceof PyGlobal) || sub.name !== 'ndarray') {
    throw new CbdmError(`pickle: numpy _reconstruct of ${describe(sub)} (only plain numpy.ndarray is supported)`);
  }
  const a: NdArray = { dtype: 'uint8', shape: [0], data: new Uint8Array(0) };
  pendingArrays.add(a);
  return a;
}

function numpyScalar(args: PickleValue[]): PickleValue {
  const { dtype, littleEndian } = asDType(args[0]!).resolve();
  const raw = asBytes(args[1] ?? null);
  const data = dataFromBytes(dtype, raw.subarray(0, itemSize(dtype)), littleEndian);
  switch (dtype) {
    case 'float16': return float16BitsToNumber(data[0] as number);
    case 'bfloat16': return bfloat16BitsToNumber(data[0] as number);
    case 'bool': return data[0] !== 0;
    case 'int64': return normInt(data[0] as bigint);
    default: return data[0] as number;
  }
}

function numpyFromBuffer(args: PickleValue[]): PickleValue {
  const [buf, dt, shape, order] = args;
  return ndFromRaw(asDType(dt!), asShape(shape!), asBytes(buf!), order === 'F');
}

function codecsEncode(args: PickleValue[]): PickleValue {
  const [obj, enc] = args;
  const encoding = (enc === undefined ? 'utf-8' : asText(enc)).toLowerCase().replace('_', '-');
  if (typeof obj !== 'string') throw new CbdmError(`pickle: _codecs.encode of ${describe(obj)}`);
  if (['latin1', 'latin-1', 'iso-8859-1', 'iso8859-1'].includes(encoding)) return latin1ToBytes(obj);
  if (encoding === 'utf-8' || encoding === 'utf8' || encoding === 'ascii') return new Uint8Array(Buffer.from(obj, 'utf8'));
  throw new CbdmError(`pickle: _codecs.encode with encoding '${encoding}' is not supported`);
}

function orderedDict(args: PickleValue[]): PickleValue {
  const m: PickleDict = new Map();
  const items = args[0];
  if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0]!, kv[1]!);
  return m;
}

function makeSet(args: PickleValue[]): PickleValue {
  const items = args[0];
  return new Set(Array.isArray(items) ? items : []);
}

function makeBytearray(args: PickleValue[]): PickleValue {
  const [v, enc] = args;
  if (v === undefined) return new Uint8Array(0);
  if (typeof v === 'string') return enc === undefined ? new Uint8Array(Buffer.from(v, 'utf8')) : (codecsEncode([v, enc]) as Uint8Array);
  return asBytes(v).slice();
}

const numpyDType: PickleCallable = (args) => new NpDType(asText(args[0] ?? 'f8'));

/** The built-in allow-list: 'module.name' → implementation (null: usable only as a value). */
export const BUILTIN_GLOBALS: Record<string, PickleCallable | null> = {
  'collections.OrderedDict': orderedDict,
  '_codecs.encode': codecsEncode,
  'builtins.set': makeSet, 'builtins.frozenset': makeSet, '__builtin__.set': makeSet, '__builtin__.frozenset': makeSet,
  'builtins.bytearray': makeBytearray, '__builtin__.bytearray': makeBytearray,
  'numpy.ndarray': null,
  'numpy.dtype': numpyDType,
  'numpy.core.multiarray._reconstruct': numpyReconstruct,
  'numpy._core.multiarray._reconstruct': numpyReconstruct,
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy._core.multiarray.scalar': numpyScalar,
  'numpy.core.numeric._frombuffer': numpyFromBuffer,
  'numpy._core.numeric._frombuffer': numpyFromBuffer,
};

