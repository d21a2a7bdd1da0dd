import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/trainer.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { latestCheckpoint } from '../../src/models/weights-file.ts';
import { spawnSync } from 'node:child_process';
import { cpuInfo } from '../../src/engine/cpu/load.ts';
import { CBDM } from '../cli/source-cli.ts';

// A micro model so the test runs in seconds, on the default backend (cpu when built: a fixed
// thread count within the process, so both runs must agree bit for bit).
const cfg = resolveTrainConfig({
  method: 'cbdm', preset: 'tiny', dataset: 'shapes10-lt', imageSize: 16, steps: 4, batch: 3, lr: 1e-3, warmup: 2,
  logEvery: 1, ckptEvery: 2, labelDropProb: 0.3, seed: 5,
  model: { ch: 32, chMult: [1], attn: [0], numResBlocks: 1 },
});

function weights(dir: string): Buffer {
  const { tensors } = readSafetensors(readFileSync(latestCheckpoint(dir)!));
  return Buffer.concat(['net', 'ema', 'adam_m', 'adam_v'].map((k) => Buffer.from((tensors.get(k)!.data as Float32Array).buffer)));
}

test('N steps + resume + N steps is bit-identical to 2N steps in one go', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-resume-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-resume-b-'));
  await train(cfg, { out: a, progress: false });
  await train(cfg, { out: b, progress: false, stopAfter: 2 });
  assert.equal(JSON.parse(readFileSync(join(b, 'checkpoints', 'latest.json'), 'utf8')).step, 2);
  await train(cfg, { out: b, progress: false, resume: true });
  assert.ok(weights(a).equals(weights(b)), 'weights, EMA and Adam moments differ after resume');
  const la = readFileSync(join(a, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  const lb = readFileSync(join(b, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(lb, la);
  assert.ok(existsSync(join(a, 'ema.safetensors')));
});

test('a run that died after its last checkpoint resumes without duplicate metrics lines', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-resume-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-resume-b-'));
  await train(cfg, { out: a, progress: false });
  await train(cfg, { out: b, progress: false, stopAfter: 2 });
  // a crash after step 3 was logged but before the step-4 checkpoint: step 3's line is on disk
  const full = readFileSync(join(a, 'metrics.jsonl'), 'utf8').trim().split('\n');
  appendFileSync(join(b, 'metrics.jsonl'), full[2] + '\n');
  await train(cfg, { out: b, progress: false, resume: true });
  const steps = readFileSync(join(b, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4]);
  const loss = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(loss(b), loss(a), 'the resumed run logs the same losses as the uninterrupted one');
});

test('a finished run extended with resume (extendTo) equals the longer run in one go; it cannot shrink', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-extend-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-extend-b-'));
  await train(cfg, { out: a, progress: false });  // 4 steps
  await train({ ...cfg, steps: 2 }, { out: b, progress: false });
  await train(cfg, { out: b, progress: false, resume: true, extendTo: 4 });
  assert.ok(weights(a).equals(weights(b)), 'extending 2 → 4 steps differs from 4 steps in one go');
  assert.equal(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).train.steps, 4, 'config.json records the new total');
  await assert.rejects(train(cfg, { out: b, progress: false, resume: true, extendTo: 3 }), /can only be extended \(it is set to 4 steps\)/);
  // the periodic checkpoint at the old end (step 2) survives the extension
  assert.ok(existsSync(join(b, 'checkpoints', 'step-00000002.safetensors')), 'checkpoint of the old end was deleted');
  assert.ok(existsSync(join(b, 'checkpoints', 'step-00000004.safetensors')));
});

test('the final checkpoint of a run that stopped off the --ckpt-every grid survives its extension', async () => {
  const b = mkdtempSync(join(tmpdir(), 'cbdm-extend-odd-'));
  await train({ ...cfg, steps: 3 }, { out: b, progress: false });  // checkpoints at 2 (periodic) and 3 (the end)
  await train(cfg, { out: b, progress: false, resume: true, extendTo: 4 });
  for (const s of [2, 3, 4]) assert.ok(existsSync(join(b, 'checkpoints', `step-0000000${s}.safetensors`)), `checkpoint of step ${s} was deleted`);
  // --keep-ckpts (3 here) counts the end checkpoint with the periodic ones: the oldest goes first.
  await train(cfg, { out: b, progress: false, resume: true, extendTo: 6 });
  const kept = readdirSync(join(b, 'checkpoints')).filter((f) => f.endsWith('.safetensors')).sort();
  assert.deepEqual(kept, [3, 4, 6].map((s) => `step-0000000${s}.safetensors`));
});

test('CBDM fine-tune starts from the same weights given a run directory or its ema.safetensors', async () => {
  const base = mkdtempSync(join(tmpdir(), 'cbdm-ft-base-'));
  await train({ ...cfg, method: 'ddpm' }, { out: base, progress: false });
  const ft = { ...cfg, steps: 2, finetuneFrom: base };
  const a = mkdtempSync(join(tmpdir(), 'cbdm-ft-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-ft-b-'));
  await train(ft, { out: a, progress: false });
  await train({ ...ft, finetuneFrom: join(base, 'ema.safetensors') }, { out: b, progress: false });
  assert.ok(weights(a).equals(weights(b)), 'fine-tuning from the run and from its ema.safetensors differ');
});

test('a run directory is not overwritten, and --resume needs a run', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-resume-c-'));
  await assert.rejects(train(cfg, { out: a, resume: true, progress: false }), /no config\.json/);
  await train({ ...cfg, steps: 1 }, { out: a, progress: false });
  await assert.rejects(train(cfg, { out: a, progress: false }), /already holds a run/);
});

test('the CLI resumes and extends a run in a fresh process; the precision is recorded, and a change of it is flagged', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cbdm-resume-cli-')), 'run');
  const run = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [...CBDM, 'train', ...args], { encoding: 'utf8', env: { ...process.env, CBDM_PRECISION: '', ...env } });
  let r = run({}, '--dataset', 'shapes10-lt', '--preset', 'tiny', '--image-size', '16', '--steps', '2', '--batch', '2', '--ckpt-every', '1', '--out', dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { precision: string }).precision, 'fp32');
  r = run({}, '--resume', '--out', dir, '--steps', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(latestCheckpoint(dir)!, /step-0*3\.safetensors$/);
  r = run({ CBDM_PRECISION: 'bf16' }, '--resume', '--out', dir, '--steps', '4');
  assert.equal(r.status, 0, r.stderr);
  if (cpuInfo()?.bf16) assert.match(r.stderr, /trained with fp32 convolutions and continues with bf16 .* not the bit-exact continuation/);
  else assert.match(r.stderr, /CBDM_PRECISION=bf16 needs a CPU with AVX512-BF16/);
});
