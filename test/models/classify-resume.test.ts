// `cbdm classify --out DIR`: checkpoints, exact resume, SIGTERM and SIGKILL, and the errors of a
// run folder. Micro runs: shapes10-lt at 16 px, 140 training images (18 steps per epoch at batch 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { runClassify, type ClassifyOptions, type ClassifyReport } from '../../src/cli/classify.ts';
import { readClassifierCheckpoint } from '../../src/train/classifier-checkpoint.ts';
import { run } from '../../src/cli/main.ts';
import { Interrupted } from '../../src/util/errors.ts';
import { CBDM } from '../cli/source-cli.ts';

// One native thread, in this process and in the children it spawns (which inherit its
// environment), so that their runs and this process's agree bit for bit on any machine. Read when
// the cpu backend first loads, after the imports.
process.env.CBDM_THREADS ??= '1';

const MICRO = { dataset: 'shapes10-lt', size: 16, maxPerClass: 20, imb: 0.5, batch: 8, testPerClass: 2, progress: false } as const;
const MICRO_ARGS = ['--dataset', 'shapes10-lt', '--image-size', '16', '--max-per-class', '20', '--imb', '0.5', '--batch', '8', '--test-per-class', '2'];

/** The report without its wall-clock time. */
function comparable(r: ClassifyReport): unknown {
  return JSON.parse(JSON.stringify({ ...r, train: { ...r.train, seconds: 0 } }));
}

/** Every tensor and the training state of a folder's checkpoint (not its settings or timing). */
function checkpointBytes(dir: string): { tensors: Buffer; losses: number[]; step: number } {
  const ck = readClassifierCheckpoint(join(dir, 'checkpoint.safetensors'));
  const o = ck.state.optimizer;
  const arrays = o.kind === 'sgd' ? [ck.net, o.momentum] : [ck.net, o.m, o.v];
  return { tensors: Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))), losses: ck.state.losses, step: ck.state.step };
}

/** Run `opts` and expect it to stop early (stopAfter), with its checkpoint at `step`. */
async function interrupted(opts: ClassifyOptions, step: number): Promise<void> {
  await assert.rejects(runClassify(opts), (e: unknown) => e instanceof Interrupted && new RegExp(`interrupted at step ${step} of \\d+; checkpoint written`).test(e.message));
  assert.equal(checkpointBytes(opts.out!).step, step);
  assert.ok(!existsSync(join(opts.out!, 'result.json')), 'an interrupted run has no result.json');
}

/** Run the CLI in-process; returns the exit code and stderr. */
async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const se = process.stderr.write.bind(process.stderr), so = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return { code: await run(argv), err };
  } finally {
    process.stderr.write = se;
    process.stdout.write = so;
  }
}

for (const arch of ['resnet32', 'small'] as const) {
  test(`classify --out (${arch}): stopped twice and resumed equals the uninterrupted run bit for bit`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), `cbdm-classify-resume-${arch}-`));
    // Checkpoints every 0.25 epoch = 5 steps; the stops at 4 and 9 fall before and after one.
    const opts: ClassifyOptions = { ...MICRO, arch, steps: 12, ckptEvery: 0.25 };
    const whole = await runClassify({ ...opts, out: join(tmp, 'whole') });
    assert.deepEqual(comparable(whole), comparable(await runClassify({ ...opts, ckptEvery: undefined })), 'a run with --out computes what one without computes');
    const b = join(tmp, 'stopped');
    await interrupted({ ...opts, out: b, stopAfter: 4 }, 4);
    await interrupted({ out: b, resume: true, stopAfter: 5, progress: false }, 9);
    const resumed = await runClassify({ out: b, resume: true, progress: false });
    assert.deepEqual(comparable(resumed), comparable(whole));
    const cw = checkpointBytes(join(tmp, 'whole')), cb = checkpointBytes(b);
    assert.equal(cb.step, 12);
    assert.ok(cb.tensors.equals(cw.tensors), 'weights or optimiser state differ after resume');
    assert.deepEqual(cb.losses, cw.losses, 'the logged loss windows differ');
    assert.deepEqual(JSON.parse(readFileSync(join(b, 'result.json'), 'utf8')), JSON.parse(JSON.stringify(resumed)), 'result.json is the report');
    assert.deepEqual(readdirSync(b).sort(), ['checkpoint.safetensors', 'result.json'], 'no lock or temp file is left');
  });
}

/** Spawn `cbdm classify` into `out` and send `signal` once its first checkpoint exists. */
async function killAfterFirstCheckpoint(out: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [...CBDM, 'classify', ...MICRO_ARGS, '--arch', 'resnet32', '--steps', '60', '--ckpt-every', '0.25', '--out', out, '--json'], { env: process.env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += String(d); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig, stderr })));
  let exited = false;
  void done.then(() => { exited = true; });
  while (!existsSync(join(out, 'checkpoint.safetensors'))) {
    if (exited) throw new Error(`classify exited before its first checkpoint: ${stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill(signal);
  return await done;
}

test('SIGTERM mid-run: exit 143 with a loadable checkpoint and nothing half-written; --resume finishes it as the uninterrupted run', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-classify-sigterm-'));
  const out = join(tmp, 'run');
  const r = await killAfterFirstCheckpoint(out, 'SIGTERM');
  assert.equal(r.code, 143, r.stderr);
  const m = /interrupted at step (\d+) of 60; checkpoint written\. Continue with: cbdm classify --resume --out /.exec(r.stderr);
  assert.ok(m, r.stderr);
  const k = Number(m[1]);
  assert.ok(k >= 1 && k < 60, `stopped at step ${k}`);
  assert.equal(checkpointBytes(out).step, k);
  assert.deepEqual(readdirSync(out), ['checkpoint.safetensors'], 'no temp file, lock or result is left');
  // The child ran with this process's environment (thread count), so the runs agree bit for bit.
  const resumed = await runClassify({ out, resume: true, progress: false });
  const whole = await runClassify({ ...MICRO, arch: 'resnet32', steps: 60, ckptEvery: 0.25, out: join(tmp, 'whole') });
  assert.deepEqual(comparable(resumed), comparable(whole));
  assert.ok(checkpointBytes(out).tensors.equals(checkpointBytes(join(tmp, 'whole')).tensors));
});

test('SIGKILL mid-run leaves the last complete checkpoint; --resume takes over the dead lock and continues', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-classify-sigkill-'));
  const out = join(tmp, 'run');
  const r = await killAfterFirstCheckpoint(out, 'SIGKILL');
  assert.equal(r.signal, 'SIGKILL');
  const k = checkpointBytes(out).step;
  assert.ok(k >= 1 && k < 60, `checkpoint at step ${k}`);
  assert.ok(existsSync(join(out, 'train.lock')), 'the killed process could not release its lock');
  await interrupted({ out, resume: true, stopAfter: 1, progress: false }, k + 1);
  assert.deepEqual(readdirSync(out), ['checkpoint.safetensors'], 'the lock was taken over and released; no temp file is left');
});

test('classify run folders: bad input is one error line naming the flag or file', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-classify-errors-'));
  const done = join(tmp, 'done');
  await runClassify({ ...MICRO, arch: 'small', steps: 2, out: done });
  const notRun = join(tmp, 'not-a-run');
  mkdirSync(notRun);
  writeFileSync(join(notRun, 'checkpoint.safetensors'), 'garbage');
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  const cases: Array<[string[], RegExp]> = [
    [['--resume', '--out', done, '--lr', '0.5'], /--resume: --lr 0\.5 differs from the run's --lr 0\.002 \(.*done\/checkpoint\.safetensors\); leave --lr out/],
    [['--resume', '--out', done, '--arch', 'resnet32'], /--resume: --arch resnet32 differs from the run's --arch small/],
    [['--resume', '--out', done, '--max-per-class', '30'], /--max-per-class 30 differs from the run's --max-per-class 20/],
    [['--resume', '--out', done, '--dataset', 'shapes100-lt'], /--dataset shapes100-lt differs from the run's --dataset shapes10-lt/],
    [[...MICRO_ARGS, '--arch', 'small', '--steps', '2', '--out', done], /done already holds a classify run \(checkpoint\.safetensors\); use --resume/],
    [['--resume', '--out', join(tmp, 'nothing')], /--resume: .*nothing has no checkpoint\.safetensors yet/],
    [['--resume', '--out', notRun], /not-a-run\/checkpoint\.safetensors/],
    [['--resume'], /--resume needs --out/],
    [[...MICRO_ARGS, '--ckpt-every', '1'], /--ckpt-every needs --out/],
    [[...MICRO_ARGS, '--ckpt-every', '0', '--out', join(tmp, 'x')], /--ckpt-every must be a positive number of epochs, got 0/],
    [[...MICRO_ARGS, '--out', file], /--out .*a-file is a file/],
    [['--steps', '1'], /--dataset <name> is required/],
  ];
  for (const [argv, want] of cases) {
    const r = await cli(['classify', ...argv]);
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, /^cbdm: error: /, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, want, argv.join(' '));
  }
  assert.ok(!existsSync(join(tmp, 'nothing')), 'a refused --resume leaves no folder behind');
  assert.ok(!existsSync(join(tmp, 'x')));
  assert.deepEqual(readdirSync(done).sort(), ['checkpoint.safetensors', 'result.json'], 'the finished run is untouched');
});
