/**
 * The onnxruntime-node peer of `cbdm bench train`: the PyTorch peer's UNet exported with
 * torch.onnx.export (bench/peers/export_onnx.py) and timed by bench/peers/onnxruntime.mjs; and
 * `--peer` outside bench train is a one-line error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { onnxruntimePeer } from '../../src/train/onnxruntime-peer.ts';
import { run } from '../../src/cli/main.ts';

const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
let hasOrt = true;
try {
  createRequire(import.meta.url).resolve('onnxruntime-node');
} catch {
  hasOrt = false;
}
const skip = !hasTorch ? `${PYTHON} with torch is not installed (apt install python3-torch)` : !hasOrt ? 'onnxruntime-node is not installed (npm install brings it as a devDependency)' : false;

test('onnxruntime peer: exports the PyTorch peer\'s UNet and times a forward with onnxruntime-node', { skip }, () => {
  const notes: string[] = [];
  const c = { ch: 32, mult: [1, 2], attn: [1], nres: 1, ncls: 3, size: 8, batch: 2, threads: 1, reps: 1, clock: 'wall' as const, spin: false };
  const r = onnxruntimePeer(c, (m) => notes.push(m));
  assert.ok(r !== null, notes.join('\n'));
  assert.ok(Number.isFinite(r.sample_img_steps_s) && r.sample_img_steps_s > 0, JSON.stringify(r));
  assert.match(r.onnxruntime, /^\d+\.\d+\.\d+/);
  assert.match(r.torch, /^\d+\.\d+/);
  assert.equal(r.spin, false, 'the idle-thread policy asked for reaches the session options');
  // The CPU clock (process CPU time of the peer's threads) works too.
  const cpu = onnxruntimePeer({ ...c, clock: 'cpu', spin: true }, (m) => notes.push(m));
  assert.ok(cpu !== null && cpu.sample_img_steps_s > 0, notes.join('\n'));
  assert.equal(cpu.spin, true);
});

test('bench: --peer onnxruntime is for bench train only', async () => {
  assert.equal(await run(['bench', 'gemm', '--peer', 'onnxruntime']), 2);
  assert.equal(await run(['bench', 'train', '--peer', 'tensorflow']), 2);
});
