/**
 * FID maths at Inception size: featureStats on n×2048 float32 features (default n = 10,000) and
 * frechetDistance on the resulting 2048×2048 covariances, one core, plain TypeScript.
 * Breakdown: symmetric eigendecomposition (values + vectors), the whole Fréchet distance.
 * Then per-class shapes (docs/DESIGN.md §1.7): frechetDistanceFromFeatures on two classes of m samples
 * (the low-rank path, m = 50 and 500) and m samples against the full statistics (the mixed path),
 * with the full path's time for the same call for comparison; featureStats through the cpu
 * backend's float32 gemm when the addon is built (its error against float64 is printed).
 * Peer, in the same run when python3 + numpy + scipy are present (BLAS pinned to one thread):
 * np.cov, and pytorch-fid's scipy.linalg.sqrtm formula, on data of the same shape.
 * Reports wall and CPU seconds (on a shared machine CPU time is the comparable figure).
 * Run: node --import tsx bench/fid.ts [--n 10000] [--d 2048] [--full 0]  (--full 0 skips the ~40 s full path)
 */
import { spawnSync } from 'node:child_process';
import { backendGemmABt } from '../src/metrics/evaluate.ts';
import { backendAvailable, getBackend } from '../src/engine/backends.ts';
import { featureStats, frechetDistance } from '../src/metrics/fid.ts';
import { frechetDistanceFromFeatures, frechetDistanceOf } from '../src/metrics/fid-lowrank.ts';
import { symmetricEigen } from '../src/metrics/linalg.ts';
import { Rng } from '../src/util/rng.ts';
import { peerEnv } from '../src/util/peer-env.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const n = arg('n', 10000);
const d = arg('d', 2048);
const runFull = arg('full', 1) !== 0;

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
  const env = peerEnv({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
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
let tEig = NaN;
let tFid = NaN;
if (runFull) {
  const [, wEig, tE] = time(() => symmetricEigen(s1.sigma, d, 'rows'));
  tEig = tE;
  console.log(`symmetricEigen + vectors ${fmt(wEig, tEig)}`);
  const [, wVals, tVals] = time(() => symmetricEigen(s1.sigma, d, 'none'));
  console.log(`symmetricEigen values    ${fmt(wVals, tVals)}`);
  const [fid, wFid, tF] = time(() => frechetDistance(s1.mu, s1.sigma, s2.mu, s2.sigma, d));
  tFid = tF;
  console.log(`frechetDistance          ${fmt(wFid, tFid)}  (FID ${fid.fid.toFixed(4)}, singular ${fid.singular})`);
}

// per-class shapes: m samples per class, the first m rows of each set
for (const m of [50, 500].filter((v) => v < n)) {
  const a = x1.subarray(0, m * d);
  const b = x2.subarray(0, m * d);
  const [lr, wl, tl] = time(() => frechetDistanceFromFeatures(a, m, b, m, d));
  const [mx, wm, tm] = time(() => frechetDistanceOf({ feats: a, n: m }, s2, d));
  let vs = '';
  if (runFull) {
    const [ref, , tf] = time(() => {
      const sa = featureStats(a, m, d);
      const sb = featureStats(b, m, d);
      return frechetDistance(sa.mu, sa.sigma, sb.mu, sb.sigma, d);
    });
    vs = `; full path ${tf.toFixed(2)} s cpu, ${(tf / tl).toFixed(0)}× slower, |ΔFID|/FID ${(Math.abs(ref.fid - lr.fid) / ref.fid).toExponential(1)}`;
  }
  console.log(`${lr.path} m=${String(m).padEnd(4)}      ${fmt(wl, tl)}  (FID ${lr.fid.toFixed(4)}${vs})`);
  console.log(`${mx.path} m=${String(m).padEnd(4)} vs stats ${fmt(wm, tm)}  (FID ${mx.fid.toFixed(4)})`);
}

if (backendAvailable('cpu')) {
  const gemm = backendGemmABt(getBackend('cpu'));
  const [g1, wg, tg] = time(() => featureStats(x1, n, d, { gemm }));
  let err = 0;
  let scale = 0;
  for (let i = 0; i < d; i++) scale = Math.max(scale, s1.sigma[i * d + i]!);
  for (let i = 0; i < d * d; i++) err = Math.max(err, Math.abs(g1.sigma[i]! - s1.sigma[i]!));
  console.log(`featureStats, cpu gemm   ${fmt(wg, tg)}  (float32 products: max |ΔΣ| / max σᵢᵢ ${(err / scale).toExponential(1)}; wall counts the addon's threads)`);
  // the effect on a FID: reference stats from float32 products vs float64, against m = 500 samples (mixed path)
  const m = Math.min(500, n - 1, d - 1);
  const b = { feats: x2.subarray(0, m * d), n: m };
  const f64 = frechetDistanceOf(s1, b, d).fid;
  const f32 = frechetDistanceOf(g1, b, d).fid;
  console.log(`  FID (mixed, m=${m}) from float32-gemm stats ${f32.toFixed(6)} vs float64 ${f64.toFixed(6)} (rel ${(Math.abs(f32 - f64) / f64).toExponential(1)})`);
  // the low-rank and mixed paths with their d-sized products on the backend (float32)
  const a = { feats: x1.subarray(0, m * d), n: m };
  const [lr32, wl, tl] = time(() => frechetDistanceOf(a, b, d, { gemm }));
  const lr64 = frechetDistanceOf(a, b, d).fid;
  console.log(`low-rank m=${m}, cpu gemm ${fmt(wl, tl)}  (FID rel. to float64 ${(Math.abs(lr32.fid - lr64) / lr64).toExponential(1)})`);
  const [mx32, wm, tm] = time(() => frechetDistanceOf(s1, b, d, { gemm }));
  console.log(`mixed m=${m}, cpu gemm    ${fmt(wm, tm)}  (FID rel. to float64 ${(Math.abs(mx32.fid - f64) / f64).toExponential(1)})`);
} else console.log('featureStats, cpu gemm: the cpu addon is not built, skipped');
const p = peer();
if (p) {
  const [tc, te, tf] = p as [number, number, number];
  console.log(`NumPy/SciPy, 1 thread (cpu s): np.cov ${tc.toFixed(2)}, eigh ${te.toFixed(2)}, pytorch-fid sqrtm formula ${tf.toFixed(2)}`);
  console.log(`ratio ours/peer (cpu): stats ${(tStats / tc).toFixed(1)}×` + (runFull ? `, eigen ${(tEig / te).toFixed(1)}×, FID ${(tFid / tf).toFixed(1)}×` : ''));
} else console.log('peer: python3 with numpy + scipy not available, skipped');
