import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunDir, type RunData } from '../../src/report/run-dir.ts';
import { meanSd, methodLabel, settingKey, summariseSeeds } from '../../src/report/seed-summary.ts';
import { renderReport, runLabels, seedTable } from '../../src/report/html.ts';
import { runReport } from '../../src/cli/report.ts';
import { makeFakeRun } from './fake-runs.ts';

// Three DDPM and three CBDM seeds (fake runs: eval.json values depend on the seed).
const root = mkdtempSync(join(tmpdir(), 'cbdm-seeds-'));
const dirs = [
  ...[1, 2, 3].map((seed) => { const d = join(root, `ddpm-s${seed}`); makeFakeRun(d, { method: 'ddpm', seed, logLines: 3 }); return d; }),
  ...[4, 5, 6].map((seed) => { const d = join(root, `cbdm-s${seed}`); makeFakeRun(d, { method: 'cbdm', seed, logLines: 3 }); return d; }),
];
const loaded = Promise.all(dirs.map((d) => readRunDir(d)));
const CHART = '/*chart.js stand-in*/';

test.after(() => rmSync(root, { recursive: true, force: true }));

test('meanSd: sample standard deviation (n − 1), none for one value', () => {
  assert.deepEqual(meanSd([2, 4, 4, 4, 5, 5, 7, 9]), { n: 8, mean: 5, sd: Math.sqrt(32 / 7) });
  assert.deepEqual(meanSd([3]), { n: 1, mean: 3, sd: null });
});

test('runs that differ only by seed (and bookkeeping) form one setting; mean ± sd equal the eval.json values by hand', async () => {
  const runs = await loaded;
  const s = summariseSeeds(runs);
  assert.deepEqual(s.map((x) => [x.label, x.runs.length, x.seeds, x.evaluated]), [['DDPM', 3, [1, 2, 3], 3], ['CBDM', 3, [4, 5, 6], 3]]);
  for (const [k, idx] of [[0, [0, 1, 2]], [1, [3, 4, 5]]] as const) {
    for (const row of ['few', 'all'] as const) {
      const xs = idx.map((i) => (row === 'all' ? runs[i]!.eval!.overall.fid : runs[i]!.eval!.groups[row].fid) as number);
      const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
      const got = s[k]!.stats[row].fid!;
      assert.equal(got.n, 3);
      assert.ok(Math.abs(got.mean - mean) < 1e-12 && Math.abs(got.sd! - sd) < 1e-12, `${row} FID ${got.mean} ± ${got.sd} vs ${mean} ± ${sd}`);
      assert.ok(sd > 0, 'the fake seeds differ');
    }
  }
  // bookkeeping does not split a setting; a different budget, method setting or protocol does
  const moved = structuredClone(runs) as RunData[];
  moved[1]!.config.train.logEvery = 7;
  moved[1]!.config.train.root = '/elsewhere';
  moved[1]!.config.commit = 'abc';
  assert.equal(settingKey(moved[1]!), settingKey(moved[0]!));
  moved[2]!.config.train.steps = 6000;
  moved[4]!.config.train.coral = true;
  moved[5]!.eval!.protocol.omega = 2;
  const split = summariseSeeds(moved);
  assert.deepEqual(split.map((x) => [x.label, x.runs.length]), [['DDPM #1', 2], ['DDPM #2', 1], ['CBDM #1', 1], ['CBDM+CORAL', 1], ['CBDM #2', 1]]);
  assert.equal(split[1]!.stats.all.fid!.sd, null, 'one seed: no sd');
});

test('a metric missing in some seeds is summarised over those that have it (its n says so)', async () => {
  const runs = structuredClone(await loaded) as RunData[];
  delete runs[1]!.eval!.groups.few.recall;
  runs[2]!.eval = null;
  const s = summariseSeeds(runs.slice(0, 3))[0]!;
  assert.equal(s.evaluated, 2);
  assert.equal(s.stats.few.recall!.n, 1);
  assert.equal(s.stats.few.fid!.n, 2);
  assert.match(seedTable([s], runs[0]!.data.counts, false), /\(n=1\)/);
});

test('report: a "Mean ± sd over seeds" section with n per setting; bold only when clear of the other setting by more than both sds', async () => {
  const runs = await loaded;
  const html = renderReport(runs, { chartJs: CHART, generatedAt: new Date('2026-11-25T09:00:00Z') });
  assert.match(html, /<section id="seeds"><h2>Mean ± sd over seeds<\/h2>/);
  assert.deepEqual(runLabels(runs).slice(0, 2), ['DDPM (ddpm-s1)', 'DDPM (ddpm-s2)']);
  const table = /<table id="seeds-table">(.*?)<\/table>/s.exec(html)![1]!;
  assert.match(table, /DDPM <span class="muted">n=3<\/span>/);
  const few = /<tbody>.*?<tr>.*?<\/tr><tr>.*?<\/tr><tr>(.*?)<\/tr><\/tbody>/s.exec(table)![1]!;
  const cells = few.match(/<td[^>]*>.*?<\/td>/g)!;
  // Few FID: the fake CBDM is ~20 % lower with seed noise of ~1: clear, so bold.
  assert.match(cells[2]!, /^<td>[\d.]+ ± [\d.]+<\/td>$/);
  assert.match(cells[3]!, /^<td class="best">[\d.]+ ± [\d.]+<\/td>$/);
  // one run per setting: no section (nothing to average)
  assert.ok(!renderReport([runs[0]!, runs[3]!], { chartJs: CHART }).includes('id="seeds"'));
  // A made-up tie within the sds is not bolded.
  const s = summariseSeeds(runs);
  s[1]!.stats.few.fid = { n: 3, mean: s[0]!.stats.few.fid!.mean + 0.1, sd: 1 };
  s[0]!.stats.few.fid = { ...s[0]!.stats.few.fid!, sd: 1 };
  const tied = /<tbody>.*?<tr>.*?<\/tr><tr>.*?<\/tr><tr>(.*?)<\/tr><\/tbody>/s.exec(seedTable(s, runs[0]!.data.counts, false))![1]!;
  assert.ok(!tied.match(/<td[^>]*>.*?<\/td>/g)!.slice(2, 4).some((c) => c.includes('best')));
});

test('cbdm report --json lists the settings with their statistics', async () => {
  const r = await runReport({ runs: dirs, out: join(root, 'report.html'), json: true, smooth: 0.9, samplerPage: false });
  assert.equal(r.settings.length, 2);
  assert.deepEqual(r.settings[1]!.runs, dirs.slice(3));
  assert.equal(r.settings[0]!.stats.all.fid!.n, 3);
  assert.equal(methodLabel((await loaded)[0]!), 'DDPM');
});
