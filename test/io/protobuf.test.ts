/**
 * The protobuf encoder against the worked examples of the protobuf "Encoding" guide
 * (protobuf.dev/programming-guides/encoding): `150` in field 1, the string "testing" in field 2,
 * a nested message in field 3, the packed repeated [3, 270, 86942] in field 4; and varints at
 * the 7-bit and 64-bit boundaries, negative int64 as ten bytes of two's complement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtoWriter, encodeVarint } from '../../src/io/protobuf.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('varints: 7 bits per byte, low group first; negatives as 64-bit two\'s complement', () => {
  assert.equal(hex(encodeVarint(0)), '00');
  assert.equal(hex(encodeVarint(1)), '01');
  assert.equal(hex(encodeVarint(127)), '7f');
  assert.equal(hex(encodeVarint(128)), '8001');
  assert.equal(hex(encodeVarint(150)), '9601');
  assert.equal(hex(encodeVarint(300)), 'ac02');
  assert.equal(hex(encodeVarint(-1)), 'ffffffffffffffffff01');
  assert.equal(hex(encodeVarint(-2n)), 'feffffffffffffffff01');
  assert.equal(hex(encodeVarint((1n << 63n) - 1n)), 'ffffffffffffffff7f');
  assert.equal(hex(encodeVarint(2 ** 53 - 1)), 'ffffffffffffff0f');
  assert.throws(() => encodeVarint(1.5), /not a \(safe\) integer/);
  assert.throws(() => encodeVarint(1n << 64n), /does not fit in 64 bits/);
});

test('fields: the Encoding guide\'s examples byte for byte', () => {
  assert.equal(hex(new ProtoWriter().varint(1, 150).finish()), '089601');
  assert.equal(hex(new ProtoWriter().string(2, 'testing').finish()), '120774657374696e67');
  assert.equal(hex(new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).finish()), '1a03089601');
  assert.equal(hex(new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish()), '2206038e029ea705');
  // A float is wire type 5: tag (1 << 3) | 5 = 0d, then IEEE 754 single little-endian (1.0 = 0x3f800000).
  assert.equal(hex(new ProtoWriter().float32(1, 1).finish()), '0d0000803f');
  assert.equal(hex(new ProtoWriter().packedFloats(7, [1, -2]).finish()), '3a080000803f000000c0');
  assert.equal(hex(new ProtoWriter().varint(20, true).finish()), 'a00101');
  assert.equal(hex(new ProtoWriter().bytes(9, new Uint8Array(0)).finish()), '4a00');
  assert.throws(() => new ProtoWriter().varint(0, 1), /bad field number/);
});

test('nested messages keep their chunks: lengths add up across levels, bytes in call order', () => {
  const big = new Uint8Array(200).map((_, i) => i);
  const inner = new ProtoWriter().bytes(9, big).string(8, 'w');
  const outer = new ProtoWriter().message(5, inner).varint(1, 7);
  const b = outer.finish();
  assert.equal(inner.byteLength, 1 + 2 + 200 + 3); // tag, varint(200) (2 bytes), the data, then field 8 'w'
  assert.equal(b.length, outer.byteLength);
  assert.equal(hex(b.subarray(0, 6)), '2ace014ac801'); // field 5 length 206, field 9 length 200
  assert.deepEqual(b.subarray(6, 206), big);
  assert.equal(hex(b.subarray(206)), '420177' + '0807');
});
