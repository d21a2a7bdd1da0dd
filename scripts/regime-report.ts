/**
 * Tables of the Fashion-MNIST-LT regime study (scripts/regime-study.sh, docs/RESULTS.md §7) from
 * whatever of it has run: per budget and ω, each method's Medium and Few group metrics as mean ± sd
 * over seeds, the CBDM − DDPM difference against the seed spread, the downstream classifier, and
 * how far each run has trained.
 *
 *   node --import tsx scripts/regime-report.ts runs/regime [--json assets/fashion-mnist/regime-study.json]
 *
 * --json writes the summary (per-seed values included; small enough to commit).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cellKey, fmt, meanDifference, ms, readCells, writeSummaryJson } from './study-tables.ts';
import { PUBLISHED_OMEGA } from '../src/metrics/protocol.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' } } });
const dir = positionals[0] ?? 'runs/regime';
if (!existsSync(join(dir, 'eval'))) throw new Error(`${dir}/eval does not exist: give the study directory of scripts/regime-study.sh`);

const cells = readCells([join(dir, 'eval')], ['medium', 'few', 'overall']);

const lines: string[] = [];
const budgets = [...new Set([...cells.values()].map((c) => `${c.step}|${c.omega}`))].sort((a, b) => {
  const [sa, wa] = a.split('|').map(Number); const [sb, wb] = b.split('|').map(Number);
  return sb! - sa! || wa! - wb!;
});
for (const g of ['few', 'medium'] as const) {
  lines.push(`### ${g === 'few' ? 'Few' : 'Medium'} group (mean ± sd over seeds; domain-FID ↓, the rest ↑ except nn-ratio ≈ 1 is healthy, → 0 is copying)`, '');
  lines.push('| steps | ω | method | seeds | domain-FID | precision | recall | accuracy | nn-ratio |', '|---:|---:|---|---|---:|---:|---:|---:|---:|');
  for (const b of budgets) {
    const [step, omega] = b.split('|').map(Number);
    for (const method of ['ddpm', 'cbdm', 't2h', 'cm']) {
      const c = cells.get(cellKey(step!, omega!, method));
      if (!c) continue;
      const v = c.values[g];
      lines.push(`| ${step} | ${omega} | ${method.toUpperCase()} | ${c.seeds.join(', ')} | ${ms(v.fid)} | ${ms(v.precision)} | ${ms(v.recall)} | ${ms(v.accuracy)} | ${ms(v.nn_ratio)} |`);
    }
  }
  lines.push('');
}

// CBDM − DDPM on the Few group, against the pooled seed sd: at each method's published ω
// (PUBLISHED_OMEGA, DDPM 0.8 and CBDM 1.6: the paper's comparison) and at equal ω (guidance alone
// moves accuracy and feature-space FID, so a gain that survives equal ω is the loss's).
lines.push('### CBDM − DDPM, Few group (difference of the means; in brackets the pooled seed sd)', '');
lines.push('| steps | ω (DDPM / CBDM) | seeds (DDPM / CBDM) | Δ domain-FID | Δ precision | Δ recall | Δ accuracy | Δ nn-ratio |', '|---:|---:|---|---:|---:|---:|---:|---:|');
const diffs: Array<Record<string, unknown>> = [];
const DIFF_METRICS = ['fid', 'precision', 'recall', 'accuracy', 'nn_ratio'] as const;
const steps = [...new Set([...cells.values()].map((c) => c.step))].sort((a, b) => b - a);
const omegas = [...new Set([...cells.values()].map((c) => c.omega))].sort((a, b) => a - b);
const pairs = steps.flatMap((step) => [[step, PUBLISHED_OMEGA.ddpm, PUBLISHED_OMEGA.cbdm], ...omegas.map((w) => [step, w, w])] as Array<[number, number, number]>);
for (const [step, wd, wc] of pairs) {
  const d = cells.get(cellKey(step, wd, 'ddpm')), c = cells.get(cellKey(step, wc, 'cbdm'));
  if (!d || !c) continue;
  const row = Object.fromEntries(DIFF_METRICS.map((k) => [k, meanDifference(d.values.few[k], c.values.few[k])]));
  diffs.push({ step, omega: { ddpm: wd, cbdm: wc }, seeds: { ddpm: d.seeds, cbdm: c.seeds }, ...row });
  lines.push(`| ${step} | ${wd === wc ? wd : `${wd} / ${wc}`} | ${d.seeds.length} / ${c.seeds.length} | ${DIFF_METRICS.map((k) => `${fmt(row[k]!.delta)} (${fmt(row[k]!.pooledSd)})`).join(' | ')} |`);
}
lines.push('');

// Downstream classifier (cbdm classify --json outputs).
const classify: Record<string, Array<{ seed: number; balanced: number; medium: number; few: number }>> = {};
if (existsSync(join(dir, 'classify'))) {
  for (const f of readdirSync(join(dir, 'classify')).filter((n) => n.endsWith('.json')).sort()) {
    const r = JSON.parse(readFileSync(join(dir, 'classify', f), 'utf8')) as { train: { seed: number }; accuracy: { balanced: number; medium: number; few: number } };
    const what = f.startsWith('real') ? 'real only' : `+ ${f.split('-')[0]!.toUpperCase()} samples`;
    (classify[what] ??= []).push({ seed: r.train.seed, balanced: r.accuracy.balanced, medium: r.accuracy.medium, few: r.accuracy.few });
  }
  if (Object.keys(classify).length > 0) {
    lines.push('### Downstream: ResNet-32 on the real set, alone and filled to 100 per class with generated images (balanced test accuracy, mean ± sd over seeds)', '');
    lines.push('| training set | seeds | balanced | Medium | Few |', '|---|---|---:|---:|---:|');
    for (const [what, rs] of Object.entries(classify)) {
      lines.push(`| ${what} | ${rs.map((r) => r.seed).join(', ')} | ${ms(rs.map((r) => 100 * r.balanced), 1)} | ${ms(rs.map((r) => 100 * r.medium), 1)} | ${ms(rs.map((r) => 100 * r.few), 1)} |`);
    }
    lines.push('');
  }
}

// How far each run has trained.
const runs = readdirSync(dir).filter((n) => /^(ddpm|cbdm|t2h|cm)-s\d+$/.test(n) && existsSync(join(dir, n, 'metrics.jsonl'))).sort();
const progress = runs.map((r) => {
  const rows = readFileSync(join(dir, r, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const last = JSON.parse(rows[rows.length - 1]!) as { step: number; loss: number };
  return { run: r, step: last.step, loss: last.loss };
});
lines.push('### Training progress', '', '| run | step | last logged loss |', '|---|---:|---:|', ...progress.map((p) => `| ${p.run} | ${p.step} | ${fmt(p.loss, 4)} |`), '');

console.log(lines.join('\n'));
if (values.json) {
  const summary = {
    study: 'fashion-mnist-lt --max-per-class 100 --imb 0.05, 16 px, tiny UNet, batch 32, 10,500 steps = 1,000 epochs; eval 200/class, DDIM 50 η = 1, no clipping',
    cells: [...cells.values()].map((c) => ({ method: c.method, step: c.step, omega: c.omega, seeds: c.seeds, values: c.values })),
    cbdmMinusDdpmFew: diffs, classify, progress,
  };
  writeSummaryJson(values.json, summary);
}
