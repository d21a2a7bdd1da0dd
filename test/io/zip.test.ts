import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, encodeZip, listZip, readZip } from '../../src/io/zip.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { fixture } from './helpers.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('crc32 matches known values', () => {
  assert.equal(crc32(enc('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('encodeZip/readZip round-trip: stored, deflated, zip64, utf-8 names, empty files', () => {
  const entries = [
    { name: 'a.txt', data: enc('hello') },
    { name: 'dir/ü.bin', data: new Uint8Array(5000).map((_, i) => (i * 7) % 13) },
    { name: 'empty', data: new Uint8Array(0) },
  ];
  for (const compress of [false, true]) {
    for (const forceZip64 of [false, true]) {
      const z = encodeZip(entries, { compress, forceZip64 });
      assert.deepEqual(listZip(z), entries.map((e) => e.name));
      const back = readZip(z);
      for (const e of entries) assert.deepEqual(back.get(e.name), e.data, `${e.name} compress=${compress} zip64=${forceZip64}`);
    }
  }
  const stored = encodeZip(entries, { compress: false });
  const deflated = encodeZip(entries, { compress: true });
  assert.ok(deflated.length < stored.length, 'deflate shrinks the repetitive entry');
  assert.deepEqual(encodeZip(entries, { compress: true }), deflated, 'output is deterministic');
  assert.throws(() => encodeZip([entries[0]!, entries[0]!], { compress: false }), /duplicate entry/);
});

test('reads archives written by Python: zip64 extra fields and data descriptors', () => {
  const z64 = readZip(fixture('zip64_deflated.npz'));
  assert.deepEqual([...z64.keys()], ['mu.npy', 'labels.npy']);
  const streamed = readZip(fixture('streamed_descriptors.npz'));
  assert.deepEqual([...streamed.keys()], ['mu.npy', 'stored.npy']);
  assert.equal(streamed.get('mu.npy')!.length, 256);
});

test('bad archives: not a zip, truncated, corrupt data, CRC mismatch', () => {
  const z = encodeZip([{ name: 'x.npy', data: enc('some data that is long enough to deflate, deflate, deflate') }], { compress: true });
  const is = (re: RegExp) => (e: unknown) => e instanceof CbdmError && re.test(e.message);
  assert.throws(() => readZip(enc('definitely not a zip file at all, no sir'), 'f.npz'), is(/f\.npz: not a zip archive, or truncated/));
  assert.throws(() => readZip(z.subarray(0, z.length - 5), 'f.npz'), is(/not a zip archive, or truncated/));
  assert.throws(() => readZip(z.subarray(20), 'f.npz'), is(/f\.npz: (zip archive truncated|corrupt or truncated zip)/));
  const bad = z.slice();
  bad[32 + 6] ^= 0xff; // flip a byte of the deflated stream (after the 30-byte header and name)
  assert.throws(() => readZip(bad, 'f.npz'), is(/f\.npz: entry 'x\.npy': (corrupt deflate data|CRC-32 mismatch|size)/));
  const stored = encodeZip([{ name: 'x.npy', data: enc('abcdef') }], { compress: false });
  stored[30 + 5 + 2] ^= 1;
  assert.throws(() => readZip(stored, 'f.npz'), is(/CRC-32 mismatch/));
});

test('Node Buffers (pooled, with a byteOffset) are read like plain Uint8Arrays', () => {
  const z = encodeZip([{ name: 'a', data: enc('abc') }], { compress: false });
  const pooled = Buffer.concat([Buffer.from('xxxx'), Buffer.from(z)]).subarray(4);
  const got = readZip(pooled).get('a')!;
  assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype);
  assert.deepEqual(got, enc('abc'));
});
