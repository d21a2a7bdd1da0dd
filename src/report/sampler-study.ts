/**
 * The sampler study in the report: a group metric against the number of model evaluations (log
 * x axis), one line per sampler, the published 1000-step DDPM as a dashed reference. Rows come
 * from scripts/nfe-study.ts (the shipped demo runs' study: assets/demo/nfe-study.json).
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import type { ChartSpec } from './charts.ts';
import type { MetricValues } from './run-dir-types.ts';

export interface SamplerStudyRow {
  run: string;
  method: string;
  key: string;
  sampler: string;
  nfe: number;
  seed: number;
  groups: Record<string, MetricValues>;
}

export interface SamplerStudy { description: string; machine?: string; date?: string; rows: SamplerStudyRow[] }

export function readSamplerStudy(path: string): SamplerStudy {
  let v: SamplerStudy;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as SamplerStudy;
  } catch (e) {
    throw new CbdmError(`${path}: not a readable sampler-study file (${(e as Error).message})`);
  }
  if (!Array.isArray(v.rows) || v.rows.some((r) => typeof r.nfe !== 'number' || typeof r.key !== 'string' || typeof r.groups !== 'object')) {
    throw new CbdmError(`${path}: not a sampler-study file (rows of {key, sampler, nfe, groups}, as scripts/nfe-study.ts writes)`);
  }
  return v;
}

const COLOURS = ['#3a6ea5', '#d9822b', '#2e9d6a', '#8e5bb5', '#c0392b', '#6b7a8f', '#b5a33a', '#3ab5a8', '#a83ab5', '#555555'];

/** The line of a configuration: the sampler, plus "clamp" when x̂0 was clamped. */
function lineName(r: SamplerStudyRow): string {
  const eta1 = r.key.startsWith('ddim-eta1');
  return `${r.sampler}${r.sampler === 'ddim' ? (eta1 ? ' η=1' : ' η=0') : ''}${r.key.includes('clamp') ? ' clamp' : ''}`;
}

/** One chart of `metric` in `group` against NFE for the rows of one run (seed 1 rows only). */
export function samplerStudyChart(id: string, rows: readonly SamplerStudyRow[], group: string, metric: string, title: string): ChartSpec {
  const mine = rows.filter((r) => r.seed === 1);
  const ref = mine.find((r) => r.sampler === 'ddpm');
  const lines = [...new Set(mine.filter((r) => r.sampler !== 'ddpm').map(lineName))];
  const datasets: Record<string, unknown>[] = lines.map((name, i) => ({
    label: name,
    data: mine.filter((r) => r.sampler !== 'ddpm' && lineName(r) === name).sort((a, b) => a.nfe - b.nfe)
      .map((r) => ({ x: r.nfe, y: r.groups[group]?.[metric] ?? null })),
    borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
  }));
  const y = ref?.groups[group]?.[metric];
  if (typeof y === 'number') {
    datasets.push({ label: 'ddpm, 1000 steps (published)', data: [{ x: 9, y }, { x: 1000, y }], borderColor: '#000', backgroundColor: '#000', borderDash: [6, 4], pointRadius: 0 });
  }
  return {
    id, type: 'line', data: { datasets },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
      plugins: { title: { display: true, text: title, font: { size: 14, weight: 'bold' } }, legend: { position: 'bottom' } },
      elements: { point: { radius: 3 }, line: { borderWidth: 1.6 } },
      scales: { x: { type: 'logarithmic', title: { display: true, text: 'model evaluations (NFE, log scale)' } }, y: { title: { display: true, text: `${group} ${metric}` } } },
    },
  };
}
