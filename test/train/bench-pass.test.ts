import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBackend } from '../../src/engine/backends.ts';
import { benchTrain } from '../../src/train/bench.ts';

test('cbdm bench train --pass: sample measures only the sampling forward, train only the step', () => {
  useBackend();
  const sample = benchTrain('tiny', { batch: 2, reps: 1, threads: 1, noPeer: true, pass: 'sample' });
  assert.deepEqual(sample.map((r) => r.case.split(' ')[0]), ['sample']);
  assert.ok(sample[0]!.ours > 0 && Number.isFinite(sample[0]!.ours));
  const train = benchTrain('tiny', { batch: 2, reps: 1, threads: 1, noPeer: true, pass: 'train' });
  assert.deepEqual(train.map((r) => r.case.split(' ')[0]), ['train']);
  assert.ok(train[0]!.ours > 0);
});
