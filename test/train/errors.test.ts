import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { train } from '../../src/train/trainer.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { CBDM } from '../cli/source-cli.ts';

const micro = { ch: 32, chMult: [1], attn: [], numResBlocks: 1 };

test('a diverging run stops with the step, the last finite checkpoint and a hint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-nan-'));
  const cfg = resolveTrainConfig({ method: 'ddpm', dataset: 'shapes10-lt', imageSize: 16, steps: 20, batch: 2, lr: 1e30, warmup: 0, gradClip: 0, ckptEvery: 1, model: micro, labelDropProb: 0 });
  await assert.rejects(train(cfg, { out: dir, progress: false }), (e: Error) => {
    assert.match(e.message, /loss became (NaN|Infinity|-Infinity) at step \d+/);
    assert.match(e.message, /last finite checkpoint: .*step-\d+\.safetensors/);
    assert.match(e.message, /--lr/);
    return true;
  });
  assert.ok(existsSync(join(dir, 'checkpoints', 'latest.json')));
});

test('bad flags are clear errors before any work starts', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [...CBDM, ...args], { encoding: 'utf8' });
  const out = mkdtempSync(join(tmpdir(), 'cbdm-flags-'));
  let r = run('train', '--dataset', 'mnist-lt', '--out', join(out, 'a'), '--steps', '1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /mnist-lt/);
  assert.match(r.stderr, /shapes10-lt/);
  r = run('train', '--dataset', 'shapes10-lt', '--out', join(out, 'b'), '--steps', '0');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--steps must be a positive integer/);
  r = run('train', '--dataset', 'shapes10-lt', '--out', join(out, 'c'), '--ema-decay', '1.5');
  assert.match(r.stderr, /--ema-decay must be in \[0, 1\)/);
  r = run('sample', '--ckpt', join(import.meta.dirname, '..', 'fixtures', 'unet', 'tiny_ckpt.pt'), '--image-size', '8', '--class', '7', '--n', '1', '--out', join(out, 's.npz'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--class 7 is out of range: this model has 3 classes/);
  r = run('sample', '--ckpt', join(import.meta.dirname, '..', 'fixtures', 'unet', 'tiny_ckpt.pt'), '--image-size', '7', '--n', '1', '--out', join(out, 's.npz'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /image size 7 is not divisible/);
  assert.ok(!existsSync(join(out, 'a')) && !existsSync(join(out, 'b')));
});
