import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBackend } from '../../src/engine/backends.ts';
import { benchTrain } from '../../src/train/bench.ts';
import { run } from '../../src/cli/main.ts';

test('cbdm bench train --pass: sample measures only the sampling forward, train only the step', () => {
  useBackend();
  const sample = benchTrain('tiny', { batch: 2, reps: 1, threads: 1, noPeer: true, pass: 'sample' });
  assert.deepEqual(sample.map((r) => r.case.split(' ')[0]), ['sample']);
  assert.ok(sample[0]!.ours > 0 && Number.isFinite(sample[0]!.ours));
  const train = benchTrain('tiny', { batch: 2, reps: 1, threads: 1, noPeer: true, pass: 'train' });
  assert.deepEqual(train.map((r) => r.case.split(' ')[0]), ['train']);
  assert.ok(train[0]!.ours > 0);
});

test('cbdm bench train --peer onnxruntime times sampling only: --pass defaults to sample, and a training pass is a one-line error', async () => {
  useBackend();
  const notes: string[] = [];
  // Without python3-torch the onnxruntime peer is noted as unavailable and its row has no peer value.
  const rows = benchTrain('tiny', { batch: 2, reps: 1, threads: 1, peer: 'onnxruntime', note: (m) => notes.push(m) });
  assert.deepEqual(rows.map((r) => r.case.split(' ')[0]), ['sample'], 'no training step is timed without a peer for it');
  assert.match(rows[0]!.peer_name, /^onnxruntime-node/);
  for (const pass of ['both', 'train'] as const) {
    assert.throws(() => benchTrain('tiny', { batch: 2, reps: 1, threads: 1, peer: 'onnxruntime', pass }),
      /--peer onnxruntime times sampling only \(onnxruntime-node runs inference, not training\): use --pass sample/);
  }
  assert.equal(await run(['bench', 'train', '--peer', 'onnxruntime', '--pass', 'both']), 2);
  // --no-peer and the other peers keep the default of both passes
  assert.deepEqual(benchTrain('tiny', { batch: 2, reps: 1, threads: 1, noPeer: true }).map((r) => r.case.split(' ')[0]), ['train', 'sample']);
});
