// The benchmark plumbing (not the speed): rows have the documented shape, GFLOP/s are finite and
// positive, and a skipped peer gives null peer fields rather than a made-up ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCpuBackend } from '../../src/engine/cpu/load.ts';
import { benchConv, benchGemm, formatBenchTable, timeIt } from '../../src/engine/cpu/bench.ts';

const loaded = loadCpuBackend();
const skip = loaded.ok ? false : `native cpu backend not built (${loaded.reason})`;

test('bench rows: shape, units, no peer → null ratio', { skip }, () => {
  const rows = [
    ...benchGemm([48], { reps: 1, noPeer: true }),
    ...benchConv([{ name: 'tiny', N: 2, Ci: 4, H: 6, Co: 5, k: 3, stride: 1, pad: 1 }], { reps: 1, noPeer: true, clock: 'cpu' }),
  ];
  assert.deepEqual(rows.map((r) => r.case), ['sgemm 48³ (2 threads)', 'conv tiny B=2 fwd (2 threads)', 'conv tiny B=2 fwd+bwd (2 threads)']);
  assert.deepEqual(rows.map((r) => r.unit), ['GFLOP/s', 'GFLOP/cpu-s', 'GFLOP/cpu-s']);
  for (const r of rows) {
    assert.ok(Number.isFinite(r.ours) && r.ours > 0, `${r.case}: ${r.ours}`);
    assert.deepEqual([r.peer, r.peer_name, r.ratio], [null, null, null]);
  }
  const table = formatBenchTable(rows);
  assert.match(table, /sgemm 48³ \(2 threads\)\s+GFLOP\/s\s+[\d.]+\s+—\s+—\s+\(no peer\)/);
});

test('timeIt returns the median of its samples', () => {
  let calls = 0;
  const t = timeIt(() => { calls++; const e = performance.now() + 2; while (performance.now() < e); }, 3, 0);
  assert.ok(t >= 0.0019 && t < 0.5, `median ${t}`);
  assert.equal(calls, 2 + 3); // warm-up, probe, three samples of one call each
});
