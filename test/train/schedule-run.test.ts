/**
 * A run's diffusion schedule is a setting: trained with, saved in config.json, and used when the
 * run is sampled (read back from the run, not assumed). And a run whose config.json predates the
 * newer settings resumes with their defaults, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/train/trainer.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { loadModel, sample } from '../../src/api/sample.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { publishedScheduleFor, scheduleOf } from '../../src/diffusion/schedule.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { latestCheckpoint } from '../../src/models/weights-file.ts';

const micro = { ch: 32, chMult: [1], attn: [0], numResBlocks: 1 };
const base = { method: 'cbdm', dataset: 'shapes10-lt', imageSize: 16, batch: 3, lr: 1e-3, warmup: 2, logEvery: 1, ckptEvery: 2, seed: 3, model: micro } as const;

test('a run trained with T = 100 and β 1e-4 → 0.03 records its schedule and samples with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-sched-'));
  await train(resolveTrainConfig({ ...base, steps: 2, diffusionSteps: 100, betaEnd: 0.03 }), { out: dir, progress: false });
  const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual([saved.train.diffusionSteps, saved.train.betaSchedule, saved.train.betaStart, saved.train.betaEnd], [100, 'linear', 1e-4, 0.03]);
  assert.equal(saved.model.T, 100, 'the UNet\'s time embedding has the run\'s T rows');

  const m = loadModel(dir);
  assert.deepEqual(m.schedule, { kind: 'linear', T: 100, betaStart: 1e-4, betaEnd: 0.03 });
  const all = await sample(m, { n: 1, sampler: 'ddpm', omega: 0, batch: 1, seed: 1 });
  assert.equal(all.protocol.steps, 100, 'ancestral sampling visits the run\'s T = 100 steps');
  // the very images the run's own schedule gives, not those of the published β over T = 100
  const r = await sample(m, { n: 2, sampler: 'ddim', steps: 10, spacing: 'uniform', eta: 0, clip: 'preview-only', omega: 0, batch: 2, seed: 1 });
  const opts = { n: 2, labels: { kind: 'random' } as const, sampler: 'ddim' as const, steps: 10, spacing: 'uniform' as const, eta: 0, omega: 0, clip: 'preview-only' as const, variance: 'fixedlarge' as const, batch: 2, seed: 1 };
  const own = await generate(m.net, scheduleOf(m.schedule), opts);
  const published = await generate(m.net, scheduleOf(publishedScheduleFor(100)), opts);
  assert.deepEqual(r.x, own.x);
  assert.notDeepEqual(r.x, published.x);
});

test('a run whose config.json lacks the newer settings (schedule, T2H, CM, CORAL) resumes with their defaults, bit for bit', async () => {
  const a = mkdtempSync(join(tmpdir(), 'cbdm-old-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cbdm-old-b-'));
  const cfg = resolveTrainConfig({ ...base, steps: 4 });
  await train(cfg, { out: a, progress: false });
  await train(cfg, { out: b, progress: false, stopAfter: 2 });
  // rewrite b's config.json as an older cbdm wrote it
  const path = join(b, 'config.json');
  const saved = JSON.parse(readFileSync(path, 'utf8'));
  for (const k of ['diffusionSteps', 'betaSchedule', 'betaStart', 'betaEnd', 'maxPerClass', 't2hMode', 't2hCutTime', 't2hPriorExponent', 'cmRankRatio', 'cmLambda', 'coral', 'coralWeight', 'coralTemp', 'coralTimeTemp']) {
    delete saved.train[k];
  }
  writeFileSync(path, JSON.stringify(saved, null, 2));
  await train(cfg, { out: b, progress: false, resume: true });
  const weights = (d: string) => readSafetensors(readFileSync(latestCheckpoint(d)!)).tensors.get('ema')!.data as Float32Array;
  assert.deepEqual(weights(b), weights(a));
  assert.deepEqual(loadModel(b).schedule, publishedScheduleFor(1000));
});
