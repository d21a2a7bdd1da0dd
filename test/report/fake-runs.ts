/**
 * Builds fake run directories (docs/RUN_DIR.md) for report tests: 10 long-tailed classes,
 * synthetic sample grids and nearest-neighbour panels, fake metrics and evaluation results.
 * Everything is seeded, so the same call gives the same files.
 */
import { join } from 'node:path';
import { CLASS_GROUPS, classGroup } from '../../src/data/groups.ts';
import { gridPng } from '../../src/io/png-grid.ts';
import { nearestPanelPng, nearestTrainingImages } from '../../src/report/nearest.ts';
import {
  appendMetrics, perClassRow, writeConfigJson, writeDataJson, writeEvalJson, writeNearestPanel, writeSampleGrid,
  type EvalResult, type MetricValues, type RunDataInfo, type RunMethod, type RunMetricsRecord,
} from '../../src/report/run-dir.ts';

export const FAKE_CLASS_NAMES = ['disc', 'square', 'triangle', 'ring', 'cross', 'star', 'stripes', 'checker', 'diamond', 'spiral'];
/** Exponential long tail 500 → 5 over 10 classes. */
export const FAKE_COUNTS = FAKE_CLASS_NAMES.map((_, i) => Math.floor(500 * 0.01 ** (i / 9)));
const S = 16;

/** Tiny seeded PRNG (mulberry32) for fake data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n images 3×S×S of class `cls`: a coloured blob on a tinted background; `spread` = positional diversity. */
export function fakeImages(cls: number, n: number, spread: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n * 3 * S * S);
  const hue = (cls * 37) % 360;
  const col = [128 + 127 * Math.cos((hue * Math.PI) / 180), 128 + 127 * Math.cos(((hue - 120) * Math.PI) / 180), 128 + 127 * Math.cos(((hue + 120) * Math.PI) / 180)];
  for (let k = 0; k < n; k++) {
    const cx = S / 2 + (rnd() - 0.5) * spread * S;
    const cy = S / 2 + (rnd() - 0.5) * spread * S;
    const r = 3 + rnd() * 3;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        for (let c = 0; c < 3; c++) {
          const v = inside ? col[c]! : 30 + 20 * c + 15 * ((cls + x + y) % 2);
          out[((k * 3 + c) * S + y) * S + x] = Math.max(0, Math.min(255, Math.round(v + (rnd() - 0.5) * 40)));
        }
      }
    }
  }
  return out;
}

/** Options of a fake run. */
export interface FakeRunOptions {
  method: RunMethod;
  seed: number;
  /** Write samples/, nn/ and eval.json (default true). */
  evaluated?: boolean;
  /** Logged metric lines (default 60). */
  logLines?: number;
}

function meanOf(rows: MetricValues[], key: string): number {
  return rows.reduce((a, r) => a + (r[key] as number), 0) / rows.length;
}

/** Write a complete fake run directory into `dir`. */
export function makeFakeRun(dir: string, o: FakeRunOptions): void {
  const rnd = prng(o.seed);
  const cb = o.method === 'cbdm';
  writeConfigJson(dir, {
    train: { method: o.method, preset: 'tiny', dataset: 'shapes10-lt', steps: 3000, batch: cb ? 48 : 64, lr: 1e-3, tau: 1, gamma: 0.25, omegaEval: cb ? 1.6 : 0.8, seed: o.seed },
    model: { ch: 32, chMult: [1, 2, 2], attn: [1], numResBlocks: 1, dropout: 0.1, numClasses: 10, imageSize: S, T: 1000 },
    backend: 'cpu',
    created: '2026-11-25T08:00:00.000Z',
  });
  const data: RunDataInfo = { name: 'shapes10-lt', classNames: FAKE_CLASS_NAMES, counts: FAKE_COUNTS, size: S };
  writeDataJson(dir, data);
  const recs: RunMetricsRecord[] = [];
  const lines = o.logLines ?? 60;
  for (let i = 1; i <= lines; i++) {
    const step = i * 50;
    const lDdpm = 0.05 + 0.9 * Math.exp(-step / 400) + 0.02 * rnd();
    const lReg = cb ? 0.01 + 0.05 * Math.exp(-step / 900) * (0.8 + 0.4 * rnd()) : 0;
    const lCom = cb ? lReg * 0.9 : 0;
    recs.push({ step, loss: lDdpm + lReg + 0.25 * lCom, l_ddpm: lDdpm, l_reg: lReg, l_com: lCom, grad_norm: 0.5 + rnd(), lr: 1e-3, img_per_s: cb ? 70 + rnd() : 130 + rnd(), wall_s: step * (cb ? 0.65 : 0.36) });
  }
  appendMetrics(dir, recs);
  if (o.evaluated === false) return;
  const shape = { c: 3, h: S, w: S };
  const perClass = FAKE_COUNTS.map((n, c) => {
    const tailness = 1 - Math.log(n) / Math.log(500);
    // Fake "DDPM collapses on the tail": its tail samples barely move.
    const spread = cb ? 0.6 : 0.6 * (1 - 0.8 * tailness);
    writeSampleGrid(dir, c, gridPng(fakeImages(c, 16, spread, rnd), shape, { cols: 4, scale: 2, pad: 1 }));
    if (classGroup(n) === 'few') {
      const train = fakeImages(c, n, 0.6, prng(1000 + c));
      const samples = fakeImages(c, 4, spread, rnd);
      const nb = nearestTrainingImages(samples, train, new Int32Array(n).fill(c), c, 3);
      writeNearestPanel(dir, c, nearestPanelPng(samples, train, nb, shape));
    }
    return perClassRow(c, data, {
      fid: 20 + 60 * tailness * (cb ? 0.8 : 1) + 3 * rnd(),
      recall: 0.6 - 0.4 * tailness * (cb ? 0.6 : 1) + 0.02 * rnd(),
      precision: 0.7 - 0.1 * tailness + 0.02 * rnd(),
      accuracy: 0.95 - 0.2 * tailness + 0.02 * rnd(),
    });
  });
  const groups = {} as EvalResult['groups'];
  for (const g of CLASS_GROUPS) {
    const rows = perClass.filter((r) => r.group === g) as MetricValues[];
    groups[g] = { fid: meanOf(rows, 'fid'), recall: meanOf(rows, 'recall'), precision: meanOf(rows, 'precision'), accuracy: meanOf(rows, 'accuracy') };
  }
  const all = perClass as MetricValues[];
  writeEvalJson(dir, {
    protocol: { sampler: 'ddim', steps: 50, eta: 0, omega: 1.5, nPerClass: 100, featureExtractor: 'shapes-classifier' },
    overall: { fid: meanOf(all, 'fid') * 0.8, recall: meanOf(all, 'recall'), precision: meanOf(all, 'precision'), accuracy: meanOf(all, 'accuracy') },
    perClass, groups, created: '2026-11-25T09:00:00.000Z',
  });
}

/** A DDPM and a CBDM fake run under `root`; returns their directories. */
export function makeFakeRunPair(root: string): [string, string] {
  const a = join(root, 'ddpm');
  const b = join(root, 'cbdm');
  makeFakeRun(a, { method: 'ddpm', seed: 1 });
  makeFakeRun(b, { method: 'cbdm', seed: 2 });
  return [a, b];
}
