import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dictGet, dictKeyNames, NpDType, unpickle, type PickleDict, type PickleValue } from '../../src/io/pickle.ts';
import { isNdArray, type NdArray } from '../../src/io/ndarray.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { stateDict } from '../../src/io/torch.ts';
import { assertNd, fixture, seq } from './helpers.ts';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function nd(v: PickleValue | undefined): NdArray {
  assert.ok(isNdArray(v), 'expected an NdArray');
  return v;
}

for (const p of [0, 2, 4, 5]) {
  test(`unpickles the protocol ${p} sample (python3 pickle.dumps)`, () => {
    const d = unpickle(fixture(`sample_p${p}.pkl`)) as PickleDict;
    assert.ok(d instanceof Map);
    assert.equal(d.get('none'), null);
    assert.equal(d.get('t'), true);
    assert.equal(d.get('f'), false);
    assert.deepEqual(d.get('ints'), [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 40, -(2 ** 40), 2n ** 70n, -(2n ** 70n)]);
    assert.deepEqual(d.get('floats'), [0, -1.5, 1e300, Infinity, -Infinity]);
    assert.equal(d.get('str'), 'héllo ✓ \\u \n');
    assert.deepEqual(d.get('bytes'), Uint8Array.from([0, 1, 255]));
    assert.deepEqual(d.get('tuple'), [1, 'a', [2.5]]);
    const nested = d.get('nested') as PickleDict;
    assert.deepEqual(nested.get('a'), new Map<PickleValue, PickleValue>([['b', [1, new Map([['c', 'd']])]]]));
    assert.equal(nested.get(3), 'int key');
    assert.equal(d.get('shared1'), d.get('shared2'), 'memo reuse gives the same object');
    assert.deepEqual(d.get('set'), new Set([1, 2]));
    assert.deepEqual(d.get('frozen'), new Set([3]));
    assert.deepEqual(d.get('bytearray'), text('xyz'));
    assertNd(nd(d.get('u8_2d')), 'uint8', [3, 4], seq(12, (i) => i));
    assertNd(nd(d.get('f4')), 'float32', [5], seq(5, (i) => i / 2));
    assert.deepEqual([...(nd(d.get('i8_list')).data as BigInt64Array)], [-5n, 2n ** 40n, 7n]);
    assertNd(nd(d.get('f8_fortran')), 'float64', [2, 3], seq(6, (i) => i));
    assert.equal(d.get('scalar'), 1.5);
    assertNd(nd(d.get('i2_be')), 'int16', [3], [-1, 0, 1]);
    assert.deepEqual([...(d.get('od') as PickleDict).entries()], [['z', 1], ['y', 2]]);
  });
}

function checkCifar(d: PickleValue, keysAreBytes: boolean): void {
  assert.ok(d instanceof Map);
  assert.deepEqual(dictKeyNames(d), ['batch_label', 'labels', 'data', 'filenames']);
  assert.equal([...d.keys()].every((k) => k instanceof Uint8Array), keysAreBytes);
  assert.deepEqual(dictGet(d, 'labels'), [3, 1, 4, 1]);
  assertNd(nd(dictGet(d, 'data')), 'uint8', [4, 3072], seq(4 * 3072, (i) => i % 251));
  assert.equal(dictGet(d, 'missing'), undefined);
}

test('reads Python-2-style CIFAR batches (STRING/BINSTRING keys) as bytes or latin1', () => {
  for (const p of [0, 2]) {
    const buf = fixture(`cifar_py2_p${p}.pkl`);
    const d = unpickle(buf);
    checkCifar(d, true);
    assert.deepEqual(dictGet(d, 'filenames'), [text('a.png'), text('b.png'), text("it's.png"), text('\\x.png')]);
    assert.deepEqual(dictGet(d, 'batch_label'), text('training batch 1 of 5'));
    const l = unpickle(buf, { encoding: 'latin1' }) as PickleDict;
    assert.deepEqual([...l.keys()], ['batch_label', 'labels', 'data', 'filenames']);
    assert.deepEqual(l.get('filenames'), ['a.png', 'b.png', "it's.png", '\\x.png']);
    assertNd(nd(l.get('data')), 'uint8', [4, 3072], seq(4 * 3072, (i) => i % 251));
  }
  checkCifar(unpickle(fixture('cifar_py3_p2.pkl')), true); // python3 bytes via _codecs.encode
});

test('refuses globals outside the allow-list (a pickle never executes anything)', () => {
  assert.throws(() => unpickle(fixture('evil_os_system.pkl'), { source: 'evil.pkl' }),
    (e: unknown) => e instanceof CbdmError && /evil\.pkl: pickle refers to global posix\.system which cbdm does not load/.test(e.message));
  assert.throws(() => unpickle(text("cos\nsystem\n(S'echo hi'\ntR.")), /global os\.system/);
  assert.throws(() => unpickle(text('c__builtin__\neval\n(S\'1\'\ntR.')), /global __builtin__\.eval/);
  assert.throws(() => unpickle(text('\x80\x02ctorch._utils\n_rebuild_tensor_v2\n.')), /loadTorch/);
});

test('caller-supplied globals and persistent ids', () => {
  const buf = text('\x80\x02cmy\nmake\nK\x05\x85R(X\x01\x00\x00\x00aQ.');
  assert.throws(() => unpickle(buf), /global my\.make/);
  const v = unpickle(text('\x80\x02cmy\nmake\nK\x05\x85R.'), { globals: { 'my.make': (args) => (args[0] as number) * 2 } });
  assert.equal(v, 10);
  assert.throws(() => unpickle(text('\x80\x02X\x01\x00\x00\x00aQ.')), /persistent ids/);
  assert.deepEqual(unpickle(text('\x80\x02X\x01\x00\x00\x00aQ.'), { persistentLoad: (pid) => [pid] }), ['a']);
  assert.equal(unpickle(text('Pkey\n.'), { persistentLoad: (pid) => `<${String(pid)}>` }), '<key>');
});

test('numpy dtype objects keep their byte order; unsupported dtypes are refused', () => {
  const dt = new NpDType('i2');
  dt.setState([3, '>', null, null, null, -1, -1, 0]);
  assert.deepEqual(dt.resolve(), { dtype: 'int16', littleEndian: false });
  assert.throws(() => new NpDType('U5').resolve(), /numpy dtype 'U5' is not supported/);
  assert.throws(() => unpickle(fixture('structured_p2.pkl')), /structured or sub-array numpy dtypes are not supported/);
  assert.throws(() => unpickle(fixture('object_p2.pkl')), /object arrays are not supported/);
});

test('huge LONG4 integers decode in linear time; self-referencing lists stay finite', () => {
  const n = 200_000;
  const body = new Uint8Array(n).fill(0xff); // two's complement −1
  const head = new Uint8Array(Buffer.from('\x80\x02\x8b', 'latin1'));
  const len = new Uint8Array(new Uint32Array([n]).buffer);
  const t0 = performance.now();
  assert.equal(unpickle(new Uint8Array([...head, ...len, ...body, 0x2e])), -1);
  assert.ok(performance.now() - t0 < 2000);
  // l = []; l.append(l) at protocol 2: EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP
  const l = unpickle(text('\x80\x02]q\x00h\x00a.')) as PickleValue[];
  assert.equal(l[0], l);
  assert.equal(stateDict(l).size, 0);
});

test('bad input: truncation, missing STOP, unknown opcodes, out-of-band buffers', () => {
  const good = fixture('sample_p2.pkl');
  assert.throws(() => unpickle(good.subarray(0, 500), { source: 's.pkl' }), (e: unknown) => e instanceof CbdmError && /s\.pkl: truncated/.test(e.message));
  assert.throws(() => unpickle(text('\x80\x02K\x01')), /without a STOP/);
  assert.throws(() => unpickle(text('\xff')), /unknown or unsupported opcode 0xff at offset 0/);
  assert.throws(() => unpickle(text('\x80\x05\x97.')), /out-of-band/);
  assert.throws(() => unpickle(text('\x80\x02h\x07.')), /memo entry 7/);
  assert.throws(() => unpickle(text('\x80\x09N.')), /protocol 9/);
});
