/**
 * What the report knows about each metric key of eval.json: its label, whether lower or higher
 * is better (for bolding the best run), how many digits to print and a one-line meaning. Unknown
 * keys are shown as they are, never bolded.
 */
import type { MetricValues } from './run-dir-types.ts';

/** Direction in which a metric improves. */
export type Better = 'lower' | 'higher';

/** Display facts of one metric. */
export interface MetricInfo {
  label: string;
  /** Absent for a metric with no better direction (never bolded, no arrow). */
  better?: Better;
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
  accuracy: { label: 'Class accuracy', better: 'higher', digits: 3, help: 'share of class-c samples that a classifier recognises as class c (on shapes10 each class has its own hue, so colour alone can score: see shape accuracy)' },
  shape_accuracy: { label: 'Shape accuracy', better: 'higher', digits: 3, help: 'share of class-c samples whose shape family the shapes100 classifier recognises (it must tell shapes apart within every colour: colour alone scores ≈ 0.1)' },
  nn_ratio: { label: 'nn-ratio', digits: 3, help: 'distance of samples to their nearest training image ÷ the same for fresh real images: ≈ 1 healthy, → 0 memorised' },
};

/**
 * Relative difference within which runs are level: one seed cannot separate them (the demo's
 * summary uses the same rule, src/demo/demo.ts summarize). The report bolds no "best" inside it.
 */
export const LEVEL_TOLERANCE = 0.01;

/**
 * Are `features` a dataset's own classifier — the shapes domain classifier (`shapes10-16-domain`)
 * or the Fashion-MNIST evaluator (`fashion-mnist-16-classifier`)? Their FID is a domain-FID, not
 * comparable to Inception FIDs.
 */
export function isDomainFeatures(features: string | undefined): boolean {
  return features !== undefined && /domain|-classifier$/.test(features);
}

/** Display facts of `key`, or null when the report does not know the metric. */
export function metricInfo(key: string): MetricInfo | null {
  return Object.prototype.hasOwnProperty.call(METRIC_INFO, key) ? METRIC_INFO[key]! : null;
}

/** Label of a metric with an arrow saying which way is better (↓ / ↑); FID/KID on domain features are "domain-FID/KID". */
export function metricLabel(key: string, domain = false): string {
  const info = metricInfo(key);
  if (!info) return key;
  const label = domain && (key === 'fid' || key === 'kid') ? `domain-${info.label}` : info.label;
  return info.better === undefined ? label : `${label} ${info.better === 'lower' ? '↓' : '↑'}`;
}

/** "label: meaning" of every known metric among `keys`, for a legend beside the numbers. */
export function metricLegend(keys: readonly string[], domain = false): string[] {
  return keys.filter((k) => metricInfo(k) !== null).map((k) => `${metricLabel(k, domain)}: ${metricInfo(k)!.help}${domain && (k === 'fid' || k === 'kid') ? ' (features of the dataset\'s own classifier, not the Inception)' : ''}`);
}

/** A metric value as text ('—' when missing). */
export function formatMetric(key: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const digits = metricInfo(key)?.digits ?? (Math.abs(v) >= 100 ? 1 : 3);
  return v.toFixed(digits);
}

/**
 * Indices of the best values among `values`: the best one and those level with it (within
 * `tolerance`, relative). Empty when the direction is unknown, fewer than two values are present
 * ("best of one" says nothing), or every value is level with the best (no winner to show).
 */
export function bestIndices(key: string, values: readonly (number | null | undefined)[], tolerance = LEVEL_TOLERANCE): number[] {
  const info = metricInfo(key);
  const present = values.map((v, i) => [v, i] as const).filter((p): p is readonly [number, number] => typeof p[0] === 'number' && Number.isFinite(p[0]));
  if (!info?.better || present.length < 2) return [];
  const best = info.better === 'lower' ? Math.min(...present.map((p) => p[0])) : Math.max(...present.map((p) => p[0]));
  const level = (v: number) => Math.abs(v - best) <= tolerance * Math.max(Math.abs(v), Math.abs(best));
  const top = present.filter((p) => level(p[0]));
  return top.length === present.length ? [] : top.map((p) => p[1]);
}

/** Every metric key with a value in any of `rows`: known keys first in METRIC_INFO order, then the rest sorted. */
export function metricKeys(rows: readonly MetricValues[], exclude: readonly string[] = []): string[] {
  const found = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !exclude.includes(k)) found.add(k);
  const known = Object.keys(METRIC_INFO).filter((k) => found.has(k));
  const other = [...found].filter((k) => !metricInfo(k)).sort();
  return [...known, ...other];
}
