/**
 * IDX files (the MNIST / Fashion-MNIST container, http://yann.lecun.com/exdb/mnist/, section
 * "FILE FORMATS FOR THE MNIST DATABASE"), optionally gzip-compressed as distributed:
 *
 *   bytes 0–1  0x00 0x00
 *   byte  2    element type: 0x08 unsigned byte (the only type MNIST-style sets use)
 *   byte  3    number of dimensions d
 *   4·d bytes  the sizes of each dimension, big-endian uint32
 *   then       prod(sizes) elements, row-major (last dimension fastest)
 *
 * So an image file of N 28×28 images has magic 0x00000803 and sizes [N, 28, 28]; its label file
 * has magic 0x00000801 and sizes [N].
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CbdmError } from '../util/errors.ts';

/** A decoded unsigned-byte IDX array. */
export interface IdxArray {
  /** Sizes of each dimension, outermost first. */
  shape: number[];
  /** prod(shape) bytes, row-major. */
  data: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

/** Encode an unsigned-byte IDX array (tests, fixtures); gzip it with node:zlib for `.gz`. */
export function encodeIdx(shape: readonly number[], data: Uint8Array): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new RangeError(`encodeIdx: ${data.length} bytes for shape [${shape.join(', ')}] (${n})`);
  const out = new Uint8Array(4 + 4 * shape.length + n);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = shape.length;
  shape.forEach((s, i) => view.setUint32(4 + 4 * i, s, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

/**
 * Decode IDX bytes (already gunzipped). `file` names the file in errors; `dims`, when given, is
 * the number of dimensions the caller expects (3 for images, 1 for labels).
 */
export function decodeIdx(buf: Uint8Array, file: string, dims?: number): IdxArray {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CbdmError(`${file} is not an IDX file: wrong magic number (first bytes ${head || 'none'}, expected 00 00 08 0${dims ?? 'd'})`);
  }
  if (buf[2] !== UBYTE) throw new CbdmError(`${file}: IDX element type 0x${buf[2]!.toString(16)} (${TYPE_NAMES[buf[2]!] ?? 'unknown'}) is not supported; image and label files hold unsigned bytes (0x08)`);
  const d = buf[3]!;
  if (dims !== undefined && d !== dims) {
    throw new CbdmError(`${file}: IDX file has ${d} dimension(s), expected ${dims} (${dims === 3 ? 'an images file, magic 00000803' : dims === 1 ? 'a labels file, magic 00000801' : `${dims}-d`}) — are the image and label files swapped?`);
  }
  const headerLen = 4 + 4 * d;
  if (buf.length < headerLen) throw new CbdmError(`${file} is truncated: ${buf.length} bytes, the IDX header alone needs ${headerLen}. Reinstall or download it again.`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < d; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const n = shape.reduce((a, b) => a * b, 1);
  const have = buf.length - headerLen;
  if (have < n) throw new CbdmError(`${file} is truncated: its header announces [${shape.join(' × ')}] = ${n} bytes of data, the file holds ${have}. Reinstall or download it again.`);
  if (have > n) throw new CbdmError(`${file}: ${have - n} bytes of trailing data after the [${shape.join(' × ')}] array; not a valid IDX file`);
  return { shape, data: buf.subarray(headerLen) };
}

/** Read an IDX file, gunzipping it when it is gzip data (magic 1f 8b) whatever its name. */
export function readIdxFile(path: string, dims?: number): IdxArray {
  if (!existsSync(path)) throw new CbdmError(`${path} does not exist`);
  let buf: Uint8Array = new Uint8Array(readFileSync(path));
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = new Uint8Array(gunzipSync(buf));
    } catch (e) {
      throw new CbdmError(`${path} is a truncated or corrupt gzip file (${(e as Error).message}). Reinstall or download it again.`);
    }
  }
  return decodeIdx(buf, path, dims);
}
