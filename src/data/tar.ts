/**
 * A small reader for (gzipped) tar archives — enough for the official CIFAR downloads
 * (`cifar-10-binary.tar.gz`, `cifar-100-python.tar.gz`, ...) without unpacking them to disk.
 *
 * Layout (POSIX ustar): 512-byte header blocks, each followed by the file data padded to 512;
 * two zero blocks end the archive. Header fields used: name [0,100), size [124,136) octal
 * (or GNU base-256 when the high bit is set), chksum [148,156), typeflag [156], magic [257,263),
 * prefix [345,500). GNU long names (typeflag 'L') and pax `path=` records ('x') are honoured.
 */
import { gunzipSync } from 'node:zlib';
import { CbdmError } from '../util/errors.ts';

/** One archive member; `data` is a view into the archive buffer (no copy). */
export interface TarEntry {
  name: string;
  /** '0' regular file, '5' directory, ... (the ustar typeflag; NUL is read as '0'). */
  type: string;
  data: Uint8Array;
}

const BLOCK = 512;

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

function parseSize(b: Uint8Array, off: number, what: string): number {
  if (b[off]! & 0x80) {
    // GNU base-256: big-endian binary in the remaining bytes of the 12-byte field.
    let v = 0;
    for (let i = off + 1; i < off + 12; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = cString(b, off, 12).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new CbdmError(`${what}: corrupt tar header (size field "${s}" is not octal)`);
  return parseInt(s, 8);
}

function checksumOk(b: Uint8Array, off: number): boolean {
  const stored = cString(b, off + 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[off + i]!;
  return sum === parseInt(stored, 8);
}

function isZeroBlock(b: Uint8Array, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function paxPath(data: Uint8Array): string | null {
  const text = Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  let pos = 0;
  let path: string | null = null;
  while (pos < text.length) {
    const sp = text.indexOf(' ', pos);
    if (sp < 0) break;
    const len = parseInt(text.slice(pos, sp), 10);
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0 && rec.slice(0, eq) === 'path') path = rec.slice(eq + 1);
    pos += len;
  }
  return path;
}

/** All members of an uncompressed tar archive. `what` names the archive in error messages. */
export function readTar(buf: Uint8Array, what = 'tar archive'): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | null = null;
  while (off + BLOCK <= buf.length) {
    if (isZeroBlock(buf, off)) break;
    if (!checksumOk(buf, off)) throw new CbdmError(`${what}: corrupt tar header at byte ${off} (checksum mismatch); the download may be damaged — fetch it again`);
    const size = parseSize(buf, off + 124, what);
    const typeByte = buf[off + 156]!;
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    const magic = cString(buf, off + 257, 6);
    const prefix = magic.startsWith('ustar') ? cString(buf, off + 345, 155) : '';
    const base = cString(buf, off, 100);
    const dataStart = off + BLOCK;
    if (dataStart + size > buf.length) throw new CbdmError(`${what}: truncated — member "${prefix ? `${prefix}/${base}` : base}" needs ${size} bytes at offset ${dataStart} but the archive has ${buf.length} bytes; download it again`);
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') { longName = cString(data, 0, data.length); continue; }
    if (type === 'x') { longName = paxPath(data) ?? longName; continue; }
    if (type === 'g') continue;
    const name = longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = null;
    out.push({ name, type, data });
  }
  return out;
}

/** Members of a `.tar.gz` / `.tgz` (or plain `.tar` when the gzip magic is absent). */
export function readTarGz(buf: Uint8Array, what = 'archive'): TarEntry[] {
  let raw: Uint8Array = buf;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      raw = gunzipSync(buf);
    } catch (e) {
      throw new CbdmError(`${what}: cannot decompress (${(e as Error).message}); the file is truncated or not a .tar.gz — download it again`);
    }
  }
  return readTar(raw, what);
}

/** Write a minimal ustar archive (regular files only); used by tests and small exports. */
export function writeTar(files: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    if (Buffer.byteLength(f.name) > 100) throw new RangeError(`writeTar: name longer than 100 bytes: ${f.name}`);
    const h = new Uint8Array(BLOCK);
    const put = (s: string, at: number) => h.set(Buffer.from(s, 'utf8'), at);
    put(f.name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(f.data.length.toString(8).padStart(11, '0') + '\0', 124);
    put('00000000000\0', 136);
    h[156] = 0x30;
    put('ustar\0', 257);
    put('00', 263);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    parts.push(h, f.data, new Uint8Array((BLOCK - (f.data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(parts);
}
