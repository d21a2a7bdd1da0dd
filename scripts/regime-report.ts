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
import { writeFileAtomic } from '../src/io/atomic.ts';
import type { EvalResult } from '../src/report/run-dir.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' } } });
const dir = positionals[0] ?? 'runs/regime';
if (!existsSync(join(dir, 'eval'))) throw new Error(`${dir}/eval does not exist: give the study directory of scripts/regime-study.sh`);

const METRICS = ['fid', 'precision', 'recall', 'accuracy', 'nn_ratio'] as const;
type Metric = (typeof METRICS)[number];
const GROUPS = ['medium', 'few', 'overall'] as const;
type Group = (typeof GROUPS)[number];

interface Cell { method: string; step: number; omega: number; seeds: number[]; values: Record<Group, Record<Metric, number[]>> }

const cells = new Map<string, Cell>();
for (const name of readdirSync(join(dir, 'eval')).sort()) {
  const m = /^(ddpm|cbdm|t2h|cm)-s(\d+)-(\d+)-w([\d.]+)$/.exec(name);
  const file = join(dir, 'eval', name, 'eval.json');
  if (!m || !existsSync(file)) continue;
  const ev = JSON.parse(readFileSync(file, 'utf8')) as EvalResult;
  const [method, seed, step, omega] = [m[1]!, Number(m[2]), Number(m[3]), Number(m[4])];
  const key = `${step}|${omega}|${method}`;
  const c = cells.get(key) ?? { method, step, omega, seeds: [], values: Object.fromEntries(GROUPS.map((g) => [g, Object.fromEntries(METRICS.map((k) => [k, [] as number[]]))])) as Cell['values'] };
  c.seeds.push(seed);
  for (const g of GROUPS) {
    const src = g === 'overall' ? ev.overall : ev.groups[g];
    for (const k of METRICS) c.values[g][k].push((src as Record<Metric, number> | undefined)?.[k] ?? NaN);
  }
  cells.set(key, c);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : NaN);
const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const ms = (xs: number[], d = 2) => (xs.length === 0 ? '–' : xs.length === 1 ? `${fmt(xs[0]!, d)} (1 seed)` : `${fmt(mean(xs), d)} ± ${fmt(sd(xs), d)}`);

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
      const c = cells.get(`${step}|${omega}|${method}`);
      if (!c) continue;
      const v = c.values[g];
      lines.push(`| ${step} | ${omega} | ${method.toUpperCase()} | ${c.seeds.join(', ')} | ${ms(v.fid)} | ${ms(v.precision)} | ${ms(v.recall)} | ${ms(v.accuracy)} | ${ms(v.nn_ratio)} |`);
    }
  }
  lines.push('');
}

// CBDM − DDPM on the Few group at equal budget and ω, against the pooled seed sd.
lines.push('### CBDM − DDPM, Few group (difference of the means; in brackets the pooled seed sd)', '');
lines.push('| steps | ω | seeds (DDPM / CBDM) | Δ domain-FID | Δ recall | Δ accuracy | Δ nn-ratio |', '|---:|---:|---|---:|---:|---:|---:|');
const diffs: Array<Record<string, unknown>> = [];
for (const b of budgets) {
  const [step, omega] = b.split('|').map(Number);
  const d = cells.get(`${step}|${omega}|ddpm`), c = cells.get(`${step}|${omega}|cbdm`);
  if (!d || !c) continue;
  const cell = (k: Metric) => {
    const a = d.values.few[k], x = c.values.few[k];
    const ss = (v: number[]) => (v.length > 1 ? (v.length - 1) * sd(v) ** 2 : 0);
    const dof = a.length + x.length - 2;
    const pooled = dof > 0 ? Math.sqrt((ss(a) + ss(x)) / dof) : NaN;
    return { delta: mean(x) - mean(a), pooledSd: pooled };
  };
  const row = Object.fromEntries((['fid', 'recall', 'accuracy', 'nn_ratio'] as const).map((k) => [k, cell(k)]));
  diffs.push({ step, omega, seeds: { ddpm: d.seeds, cbdm: c.seeds }, ...row });
  lines.push(`| ${step} | ${omega} | ${d.seeds.length} / ${c.seeds.length} | ${(['fid', 'recall', 'accuracy', 'nn_ratio'] as const).map((k) => `${fmt(row[k]!.delta)} (${fmt(row[k]!.pooledSd)})`).join(' | ')} |`);
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
  writeFileAtomic(values.json, JSON.stringify(summary, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v), 1) + '\n');
}
