/**
 * safetensors files: 8-byte little-endian header length N, N bytes of JSON header
 * `{"__metadata__":{…}, "<name>":{"dtype":"F32","shape":[…],"data_offsets":[begin,end]}, …}`
 * padded with spaces to a multiple of 8, then the tensors' little-endian C-order bytes
 * (offsets relative to the end of the header).
 *
 * `encodeSafetensors` lays tensors out as the reference (Rust) implementation does: sorted by
 * dtype in descending alignment order, then by name, `__metadata__` first, compact JSON.
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { type NdArray, type NdDType, dataFromBytes, dataToBytesLE, itemSize, numel } from './ndarray.ts';

/** safetensors dtype codes, in the reference implementation's enum order (= sort rank). */
const CODES: Array<[string, NdDType | null]> = [
  ['BOOL', 'bool'], ['U8', 'uint8'], ['I8', 'int8'], ['F8_E5M2', null], ['F8_E4M3', null],
  ['I16', 'int16'], ['U16', 'uint16'], ['F16', 'float16'], ['BF16', 'bfloat16'], ['I32', 'int32'],
  ['U32', null], ['F32', 'float32'], ['F64', 'float64'], ['I64', 'int64'], ['U64', null],
];
const CODE_OF = new Map<NdDType, string>();
const RANK_OF = new Map<NdDType, number>();
const DTYPE_OF = new Map<string, NdDType>();
CODES.forEach(([code, dt], rank) => {
  if (!dt) return;
  CODE_OF.set(dt, code);
  RANK_OF.set(dt, rank);
  DTYPE_OF.set(code, dt);
});

/** The reference implementation refuses headers above 100 MB. */
const MAX_HEADER = 100_000_000;

/** A parsed safetensors file: tensors in file order and the `__metadata__` strings. */
export interface SafetensorsFile {
  tensors: Map<string, NdArray>;
  metadata: Record<string, string>;
}

/** Parse safetensors bytes. `source` names the file in error messages. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  if (bytes.length < 8) throw new CbdmError(`${source}: too short for a safetensors file (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new CbdmError(`${source}: not a safetensors file (header length ${n64} is implausible)`);
  const n = Number(n64);
  if (8 + n > bytes.length) throw new CbdmError(`${source}: safetensors file truncated inside its ${n}-byte header`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CbdmError(`${source}: not a safetensors file (header is not JSON: ${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CbdmError(`${source}: not a safetensors file (header is not a JSON object)`);
  }
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: NdDType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((info ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new CbdmError(`${source}: __metadata__ value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const code = String(t?.dtype);
    const dtype = DTYPE_OF.get(code);
    if (!dtype) {
      throw new CbdmError(`${source}: tensor '${name}' has dtype ${code}, which cbdm does not read (supported: ${[...DTYPE_OF.keys()].join(', ')})`);
    }
    const shape = t.shape;
    const offs = t.data_offsets;
    const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!isInts(shape) || !isInts(offs) || offs.length !== 2) throw new CbdmError(`${source}: tensor '${name}' lacks a valid shape/data_offsets`);
    const [begin, end] = offs as [number, number];
    const nbytes = numel(shape) * itemSize(dtype);
    if (end - begin !== nbytes) {
      throw new CbdmError(`${source}: tensor '${name}' (${code} [${shape.join(', ')}]) needs ${nbytes} bytes but data_offsets span ${end - begin}`);
    }
    if (end > data.length) {
      throw new CbdmError(`${source}: safetensors file truncated: tensor '${name}' ends at data byte ${end}, only ${data.length} present`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors = new Map<string, NdArray>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: [...e.shape], data: dataFromBytes(e.dtype, data.subarray(e.begin, e.end), true) });
  }
  return { tensors, metadata };
}

/** Read a safetensors file from disk. */
export function readSafetensorsFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new CbdmError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return readSafetensors(bytes, path);
}

/** Encode tensors (and optional string metadata) as safetensors bytes. */
export function encodeSafetensors(tensors: Map<string, NdArray>, metadata?: Record<string, string>): Uint8Array {
  const items = [...tensors].map(([name, a]) => {
    if (name === '__metadata__') throw new CbdmError("safetensors: '__metadata__' cannot be a tensor name");
    if (a.data.length !== numel(a.shape)) throw new CbdmError(`safetensors: tensor '${name}' has ${a.data.length} elements for shape [${a.shape.join(', ')}]`);
    return { name, a, rank: RANK_OF.get(a.dtype)! };
  });
  // Descending alignment (dtype rank), then name by UTF-8 bytes (Rust's str ordering).
  items.sort((x, y) => y.rank - x.rank || Buffer.compare(Buffer.from(x.name, 'utf8'), Buffer.from(y.name, 'utf8')));
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  const bodies: Uint8Array[] = [];
  for (const { name, a } of items) {
    const body = dataToBytesLE(a.data);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${CODE_OF.get(a.dtype)!}","shape":[${a.shape.join(',')}],"data_offsets":[${offset},${offset + body.length}]}`);
    offset += body.length;
    bodies.push(body);
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  const out = new Uint8Array(8 + json.length + pad + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length + pad), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + json.length + pad);
  let p = 8 + json.length + pad;
  for (const b of bodies) { out.set(b, p); p += b.length; }
  return out;
}

/** Write tensors to a safetensors file atomically. */
export function writeSafetensors(path: string, tensors: Map<string, NdArray>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
