/**
 * Mean ± sd over seeds: runs whose training config, model, data and evaluation protocol agree in
 * everything but the seed are one *setting*; each setting's evaluation metrics (overall and per
 * Many/Medium/Few group) are summarised as mean, sample standard deviation (n − 1) and n.
 *
 * What does not make two runs different settings: the seed (training and, if recorded, sampling),
 * bookkeeping (log/checkpoint cadence, how many checkpoints are kept, the data root path, the
 * fine-tune source path), and provenance (backend, precision, commit, creation time). Everything
 * else — method, CORAL/T2H settings, steps, batch, lr, ω (under a protocol spec: its ω policy, since
 * a tuned ω may differ from seed to seed), sampler, sample count, feature extractor, reference,
 * dataset and its counts — must match, so a mean never mixes two protocols.
 */
import { CLASS_GROUPS, type ClassGroup } from '../data/groups.ts';
import type { MetricValues, RunData } from './run-dir-types.ts';
import { comparableProtocol } from '../metrics/protocol.ts';

/** mean, sample sd (null for one value) and count of one metric over a setting's seeds. */
export interface SeedStat {
  n: number;
  mean: number;
  sd: number | null;
}

/** Rows of the summary: the three groups and all classes. */
export type SummaryRow = ClassGroup | 'all';
export const SUMMARY_ROWS: readonly SummaryRow[] = [...CLASS_GROUPS, 'all'];

/** One setting: the runs that differ only by seed, and their metric statistics. */
export interface SettingSummary {
  /** Display label: the method (with +CORAL), numbered when two settings share it. */
  label: string;
  /** Run directories in this setting, in the order given. */
  runs: string[];
  /** Their training seeds (null where config.json has none). */
  seeds: (number | null)[];
  /** How many of them have an eval.json (the n behind the statistics, per metric at most this). */
  evaluated: number;
  /** Per row and metric key. */
  stats: Record<SummaryRow, Record<string, SeedStat>>;
}

/** Train-config fields that do not change what is trained (besides the seed). */
const BOOKKEEPING = new Set(['seed', 'logEvery', 'ckptEvery', 'keepCkpts', 'root', 'finetuneFrom']);

function withoutKeys(o: Record<string, unknown> | undefined, drop: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([k]) => !drop.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A canonical JSON text of everything that defines a run's setting (runs with equal keys are seeds of one setting). */
export function settingKey(r: RunData): string {
  // under a protocol spec, its ω policy is the setting (a tuned ω may differ between seeds); without one, ω itself
  const protocol = r.eval ? { ...comparableProtocol(r.eval.protocol), ...(r.eval.protocol.spec ? {} : { omega: r.eval.protocol.omega }) } : null;
  return JSON.stringify({
    train: withoutKeys(r.config.train, BOOKKEEPING),
    model: withoutKeys(r.config.model, new Set()),
    data: { name: r.data.name, counts: r.data.counts, size: r.data.size ?? null },
    protocol,
  });
}

/** The method of a run as the report names it: DDPM, CBDM, T2H, with "+CORAL" when trained with --coral. */
export function methodLabel(r: RunData): string {
  return `${String(r.config.train.method).toUpperCase()}${r.config.train.coral === true ? '+CORAL' : ''}`;
}

/** mean and sample standard deviation (n − 1; null for n < 2). */
export function meanSd(xs: readonly number[]): SeedStat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)) };
}

/**
 * Group runs into settings (first appearance order) and summarise each setting's metrics. A metric
 * missing or null in some run is summarised over the runs that have it (its n says so).
 */
export function summariseSeeds(runs: readonly RunData[]): SettingSummary[] {
  const byKey = new Map<string, number[]>();
  runs.forEach((r, i) => {
    const k = settingKey(r);
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const settings = [...byKey.values()];
  const names = settings.map((idx) => methodLabel(runs[idx[0]!]!));
  return settings.map((idx, s) => {
    const evald = idx.filter((i) => runs[i]!.eval !== null);
    const stats = {} as Record<SummaryRow, Record<string, SeedStat>>;
    for (const row of SUMMARY_ROWS) {
      const vals: MetricValues[] = evald.map((i) => (row === 'all' ? runs[i]!.eval!.overall : runs[i]!.eval!.groups[row] ?? {}));
      const keys = [...new Set(vals.flatMap((v) => Object.keys(v)))];
      stats[row] = {};
      for (const k of keys) {
        const xs = vals.map((v) => v[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
        if (xs.length > 0) stats[row][k] = meanSd(xs);
      }
    }
    const seed = (i: number) => (typeof runs[i]!.config.train.seed === 'number' ? runs[i]!.config.train.seed as number : null);
    return {
      label: names.filter((n) => n === names[s]).length > 1 ? `${names[s]} #${names.slice(0, s + 1).filter((n) => n === names[s]).length}` : names[s]!,
      runs: idx.map((i) => runs[i]!.dir),
      seeds: idx.map(seed),
      evaluated: evald.length,
      stats,
    };
  });
}
