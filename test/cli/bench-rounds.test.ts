import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summariseRounds } from '../../src/cli/bench.ts';
import { machineInfo } from '../../src/util/machine.ts';

const row = (c: string, ours: number, peer: number | null) => ({ case: c, unit: 'img/s', ours, peer, peer_name: 'p', ratio: peer === null ? null : ours / peer });

test('interleaved rounds: per-round ratios, their median and range; a missing peer gives no ratio', () => {
  const s = summariseRounds([
    [row('a', 10, 5), row('b', 1, null)],
    [row('a', 12, 4), row('b', 3, null)],
    [row('a', 6, 4), row('b', 2, null)],
  ]);
  assert.deepEqual(s[0]!.ratios, [2, 3, 1.5]);
  assert.equal(s[0]!.ratio_median, 2);
  assert.deepEqual([s[0]!.ratio_min, s[0]!.ratio_max], [1.5, 3]);
  assert.equal(s[0]!.ours_median, 10);
  assert.equal(s[0]!.peer_median, 4);
  assert.equal(s[1]!.ratio_median, null);
  assert.equal(s[1]!.ours_median, 2);
  // The median of an even count is the mean of the middle pair.
  assert.equal(summariseRounds([[row('a', 1, 1)], [row('a', 3, 1)]])[0]!.ratio_median, 2);
});

test('machine info names the CPU model, and on Linux its family and flags', () => {
  const m = machineInfo();
  assert.ok(m.cpuModel.length > 0 && m.cpus >= 1);
  if (m.platform === 'linux') assert.ok(m.cpuFamily !== null && Number.isInteger(m.cpuFamily));
});
