/**
 * Value types shared by the unpickler (`pickle.ts`) and the allow-listed globals
 * (`pickle_globals.ts`, `torch.ts`). See `pickle.ts` for how Python values map onto them.
 */
import { CbdmError } from '../util/errors.ts';
import type { NdArray } from './ndarray.ts';

/** Base class for Python objects that are neither plain data nor arrays. */
export class PyObject {
  /** `module.name` of the Python class. */
  constructor(readonly pyClass: string) {}
}

/** A Python dict or OrderedDict. */
export type PickleDict = Map<PickleValue, PickleValue>;

/** Everything `unpickle` can return (see the module comment for the mapping). */
export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | PickleDict | Set<PickleValue>
  | NdArray | PyObject;

/** An allow-listed callable: REDUCE/NEWOBJ call it with the positional arguments. */
export type PickleCallable = (args: PickleValue[]) => PickleValue;

/** A Python global resolved through the allow-list (pushed by GLOBAL/STACK_GLOBAL). */
export class PyGlobal extends PyObject {
  constructor(readonly module: string, readonly name: string, readonly call: PickleCallable | null) {
    super(`${module}.${name}`);
  }
}

/** Objects that accept BUILD (Python's __setstate__). */
export interface PySettable {
  setState(state: PickleValue): void;
}

/** Bytes → string, one char per byte. */
export function bytesToLatin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** String of chars < 256 → bytes (Python's latin1 encode). */
export function latin1ToBytes(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 255) throw new CbdmError('pickle: text with characters beyond latin1 where bytes were expected');
  }
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** A str or Python 2 str (bytes) as text. */
export function asText(v: PickleValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return bytesToLatin1(v);
  throw new CbdmError(`pickle: expected text, got ${describe(v)}`);
}

/** bytes, or a latin1 str standing for bytes, as bytes. */
export function asBytes(v: PickleValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return latin1ToBytes(v);
  throw new CbdmError(`pickle: expected bytes, got ${describe(v)}`);
}

/** A short Python-ish description of a value for error messages. */
export function describe(v: PickleValue | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a tuple/list';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyObject) return v.pyClass;
  return typeof v;
}

/** A Python int: number when it is a safe integer, else bigint. */
export function normInt(b: bigint): number | bigint {
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

/** Little-endian two's-complement bytes → integer (LONG1/LONG4). */
export function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  // One BigInt parse of the hex digits: linear, where shifting per byte is quadratic.
  const hex = Buffer.from(b).reverse().toString('hex');
  let v = BigInt(`0x${hex}`);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return normInt(v);
}

