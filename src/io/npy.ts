/**
 * NumPy .npy files (format versions 1.0, 2.0, 3.0), read and written without Python.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0/3.0),
 * a Python dict literal `{'descr': '<f8', 'fortran_order': False, 'shape': (2048,), }` padded
 * with spaces and a final '\n' so that the data starts at a multiple of 64 bytes, then the raw
 * elements. `encodeNpy` reproduces `np.save`'s bytes exactly (checked against NumPy in tests).
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import {
  type NdArray, type NdDType, dataFromBytes, dataToBytesLE, fortranToC, itemSize, numel,
} from './ndarray.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
/** NumPy leaves room for the first axis to grow to this many digits (format.py). */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** A NumPy dtype string such as '<f4' resolved to an NdDType and byte order. */
export interface ParsedDescr {
  dtype: NdDType;
  littleEndian: boolean;
}

const KIND_SIZE: Record<string, NdDType> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', u1: 'uint8', i2: 'int16', u2: 'uint16', i4: 'int32', i8: 'int64', b1: 'bool',
};

/**
 * Parse a NumPy type string ('<f8', '|u1', '>i4', 'f4', '?', 'bool', ...). Returns null for
 * types cbdm does not represent (uint32/64, complex, strings, objects, structured).
 */
export function parseDescr(descr: string): ParsedDescr | null {
  let s = descr;
  let littleEndian = true;
  const order = s[0];
  if (order === '<' || order === '|' || order === '=') s = s.slice(1);
  else if (order === '>' || order === '!') { littleEndian = false; s = s.slice(1); }
  const alias: Record<string, string> = {
    '?': 'b1', bool: 'b1', float16: 'f2', float32: 'f4', float64: 'f8', e: 'f2', f: 'f4', d: 'f8',
    int8: 'i1', uint8: 'u1', int16: 'i2', uint16: 'u2', int32: 'i4', int64: 'i8', b: 'i1', B: 'u1',
    h: 'i2', H: 'u2', i: 'i4', q: 'i8',
  };
  const code = alias[s] ?? s;
  const dtype = KIND_SIZE[code];
  return dtype ? { dtype, littleEndian } : null;
}

/** NumPy's dtype.str for an NdDType (little-endian); throws for bfloat16, which NumPy lacks. */
export function descrOf(dtype: NdDType): string {
  switch (dtype) {
    case 'float16': return '<f2';
    case 'float32': return '<f4';
    case 'float64': return '<f8';
    case 'int8': return '|i1';
    case 'uint8': return '|u1';
    case 'int16': return '<i2';
    case 'uint16': return '<u2';
    case 'int32': return '<i4';
    case 'int64': return '<i8';
    case 'bool': return '|b1';
    case 'bfloat16':
      throw new CbdmError('NumPy has no bfloat16 dtype, so it cannot be stored in .npy/.npz; convert the array to float32 first (toFloat32)');
    default: {
      const never: never = dtype;
      throw new Error(`unknown dtype ${String(never)}`);
    }
  }
}

/** Parse a .npy file. `source` names the file or npz entry in error messages. */
export function parseNpy(buf: Uint8Array, source = '.npy data'): NdArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new CbdmError(`${source}: not a .npy file (expected the magic "\\x93NUMPY" at the start)`);
  }
  const major = buf[6]!;
  const minor = buf[7]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let headerStart: number;
  switch (major) {
    case 1: headerLen = dv.getUint16(8, true); headerStart = 10; break;
    case 2: case 3:
      if (buf.length < 12) throw new CbdmError(`${source}: .npy file truncated inside its header`);
      headerLen = dv.getUint32(8, true); headerStart = 12; break;
    default:
      throw new CbdmError(`${source}: unsupported .npy format version ${major}.${minor} (cbdm reads 1.0, 2.0 and 3.0)`);
  }
  const dataStart = headerStart + headerLen;
  if (buf.length < dataStart) {
    throw new CbdmError(`${source}: .npy file truncated inside its header (${buf.length} bytes, header ends at ${dataStart})`);
  }
  const headerBytes = buf.subarray(headerStart, dataStart);
  const header = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : Buffer.from(headerBytes).toString('latin1');
  let meta: PyLiteral;
  try {
    meta = parsePyLiteral(header);
  } catch (e) {
    throw new CbdmError(`${source}: malformed .npy header ${JSON.stringify(header.trim())}: ${(e as Error).message}`);
  }
  if (!(meta instanceof Map)) throw new CbdmError(`${source}: .npy header is not a dict: ${header.trim()}`);
  const descr = meta.get('descr');
  const fortran = meta.get('fortran_order');
  const shapeLit = meta.get('shape');
  if (typeof descr !== 'string') {
    throw new CbdmError(`${source}: .npy descr ${JSON.stringify(String(descr))} is a structured dtype, which cbdm does not read; save plain numeric arrays`);
  }
  if (typeof fortran !== 'boolean' || !Array.isArray(shapeLit) || !shapeLit.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new CbdmError(`${source}: .npy header lacks a valid fortran_order/shape: ${header.trim()}`);
  }
  const parsed = parseDescr(descr);
  if (!parsed) {
    throw new CbdmError(`${source}: .npy dtype '${descr}' is not supported (cbdm reads float16/32/64, int8/16/32/64, uint8/16 and bool)`);
  }
  const shape = shapeLit as number[];
  const nbytes = numel(shape) * itemSize(parsed.dtype);
  if (buf.length - dataStart < nbytes) {
    throw new CbdmError(`${source}: .npy data truncated: shape (${shape.join(', ')}) of ${descr} needs ${nbytes} bytes, file has ${buf.length - dataStart}`);
  }
  let data = dataFromBytes(parsed.dtype, buf.subarray(dataStart, dataStart + nbytes), parsed.littleEndian);
  if (fortran && shape.length > 1) data = fortranToC(data, shape);
  return { dtype: parsed.dtype, shape: [...shape], data };
}

/** Read a .npy file from disk. */
export function readNpy(path: string): NdArray {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new CbdmError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNpy(bytes, path);
}

/** Write an array to a .npy file atomically (the bytes np.save writes). */
export function writeNpy(path: string, a: NdArray): void {
  writeFileAtomic(path, encodeNpy(a));
}

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encode an array exactly as `np.save` does (version 1.0 unless the header needs 2.0). */
export function encodeNpy(a: NdArray): Uint8Array {
  const n = numel(a.shape);
  if (a.data.length !== n) {
    throw new CbdmError(`array of shape [${a.shape.join(', ')}] has ${a.data.length} elements, expected ${n}`);
  }
  let header = `{'descr': '${descrOf(a.dtype)}', 'fortran_order': False, 'shape': ${shapeRepr(a.shape)}, }`;
  if (a.shape.length > 0) header += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(a.shape[0]).length);
  const hlen = header.length + 1; // + '\n'
  let version = 1;
  let prefixLen = 10;
  if (prefixLen + hlen + ARRAY_ALIGN > 0xffff) { version = 2; prefixLen = 12; }
  const padlen = ARRAY_ALIGN - ((prefixLen + hlen) % ARRAY_ALIGN);
  const total = prefixLen + hlen + padlen;
  const body = dataToBytesLE(a.data);
  const out = new Uint8Array(total + body.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, hlen + padlen, true);
  else dv.setUint32(8, hlen + padlen, true);
  out.set(Buffer.from(header, 'latin1'), prefixLen);
  out.fill(0x20, prefixLen + header.length, total - 1);
  out[total - 1] = 0x0a;
  out.set(body, total);
  return out;
}

/** Values of the Python literal subset used in .npy headers. */
type PyLiteral = string | number | boolean | null | PyLiteral[] | Map<string, PyLiteral>;

/** Parse a Python literal: dicts, tuples, lists, strings, ints, True/False/None. */
function parsePyLiteral(text: string): PyLiteral {
  let i = 0;
  const ws = (): void => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const value = (): PyLiteral => {
    ws();
    const c = text[i];
    if (c === undefined) throw new Error('unexpected end');
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyLiteral[] = [];
      const map = new Map<string, PyLiteral>();
      for (;;) {
        ws();
        if (text[i] === close) { i++; break; }
        const v = value();
        if (c === '{') {
          ws();
          if (text[i] !== ':') throw new Error(`expected ':' at ${i}`);
          i++;
          if (typeof v !== 'string') throw new Error('dict keys must be strings');
          map.set(v, value());
        } else items.push(v);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; break; }
        throw new Error(`expected ',' or '${close}' at ${i}`);
      }
      return c === '{' ? map : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected '${c}' at ${i}`);
    i += m[1]!.length;
    if (m[1] === 'True') return true;
    if (m[1] === 'False') return false;
    if (m[1] === 'None') return null;
    return Number.parseInt(m[1]!, 10);
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return v;
}
