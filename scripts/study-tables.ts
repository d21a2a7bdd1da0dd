/**
 * What the study reports share (scripts/regime-report.ts, scripts/compare-report.ts): reading the
 * evaluations of a study directory into cells (one per method, budget and ω, a list of values per
 * seed) and the mean ± sd formatting.
 *
 * An evaluation is DIR/eval/METHOD-sSEED-STEP-wOMEGA/eval.json, as scripts/study-lib.sh writes
 * them (scripts/demo-study.ts --tag=-wOMEGA).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.ts';
import type { EvalResult } from '../src/report/run-dir.ts';

export const METRICS = ['fid', 'precision', 'recall', 'accuracy', 'nn_ratio'] as const;
export type Metric = (typeof METRICS)[number];
export type Group = 'many' | 'medium' | 'few' | 'overall';

/** One method at one budget and ω: each metric's values, one per seed (in `seeds` order). */
export interface Cell { method: string; step: number; omega: number; seeds: number[]; values: Record<Group, Record<Metric, number[]>> }

export const cellKey = (step: number, omega: number, method: string) => `${step}|${omega}|${method}`;

/**
 * The cells of the evaluations under each of `evalDirs` (a study's eval/ and those of studies it
 * reuses; an evaluation found in two of them counts once, from the first), `groups` per cell.
 */
export function readCells(evalDirs: readonly string[], groups: readonly Group[]): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  const seen = new Set<string>();
  for (const evalDir of evalDirs) {
    if (!existsSync(evalDir)) continue;
    for (const name of readdirSync(evalDir).sort()) {
      const m = /^([a-z0-9.-]+?)-s(\d+)-(\d+)-w([\d.]+)$/.exec(name);
      const file = join(evalDir, name, 'eval.json');
      if (!m || seen.has(name) || !existsSync(file)) continue;
      seen.add(name);
      const ev = JSON.parse(readFileSync(file, 'utf8')) as EvalResult;
      const [method, seed, step, omega] = [m[1]!, Number(m[2]), Number(m[3]), Number(m[4])];
      const key = cellKey(step, omega, method);
      const c = cells.get(key) ?? { method, step, omega, seeds: [], values: Object.fromEntries(groups.map((g) => [g, Object.fromEntries(METRICS.map((k) => [k, [] as number[]]))])) as Cell['values'] };
      c.seeds.push(seed);
      for (const g of groups) {
        const src = g === 'overall' ? ev.overall : ev.groups[g];
        for (const k of METRICS) c.values[g][k].push((src as Record<Metric, number> | undefined)?.[k] ?? NaN);
      }
      cells.set(key, c);
    }
  }
  return cells;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); NaN for fewer than two values. */
export const sd = (xs: number[]) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : NaN);
export const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
/** "mean ± sd", "v (1 seed)" or "–". */
export const ms = (xs: number[], d = 2) => (xs.length === 0 ? '–' : xs.length === 1 ? `${fmt(xs[0]!, d)} (1 seed)` : `${fmt(mean(xs), d)} ± ${fmt(sd(xs), d)}`);

/** Difference of the means b − a, and the pooled seed sd of the two samples (NaN without degrees of freedom). */
export function meanDifference(a: number[], b: number[]): { delta: number; pooledSd: number } {
  const ss = (v: number[]) => (v.length > 1 ? (v.length - 1) * sd(v) ** 2 : 0);
  const dof = a.length + b.length - 2;
  return { delta: mean(b) - mean(a), pooledSd: dof > 0 ? Math.sqrt((ss(a) + ss(b)) / dof) : NaN };
}

/** Write a summary as JSON with non-integers rounded to 5 significant digits (small enough to commit). */
export function writeSummaryJson(path: string, summary: unknown): void {
  writeFileAtomic(path, JSON.stringify(summary, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v), 1) + '\n');
}
