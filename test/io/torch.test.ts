import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadStateDictFile, loadTorch, stateDict } from '../../src/io/torch.ts';
import { dictGet, pyAttributes, unpickle, type PickleDict } from '../../src/io/pickle.ts';
import { isNdArray, type NdArray, toFloat64 } from '../../src/io/ndarray.ts';
import { encodeZip, readZip } from '../../src/io/zip.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { fixture, fixturePath } from './helpers.ts';

interface Expected { dtype: string; shape: number[]; values: Array<number | string> }
const expected = JSON.parse(readFileSync(fixturePath('torch_expected.json'), 'utf8')) as Record<string, Record<string, Expected>>;

/** Compare tensors with what PyTorch itself loaded (make_torch.py). */
function check(got: Map<string, NdArray>, want: Record<string, Expected>, what: string): void {
  assert.deepEqual([...got.keys()], Object.keys(want), `${what}: tensor names`);
  for (const [name, w] of Object.entries(want)) {
    const a = got.get(name)!;
    assert.equal(a.dtype, w.dtype === 'float' ? 'float32' : w.dtype, `${what} ${name} dtype`);
    assert.deepEqual(a.shape, w.shape, `${what} ${name} shape`);
    assert.equal(a.data.length, w.values.length);
    if (a.dtype === 'int64') assert.deepEqual([...(a.data as BigInt64Array)].map(String), w.values, `${what} ${name}`);
    else assert.deepEqual([...toFloat64(a)], w.values, `${what} ${name}`);
  }
}

for (const format of ['zip', 'legacy'] as const) {
  test(`loads dtypes, views, offsets and shared storages (${format} format)`, () => {
    const obj = loadTorch(fixture(`tensors_${format}.pt`), { source: `tensors_${format}.pt` });
    assert.ok(obj instanceof Map);
    check(stateDict(obj), expected.tensors!, format);
    // views are independent C-order copies
    const t = dictGet(obj, 'f32_t') as NdArray;
    const f = dictGet(obj, 'f32') as NdArray;
    assert.notEqual(t.data.buffer, f.data.buffer);
  });

  test(`loads a CBDM-style checkpoint and picks entries (${format} format)`, () => {
    const path = fixturePath(`ckpt_${format}.pt`);
    const ckpt = loadTorch(fixture(`ckpt_${format}.pt`)) as PickleDict;
    assert.equal(ckpt.get('step'), 1234);
    const sched = ckpt.get('sched') as PickleDict;
    assert.deepEqual(sched.get('base_lrs'), [2e-4]);
    assert.deepEqual(sched.get('lr_lambdas'), [null]);
    const groups = dictGet(ckpt.get('optim')!, 'param_groups') as PickleDict[];
    assert.deepEqual(groups[0]!.get('betas'), [0.9, 0.999]);
    assert.deepEqual(groups[0]!.get('params'), [0, 1]);
    const net = ckpt.get('net_model') as PickleDict;
    assert.ok(pyAttributes.get(net)?.has('_metadata'), 'state_dict keeps its _metadata attribute');
    const want = expected.ckpt!;
    const pick = (prefix: string): Record<string, Expected> => Object.fromEntries(Object.entries(want)
      .filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
    check(loadStateDictFile(path, 'ema_model'), pick('ema_model'), 'ema');
    check(loadStateDictFile(path, 'net_model'), pick('net_model'), 'net');
    const bn = loadStateDictFile(path, 'net_model').get('1.num_batches_tracked')!;
    assert.deepEqual(bn.shape, []);
    assert.throws(() => loadStateDictFile(path, 'model'), (e: unknown) => e instanceof CbdmError
      && /has no entry 'model'; available: net_model \(9 tensors\), ema_model \(9 tensors\), sched \(a dict\), optim \(6 tensors\), step \(number\), fixed_x_T \(a single tensor\)/.test(e.message));
    assert.throws(() => loadStateDictFile(path), /not a plain state dict; choose an entry/);
    assert.throws(() => loadStateDictFile(path, 'step'), /entry 'step' is number, not a state dict/);
    assert.equal(stateDict(ckpt).get('net_model.0.weight')?.dtype, 'float32');
  });
}

test('any archive prefix (torch.save to BytesIO writes archive/) and a plain state dict file', () => {
  check(stateDict(loadTorch(fixture('tensors_bytesio.pt'))), expected.tensors!, 'bytesio');
  assert.equal(loadStateDictFile(fixturePath('tensors_zip.pt')).size, Object.keys(expected.tensors!).length);
});

test('legacy storage views (view_metadata) as torch.load reads them', () => {
  check(stateDict(loadTorch(fixture('views_legacy.pt'))), expected.views!, 'views');
});

test('loadStateDictFile also reads safetensors, with entry prefixes', () => {
  const all = loadStateDictFile(fixturePath('tensors.safetensors'));
  assert.equal(all.size, 7);
  assert.deepEqual([...loadStateDictFile(fixturePath('tensors.safetensors'), 'conv').keys()], ['weight', 'bias']);
  assert.throws(() => loadStateDictFile(fixturePath('tensors.safetensors'), 'ema_model'), /no tensors named 'ema_model\.\*'; top-level names: steps, scalar, conv, emb, pix, mask/);
  assert.throws(() => loadStateDictFile(fixturePath('nope.pt')), /cannot read checkpoint .*nope\.pt/);
});

test('plain pickles of tensors (storages via torch.storage._load_from_bytes)', () => {
  const buf = fixture('tensors_plain.pkl');
  assert.throws(() => unpickle(buf), /torch\._utils\._rebuild_tensor_v2.*loadTorch/);
  const obj = loadTorchPickle(buf);
  const want = expected.tensors!;
  check(stateDict(obj), { f32_t: want.f32_t!, bf16: want.bf16! }, 'plain');
});

/** A pickle (not a torch.save file) is wrapped in a zip archive so loadTorch reads it. */
function loadTorchPickle(pkl: Uint8Array) {
  return loadTorch(encodeZip([{ name: 'x/data.pkl', data: pkl }], { compress: false }));
}

test('big-endian zip checkpoints are byte-swapped', () => {
  const files = readZip(fixture('tensors_zip.pt'));
  const entries = [...files].map(([name, data]) => ({ name, data: swapIfStorage(name, data) }));
  entries.push({ name: 'tensors_zip/byteorder', data: new TextEncoder().encode('big') });
  const obj = loadTorch(encodeZip(entries, { compress: false }));
  check(stateDict(obj), expected.tensors!, 'big-endian');
});

/** Storage files hold one dtype each; swap them by the dtype that the tensors fixture gives each key. */
function swapIfStorage(name: string, data: Uint8Array): Uint8Array {
  const m = /data\/(\d+)$/.exec(name);
  if (!m) return data;
  const size = STORAGE_ITEM_SIZES[Number(m[1])]!;
  const out = data.slice();
  for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
  return out;
}
// storage keys of tensors_zip.pt in save order: f32, f16, bf16, f64, i64, u8, i8, i32, bool, slice(base), shared, scalar, param
const STORAGE_ITEM_SIZES = [4, 2, 2, 8, 8, 1, 1, 4, 1, 4, 4, 4, 4];

test('bad checkpoints: truncation, wrong magic, missing storages, unknown storage types', () => {
  const is = (re: RegExp) => (e: unknown) => e instanceof CbdmError && re.test(e.message);
  const legacy = fixture('tensors_legacy.pt');
  assert.throws(() => loadTorch(legacy.subarray(0, legacy.length - 10), { source: 'w.pth' }), is(/w\.pth: file truncated (inside|before) storage/));
  assert.throws(() => loadTorch(legacy.subarray(0, 300), { source: 'w.pth' }), is(/w\.pth.*truncated/));
  assert.throws(() => loadTorch(new TextEncoder().encode('hello world'), { source: 'w.pth' }), is(/w\.pth: not a PyTorch checkpoint/));
  assert.throws(() => loadTorch(Uint8Array.from([0x80, 0x02, 0x4b, 0x05, 0x2e]), { source: 'w.pth' }), is(/without torch's magic number/));
  const files = readZip(fixture('tensors_zip.pt'));
  const missing = [...files].filter(([n]) => n !== 'tensors_zip/data/3').map(([name, data]) => ({ name, data }));
  assert.throws(() => loadTorch(encodeZip(missing, { compress: false }), { source: 'm.pt' }), is(/m\.pt: storage file 'tensors_zip\/data\/3' is missing/));
  assert.throws(() => loadTorch(encodeZip([{ name: 'a.txt', data: new Uint8Array(1) }], { compress: false })), is(/expected one '<name>\/data\.pkl'/));
  const pkl = new Uint8Array(Buffer.from('\x80\x02(X\x07\x00\x00\x00storagectorch\nComplexFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.', 'latin1'));
  assert.throws(() => loadTorchPickle(pkl), is(/global torch\.ComplexFloatStorage which cbdm does not load/));
  assert.ok(isNdArray(dictGet(loadTorch(fixture('tensors_zip.pt')), 'param')));
});
