/**
 * The demo budget study (docs/RESULTS.md): evaluate every kept checkpoint of some shapes runs
 * with the demo's domain metrics and print the Many/Medium/Few table, budget by budget.
 *
 *   node --import tsx scripts/demo-study.ts --out runs/study runs/curve/ddpm runs/curve/cbdm
 *
 * Each run directory must have been trained with `--ckpt-every N --keep-ckpts 0` so that its
 * checkpoints/ holds one file per budget. Evaluation is the demo's (src/demo/evaluate.ts, defaults
 * from demoPreset: 200 samples per class, DDIM 25 with η = 1 and x̂0 clipping, the run's ω, seed 1)
 * against fresh generator samples (--by-seed prints seeds side by side with their mean); --per-class, --sampler-steps, --eta, --clip none|clip and
 * --omega change the protocol. Results go to
 * <out>/<run>-<step><tag>/ (samples, eval.json; --omega overrides the run's ω, --tag names the variant) and <out>/study.json; the table goes to stdout.
 */
import { readdirSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '../src/engine/backends.ts';
import { UNet, type UNetConfig } from '../src/models/unet.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { toValues } from '../src/models/load.ts';
import { loadStateDictFile } from '../src/io/torch.ts';
import { loadDataset } from '../src/data/registry.ts';
import { scheduleOf } from '../src/diffusion/schedule.ts';
import { runSchedule } from '../src/train/config-file.ts';
import { evaluateRun } from '../src/demo/evaluate.ts';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { CLASS_GROUPS } from '../src/data/groups.ts';
import type { EvalResult } from '../src/report/run-dir.ts';
import { demoPreset } from '../src/demo/demo.ts';

const P = demoPreset(false);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'runs/study' },
    'per-class': { type: 'string', default: String(P.perClass) },
    'sampler-steps': { type: 'string', default: String(P.samplerSteps) },
    steps: { type: 'string' },
    seed: { type: 'string', default: '1' },
    omega: { type: 'string' },
    clip: { type: 'string', default: P.clipX0 },
    eta: { type: 'string', default: String(P.samplerEta) },
    tag: { type: 'string', default: '' },
    compact: { type: 'boolean', default: false },
    'by-seed': { type: 'boolean', default: false },
  },
});
if (positionals.length === 0) throw new Error('give one or more run directories');
const perClass = Number(values['per-class']);
const samplerSteps = Number(values['sampler-steps']);
const only = values.steps ? new Set(values.steps.split(',').map(Number)) : null;
const be = useBackend();
mkdirSync(values.out!, { recursive: true });
const rows: Array<{ run: string; method: string; seed: number; step: number; tag?: string; eval: EvalResult }> = [];
const studyPath = join(values.out!, 'study.json');

for (const run of positionals) {
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { model: UNetConfig; train: { method: string; dataset: string; root?: string | null; imb: number; maxPerClass?: number | null; seed: number; omegaEval: number; steps: number } };
  // The run's own data: root, imbalance and head-class size as it was trained (fashion-mnist-lt --max-per-class).
  const sched = scheduleOf(runSchedule(run, cfg.model.T));
  const ds = await loadDataset({ name: cfg.train.dataset, root: cfg.train.root ?? undefined, imb: cfg.train.imb, nMax: cfg.train.maxPerClass ?? undefined, size: cfg.model.imageSize, seed: 0 });
  // Budgets: the run's kept checkpoints, plus any evaluated before whose checkpoint is gone.
  // (a run with no checkpoints/ — the shipped demo runs — is evaluated at its final step from
  // its ema.safetensors)
  const shipped = !existsSync(join(run, 'checkpoints'));
  const steps = new Set(shipped ? [cfg.train.steps] : readdirSync(join(run, 'checkpoints')).filter((f) => /^step-\d+\.safetensors$/.test(f)).map((f) => Number(/step-(\d+)/.exec(f)![1])));
  const prefix = `${basename(run)}-`;
  for (const d of existsSync(values.out!) ? readdirSync(values.out!) : []) {
    const m = new RegExp(`^${prefix.replace(/[-.]/g, '\\$&')}(\\d+)${(values.tag ?? '').replace(/[-.]/g, '\\$&')}$`).exec(d);
    if (m && existsSync(join(values.out!, d, 'eval.json'))) steps.add(Number(m[1]));
  }
  for (const step of [...steps].sort((a, b) => a - b)) {
    const f = `step-${String(step).padStart(8, '0')}.safetensors`;
    if (only && !only.has(step)) continue;
    const name = `${basename(run)}-${step}${values.tag}`;
    const dir = join(values.out!, name);
    if (existsSync(join(dir, 'eval.json'))) {  // evaluated before: the directory is the cache
      rows.push({ run, method: cfg.train.method, seed: cfg.train.seed, step, tag: values.tag!, eval: JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as EvalResult });
      continue;
    }
    const net = new UNet(cfg.model);
    net.store.materialize(be, 0);
    if (shipped) net.store.loadStateDict(toValues(loadStateDictFile(join(run, 'ema.safetensors'))));
    else loadCheckpoint(join(run, 'checkpoints', f), net.store, null, null, { emaInto: true });
    mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    const ev = await evaluateRun(dir, net, ds, sched, { perClass, samplerSteps, omega: values.omega !== undefined ? Number(values.omega) : cfg.train.omegaEval, seed: Number(values.seed), batch: 100, clipX0: values.clip === 'clip' ? 'clip' : 'none', eta: Number(values.eta) });
    console.error(`${name}: evaluated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    rows.push({ run, method: cfg.train.method, seed: cfg.train.seed, step, tag: values.tag!, eval: ev });
    writeFileAtomic(studyPath, JSON.stringify(rows, null, 1));
  }
}

writeFileAtomic(studyPath, JSON.stringify(rows, null, 1));
const f = (v: number | null | undefined) => (v == null ? 'n/a' : v.toFixed(2));
rows.sort((a, b) => a.step - b.step || a.run.localeCompare(b.run));
if (values['by-seed']) {
  // Seeds side by side: per budget and method, each seed's value and the mean over seeds.
  const keys = [...new Set(rows.map((r) => `${r.step}|${r.method}${r.tag ?? ''}`))];
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const stat = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : NaN;
    return `${f(m)}${xs.length > 1 ? ` ± ${f(sd)}` : ''}`;
  };
  const metrics: Array<[string, (e: EvalResult) => number | null | undefined]> = [
    ['Few domain-FID', (e) => e.groups.few?.fid], ['Few accuracy', (e) => e.groups.few?.accuracy],
    ['Few recall', (e) => e.groups.few?.recall], ['all accuracy', (e) => e.overall.accuracy],
  ];
  console.log(`| steps | method | ${metrics.map(([n]) => `${n}: seeds ${seeds.join(', ')} (mean ± sd)`).join(' | ')} |`);
  console.log(`|---:|---|${metrics.map(() => '---').join('|')}|`);
  for (const k of keys) {
    const [st, m] = k.split('|');
    const rs = rows.filter((r) => `${r.step}|${r.method}${r.tag ?? ''}` === k).sort((a, b) => a.seed - b.seed);
    const cells = metrics.map(([, get]) => {
      const xs = rs.map((r) => get(r.eval)).filter((v): v is number => v != null);
      return `${xs.map(f).join(' / ')} (${stat(xs)})`;
    });
    console.log(`| ${st} | ${m!.toUpperCase()} | ${cells.join(' | ')} |`);
  }
} else if (values.compact) {
  // One line per budget: the methods side by side on the Few group and overall.
  const steps = [...new Set(rows.map((r) => r.step))];
  const methods = [...new Set(rows.map((r) => `${r.method}${r.tag ?? ''}`))].sort((a, b) => Number(a.startsWith('cbdm')) - Number(b.startsWith('cbdm')) || a.localeCompare(b));
  const pick = (step: number, m: string) => rows.find((r) => r.step === step && `${r.method}${r.tag ?? ''}` === m);
  const cols = ['Few domain-FID ↓', 'Few accuracy', 'Few nn-ratio', 'Many accuracy', 'all accuracy'];
  console.log(`| steps | ${cols.map((c) => methods.map((m) => `${c} ${m.toUpperCase()}`).join(' | ')).join(' | ')} |`);
  console.log(`|---:|${cols.map(() => methods.map(() => '---:').join('|')).join('|')}|`);
  for (const st of steps) {
    const cell = (get: (e: EvalResult) => number | null | undefined) => methods.map((m) => { const r = pick(st, m); return r ? f(get(r.eval)) : '–'; }).join(' | ');
    console.log(`| ${st} | ${cell((e) => e.groups.few?.fid)} | ${cell((e) => e.groups.few?.accuracy)} | ${cell((e) => e.groups.few?.nn_ratio)} | ${cell((e) => e.groups.many?.accuracy)} | ${cell((e) => e.overall.accuracy)} |`);
  }
} else {
  console.log('| run | step | group | domain-FID ↓ | precision | recall | accuracy | nn-ratio |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    for (const g of [...CLASS_GROUPS, 'all'] as const) {
      const m = g === 'all' ? r.eval.overall : r.eval.groups[g];
      console.log(`| ${basename(r.run)}${r.tag ?? ''} | ${r.step} | ${g} | ${f(m?.fid)} | ${f(m?.precision)} | ${f(m?.recall)} | ${f(m?.accuracy)} | ${f(m?.nn_ratio)} |`);
    }
  }
}
