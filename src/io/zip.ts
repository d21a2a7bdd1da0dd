/**
 * ZIP archives, as used by .npz files and PyTorch ≥ 1.6 checkpoints: stored and deflated
 * entries, zip64 (end records and extra fields), data descriptors, CRC-32 checks.
 *
 * The reader trusts the central directory (sizes, offsets) and uses the local header only to
 * find where an entry's data starts, which is how streamed archives with data descriptors stay
 * readable. The writer emits a deterministic archive (fixed 1980-01-01 timestamps).
 */
import * as zlib from 'node:zlib';
import { CbdmError } from '../util/errors.ts';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE, as in zip and gzip) of `data`. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One file of an archive, before reading. */
interface CentralEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/**
 * Read every file of a zip archive into memory: name → bytes (stored entries are views into
 * `buf`). `source` names the archive in error messages.
 */
export function readZip(input: Uint8Array, source = 'zip archive'): Map<string, Uint8Array> {
  const buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // plain view, even of a Buffer
  const out = new Map<string, Uint8Array>();
  for (const e of readCentralDirectory(buf, source)) out.set(e.name, extractEntry(buf, e, source));
  return out;
}

/** Names of the files in a zip archive, in directory order. */
export function listZip(buf: Uint8Array, source = 'zip archive'): string[] {
  return readCentralDirectory(buf, source).map((e) => e.name);
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function u64(dv: DataView, at: number, what: string, source: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CbdmError(`${source}: corrupt zip (${what} ${v} is impossibly large)`);
  return Number(v);
}

function readCentralDirectory(buf: Uint8Array, source: string): CentralEntry[] {
  const dv = view(buf);
  // The end-of-central-directory record is the last 22 bytes plus an optional comment (< 64 KiB).
  let eocd = -1;
  for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - U16_MAX); p--) {
    if (dv.getUint32(p, true) === SIG_EOCD && p + 22 + dv.getUint16(p + 20, true) <= buf.length) { eocd = p; break; }
  }
  if (eocd < 0) {
    throw new CbdmError(`${source}: not a zip archive, or truncated (no end-of-central-directory record found)`);
  }
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  const loc = eocd - 20;
  if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z = u64(dv, loc + 8, 'zip64 record offset', source);
    if (z + 56 > buf.length || dv.getUint32(z, true) !== SIG_ZIP64_EOCD) {
      throw new CbdmError(`${source}: corrupt zip (zip64 end record missing at offset ${z})`);
    }
    count = u64(dv, z + 32, 'entry count', source);
    cdSize = u64(dv, z + 40, 'directory size', source);
    cdOffset = u64(dv, z + 48, 'directory offset', source);
  }
  if (cdOffset + cdSize > buf.length) {
    throw new CbdmError(`${source}: zip archive truncated (central directory at ${cdOffset}+${cdSize} is beyond its ${buf.length} bytes)`);
  }
  const entries: CentralEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || dv.getUint32(p, true) !== SIG_CENTRAL) {
      throw new CbdmError(`${source}: corrupt or truncated zip (central directory entry ${i} of ${count} missing at offset ${p})`);
    }
    const flags = dv.getUint16(p + 8, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLen);
    const e: CentralEntry = {
      name: Buffer.from(nameBytes).toString(flags & 0x800 ? 'utf8' : 'latin1'),
      method: dv.getUint16(p + 10, true),
      flags,
      crc: dv.getUint32(p + 16, true),
      compressedSize: dv.getUint32(p + 20, true),
      size: dv.getUint32(p + 24, true),
      localOffset: dv.getUint32(p + 42, true),
    };
    applyZip64Extra(dv, p + 46 + nameLen, extraLen, e, source);
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Replace 0xFFFFFFFF fields with the 64-bit values of the zip64 extra field (id 0x0001). */
function applyZip64Extra(dv: DataView, start: number, len: number, e: CentralEntry, source: string): void {
  let q = start;
  const end = start + len;
  while (q + 4 <= end) {
    const id = dv.getUint16(q, true);
    const size = dv.getUint16(q + 2, true);
    if (id === 0x0001) {
      let r = q + 4;
      const take = (): number => {
        if (r + 8 > q + 4 + size) throw new CbdmError(`${source}: corrupt zip64 extra field for ${e.name}`);
        const v = u64(dv, r, 'zip64 field', source);
        r += 8;
        return v;
      };
      if (e.size === U32_MAX) e.size = take();
      if (e.compressedSize === U32_MAX) e.compressedSize = take();
      if (e.localOffset === U32_MAX) e.localOffset = take();
    }
    q += 4 + size;
  }
}

function extractEntry(buf: Uint8Array, e: CentralEntry, source: string): Uint8Array {
  const dv = view(buf);
  const at = `${source}: entry '${e.name}'`;
  if (e.flags & 0x1) throw new CbdmError(`${at} is encrypted; cbdm reads only unencrypted archives`);
  if (e.localOffset + 30 > buf.length || dv.getUint32(e.localOffset, true) !== SIG_LOCAL) {
    throw new CbdmError(`${at}: local header missing at offset ${e.localOffset} (archive corrupt or truncated)`);
  }
  const start = e.localOffset + 30 + dv.getUint16(e.localOffset + 26, true) + dv.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > buf.length) {
    throw new CbdmError(`${at} is truncated (needs bytes up to ${start + e.compressedSize}, archive has ${buf.length})`);
  }
  const raw = buf.subarray(start, start + e.compressedSize);
  let data: Uint8Array;
  switch (e.method) {
    case 0: data = raw; break;
    case 8:
      try {
        data = new Uint8Array(zlib.inflateRawSync(raw));
      } catch (err) {
        throw new CbdmError(`${at}: corrupt deflate data (${(err as Error).message})`);
      }
      break;
    default:
      throw new CbdmError(`${at} uses compression method ${e.method}; cbdm reads stored (0) and deflate (8) entries`);
  }
  if (data.length !== e.size) throw new CbdmError(`${at}: size ${data.length} differs from the directory's ${e.size} (archive corrupt)`);
  const crc = crc32(data);
  if (crc !== e.crc) {
    throw new CbdmError(`${at}: CRC-32 mismatch (got ${crc.toString(16)}, directory says ${e.crc.toString(16)}): the archive is corrupt`);
  }
  return data;
}

/** A file to put into an archive. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
}

/** Options for `encodeZip`. */
export interface ZipOptions {
  /** Deflate entries (true) or store them (false). */
  compress: boolean;
  /** Write zip64 extra fields and end records even when not needed (they are added when sizes or offsets pass 4 GiB or there are > 65535 entries). */
  forceZip64?: boolean;
}

const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01

/** Build a zip archive of `entries`, in order. */
export function encodeZip(entries: ZipInput[], opts: ZipOptions): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const { name, data } of entries) {
    if (names.has(name)) throw new CbdmError(`zip: duplicate entry name '${name}'`);
    names.add(name);
    const nameBytes = new Uint8Array(Buffer.from(name, 'utf8'));
    const utf8Flag = /^[\x20-\x7e]*$/.test(name) ? 0 : 0x800;
    const body = opts.compress ? new Uint8Array(zlib.deflateRawSync(data)) : data;
    const crc = crc32(data);
    const sizes64 = opts.forceZip64 === true || data.length >= U32_MAX || body.length >= U32_MAX;
    const offset64 = opts.forceZip64 === true || offset >= U32_MAX;
    const method = opts.compress ? 8 : 0;
    const needed = sizes64 || offset64 ? 45 : 20;

    const localExtra = sizes64 ? zip64Extra([data.length, body.length]) : new Uint8Array(0);
    const local = new Uint8Array(30 + nameBytes.length + localExtra.length);
    const lv = view(local);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, needed, true);
    lv.setUint16(6, utf8Flag, true);
    lv.setUint16(8, method, true);
    lv.setUint16(10, DOS_TIME, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, sizes64 ? U32_MAX : body.length, true);
    lv.setUint32(22, sizes64 ? U32_MAX : data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, localExtra.length, true);
    local.set(nameBytes, 30);
    local.set(localExtra, 30 + nameBytes.length);

    const c64: number[] = [];
    if (sizes64) c64.push(data.length, body.length);
    if (offset64) c64.push(offset);
    const centralExtra = c64.length ? zip64Extra(c64) : new Uint8Array(0);
    const cd = new Uint8Array(46 + nameBytes.length + centralExtra.length);
    const cv = view(cd);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, (3 << 8) | needed, true); // made by: Unix
    cv.setUint16(6, needed, true);
    cv.setUint16(8, utf8Flag, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, sizes64 ? U32_MAX : body.length, true);
    cv.setUint32(24, sizes64 ? U32_MAX : data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, centralExtra.length, true);
    cv.setUint32(38, (0o100644 << 16) >>> 0, true); // regular file, rw-r--r--
    cv.setUint32(42, offset64 ? U32_MAX : offset, true);
    cd.set(nameBytes, 46);
    cd.set(centralExtra, 46 + nameBytes.length);

    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const count = entries.length;
  const need64 = opts.forceZip64 === true || count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  const tail = new Uint8Array((need64 ? 56 + 20 : 0) + 22);
  const tv = view(tail);
  let t = 0;
  if (need64) {
    tv.setUint32(0, SIG_ZIP64_EOCD, true);
    tv.setBigUint64(4, 44n, true); // size of the rest of this record
    tv.setUint16(12, (3 << 8) | 45, true);
    tv.setUint16(14, 45, true);
    tv.setBigUint64(24, BigInt(count), true);
    tv.setBigUint64(32, BigInt(count), true);
    tv.setBigUint64(40, BigInt(cdSize), true);
    tv.setBigUint64(48, BigInt(cdOffset), true);
    tv.setUint32(56, SIG_ZIP64_LOCATOR, true);
    tv.setBigUint64(64, BigInt(cdOffset + cdSize), true);
    tv.setUint32(72, 1, true); // total number of disks
    t = 76;
  }
  tv.setUint32(t, SIG_EOCD, true);
  tv.setUint16(t + 8, Math.min(count, U16_MAX), true);
  tv.setUint16(t + 10, Math.min(count, U16_MAX), true);
  tv.setUint32(t + 12, need64 ? U32_MAX : cdSize, true);
  tv.setUint32(t + 16, need64 ? U32_MAX : cdOffset, true);
  return concat([...parts, ...central, tail]);
}

function zip64Extra(values: number[]): Uint8Array {
  const b = new Uint8Array(4 + 8 * values.length);
  const v = view(b);
  v.setUint16(0, 0x0001, true);
  v.setUint16(2, 8 * values.length, true);
  values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
