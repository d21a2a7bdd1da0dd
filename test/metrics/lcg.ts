/**
 * The 32-bit LCG of test/fixtures/metrics/make_metrics.py, reproduced bit for bit, so metric
 * fixtures store expected values instead of inputs. Also fixture loading helpers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpz } from '../../src/io/npz.ts';
import { matmul } from '../../src/metrics/linalg.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'metrics');

/** count uniforms in (0, 1): state ← (1664525·state + 1013904223) mod 2³², u = (state + ½)/2³². */
export function lcgUniform(seed: number, count: number): Float64Array {
  const out = new Float64Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(1664525, s) + 1013904223) >>> 0;
    out[i] = (s + 0.5) / 4294967296;
  }
  return out;
}

/** rows×cols of uniform(−½, ½), row-major (make_metrics.py: lcg_matrix). */
export function lcgMatrix(seed: number, rows: number, cols: number): Float64Array {
  const u = lcgUniform(seed, rows * cols);
  for (let i = 0; i < u.length; i++) u[i] -= 0.5;
  return u;
}

/** make_metrics.py: fid_features — (U·(B + I))·diag(10^(−decades·j/(d−1))) + shift. */
export function fidFeatures(seed: number, n: number, d: number, decades: number, shift: number): Float64Array {
  const u = lcgMatrix(seed, n, d);
  const b = lcgMatrix(seed + 7777, d, d);
  for (let i = 0; i < d; i++) b[i * d + i] += 1;
  const x = matmul(u, b, n, d, d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) x[r * d + j] = x[r * d + j]! * 10 ** ((-decades * j) / Math.max(d - 1, 1)) + shift;
  }
  return x;
}

/** One FID case of metrics.json (see make_metrics.py: fid_cases). */
export interface FidCase {
  name: string; d: number; n1: number; n2: number; decades: number; decades2: number; seed1: number; seed2: number;
  shift2: number; fid_scipy: number; fid_eigh: number; scipy_regularised: boolean; trace1: number; trace2: number;
  mu1_sum: number; sigma1_fro: number;
}

/** The parsed metrics.json fixture. */
export interface MetricsFixture {
  fid: FidCase[];
  fid_small: { seed: number; n: number; d: number; decades: number; shift: number; mu: number[]; sigma: number[] };
  inception_score: Array<{ seed: number; n: number; classes: number; scale: number; splits: number; mean: number; std: number; scores: number[] }>;
  kid: {
    seed1: number; seed2: number; n1: number; n2: number; d: number; m: number; shift1: number; scale2: number;
    subsets: Array<[number[], number[]]>; mmd: number[]; mean: number; std: number; full: number;
  };
  precision_recall: {
    seed_real: number; seed_gen: number; n_real: number; n_gen: number; d: number; gen_scale: number; gen_shift: number;
    k: Record<string, { radii_real: number[]; radii_gen: number[]; precision_strict: number; recall_strict: number; precision_inclusive: number; recall_inclusive: number }>;
  };
}

/** Read metrics.json. */
export function metricsFixture(): MetricsFixture {
  return JSON.parse(readFileSync(join(FIXTURES, 'metrics.json'), 'utf8')) as MetricsFixture;
}

/** A float64 array from eigh.npz. */
export function eighFixture(key: string): Float64Array {
  const a = readNpz(join(FIXTURES, 'eigh.npz'))[key];
  if (!a || a.dtype !== 'float64') throw new Error(`eigh.npz: no float64 array '${key}'`);
  return a.data as Float64Array;
}

/** Largest |a − b| relative to max(|b|), over two equal-length arrays. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
