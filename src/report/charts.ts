/**
 * Chart.js chart specifications for the report, as plain JSON (no functions) so they can be
 * embedded in the page and turned into charts by the small client script in assets.ts.
 */
import { CLASS_GROUPS, classGroup, type ClassGroup } from '../data/groups.ts';
import { metricInfo, metricLabel } from './metric-info.ts';
import type { RunData, RunMetricsRecord } from './run-dir-types.ts';

/** One chart: the canvas id and the Chart.js config (type, data, options). */
export interface ChartSpec {
  id: string;
  type: 'bar' | 'line';
  data: { labels?: string[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
  /** Shaded class-group bands behind a category axis: [first, last] label index per group. */
  groupBands?: { group: ClassGroup; from: number; to: number }[];
}

/** Colours of runs (in order) and of class groups. */
export const RUN_COLOURS = ['#3a6ea5', '#d9822b', '#2e9d6a', '#8e5bb5', '#c0392b', '#6b7a8f'];
export const GROUP_COLOURS: Record<ClassGroup, string> = { many: '#4c78a8', medium: '#f2a541', few: '#e45756' };
export const GROUP_LABELS: Record<ClassGroup, string> = { many: 'Many (>100)', medium: 'Medium (20–100)', few: 'Few (<20)' };

/** Colour of run number `i`. */
export function runColour(i: number): string {
  return RUN_COLOURS[i % RUN_COLOURS.length]!;
}

/** Class indices ordered head → tail (most training images first; ties by index). */
export function headToTail(counts: readonly number[]): number[] {
  return counts.map((_, i) => i).sort((a, b) => counts[b]! - counts[a]! || a - b);
}

/** Contiguous group bands of an ordered class list. */
export function groupBands(order: readonly number[], counts: readonly number[]): NonNullable<ChartSpec['groupBands']> {
  const bands: NonNullable<ChartSpec['groupBands']> = [];
  order.forEach((c, i) => {
    const g = classGroup(counts[c]!);
    const last = bands[bands.length - 1];
    if (last && last.group === g) last.to = i;
    else bands.push({ group: g, from: i, to: i });
  });
  return bands;
}

const baseOptions = (title: string, yTitle: string, xTitle: string): Record<string, unknown> => ({
  responsive: true,
  maintainAspectRatio: false,
  animation: false,
  plugins: { title: { display: true, text: title, font: { size: 14, weight: 'bold' } }, legend: { position: 'bottom' } },
  scales: { x: { title: { display: true, text: xTitle }, grid: { display: false } }, y: { title: { display: true, text: yTitle }, beginAtZero: true } },
});

/** Training-set histogram head → tail, bars coloured by group. */
export function histogramChart(id: string, names: readonly string[], counts: readonly number[]): ChartSpec {
  const order = headToTail(counts);
  const datasets = CLASS_GROUPS.map((g) => ({
    label: GROUP_LABELS[g],
    data: order.map((c) => (classGroup(counts[c]!) === g ? counts[c]! : null)),
    backgroundColor: GROUP_COLOURS[g],
    borderWidth: 0,
    barPercentage: 0.9,
    categoryPercentage: 1.0,
  }));
  // A 100:1 tail is invisible on a linear axis: switch to log when the imbalance is large.
  const nz = counts.filter((c) => c > 0);
  const log = nz.length > 0 && Math.max(...nz) / Math.min(...nz) >= 20;
  const options = baseOptions(`Training images per class (head → tail)${log ? ', log scale' : ''}`, 'training images', 'class');
  const scales = options.scales as Record<string, Record<string, unknown>>;
  scales.x!.stacked = true;
  if (log) scales.y = { type: 'logarithmic', title: { display: true, text: 'training images (log)' } };
  return { id, type: 'bar', data: { labels: order.map((c) => names[c]!), datasets }, options };
}

/** Per-class values of one metric, runs as datasets, classes head → tail with group bands. */
export function perClassMetricChart(id: string, key: string, runs: readonly RunData[], labels: readonly string[], names: readonly string[], counts: readonly number[], domain = false): ChartSpec {
  const order = headToTail(counts);
  const datasets = runs.map((r, i) => {
    const byClass = new Map<number, number | null>();
    for (const row of r.eval?.perClass ?? []) {
      const v = row[key];
      byClass.set(row.class, typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
    return { label: labels[i]!, data: order.map((c) => byClass.get(c) ?? null), backgroundColor: runColour(i), borderWidth: 0 };
  });
  const info = metricInfo(key);
  const note = info?.better ? (info.better === 'lower' ? ' — lower is better' : ' — higher is better') : '';
  return {
    id, type: 'bar',
    data: { labels: order.map((c) => names[c]!), datasets },
    options: baseOptions(`Per-class ${metricLabel(key, domain)}${note}`, metricLabel(key, domain), 'class (head → tail)'),
    groupBands: groupBands(order, counts),
  };
}

/** Exponential moving average (bias-corrected), so early points are not pulled to zero. */
export function emaSmooth(values: readonly number[], alpha: number): number[] {
  let m = 0;
  let w = 0;
  return values.map((v) => {
    m = alpha * m + (1 - alpha) * v;
    w = alpha * w + (1 - alpha);
    return m / w;
  });
}

/** Keep at most `max` evenly spaced points (always the last one). */
export function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return xs.slice();
  const out: T[] = [];
  const stride = (xs.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(xs[Math.round(i * stride)]!);
  return out;
}

function series(recs: readonly RunMetricsRecord[], key: string, smooth: number): { x: number; y: number }[] {
  const pts = recs.filter((r) => typeof r[key] === 'number' && Number.isFinite(r[key]) && (r[key] as number) > 0);
  const ys = smooth > 0 ? emaSmooth(pts.map((r) => r[key] as number), smooth) : pts.map((r) => r[key] as number);
  return thin(pts.map((r, i) => ({ x: r.step, y: ys[i]! })), 800);
}

const lineOptions = (title: string): Record<string, unknown> => ({
  ...baseOptions(title, 'loss (log scale)', 'step'),
  parsing: false,
  normalized: true,
  elements: { point: { radius: 0 }, line: { borderWidth: 1.6 } },
  scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { type: 'logarithmic', title: { display: true, text: 'loss (log scale)' } } },
});

/** Total training loss of every run (EMA-smoothed with factor `smooth`, 0 = raw). */
export function lossChart(id: string, runs: readonly RunData[], labels: readonly string[], smooth: number): ChartSpec {
  const datasets = runs.map((r, i) => ({ label: labels[i]!, data: series(r.metrics, 'loss', smooth), borderColor: runColour(i), backgroundColor: runColour(i) }));
  return { id, type: 'line', data: { datasets }, options: lineOptions(`Training loss${smooth > 0 ? ` (EMA ${smooth})` : ''}`) };
}

/** Loss terms of one run (L_ddpm, L_reg, L_com, CORAL's L_con — those that were logged and non-zero). */
export function lossTermsChart(id: string, run: RunData, label: string, smooth: number): ChartSpec | null {
  const terms: [string, string, string][] = [['l_ddpm', 'L_ddpm', '#3a6ea5'], ['l_reg', 'L_reg', '#d9822b'], ['l_com', 'L_com', '#2e9d6a'], ['l_con', 'L_con (CORAL)', '#8e5ea2']];
  const datasets = terms
    .map(([k, name, colour]) => ({ label: name, data: series(run.metrics, k, smooth), borderColor: colour, backgroundColor: colour }))
    .filter((d) => d.data.length > 0);
  if (datasets.length === 0) return null;
  return { id, type: 'line', data: { datasets }, options: lineOptions(`${label}: loss terms`) };
}
