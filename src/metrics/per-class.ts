/**
 * Metrics per class and per Many/Medium/Few group (docs/DESIGN.md §1.7) from labelled feature sets.
 *
 * Each class c compares the real rows labelled c with the generated rows labelled c. A group's
 * value is the unweighted **mean over the group's classes** that have a value (classes with too
 * few samples for the metric are reported with a null value and left out of the mean); groups
 * come from training-set counts via `groupClasses` (CIFAR-100-LT: many > 100, medium 20–100,
 * few < 20 training images). Shapes: features N×D row-major, labels N.
 */
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import { CbdmError } from '../util/errors.ts';
import { featureStats, frechetDistance, type FeatureStats, type FrechetOptions } from './fid.ts';
import { frechetDistanceFromFeatures } from './fid-lowrank.ts';
import { kernelInceptionDistance, type KidOptions } from './kid.ts';
import { gatherRows } from './linalg.ts';
import { improvedPrecisionRecall, type PrecisionRecallOptions } from './precision-recall.ts';

/** n×d features with one integer class label per row. */
export interface LabelledFeatures {
  feats: Float32Array | Float64Array;
  labels: ArrayLike<number>;
  n: number;
}

/** One class's row: its sample counts and the metric values (null when it could not be computed). */
export type ClassRow<V> = { class: number; realCount: number; genCount: number; group: ClassGroup; skipped?: string } & { [K in keyof V]: V[K] | null };

/** A group's row: per metric the mean over its classes with a value, and how many those were. */
export type GroupRow<V> = { classes: number; used: number } & { [K in keyof V]: number | null };

/** Overall value, per-class rows and per-group means. */
export interface PerClassResult<O, V> {
  overall: O;
  perClass: Array<ClassRow<V>>;
  groups: Record<ClassGroup, GroupRow<V>>;
}

/** Row indices of each class 0..numClasses−1. */
function rowsByClass(set: LabelledFeatures, numClasses: number, what: string): number[][] {
  if (set.labels.length < set.n) throw new CbdmError(`${what}: ${set.n} rows but ${set.labels.length} labels`);
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < set.n; i++) {
    const c = set.labels[i]!;
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) throw new CbdmError(`${what}: row ${i} has label ${c}, outside 0..${numClasses - 1}`);
    out[c]!.push(i);
  }
  return out;
}

/**
 * Generic per-class evaluation: `metric(real, nReal, gen, nGen)` on each class's rows returns the
 * metric values, or a string saying why the class is skipped. `trainCounts[c]` (training images
 * of class c) defines the groups; its length is the number of classes.
 */
export function perClassMetric<V extends Record<string, number>>(
  real: LabelledFeatures,
  gen: LabelledFeatures,
  d: number,
  trainCounts: readonly number[],
  metric: (real: Float64Array, nReal: number, gen: Float64Array, nGen: number) => V | string,
): { perClass: Array<ClassRow<V>>; groups: Record<ClassGroup, GroupRow<V>> } {
  const numClasses = trainCounts.length;
  if (numClasses === 0) throw new CbdmError('per-class metrics need the per-class training counts');
  const realRows = rowsByClass(real, numClasses, 'real features');
  const genRows = rowsByClass(gen, numClasses, 'generated features');
  const groupOf = new Map<number, ClassGroup>();
  const byGroup = groupClasses(trainCounts);
  for (const g of CLASS_GROUPS) for (const c of byGroup[g]) groupOf.set(c, g);
  const perClass: Array<ClassRow<V>> = [];
  let keys: Array<keyof V> | null = null;
  for (let c = 0; c < numClasses; c++) {
    const r = realRows[c]!;
    const g = genRows[c]!;
    const values = metric(gatherRows(real.feats, d, r), r.length, gatherRows(gen.feats, d, g), g.length);
    const base = { class: c, realCount: r.length, genCount: g.length, group: groupOf.get(c)! };
    if (typeof values === 'string') perClass.push({ ...base, skipped: values } as ClassRow<V>);
    else {
      keys ??= Object.keys(values) as Array<keyof V>;
      perClass.push({ ...base, ...values } as ClassRow<V>);
    }
  }
  // classes skipped before any value was seen still need every metric key, as null
  const allKeys = keys ?? [];
  for (const row of perClass) for (const k of allKeys) if (!(k in row)) (row as Record<keyof V, null>)[k] = null;
  const groups = {} as Record<ClassGroup, GroupRow<V>>;
  for (const grp of CLASS_GROUPS) {
    const rows = perClass.filter((r) => r.group === grp);
    const used = rows.filter((r) => r.skipped === undefined);
    const row = { classes: rows.length, used: used.length } as GroupRow<V>;
    for (const k of allKeys) {
      (row as Record<keyof V, number | null>)[k] = used.length === 0 ? null : used.reduce((s, r) => s + (r[k] as number), 0) / used.length;
    }
    groups[grp] = row;
  }
  return { perClass, groups };
}

/** Per-class FID values. */
export interface ClassFid extends Record<string, number> {
  fid: number;
  /** 1 when either class set has n ≤ d (biased FID), else 0. */
  underdetermined: number;
}

/**
 * FID overall and per class / group. `overallReal` replaces the real statistics of the overall
 * FID (e.g. train-split reference stats from an .npz); by default they come from `real`.
 * A class with fewer than 2 real or generated samples is skipped.
 */
export function perClassFid(
  real: LabelledFeatures,
  gen: LabelledFeatures,
  d: number,
  trainCounts: readonly number[],
  opts: FrechetOptions & { overallReal?: Pick<FeatureStats, 'mu' | 'sigma'> } = {},
): PerClassResult<ReturnType<typeof frechetDistance> & { underdetermined: boolean }, ClassFid> {
  const rs = opts.overallReal ?? featureStats(real.feats, real.n, d);
  const gs = featureStats(gen.feats, gen.n, d);
  const overall = { ...frechetDistance(gs.mu, gs.sigma, rs.mu, rs.sigma, d, opts), underdetermined: gs.underdetermined };
  const { perClass, groups } = perClassMetric<ClassFid>(real, gen, d, trainCounts, (r, nr, g, ng) => {
    if (nr < 2 || ng < 2) return `needs ≥ 2 real and generated samples (has ${nr} and ${ng})`;
    // Per class n < d: the low-rank path (exact, n×n eigenproblems instead of d×d).
    const f = frechetDistanceFromFeatures(g, ng, r, nr, d, opts);
    return { fid: f.fid, underdetermined: nr <= d || ng <= d ? 1 : 0 };
  });
  return { overall, perClass, groups };
}

/** Per-class precision and recall. */
export interface ClassPrecisionRecall extends Record<string, number> {
  precision: number;
  recall: number;
}

/**
 * Improved precision/recall overall (skipped with `overall: false`, e.g. when 50k×50k distances
 * are too slow for the engine at hand) and per class / group. A class needs more than k samples
 * in both sets, since each sample's radius is its k-th neighbour's distance.
 */
export function perClassPrecisionRecall(
  real: LabelledFeatures,
  gen: LabelledFeatures,
  d: number,
  trainCounts: readonly number[],
  opts: PrecisionRecallOptions & { overall?: boolean } = {},
): PerClassResult<{ precision: number; recall: number } | null, ClassPrecisionRecall> {
  const k = opts.k ?? 5;
  let overall: { precision: number; recall: number } | null = null;
  if (opts.overall ?? true) {
    const r = improvedPrecisionRecall(real.feats, real.n, gen.feats, gen.n, d, opts);
    overall = { precision: r.precision, recall: r.recall };
  }
  const { perClass, groups } = perClassMetric<ClassPrecisionRecall>(real, gen, d, trainCounts, (r, nr, g, ng) => {
    if (nr <= k || ng <= k) return `k = ${k} needs more than ${k} real and generated samples (has ${nr} and ${ng})`;
    const pr = improvedPrecisionRecall(r, nr, g, ng, d, opts);
    return { precision: pr.precision, recall: pr.recall };
  });
  return { overall, perClass, groups };
}

/** Per-class KID values (mean and population std over the class's subsets). */
export interface ClassKid extends Record<string, number> {
  kid: number;
  kidStd: number;
}

/**
 * KID overall and per class / group; subsets of each class hold min(subsetSize, class sizes) rows.
 * A class needs at least 2 samples in both sets.
 */
export function perClassKid(real: LabelledFeatures, gen: LabelledFeatures, d: number, trainCounts: readonly number[], opts: Omit<KidOptions, 'indexSets'> = {}): PerClassResult<{ kid: number; kidStd: number }, ClassKid> {
  const o = kernelInceptionDistance(gen.feats, gen.n, real.feats, real.n, d, opts);
  const { perClass, groups } = perClassMetric<ClassKid>(real, gen, d, trainCounts, (r, nr, g, ng) => {
    if (nr < 2 || ng < 2) return `needs ≥ 2 real and generated samples (has ${nr} and ${ng})`;
    const k = kernelInceptionDistance(g, ng, r, nr, d, opts);
    return { kid: k.mean, kidStd: k.std };
  });
  return { overall: { kid: o.mean, kidStd: o.std }, perClass, groups };
}
