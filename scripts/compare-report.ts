/**
 * Tables of the successor-method comparison (scripts/compare-study.sh; docs/RESULTS.md,
 * "Successor methods under one protocol") from whatever of it has run: per ω policy (each
 * method's published ω, then one ω for all) and per Many/Medium/Few group, every method's
 * metrics as mean ± sd over seeds; each method minus DDPM on the Few group against the pooled seed
 * sd; and which runs and evaluations are still missing.
 *
 *   node --import tsx scripts/compare-report.ts DIR [--json assets/shapes10-lt/compare-study.json]
 *
 * DIR/protocol.json (written by compare-study.sh) gives the budget, the ω of each method and the
 * study it reuses; evaluations are read from DIR/eval and, for reused DDPM/CBDM runs, that
 * study's eval/. --json writes the summary (per-seed values included; small enough to commit).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CbdmError } from '../src/util/errors.ts';
import { cellKey, fmt, mean, meanDifference, ms, readCells, writeSummaryJson, METRICS, type Cell, type Group, type Metric } from './study-tables.ts';

/** Methods as compare-study.sh names them, in table order, with their labels. */
const ALL_METHODS: ReadonlyArray<[string, string]> = [
  ['ddpm', 'DDPM'], ['cbdm', 'CBDM'], ['t2h', 'T2H'], ['coral', 'DDPM + CORAL'], ['cbdm-coral', 'CBDM + CORAL'], ['cm', 'CM (approximate)'],
  ['cm-l0.1', 'CM λ 0.1 (approximate)'],
];
const GROUPS: ReadonlyArray<[Group, string]> = [['many', 'Many'], ['medium', 'Medium'], ['few', 'Few'], ['overall', 'All classes']];

interface Protocol {
  dataset: string; steps: number; equalOmega: number; publishedOmega: Record<string, number>; train: string; eval: string; reuse: string | null;
  /** The methods the study runs (`--methods`); absent in directories written before it was recorded: all six. */
  methods?: string[];
  /** The extra ω of the sweep (`--omegas`); the report tables every ω it finds evaluated. */
  sweepOmegas?: number[];
}

/** The tables (markdown) and the summary of a comparison directory. */
export function compareReport(dir: string, opts: { seeds?: number[]; methods?: string[] } = {}): { markdown: string; summary: Record<string, unknown> } {
  const protoPath = join(dir, 'protocol.json');
  if (!existsSync(protoPath)) throw new CbdmError(`${protoPath} does not exist: give the directory of scripts/compare-study.sh --out`);
  const proto = JSON.parse(readFileSync(protoPath, 'utf8')) as Protocol;
  // Only the methods the study runs: one it leaves out is neither a row nor "not yet measured".
  const wanted = opts.methods ?? proto.methods;
  for (const m of wanted ?? []) {
    if (!ALL_METHODS.some(([k]) => k === m)) throw new CbdmError(`unknown method '${m}': choose from ${ALL_METHODS.map(([k]) => k).join(', ')}`);
  }
  const METHODS = wanted ? ALL_METHODS.filter(([m]) => wanted.includes(m)) : ALL_METHODS;
  const cells = readCells([join(dir, 'eval'), ...(proto.reuse ? [join(proto.reuse, 'eval')] : [])], GROUPS.map(([g]) => g));
  const seeds = opts.seeds ?? [0, 1, 2];
  const policies: Array<{ name: string; omega: (m: string) => number }> = [
    { name: 'published ω', omega: (m) => proto.publishedOmega[m]! },
    { name: `ω = ${proto.equalOmega} for every method`, omega: () => proto.equalOmega },
  ];
  const lines: string[] = [
    `Protocol: ${proto.dataset}, ${proto.steps} steps; train ${proto.train}; evaluation ${proto.eval}; published ω ${METHODS.map(([m, l]) => `${l} ${proto.publishedOmega[m]}`).join(', ')}.`, '',
  ];
  const tables: Array<Record<string, unknown>> = [];
  for (const policy of policies) {
    const row = (m: string): Cell | undefined => cells.get(cellKey(proto.steps, policy.omega(m), m));
    lines.push(`#### ${policy.name}: mean ± sd over seeds (domain-FID ↓, precision/recall/accuracy ↑, nn-ratio ≈ 1 healthy, → 0 copying)`, '');
    lines.push('| group | method | ω | seeds | domain-FID | precision | recall | accuracy | nn-ratio |', '|---|---|---:|---|---:|---:|---:|---:|---:|');
    for (const [g, label] of GROUPS) {
      // A group no class of the dataset falls in (fashion-mnist-lt at 100 → 5 has no Many) is left out.
      if (!METHODS.some(([m]) => row(m)?.values[g].fid.some(Number.isFinite))) continue;
      for (const [m, l] of METHODS) {
        const c = row(m);
        if (!c) { lines.push(`| ${label} | ${l} | ${policy.omega(m)} | not yet measured | | | | | |`); continue; }
        const v = c.values[g];
        lines.push(`| ${label} | ${l} | ${c.omega} | ${c.seeds.join(', ')} | ${METRICS.map((k) => ms(v[k])).join(' | ')} |`);
      }
    }
    lines.push('');
    tables.push({ policy: policy.name, cells: METHODS.map(([m]) => row(m)).filter((c): c is Cell => c !== undefined) });
  }

  // Each method − DDPM on the Few group at the equal ω: the difference of the means and the pooled seed sd.
  const base = cells.get(cellKey(proto.steps, proto.equalOmega, 'ddpm'));
  const diffs: Array<Record<string, unknown>> = [];
  if (base) {
    const ks: Metric[] = ['fid', 'recall', 'accuracy', 'nn_ratio'];
    lines.push(`#### Few group, method − DDPM at ω = ${proto.equalOmega} (difference of the means; in brackets the pooled seed sd)`, '');
    lines.push('| method | seeds (DDPM / method) | Δ domain-FID | Δ recall | Δ accuracy | Δ nn-ratio |', '|---|---|---:|---:|---:|---:|');
    for (const [m, l] of METHODS.filter(([k]) => k !== 'ddpm')) {
      const c = cells.get(cellKey(proto.steps, proto.equalOmega, m));
      if (!c) continue;
      const d = Object.fromEntries(ks.map((k) => [k, meanDifference(base.values.few[k], c.values.few[k])]));
      diffs.push({ method: m, seeds: { ddpm: base.seeds, method: c.seeds }, ...d });
      lines.push(`| ${l} | ${base.seeds.length} / ${c.seeds.length} | ${ks.map((k) => `${fmt(d[k]!.delta)} (${fmt(d[k]!.pooledSd)})`).join(' | ')} |`);
    }
    lines.push('');
  }

  // The ω sweep (compare-study.sh --omegas): every ω evaluated at the budget, per method, and each
  // method at the ω of its lowest all-class domain-FID — chosen on these same evaluations, the way
  // papers pick ω, so an optimistic reading, not a held-out choice.
  const omegas = [...new Set([...cells.values()].filter((c) => c.step === proto.steps && METHODS.some(([m]) => m === c.method)).map((c) => c.omega))].sort((a, b) => a - b);
  const at = (m: string, w: number) => cells.get(cellKey(proto.steps, w, m));
  const sweep: Array<Record<string, unknown>> = [];
  if (omegas.length > 2) {
    const cell = (c: Cell | undefined, g: Group, k: Metric) => (c ? `${ms(c.values[g][k])}${c.seeds.length < seeds.length ? ` (seeds ${c.seeds.join(', ')})` : ''}` : '–');
    for (const [g, k, title] of [['few', 'recall', 'Few recall'], ['few', 'fid', 'Few domain-FID'], ['overall', 'fid', 'all-class domain-FID']] as const) {
      lines.push(`#### ω sweep: ${title}, mean ± sd over seeds`, '', `| method | ${omegas.map((w) => `ω ${w}`).join(' | ')} |`, `|---|${omegas.map(() => '---:').join('|')}|`);
      for (const [m, l] of METHODS) lines.push(`| ${l} | ${omegas.map((w) => cell(at(m, w), g, k)).join(' | ')} |`);
      lines.push('');
    }
    lines.push('#### Each method at its ω of lowest all-class domain-FID (chosen on these evaluations: optimistic, not held out)', '');
    lines.push('| method | ω | seeds | all-class domain-FID | Few domain-FID | Few recall | Few accuracy |', '|---|---:|---|---:|---:|---:|---:|');
    for (const [m, l] of METHODS) {
      const full = omegas.map((w) => at(m, w)).filter((c): c is Cell => c !== undefined && c.seeds.length === seeds.length);
      if (full.length === 0) continue;
      const best = full.reduce((a, b) => (mean(b.values.overall.fid) < mean(a.values.overall.fid) ? b : a));
      sweep.push({ method: m, omega: best.omega, seeds: best.seeds, overall: best.values.overall, few: best.values.few, omegasTried: full.map((c) => c.omega) });
      lines.push(`| ${l} | ${best.omega} | ${best.seeds.join(', ')} | ${ms(best.values.overall.fid)} | ${ms(best.values.few.fid)} | ${ms(best.values.few.recall)} | ${ms(best.values.few.accuracy)} |`);
    }
    lines.push('');
  }

  // What is not measured yet: evaluations of the protocol's budget missing for a seed.
  const missing: string[] = [];
  for (const s of seeds) {
    for (const [m] of METHODS) {
      for (const w of new Set([proto.publishedOmega[m]!, proto.equalOmega])) {
        if (!cells.get(cellKey(proto.steps, w, m))?.seeds.includes(s)) missing.push(`${m}-s${s} ω ${w}`);
      }
    }
  }
  lines.push(missing.length === 0 ? `All ${seeds.length} seeds measured.` : `Not yet measured (seeds ${seeds.join(', ')}): ${missing.join('; ')}.`, '');
  return { markdown: lines.join('\n'), summary: { protocol: proto, tables, minusDdpmFew: diffs, ...(omegas.length > 2 ? { sweep: { omegas, cells: METHODS.flatMap(([m]) => omegas.map((w) => at(m, w)).filter((c): c is Cell => c !== undefined)), bestOmegaByAllClassFid: sweep } } : {}), missing } };
}

// Run as a script (the test imports compareReport without running this).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' }, seeds: { type: 'string', default: '0,1,2' }, methods: { type: 'string' } } });
  if (positionals.length !== 1) throw new CbdmError('usage: scripts/compare-report.ts DIR [--json FILE] [--seeds 0,1,2] [--methods ddpm,cbdm,…]');
  const { markdown, summary } = compareReport(positionals[0]!, { seeds: values.seeds!.split(',').map(Number), methods: values.methods?.split(',') });
  console.log(markdown);
  if (values.json) writeSummaryJson(values.json, summary);
}
