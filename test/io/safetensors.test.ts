import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, readSafetensors, readSafetensorsFile, writeSafetensors } from '../../src/io/safetensors.ts';
import { fromNumbers, type NdArray } from '../../src/io/ndarray.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { assertNd, fixture, fixturePath, seq } from './helpers.ts';

test('reads the Python-written fixture (all dtypes, metadata, file order)', () => {
  const { tensors, metadata } = readSafetensorsFile(fixturePath('tensors.safetensors'));
  assert.deepEqual(metadata, { format: 'pt', note: 'cbdm fixture' });
  assert.deepEqual([...tensors.keys()], ['steps', 'scalar', 'conv.weight', 'emb', 'conv.bias', 'pix', 'mask']);
  assertNd(tensors.get('conv.weight')!, 'float32', [2, 3], seq(6, (i) => i / 4));
  assertNd(tensors.get('conv.bias')!, 'float16', [3], [1.5, -2, 65504]);
  assertNd(tensors.get('emb')!, 'bfloat16', [2, 2], [1, -0.5, 3, 256]);
  assert.deepEqual([...(tensors.get('steps')!.data as BigInt64Array)], [-(2n ** 40n), 7n]);
  assertNd(tensors.get('mask')!, 'bool', [3], [1, 0, 1]);
  assertNd(tensors.get('pix')!, 'uint8', [1, 2, 3], seq(6, (i) => 250 + i));
  assertNd(tensors.get('scalar')!, 'float64', [], [0.125]);
});

test('encodeSafetensors reproduces the reference layout byte for byte', () => {
  const bytes = fixture('tensors.safetensors');
  const { tensors, metadata } = readSafetensors(bytes);
  // insertion order differs from file order: the encoder sorts like the reference
  const shuffled = new Map([...tensors].reverse());
  assert.deepEqual(encodeSafetensors(shuffled, { format: 'pt', note: 'cbdm fixture' }), bytes);
  assert.deepEqual(metadata.format, 'pt');
  // The reference implementation's own unit-test vectors (safetensors/src/tensor.rs).
  const f32 = fromNumbers('float32', [1, 2, 3], [0, 1, 2, 3, 4, 5]);
  const ref1 = encodeSafetensors(new Map([['attn.0', f32]]));
  assert.equal(ref1[0], 64);
  assert.equal(Buffer.from(ref1.subarray(8, 72)).toString(), '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
  const ref2 = encodeSafetensors(new Map([['attn0', fromNumbers('float32', [1, 1, 2, 3], [0, 1, 2, 3, 4, 5])]]));
  assert.equal(ref2[0], 72);
  assert.deepEqual([...ref2.subarray(8 + 65, 8 + 72)], [32, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual([...encodeSafetensors(new Map())], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  const withMeta = encodeSafetensors(new Map(), { framework: 'pt' });
  assert.equal(withMeta[0], 40);
  assert.equal(Buffer.from(withMeta.subarray(8)).toString(), '{"__metadata__":{"framework":"pt"}}     ');
});

test('round-trips every dtype through a file atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-st-'));
  try {
    const dtypes = ['float16', 'bfloat16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'int64', 'bool'] as const;
    const m = new Map<string, NdArray>(dtypes.map((d) => [`t.${d}`, fromNumbers(d, [3, 1], [0, 1, 1])]));
    const p = join(dir, 'a', 'w.safetensors');
    writeSafetensors(p, m, { step: '10' });
    const back = readSafetensorsFile(p);
    assert.deepEqual(back.metadata, { step: '10' });
    assert.equal(back.tensors.size, dtypes.length);
    for (const [k, v] of m) assert.deepEqual(back.tensors.get(k), v, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad files: truncated, not JSON, unsupported dtype, inconsistent offsets', () => {
  const is = (re: RegExp) => (e: unknown) => e instanceof CbdmError && re.test(e.message);
  const good = fixture('tensors.safetensors');
  assert.throws(() => readSafetensors(good.subarray(0, good.length - 3), 'w.safetensors'), is(/w\.safetensors: safetensors file truncated: tensor 'mask'/));
  assert.throws(() => readSafetensors(good.subarray(0, 100), 'w.safetensors'), is(/truncated inside its \d+-byte header/));
  assert.throws(() => readSafetensors(new Uint8Array(4)), is(/too short/));
  assert.throws(() => readSafetensors(fixture('f4_3x5.npy'), 'x'), is(/x: not a safetensors file/));
  assert.throws(() => readSafetensors(fixture('unsupported_u32.safetensors'), 'u.st'), is(/u\.st: tensor 'x' has dtype U32, which cbdm does not read/));
  const lying = encodeSafetensors(new Map([['x', fromNumbers('float32', [2], [1, 2])]]));
  const text = Buffer.from(lying).toString('latin1').replace('"shape":[2]', '"shape":[3]');
  assert.throws(() => readSafetensors(new Uint8Array(Buffer.from(text, 'latin1'))), is(/tensor 'x' \(F32 \[3\]\) needs 12 bytes but data_offsets span 8/));
});
