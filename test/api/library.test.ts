/**
 * The library API (src/index.ts): training stops on the caller's AbortSignal with a checkpoint and
 * installs no process handlers, prints nothing, reports notes through `log`; errors name config
 * and option fields (the CLI's name flags); sampling, saving and reading back a model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cbdm from '../../src/index.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';

const TINY: Partial<cbdm.TrainConfig> = {
  method: 'cbdm', dataset: 'shapes10-lt', imageSize: 16, steps: 6, batch: 4, logEvery: 1, ckptEvery: 1000, seed: 2,
  model: { ch: 32, chMult: [1], attn: [], numResBlocks: 1 },
};
const tmp = () => mkdtempSync(join(tmpdir(), 'cbdm-api-'));

test('train stops on the AbortSignal after the step in progress, with a checkpoint; no process handlers, no console output; resume finishes it', async () => {
  const out = join(tmp(), 'run');
  const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
  const ac = new AbortController();
  const printed: string[] = [];
  const origError = console.error, origLog = console.log;
  console.error = (...a: unknown[]) => { printed.push(a.join(' ')); };
  console.log = (...a: unknown[]) => { printed.push(a.join(' ')); };
  let r: cbdm.TrainResult;
  try {
    r = await cbdm.train(TINY, {
      out, signal: ac.signal,
      onStep: (step) => {
        assert.equal(process.listenerCount('SIGINT'), before.int);
        assert.equal(process.listenerCount('SIGTERM'), before.term);
        if (step === 2) ac.abort();
      },
    });
  } finally {
    console.error = origError;
    console.log = origLog;
  }
  assert.deepEqual(printed, []);
  assert.equal(r.step, 2);
  assert.equal(r.interrupted, true);
  assert.ok(existsSync(join(out, 'checkpoints', 'latest.json')) && existsSync(join(out, 'ema.safetensors')));
  // A stray metrics line past the checkpoint is trimmed on resume, and the note goes to `log`.
  writeFileSync(join(out, 'metrics.jsonl'), '{"step":3,"loss":1}\n', { flag: 'a' });
  const notes: string[] = [];
  const done = await cbdm.train({}, { out, resume: true, log: (l) => notes.push(l) });
  assert.equal(done.step, 6);
  assert.equal(done.interrupted, false);
  assert.ok(notes.some((n) => /dropped 1 metrics line/.test(n)), notes.join('\n'));
});

test('library errors name config fields; the CLI\'s name flags', async () => {
  await assert.rejects(cbdm.train({ emaDecay: 1.5 }, { out: join(tmp(), 'x') }), /^CbdmError: emaDecay must be in \[0, 1\)/);
  await assert.rejects(cbdm.train({ labelDropProb: 2 }, { out: join(tmp(), 'x') }), /labelDropProb must be in \[0, 1\]/);
  await assert.rejects(cbdm.train({ ...TINY, batch: 100_000 }, { out: join(tmp(), 'x') }), /^CbdmError: batch 100000 is larger than the dataset/);
  assert.throws(() => resolveTrainConfig({ emaDecay: 1.5 }), /^CbdmError: --ema-decay must be in \[0, 1\)/);
  assert.throws(() => resolveTrainConfig({ labelDropProb: 2 }), /--label-drop must be/);
  const file = join(tmp(), 'f');
  writeFileSync(file, 'x');
  await assert.rejects(cbdm.train(TINY, { out: file }), /^CbdmError: out: .* is a file/);
});

test('sample from a trained model, save and load it again, save the samples; option errors name the field', async () => {
  const out = join(tmp(), 'run');
  const r = await cbdm.train({ ...TINY, steps: 1 }, { out });
  const a = await cbdm.sample(r.ema, { n: 3, classIndex: 4, steps: 3, seed: 7 });
  assert.deepEqual([...a.y], [4, 4, 4]);
  assert.equal(a.x.length, 3 * 3 * 16 * 16);
  assert.ok(a.x.every((v) => v >= 0 && v <= 1));
  const path = join(tmp(), 'model.safetensors');
  cbdm.saveModel(r.ema, path);
  const b = await cbdm.sample(cbdm.loadModel(path), { n: 3, classIndex: 4, steps: 3, seed: 7 });
  assert.deepEqual(b.x, a.x, 'a saved and reloaded model samples the same images');
  const c = await cbdm.sample(cbdm.loadModel(out), { n: 3, classIndex: 4, steps: 3, seed: 7, omega: 1.6 });
  assert.equal(c.protocol.omega, 1.6);
  cbdm.saveSamples(join(tmp(), 's.npz'), a);
  await assert.rejects(cbdm.sample(r.ema, { n: 0 }), /^CbdmError: n must be a positive integer/);
  await assert.rejects(cbdm.sample(r.ema, { n: 1, classIndex: 10 }), /^CbdmError: classIndex 10 is out of range: this model has 10 classes/);
  const run = await cbdm.readRun(out);
  assert.equal(run.config.train.steps, 1);
});
