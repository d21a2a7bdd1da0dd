/**
 * Exports for the PyTorch ecosystem and the sample formats of other code: `cbdm export torch`
 * (a state dict that the published UNet loads with strict=True and that computes the same ε̂),
 * `module.` prefixes of DataParallel checkpoints, `cbdm export png`, `cbdm eval`'s reading of
 * guided-diffusion's arr_0 .npz and the published .npy pair, and the FID weights in the torch hub
 * cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { run } from '../../src/cli/main.ts';
import { loadStateDictFile } from '../../src/io/torch.ts';
import { encodeTorchStateDict } from '../../src/io/torch-write.ts';
import { loadWeightsFile } from '../../src/models/load.ts';
import { useBackend } from '../../src/engine/backends.ts';
import { toFloat32 } from '../../src/io/ndarray.ts';
import { writeNpz } from '../../src/io/npz.ts';
import { writeNpy } from '../../src/io/npy.ts';
import { readSamples } from '../../src/metrics/features.ts';
import { resolveInceptionWeights, FID_WEIGHTS_FILE } from '../../src/metrics/inception-weights.ts';

const UNET_FIX = join(import.meta.dirname, '..', 'fixtures', 'unet');
const CKPT = join(UNET_FIX, 'tiny_ckpt.pt');
const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

const tmp = () => mkdtempSync(join(tmpdir(), 'cbdm-export-'));

test('export torch: the .pt reads back as the same tensors, in the published order', async () => {
  const out = join(tmp(), 'tiny.pt');
  assert.equal(await run(['export', 'torch', '--ckpt', CKPT, '--image-size', '8', '--out', out]), 0);
  const want = loadStateDictFile(CKPT, 'ema_model');
  const got = loadStateDictFile(out);
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [k, v] of want) {
    assert.deepEqual(got.get(k)!.shape, v.shape, k);
    assert.deepEqual(toFloat32(got.get(k)!), toFloat32(v), k);
  }
});

test('export torch: the published UNet loads the file with strict=True and computes the fixture\'s ε̂', { skip: hasTorch ? false : `${PYTHON} with torch is not installed (apt install python3-torch)` }, async () => {
  const out = join(tmp(), 'tiny.pt');
  assert.equal(await run(['export', 'torch', '--ckpt', CKPT, '--image-size', '8', '--out', out]), 0);
  const r = spawnSync(PYTHON, [join(UNET_FIX, 'check_export.py'), out, join(UNET_FIX, 'tiny_io.npz')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { type: string; entries: number; dtypes: string[]; max_diff_y: number; max_diff_n: number };
  assert.equal(res.type, 'OrderedDict');
  assert.equal(res.entries, loadStateDictFile(CKPT, 'ema_model').size);
  assert.deepEqual(res.dtypes, ['torch.float32']);
  assert.ok(res.max_diff_y < 1e-5 && res.max_diff_n < 1e-5, JSON.stringify(res));
});

test('export torch: bad requests name the flag', async () => {
  const dir = tmp();
  assert.equal(await run(['export', 'torch', '--ckpt', CKPT, '--out', join(dir, 'x.onnx')]), 2);
  assert.equal(await run(['export', 'torch', '--out', join(dir, 'x.pt')]), 2);
  assert.ok(!existsSync(join(dir, 'x.pt')));
});

test('a DataParallel checkpoint (every name prefixed module.) loads like the plain one', () => {
  const sd = loadStateDictFile(CKPT, 'ema_model');
  const prefixed = new Map([...sd].map(([k, v]) => [`module.${k}`, { shape: v.shape, data: toFloat32(v) }]));
  const path = join(tmp(), 'dp.pt');
  writeFileSync(path, encodeTorchStateDict(prefixed));
  const be = useBackend('js');
  const plain = loadWeightsFile(CKPT, be, { imageSize: 8 }).net.store.readArena();
  const dp = loadWeightsFile(path, be, { imageSize: 8 }).net.store.readArena();
  assert.deepEqual(dp, plain);
});

/** Six 4×4 RGB samples with known pixels (uint8 NCHW) and labels. */
function sampleImages(): { u8: Uint8Array; y: Int32Array } {
  const u8 = Uint8Array.from({ length: 6 * 3 * 16 }, (_, i) => (i * 37 + 11) % 256);
  return { u8, y: Int32Array.from([0, 2, 1, 2, 0, 2]) };
}

test('eval reads guided-diffusion\'s arr_0 (N×H×W×C uint8) + arr_1 and the published .npy pair as the same samples', () => {
  const dir = tmp();
  const { u8, y } = sampleImages();
  writeNpz(join(dir, 'ours.npz'), { x: { dtype: 'uint8', shape: [6, 3, 4, 4], data: u8 }, y: { dtype: 'int32', shape: [6], data: y } });
  const nhwc = new Uint8Array(u8.length);
  for (let i = 0; i < 6; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < 16; p++) nhwc[i * 48 + p * 3 + c] = u8[i * 48 + c * 16 + p]!;
  writeNpz(join(dir, 'adm.npz'), { arr_0: { dtype: 'uint8', shape: [6, 4, 4, 3], data: nhwc }, arr_1: { dtype: 'int64', shape: [6], data: BigInt64Array.from(y, BigInt) } });
  // The published code saves (x + 1) / 2 as float32 and the labels as int64.
  writeNpy(join(dir, 'cfg_1.6_samples_ema_run.npy'), { dtype: 'float32', shape: [6, 3, 4, 4], data: Float32Array.from(u8, (v) => v / 255) });
  writeNpy(join(dir, 'cfg_1.6_labels_ema_run.npy'), { dtype: 'int64', shape: [6], data: BigInt64Array.from(y, BigInt) });
  const ours = readSamples(join(dir, 'ours.npz'));
  const adm = readSamples(join(dir, 'adm.npz'));
  assert.deepEqual([adm.n, adm.channels, adm.size], [6, 3, 4]);
  assert.deepEqual(adm.images, ours.images);
  assert.deepEqual(adm.labels, ours.labels);
  const pub = readSamples(join(dir, 'cfg_1.6_samples_ema_run.npy'));
  assert.deepEqual(pub.labels, ours.labels);
  assert.ok(pub.images.every((v, i) => Math.abs(v * 255 - ours.images[i]!) < 1e-3));
  // Missing labels are named.
  writeNpz(join(dir, 'nolabels.npz'), { arr_0: { dtype: 'uint8', shape: [6, 4, 4, 3], data: nhwc } });
  assert.throws(() => readSamples(join(dir, 'nolabels.npz')), /no arr_1 \(class labels\)/);
  writeNpy(join(dir, 'cfg_1.6_samples_ema_other.npy'), { dtype: 'float32', shape: [6, 3, 4, 4], data: Float32Array.from(u8, (v) => v / 255) });
  assert.throws(() => readSamples(join(dir, 'cfg_1.6_samples_ema_other.npy')), /cfg_1\.6_labels_ema_other\.npy/);
});

test('export png: one PNG per sample in class folders, pixels as stored, labels in index.json', async () => {
  const dir = tmp();
  const { u8, y } = sampleImages();
  writeNpz(join(dir, 's.npz'), { x: { dtype: 'float32', shape: [6, 3, 4, 4], data: Float32Array.from(u8, (v) => v / 255) }, y: { dtype: 'int32', shape: [6], data: y } });
  const out = join(dir, 'png');
  assert.equal(await run(['export', 'png', '--samples', join(dir, 's.npz'), '--out', out]), 0);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { classNames: string[]; counts: number[]; images: { file: string; label: number }[] };
  assert.deepEqual(index.classNames, ['class_0', 'class_1', 'class_2']);
  assert.deepEqual(index.counts, [2, 1, 3]);
  assert.deepEqual(readdirSync(out).sort(), ['000_class_0', '001_class_1', '002_class_2', 'index.json']);
  for (const [i, rec] of index.images.entries()) {
    assert.equal(rec.label, y[i]);
    const png = PNG.sync.read(readFileSync(join(out, rec.file)));
    for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) assert.equal(png.data[p * 4 + c], u8[i * 48 + c * 16 + p]);
  }
});

test('the FID Inception weights are also found in the torch hub cache, where pytorch-fid downloads them', () => {
  const home = tmp();
  const env = { CBDM_CACHE: join(home, 'cbdm-cache'), TORCH_HOME: join(home, 'torch') };
  assert.throws(() => resolveInceptionWeights(undefined, env), /torch hub cache/);
  mkdirSync(join(home, 'torch', 'hub', 'checkpoints'), { recursive: true });
  const hub = join(home, 'torch', 'hub', 'checkpoints', FID_WEIGHTS_FILE);
  writeFileSync(hub, 'x');
  assert.equal(resolveInceptionWeights(undefined, env), hub);
  // Our own cache place wins when both exist.
  mkdirSync(env.CBDM_CACHE);
  writeFileSync(join(env.CBDM_CACHE, FID_WEIGHTS_FILE), 'x');
  assert.equal(resolveInceptionWeights(undefined, env), join(env.CBDM_CACHE, FID_WEIGHTS_FILE));
});
