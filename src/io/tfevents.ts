/**
 * TensorBoard event files (`events.out.tfevents.*`), written without TensorFlow: each record is
 *   uint64 length | uint32 masked CRC32C(length) | Event protobuf | uint32 masked CRC32C(data)
 * and each Event carries wall_time (field 1, double), step (2, varint) and a Summary (5) of
 * Values {tag (1, string), simple_value (2, float)}. The first record holds file_version
 * "brain.Event:2" (field 3). Enough for TensorBoard's scalars dashboard.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.ts';
import { hostname } from 'node:os';
import { join } from 'node:path';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's CRC masking. */
export function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

class ProtoWriter {
  private parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.parts.push(b);
    } while (x > 0n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.key(field, 1).parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.key(field, 5).parts.push(...b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length).parts.push(...data);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One Event protobuf with scalar summaries. */
export function encodeScalarEvent(wallTime: number, step: number, scalars: Record<string, number>): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, v] of Object.entries(scalars)) {
    summary.bytes(1, new ProtoWriter().string(1, tag).float(2, v).finish());
  }
  return new ProtoWriter().double(1, wallTime).key(2, 0).varint(step).bytes(5, summary.finish()).finish();
}

/** Frame a payload as a TFRecord. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(data.length), true);
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const dv = new DataView(out.buffer);
  out.set(len, 0);
  dv.setUint32(8, maskedCrc(len), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}

/** Appends scalar summaries to a TensorBoard event file in `dir`. */
export class TensorBoardWriter {
  readonly path: string;
  constructor(dir: string) {
    // A new file per process start (as TensorBoard's writers do); never overwrite an earlier one.
    const base = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}`);
    let path = base;
    for (let i = 1; existsSync(path); i++) path = `${base}.${i}`;
    this.path = path;
    const header = new ProtoWriter().double(1, Date.now() / 1000).string(3, 'brain.Event:2').finish();
    writeFileSync(this.path, tfRecord(header));
  }

  /** Log scalars at a step. */
  scalars(step: number, values: Record<string, number>): void {
    appendFileSync(this.path, tfRecord(encodeScalarEvent(Date.now() / 1000, step, values)));
  }
}

/** Parse TFRecords back (verifying both CRCs); for tests and tools. */
export function readTfRecords(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw new Error(`truncated TFRecord header at byte ${off}`);
    const n = Number(dv.getBigUint64(off, true));
    if (dv.getUint32(off + 8, true) !== maskedCrc(buf.subarray(off, off + 8))) throw new Error(`bad length CRC at byte ${off}`);
    const data = buf.subarray(off + 12, off + 12 + n);
    if (data.length !== n || off + 16 + n > buf.length) throw new Error(`truncated TFRecord at byte ${off}`);
    if (dv.getUint32(off + 12 + n, true) !== maskedCrc(data)) throw new Error(`bad data CRC at byte ${off}`);
    out.push(data);
    off += 16 + n;
  }
  return out;
}

/** The `step` (field 2) of an Event protobuf, or null when it has none (the file_version record). */
export function eventStep(event: Uint8Array): number | null {
  let off = 0;
  const varint = (): bigint => {
    let x = 0n, shift = 0n;
    for (;;) {
      if (off >= event.length) throw new Error('truncated varint');
      const b = event[off++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  while (off < event.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 2) return Number(BigInt.asIntN(64, v));
    } else if (wire === 1) off += 8;
    else if (wire === 5) off += 4;
    else if (wire === 2) { const n = Number(varint()); off += n; }
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return null;
}

/**
 * Drop the events logged after `step` from every event file of `dir` (a resumed run logs those
 * steps again), and a last record cut short by a crash. Rewritten atomically; returns how many
 * records went.
 */
export function trimEventFiles(dir: string, step: number): number {
  let dropped = 0;
  for (const name of readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).sort()) {
    const path = join(dir, name);
    const buf = readFileSync(path);
    const keep: Uint8Array[] = [];
    let off = 0, total = 0;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (off + 12 <= buf.length) {
      const n = Number(dv.getBigUint64(off, true));
      if (off + 16 + n > buf.length || dv.getUint32(off + 8, true) !== maskedCrc(buf.subarray(off, off + 8))) break;
      const data = buf.subarray(off + 12, off + 12 + n);
      if (dv.getUint32(off + 12 + n, true) !== maskedCrc(data)) break;
      total++;
      let s: number | null;
      try { s = eventStep(data); } catch { s = null; }
      if (s === null || s <= step) keep.push(buf.subarray(off, off + 16 + n));
      off += 16 + n;
    }
    const cut = off < buf.length ? 1 : 0;
    if (keep.length < total || cut) {
      writeFileAtomic(path, Buffer.concat(keep));
      dropped += total - keep.length + cut;
    }
  }
  return dropped;
}
