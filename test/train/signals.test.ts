import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { latestCheckpoint } from '../../src/models/weights-file.ts';
import { CBDM } from '../cli/source-cli.ts';

// A real `cbdm train` child: one native thread, so the interrupted + resumed run and the
// uninterrupted one compute bit for bit the same.
const ENV = { ...process.env, CBDM_THREADS: '1' };
const STEPS = 60;

function microConfig(dir: string): string {
  const path = join(dir, 'micro.yaml');
  writeFileSync(path, `steps: ${STEPS}\nbatch: 2\nimageSize: 16\nlogEvery: 1\nckptEvery: 1000\nlr: 0.001\nwarmup: 2\nseed: 3\nmodel: {ch: 32, chMult: [1], attn: [], numResBlocks: 1}\n`);
  return path;
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string; at: number }

function startTraining(config: string, out: string): { child: ChildProcess; done: Promise<Exit>; stderr: () => string } {
  const child = spawn(process.execPath, [...CBDM, 'train', '--config', config, '--out', out, '--quiet'], { env: ENV });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  const done = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, at: performance.now() })));
  return { child, done, stderr: () => stderr };
}

/** Wait until the run has logged its first step (the loop is running). */
async function firstStep(out: string, done: Promise<unknown>): Promise<void> {
  let exited = false;
  void done.then(() => { exited = true; });
  while (!existsSync(join(out, 'metrics.jsonl')) || readFileSync(join(out, 'metrics.jsonl'), 'utf8') === '') {
    if (exited) throw new Error('training exited before its first step');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const stepOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8')).step as number;
function weights(dir: string): Buffer {
  const { tensors } = readSafetensors(readFileSync(latestCheckpoint(dir)!));
  return Buffer.concat(['net', 'ema', 'adam_m', 'adam_v'].map((k) => Buffer.from((tensors.get(k)!.data as Float32Array).buffer)));
}

test('SIGINT finishes the step, writes a checkpoint and exits 130 within seconds; --resume continues exactly', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-sigint-'));
  const config = microConfig(tmp);
  const out = join(tmp, 'run');
  const { child, done } = startTraining(config, out);
  await firstStep(out, done);
  const sent = performance.now();
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.at - sent < 3000, `exit took ${(r.at - sent).toFixed(0)} ms after SIGINT`);
  const k = stepOf(out);
  assert.ok(k >= 1 && k < STEPS, `checkpoint at step ${k}`);
  assert.match(r.stderr, new RegExp(`interrupted at step ${k}; checkpoint written\\. Continue with: cbdm train --resume --out `));
  assert.ok(!existsSync(join(out, 'train.lock')), 'the lock is released');

  const resumed = spawnSync(process.execPath, [...CBDM, 'train', '--resume', '--out', out, '--quiet'], { env: ENV, encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const ref = join(tmp, 'ref');
  const whole = spawnSync(process.execPath, [...CBDM, 'train', '--config', config, '--out', ref, '--quiet'], { env: ENV, encoding: 'utf8' });
  assert.equal(whole.status, 0, whole.stderr);
  assert.equal(stepOf(out), STEPS);
  assert.ok(weights(out).equals(weights(ref)), 'interrupted + resumed differs from the uninterrupted run');
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1), 'each step logged once');
});

test('SIGTERM writes a checkpoint and exits 143; a second SIGINT exits at once', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-sigterm-'));
  const config = microConfig(tmp);
  const a = startTraining(config, join(tmp, 'a'));
  await firstStep(join(tmp, 'a'), a.done);
  a.child.kill('SIGTERM');
  const ra = await a.done;
  assert.equal(ra.code, 143, ra.stderr);
  assert.ok(stepOf(join(tmp, 'a')) >= 1);

  // A second signal after the first was acknowledged ends the process at once, here during the
  // final checkpoint write of a larger model (~150 MB), which it cuts short: the temp file never
  // replaces a checkpoint.
  const big = join(tmp, 'big.yaml');
  writeFileSync(big, 'steps: 50\nbatch: 1\npreset: small\nimageSize: 16\nlogEvery: 1\n');
  const b = startTraining(big, join(tmp, 'b'));
  await firstStep(join(tmp, 'b'), b.done);
  b.child.kill('SIGINT');
  const acknowledged = performance.now();
  while (!/SIGINT: stopping after this step/.test(b.stderr()) && performance.now() - acknowledged < 20000) await new Promise((r) => setTimeout(r, 2));
  const second = performance.now();
  b.child.kill('SIGINT');
  const rb = await b.done;
  assert.ok(rb.at - second < 1000, `the second SIGINT took ${(rb.at - second).toFixed(0)} ms`);
  assert.equal(rb.signal, 'SIGINT', `ended by the signal, not by finishing (code ${rb.code}): ${rb.stderr}`);
  assert.doesNotMatch(rb.stderr, /checkpoint written/);
  assert.ok(!existsSync(join(tmp, 'b', 'checkpoints', 'latest.json')), 'no checkpoint was half-written and published');
});
