// The divergence watch (src/train/divergence.ts) on logged L_ddpm sequences of real runs: the
// shapes10-lt comparison's DDPM seed 0 (every 50 steps to 2,000, 2026-12-06) trains normally and is
// never flagged; its CM seed 0 (λ 1, steps 1,000–2,000) blew up at step 1,450 and is flagged once,
// at 1,500, when the rise is confirmed. Over the 31 runs of the shapes and fashion-mnist studies the
// watch flagged exactly the three CM runs (checked when it was written, outside the suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DivergenceWatch, resumedWatch } from '../../src/train/divergence.ts';

const DDPM_S0 = [0.4755, 0.0765, 0.038, 0.0356, 0.0313, 0.0294, 0.0272, 0.0432, 0.0283, 0.0232, 0.0169, 0.036, 0.02, 0.0268,
  0.0311, 0.0222, 0.0542, 0.0283, 0.0277, 0.0487, 0.0197, 0.0178, 0.0198, 0.0229, 0.0311, 0.0275, 0.0192, 0.0157, 0.0255,
  0.0235, 0.0163, 0.0218, 0.0265, 0.0252, 0.036, 0.0185, 0.0221, 0.0231, 0.0156, 0.0229];
const CM_S0_FROM_1000 = [0.0843, 0.027, 0.0257, 0.0566, 0.0338, 0.0415, 0.0375, 0.0239, 0.0351, 5.8607, 1.0938, 311.2677,
  1142.5758, 1566.7024, 1350.1229, 2162.3787, 3419.6794, 136.2482, 6209.0898, 1.5147, 21277.2637];

function reports(values: number[], firstStep: number): Array<{ step: number; before: number; now: number }> {
  const w = new DivergenceWatch();
  return values.map((v, i) => w.observe(firstStep + 50 * i, v)).filter((r) => r !== null);
}

test('divergence watch: a run that trains (falling, then noisy within a few ×) is never flagged', () => {
  assert.deepEqual(reports(DDPM_S0, 50), []);
  // noise up to 3× its level, and a steady slow rise, are training, not divergence
  assert.deepEqual(reports([0.05, 0.03, 0.09, 0.03, 0.04, 0.1, 0.03, 0.12, 0.15, 0.2, 0.25, 0.3], 50), []);
});

test('divergence watch: the CM blow-up is flagged once, when a second logged value confirms it', () => {
  const r = reports(CM_S0_FROM_1000, 1000);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.step, 1500);
  assert.ok(Math.abs(r[0]!.before - 0.0351) < 0.005, `reference ${r[0]!.before}`);  // the level before the rise
  assert.equal(r[0]!.now, 1.0938);
});

test('divergence watch: one spike is not a trend; non-finite values and too little history are ignored', () => {
  assert.deepEqual(reports([0.03, 0.03, 0.03, 5, 0.03, 0.03, 7, 0.03], 50), []);
  assert.deepEqual(reports([0.03, 5, 6], 50), []);  // no reference level yet (fewer than 3 values before)
  assert.deepEqual(reports([0.03, 0.03, 0.03, NaN, Infinity, 0.03], 50), []);
  assert.equal(reports([0.03, 0.03, 0.03, 1, 1, 1, 1], 50).length, 1);  // reported once only
});

test('divergence watch of a resumed run: it has seen metrics.jsonl, so a rise right after the resume is flagged; a log that had diverged says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-divergence-'));
  try {
    const log = (vals: number[]) => vals.map((v, i) => JSON.stringify({ step: 50 * (i + 1), loss: v, l_ddpm: v })).join('\n') + '\n';
    const path = join(dir, 'metrics.jsonl');
    writeFileSync(path, log(DDPM_S0.slice(0, 20)) + 'not json\n');
    const { watch, report } = resumedWatch(path);
    assert.equal(report, null);
    // the fashion CM seed-1 resume at step 2,000: 59.7, then 99.1 — flagged at the second
    assert.equal(watch.observe(1050, 59.7), null);
    assert.equal(watch.observe(1100, 99.1)?.step, 1100);
    // without the log, the same two values are only the start of a new history
    const fresh = new DivergenceWatch();
    assert.equal(fresh.observe(1050, 59.7) ?? fresh.observe(1100, 99.1), null);
    // a log that already diverged: reported on reading it, and not again
    writeFileSync(path, log(CM_S0_FROM_1000));
    const again = resumedWatch(path);
    assert.equal(again.report?.now, 1.0938);
    assert.equal(again.watch.observe(2050, 1e5), null);
    assert.equal(resumedWatch(join(dir, 'missing.jsonl')).report, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
