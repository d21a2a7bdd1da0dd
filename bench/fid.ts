/**
 * FID maths at Inception size: featureStats on n×2048 float32 features (default n = 10,000) and
 * frechetDistance on the resulting 2048×2048 covariances, one core, plain TypeScript.
 * Breakdown: symmetric eigendecomposition (values + vectors), the whole Fréchet distance.
 * Peer, in the same run when python3 + numpy + scipy are present (BLAS pinned to one thread):
 * np.cov, and pytorch-fid's scipy.linalg.sqrtm formula, on data of the same shape.
 * Reports wall and CPU seconds (on a shared machine CPU time is the comparable figure).
 * Run: node --import tsx bench/fid.ts [--n 10000] [--d 2048]
 */
import { spawnSync } from 'node:child_process';
import { featureStats, frechetDistance } from '../src/metrics/fid.ts';
import { symmetricEigen } from '../src/metrics/linalg.ts';
import { Rng } from '../src/util/rng.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const n = arg('n', 10000);
const d = arg('d', 2048);

/** Inception-like features: non-negative, correlated through a few shared factors. */
function features(seed: number): Float32Array {
  const rng = new Rng(seed);
  const f = 16;
  const load = new Float64Array(f * d).map(() => rng.normal() * 0.3);
  const x = new Float32Array(n * d);
  const z = new Float64Array(f);
  for (let r = 0; r < n; r++) {
    for (let t = 0; t < f; t++) z[t] = rng.normal();
    for (let j = 0; j < d; j++) {
      let v = rng.normal() * 0.5;
      for (let t = 0; t < f; t++) v += z[t]! * load[t * d + j]!;
      x[r * d + j] = Math.max(0, v + 0.3);
    }
  }
  return x;
}

/** Run f; returns its result, wall seconds and CPU seconds of this process (user + system). */
function time<T>(f: () => T): [T, number, number] {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = f();
  const dc = process.cpuUsage(c);
  return [r, (performance.now() - t) / 1000, (dc.user + dc.system) / 1e6];
}

/** "wall s (cpu s)": on a shared machine CPU time is the figure to compare. */
function fmt(wall: number, cpu: number): string {
  return `${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s cpu`;
}

const PEER = `
import sys, time, numpy as np
from scipy import linalg
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
x1 = np.maximum(rng.standard_normal((n, d)).astype(np.float32), 0)
x2 = np.maximum(rng.standard_normal((n, d)).astype(np.float32) + 0.1, 0)
t = time.process_time(); s1 = np.cov(x1, rowvar=False); mu1 = x1.mean(0); tc = time.process_time() - t
s2 = np.cov(x2, rowvar=False); mu2 = x2.mean(0)
t = time.process_time(); np.linalg.eigh(s1); te = time.process_time() - t
t = time.process_time()
covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
fid = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real)
tf = time.process_time() - t
print(tc, te, tf)
`;

function peer(): number[] | null {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync('python3', ['-W', 'ignore', '-c', PEER, String(n), String(d)], { encoding: 'utf8', env });
  if (r.status !== 0) return null;
  return r.stdout.trim().split(/\s+/).map(Number);
}

console.log(`FID maths, n = ${n}, d = ${d}, one core (node ${process.version})`);
const x1 = features(1);
const x2 = features(2);
const [s1, wStats, tStats] = time(() => featureStats(x1, n, d));
const s2 = featureStats(x2, n, d);
console.log(`featureStats             ${fmt(wStats, tStats)}  (${((n * d * d) / 2 / tStats / 1e9).toFixed(2)} G multiply-adds per cpu-second)`);
const [, wEig, tEig] = time(() => symmetricEigen(s1.sigma, d, 'rows'));
console.log(`symmetricEigen + vectors ${fmt(wEig, tEig)}`);
const [, wVals, tVals] = time(() => symmetricEigen(s1.sigma, d, 'none'));
console.log(`symmetricEigen values    ${fmt(wVals, tVals)}`);
const [fid, wFid, tFid] = time(() => frechetDistance(s1.mu, s1.sigma, s2.mu, s2.sigma, d));
console.log(`frechetDistance          ${fmt(wFid, tFid)}  (FID ${fid.fid.toFixed(4)}, singular ${fid.singular})`);
const p = peer();
if (p) {
  const [tc, te, tf] = p as [number, number, number];
  console.log(`NumPy/SciPy, 1 thread (cpu s): np.cov ${tc.toFixed(2)}, eigh ${te.toFixed(2)}, pytorch-fid sqrtm formula ${tf.toFixed(2)}`);
  console.log(`ratio ours/peer (cpu): stats ${(tStats / tc).toFixed(1)}×, eigen ${(tEig / te).toFixed(1)}×, FID ${(tFid / tf).toFixed(1)}×`);
} else console.log('peer: python3 with numpy + scipy not available, skipped');
