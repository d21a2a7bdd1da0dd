/**
 * The sampler study (docs/RESULTS.md §6): domain-FID, precision, recall, accuracy and nn-ratio per
 * Many/Medium/Few group against the number of model evaluations (NFE), for every sampler, on the
 * shipped demo runs (or any shapes runs), with 1000-step ancestral DDPM (the published sampler) as
 * the reference.
 *
 *   node --import tsx scripts/nfe-study.ts --out runs/nfe-study [--per-class 40] [RUN_DIR …]
 *   node --import tsx scripts/nfe-study.ts --out runs/nfe-study --table      # print the tables
 *
 * Without run directories it uses the shipped demo runs (assets/demo/…/cbdm and …/ddpm). Every
 * configuration is sampled with the run's ω (its --omega-eval: the published ω per method), the same
 * seed (so x_T and labels are shared across configurations) and balanced labels, and evaluated
 * exactly as the demo (src/demo/evaluate.ts). Results are appended to <out>/results.jsonl, one line
 * per (run, configuration): a killed study resumes where it stopped (finished configurations are
 * skipped). Set CBDM_THREADS to leave cores for other work.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '../src/engine/backends.ts';
import { loadRunModel } from '../src/models/load.ts';
import { loadDataset } from '../src/data/registry.ts';
import { scheduleOf } from '../src/diffusion/schedule.ts';
import { runSchedule } from '../src/train/config-file.ts';
import { evaluateRun } from '../src/demo/evaluate.ts';
import { CLASS_GROUPS } from '../src/data/groups.ts';
import { pretrainedDemoDir } from '../src/demo/demo.ts';
import type { SamplerName } from '../src/diffusion/samplers.ts';
import type { Spacing } from '../src/diffusion/grid.ts';
import type { EvalResult } from '../src/report/run-dir.ts';

interface Config { key: string; sampler: SamplerName; steps: number; spacing?: Spacing; eta?: number; clip?: 'none' | 'clip'; nfe: number }

/** The configurations, cheapest useful first after the reference. */
function configs(): Config[] {
  const out: Config[] = [{ key: 'ddpm-1000', sampler: 'ddpm', steps: 1000, nfe: 1000 }];
  for (const nfe of [10, 20, 50]) {
    out.push({ key: `dpmpp-2m-${nfe}`, sampler: 'dpmpp-2m', steps: nfe, nfe });
    out.push({ key: `dpmpp-2m-sde-${nfe}`, sampler: 'dpmpp-2m-sde', steps: nfe, nfe });
    out.push({ key: `unipc-${nfe}`, sampler: 'unipc', steps: nfe, nfe });
    out.push({ key: `dpmpp-3m-${nfe}`, sampler: 'dpmpp-3m', steps: nfe, nfe });
    out.push({ key: `heun-${nfe - 1}`, sampler: 'heun', steps: nfe / 2, nfe: nfe - 1 });
    out.push({ key: `euler-${nfe}`, sampler: 'euler', steps: nfe, nfe });
    out.push({ key: `ddim-${nfe}`, sampler: 'ddim', steps: nfe, eta: 0, nfe });
    out.push({ key: `ddim-eta1-${nfe}`, sampler: 'ddim', steps: nfe, eta: 1, nfe });
  }
  for (const nfe of [10, 20]) {
    out.push({ key: `dpmpp-2m-clamp-${nfe}`, sampler: 'dpmpp-2m', steps: nfe, clip: 'clip', nfe });
    out.push({ key: `unipc-clamp-${nfe}`, sampler: 'unipc', steps: nfe, clip: 'clip', nfe });
  }
  for (const key of ['dpmpp-2m', 'dpmpp-2m-sde', 'unipc', 'ddim-eta1']) {
    const base = out.find((c) => c.key === `${key}-50`)!;
    out.push({ ...base, key: `${key}-100`, steps: 100, nfe: 100 });
  }
  return out;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'runs/nfe-study' },
    'per-class': { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
});
const out = values.out!;
const resultsPath = join(out, 'results.jsonl');
interface Row { run: string; method: string; key: string; sampler: string; nfe: number; perClass: number; seed: number; eval: EvalResult; seconds: number }
const done = (): Row[] => (existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row) : []);

if (values.table) {
  printTables(done());
} else {
  const demo = pretrainedDemoDir('shapes10-lt', 16, 0);
  const runs = positionals.length ? positionals : demo ? [join(demo, 'cbdm'), join(demo, 'ddpm')] : [];
  if (runs.length === 0) throw new Error('no run directories given and no shipped demo runs found');
  mkdirSync(out, { recursive: true });
  const be = useBackend();
  const perClass = Number(values['per-class']);
  const seed = Number(values.seed);
  const only = values.only ? new Set(values.only.split(',')) : null;
  for (const run of runs) {
    const m = loadRunModel(run, be);
    const sched = scheduleOf(runSchedule(run, m.net.config.T));
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { train: { method: string; dataset: string; root?: string | null; imb: number; maxPerClass?: number | null } };
    const ds = await loadDataset({ name: cfg.train.dataset, root: cfg.train.root ?? undefined, imb: cfg.train.imb, nMax: cfg.train.maxPerClass ?? undefined, size: m.net.config.imageSize, seed: 0 });
    const name = `${basename(dirname(run))}/${basename(run)}`;
    for (const c of configs()) {
      if (only && !only.has(c.key)) continue;
      if (done().some((r) => r.run === name && r.key === c.key && r.perClass === perClass && r.seed === seed)) continue;
      const t0 = Date.now();
      const dir = join(out, basename(run), c.key);
      mkdirSync(dir, { recursive: true });
      const ev = await evaluateRun(dir, m.net, ds, sched, {
        perClass, samplerSteps: c.steps, omega: m.omegaEval ?? 0, seed, batch: 100, sampler: c.sampler, spacing: c.spacing,
        eta: c.eta ?? 0, clipX0: c.clip ?? 'none',
      });
      const row: Row = { run: name, method: cfg.train.method, key: c.key, sampler: c.sampler, nfe: c.nfe, perClass, seed, eval: ev, seconds: (Date.now() - t0) / 1000 };
      appendFileSync(resultsPath, JSON.stringify(row) + '\n');
      const g = ev.groups;
      console.log(`${name} ${c.key}: ${row.seconds.toFixed(0)} s · ` + CLASS_GROUPS.map((k) => `${k} fid ${fmt(g[k]?.fid)} P ${fmt(g[k]?.precision)} R ${fmt(g[k]?.recall)} acc ${fmt(g[k]?.accuracy)}`).join(' · '));
    }
  }
}

function fmt(v: number | null | undefined, d = 3): string {
  return typeof v === 'number' ? v.toFixed(d) : '–';
}

/** Per run: one row per configuration, each group's metrics and its largest deviation from ddpm-1000. */
function printTables(rows: Row[]): void {
  const metrics = ['fid', 'precision', 'recall', 'accuracy'] as const;
  for (const run of [...new Set(rows.map((r) => r.run))]) {
    const rs = rows.filter((r) => r.run === run);
    const ref = rs.find((r) => r.key === 'ddpm-1000');
    console.log(`\n${run} (${rs[0]!.method}, ${rs[0]!.perClass}/class, seed ${rs[0]!.seed})`);
    console.log(`| sampler | NFE | ${CLASS_GROUPS.map((g) => metrics.map((m) => `${g} ${m}`).join(' | ')).join(' | ')} | max dev. | s |`);
    console.log(`|---|---:|${CLASS_GROUPS.map(() => metrics.map(() => '---:').join('|')).join('|')}|---:|---:|`);
    for (const r of [...rs].sort((a, b) => a.sampler.localeCompare(b.sampler) || a.nfe - b.nfe)) {
      let dev = 0;
      if (ref) for (const g of CLASS_GROUPS) for (const m of metrics) {
        const a = r.eval.groups[g]?.[m], b = ref.eval.groups[g]?.[m];
        if (typeof a === 'number' && typeof b === 'number' && b !== 0) dev = Math.max(dev, Math.abs(a / b - 1));
      }
      console.log(`| ${r.key} | ${r.nfe} | ${CLASS_GROUPS.map((g) => metrics.map((m) => fmt(r.eval.groups[g]?.[m])).join(' | ')).join(' | ')} | ${ref ? `${(dev * 100).toFixed(1)} %` : '–'} | ${r.seconds.toFixed(0)} |`);
    }
  }
}
