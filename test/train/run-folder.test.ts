import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { train } from '../../src/train/trainer.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { acquireRunLock, LOCK_FILE } from '../../src/train/run-folder.ts';
import { encodeScalarEvent, eventStep, readTfRecords, tfRecord } from '../../src/io/tfevents.ts';
import { parseMetricsJsonl } from '../../src/report/run-dir.ts';

const cfg = resolveTrainConfig({
  method: 'cbdm', dataset: 'shapes10-lt', imageSize: 16, steps: 4, batch: 2, lr: 1e-3, warmup: 2, logEvery: 1, ckptEvery: 2, seed: 1,
  model: { ch: 32, chMult: [1], attn: [], numResBlocks: 1 },
});
const opts = { progress: false } as const;

/** Steps of every scalar event in the run's event files, in file order. */
function eventSteps(dir: string): number[] {
  return readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).sort()
    .flatMap((f) => readTfRecords(readFileSync(join(dir, f))).map(eventStep).filter((s): s is number => s !== null));
}
const metricSteps = (dir: string) => parseMetricsJsonl(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).map((r) => r.step);

test('a second writer is refused naming the PID holding the lock; a dead holder\'s lock is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-lock-'));
  const release = acquireRunLock(dir);
  await assert.rejects(train(cfg, { ...opts, out: dir }), new RegExp(`in use: process ${process.pid} is training into it \\(lock .*${LOCK_FILE}`));
  release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  // a lock left by a process that has exited
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), started: 'then' }));
  const r = await train({ ...cfg, steps: 1 }, { ...opts, out: dir });
  assert.equal(r.step, 1);
  assert.ok(!existsSync(join(dir, LOCK_FILE)), 'released after the run');
});

test('temp files of a killed writer are removed on start; a start without checkpoint clears the earlier start\'s logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-restart-'));
  // an earlier start that was killed before its first checkpoint: config, logs, a temp file
  await train({ ...cfg, steps: 1 }, { ...opts, out: dir });
  for (const f of ['checkpoints/latest.json', 'ema.safetensors']) unlinkSync(join(dir, f));
  writeFileSync(join(dir, 'checkpoints', '.step-00000002.safetensors.999.abc.tmp'), 'partial');
  writeFileSync(join(dir, '.config.json.999.abc.tmp'), '{');
  appendFileSync(join(dir, 'metrics.jsonl'), JSON.stringify({ step: 2, loss: 1 }) + '\n');
  await train({ ...cfg, steps: 2 }, { ...opts, out: dir });
  assert.deepEqual(metricSteps(dir), [1, 2], 'only the new start\'s metrics');
  assert.deepEqual(eventSteps(dir), [1, 2], 'only the new start\'s TensorBoard events');
  const all = [...readdirSync(dir), ...readdirSync(join(dir, 'checkpoints'))];
  assert.deepEqual(all.filter((f) => f.endsWith('.tmp')), []);

  // a finished run without checkpoints (e.g. a shipped one) is not overwritten
  const shipped = mkdtempSync(join(tmpdir(), 'cbdm-shipped-'));
  writeFileSync(join(shipped, 'config.json'), '{}');
  writeFileSync(join(shipped, 'ema.safetensors'), '');
  await assert.rejects(train(cfg, { ...opts, out: shipped }), /holds a finished run \(ema\.safetensors\) without checkpoints/);
});

test('resume trims TensorBoard events logged after the checkpoint (and a record cut short), like metrics.jsonl', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-tb-'));
  await train(cfg, { ...opts, out: dir, stopAfter: 2 });
  // the killed run had logged step 3 (and started a record) after its step-2 checkpoint
  const file = readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!;
  appendFileSync(join(dir, file), tfRecord(encodeScalarEvent(0, 3, { loss: 1 })));
  appendFileSync(join(dir, file), tfRecord(encodeScalarEvent(0, 4, { loss: 1 })).subarray(0, 10));
  appendFileSync(join(dir, 'metrics.jsonl'), JSON.stringify({ step: 3, loss: 1 }) + '\n');
  await train(cfg, { ...opts, out: dir, resume: true });
  assert.deepEqual(eventSteps(dir), [1, 2, 3, 4]);
  assert.deepEqual(metricSteps(dir), [1, 2, 3, 4]);
});

test('the report refuses metrics.jsonl whose steps do not increase', () => {
  assert.throws(() => parseMetricsJsonl('{"step":1,"loss":1}\n{"step":2,"loss":1}\n{"step":1,"loss":1}\n', 'run/metrics.jsonl'),
    /run\/metrics\.jsonl: line 3 has step 1 after step 2; steps must increase/);
  assert.throws(() => parseMetricsJsonl('{"step":2,"loss":1}\n{"step":2,"loss":1}\n'), /line 2 has step 2 after step 2/);
});
