/**
 * A Protocol Buffers encoder: just enough of the wire format to write a message whose schema the
 * caller knows (the ONNX model of src/io/onnx-proto.ts). Wire format as specified in the protobuf
 * "Encoding" guide (protobuf.dev/programming-guides/encoding):
 *   tag    = (field_number << 3) | wire_type, as a varint
 *   varint = 7 bits per byte, least significant group first, high bit set on all but the last;
 *            a negative int32/int64 is its 64-bit two's complement (always 10 bytes)
 *   wire type 0 varint (int32, int64, enum, bool), 2 length-delimited (string, bytes, a nested
 *   message, a packed repeated scalar field), 5 fixed 32-bit (float, little-endian).
 * A nested message keeps its chunks rather than its concatenation, so a model with hundreds of
 * megabytes of weights is copied once, in `finish()`.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const TWO_64 = 1n << 64n;

/** Bytes of the varint encoding of a non-negative or (as 64-bit two's complement) negative integer. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = typeof value === 'bigint' ? value : BigInt(checkInteger(value));
  if (v < 0n) v += TWO_64;
  if (v < 0n || v >= TWO_64) throw new RangeError(`varint: ${value} does not fit in 64 bits`);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function checkInteger(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`protobuf: ${n} is not a (safe) integer`);
  return n;
}

/** One message being written: fields are appended in call order (protobuf allows any order). */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** Bytes written so far. */
  get byteLength(): number {
    return this.length;
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    if (!(Number.isInteger(field) && field >= 1 && field < 2 ** 29)) throw new RangeError(`protobuf: bad field number ${field}`);
    this.push(encodeVarint(field * 8 + wire));
  }

  /** An int32/int64/enum/bool field (wire type 0). */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value));
    return this;
  }

  /** A `float` field (wire type 5, IEEE 754 single, little-endian). */
  float32(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** A `bytes` field (wire type 2); the array is kept, not copied, until `finish()`. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(data.length));
    if (data.length > 0) this.push(data);
    return this;
  }

  /** A `string` field: UTF-8 bytes, length-delimited. */
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** A nested message field: its length, then its chunks (not copied). */
  message(field: number, m: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(m.length));
    for (const c of m.chunks) this.push(c);
    return this;
  }

  /** A packed repeated int32/int64 field: one length-delimited run of varints. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const parts = values.map((v) => encodeVarint(v));
    const body = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    for (const p of parts) {
      body.set(p, off);
      off += p.length;
    }
    return this.bytes(field, body);
  }

  /** A packed repeated float field: one length-delimited run of little-endian float32s. */
  packedFloats(field: number, values: readonly number[]): this {
    const body = new Uint8Array(values.length * 4);
    const dv = new DataView(body.buffer);
    values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    return this.bytes(field, body);
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
