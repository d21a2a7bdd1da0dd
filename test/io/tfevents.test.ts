import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, TensorBoardWriter, readTfRecords, encodeScalarEvent } from '../../src/io/tfevents.ts';

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
});

test('event files frame records with valid CRCs and encode scalars as protobuf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-tb-'));
  const w = new TensorBoardWriter(dir);
  w.scalars(7, { loss: 0.5 });
  const recs = readTfRecords(readFileSync(w.path));
  assert.equal(recs.length, 2);
  assert.ok(new TextDecoder().decode(recs[0]).includes('brain.Event:2'));
  const ev = recs[1]!;
  // step field (key 0x10) = 7, summary (0x2a) containing tag "loss" and float 0.5 (0x3f000000 LE)
  assert.equal(ev[9], 0x10);
  assert.equal(ev[10], 7);
  const hex = Buffer.from(ev).toString('hex');
  assert.ok(hex.includes(Buffer.from('loss').toString('hex')));
  assert.ok(hex.includes('150000003f'), 'simple_value 0.5 as field 2 fixed32');
  assert.deepEqual(encodeScalarEvent(0, 1, {}).slice(9), Uint8Array.from([0x10, 1, 0x2a, 0]));
});
