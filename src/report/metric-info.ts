/**
 * What the report knows about each metric key of eval.json: its label, whether lower or higher
 * is better (for bolding the best run), and how many digits to print. Unknown keys are shown as
 * they are, never bolded.
 */
import type { MetricValues } from './run-dir-types.ts';

/** Direction in which a metric improves. */
export type Better = 'lower' | 'higher';

/** Display facts of one metric. */
export interface MetricInfo {
  label: string;
  better: Better;
  digits: number;
  help: string;
}

/** Known metrics, in the order the report lists them. */
export const METRIC_INFO: Readonly<Record<string, MetricInfo>> = {
  fid: { label: 'FID', better: 'lower', digits: 2, help: 'Fréchet distance of feature statistics to the reference set' },
  kid: { label: 'KID', better: 'lower', digits: 4, help: 'kernel inception distance (cubic polynomial kernel)' },
  is: { label: 'IS', better: 'higher', digits: 2, help: 'Inception Score (10 splits)' },
  precision: { label: 'Precision', better: 'higher', digits: 3, help: 'improved precision: share of samples inside the real manifold' },
  recall: { label: 'Recall', better: 'higher', digits: 3, help: 'improved recall: share of real images inside the sample manifold (diversity)' },
  accuracy: { label: 'Class accuracy', better: 'higher', digits: 3, help: 'share of class-c samples that a classifier recognises as class c' },
};

/** Display facts of `key`, or null when the report does not know the metric. */
export function metricInfo(key: string): MetricInfo | null {
  return Object.prototype.hasOwnProperty.call(METRIC_INFO, key) ? METRIC_INFO[key]! : null;
}

/** Label of a metric with an arrow saying which way is better (↓ / ↑). */
export function metricLabel(key: string): string {
  const info = metricInfo(key);
  if (!info) return key;
  return `${info.label} ${info.better === 'lower' ? '↓' : '↑'}`;
}

/** A metric value as text ('—' when missing). */
export function formatMetric(key: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const digits = metricInfo(key)?.digits ?? (Math.abs(v) >= 100 ? 1 : 3);
  return v.toFixed(digits);
}

/**
 * Indices of the best value among `values` (all tied ones); empty when the direction is unknown
 * or fewer than two values are present, since "best of one" says nothing.
 */
export function bestIndices(key: string, values: readonly (number | null | undefined)[]): number[] {
  const info = metricInfo(key);
  const present = values.map((v, i) => [v, i] as const).filter((p): p is readonly [number, number] => typeof p[0] === 'number' && Number.isFinite(p[0]));
  if (!info || present.length < 2) return [];
  const best = info.better === 'lower' ? Math.min(...present.map((p) => p[0])) : Math.max(...present.map((p) => p[0]));
  return present.filter((p) => p[0] === best).map((p) => p[1]);
}

/** Every metric key with a value in any of `rows`: known keys first in METRIC_INFO order, then the rest sorted. */
export function metricKeys(rows: readonly MetricValues[], exclude: readonly string[] = []): string[] {
  const found = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !exclude.includes(k)) found.add(k);
  const known = Object.keys(METRIC_INFO).filter((k) => found.has(k));
  const other = [...found].filter((k) => !metricInfo(k)).sort();
  return [...known, ...other];
}
