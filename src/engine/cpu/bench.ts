/**
 * Benchmarks of the native cpu backend against peers measured in the same run:
 * sgemm vs NumPy/OpenBLAS (`bench/peers/gemm.py`), conv2d forward and forward+backward vs
 * PyTorch CPU (`bench/peers/conv.py`). Every case is reported in GFLOP/s so that
 * ratio = ours / peer (> 1: we are faster). Times are medians of `reps` runs.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCpuBackend, cpuInfo, setCpuThreads, computePrecision } from './load.ts';
import type { Backend, ConvGeom } from '../backend.ts';
import { peerEnv } from '../../util/peer-env.ts';
import { upperMedian } from '../../util/median.ts';

/** One benchmark row; `peer`/`ratio` are null when the peer could not run. */
export interface BenchCase {
  case: string;
  unit: string;
  ours: number;
  peer: number | null;
  peer_name: string | null;
  ratio: number | null;
}

/**
 * What a timing measures: `wall` elapsed time (the default, what a user waits for), or `cpu`
 * process CPU time summed over threads — GFLOP per CPU-second, an efficiency measure that is
 * robust when other processes share the cores (time slices lost to them are not counted). It
 * charges spin-waiting threads, so with several threads it is lower than the wall rate.
 */
export type BenchClock = 'wall' | 'cpu';

export interface BenchOptions {
  /** Clock for us and the peer (default wall). */
  clock?: BenchClock;
  /** Threads for us and the peer (default 2). */
  threads?: number;
  /** Timed repetitions per case; the median is reported (default 5). */
  reps?: number;
  /** Skip the peer (just our numbers). */
  noPeer?: boolean;
  /** Called with human-readable notes (peer missing, …). */
  note?: (msg: string) => void;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Seconds now on the given clock (cpu: process CPU seconds, all threads). */
function now(clock: BenchClock): number {
  switch (clock) {
    case 'wall': return performance.now() / 1000;
    case 'cpu': {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    }
    default: {
      const never: never = clock;
      throw new Error(`unknown clock ${String(never)}`);
    }
  }
}

/**
 * Median seconds of f over reps samples (after one warm-up), repeating f inside a sample until it
 * lasts ≥ minSec.
 */
export function timeIt(f: () => void, reps: number, minSec = 0.05, clock: BenchClock = 'wall'): number {
  f();
  let inner = 1;
  const t0 = now(clock);
  f();
  const once = now(clock) - t0;
  if (once < minSec) inner = Math.max(1, Math.ceil(minSec / Math.max(once, 1e-6)));
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = now(clock);
    for (let i = 0; i < inner; i++) f();
    ts.push((now(clock) - t) / inner);
  }
  return upperMedian(ts);
}

function unitOf(clock: BenchClock): string {
  return clock === 'cpu' ? 'GFLOP/cpu-s' : 'GFLOP/s';
}

interface PeerOut<R> { peer: string | null; results?: R; error?: string }

function runPeer<R>(python: string, script: string, spec: unknown, note: (m: string) => void): PeerOut<R> | null {
  const r = spawnSync(python, [join(root, 'bench', 'peers', script), JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 20, env: peerEnv() });
  if (r.error || r.status !== 0) {
    note(`peer ${script} did not run (${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}`}); ` +
      (script === 'gemm.py' ? 'it needs python3 with numpy (pip install numpy)' : 'it needs PyTorch: apt-get install python3-torch'));
    return null;
  }
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerOut<R>;
    if (out.peer === null) {
      note(out.error ?? `peer ${script} unavailable`);
      return null;
    }
    return out;
  } catch {
    note(`peer ${script} printed no JSON: ${r.stdout.slice(0, 200)}`);
    return null;
  }
}

function cpuBackend(): Backend {
  const r = loadCpuBackend();
  if (!r.ok) throw new Error(`the native cpu backend is not available: ${r.reason}`);
  return r.backend;
}

function randomStorage(be: Backend, n: number, scale = 1): ReturnType<Backend['alloc']> {
  const s = be.alloc('float32', n);
  const v = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    v[i] = ((x / 4294967296) * 2 - 1) * scale;
  }
  be.write(s, v);
  return s;
}

function withThreads<T>(threads: number, f: () => T): T {
  const before = cpuInfo()!.threads;
  setCpuThreads(threads);
  try { return f(); } finally { setCpuThreads(before); }
}

/** sgemm C = A·B at n³ for each size, GFLOP/s. */
export function benchGemm(sizes: number[] = [256, 1024, 2048], opts: BenchOptions = {}): BenchCase[] {
  const be = cpuBackend();
  const threads = opts.threads ?? 2, reps = opts.reps ?? 5, note = opts.note ?? (() => {}), clock = opts.clock ?? 'wall';
  const ours = withThreads(threads, () => sizes.map((n) => {
    const A = randomStorage(be, n * n), B = randomStorage(be, n * n), C = be.alloc('float32', n * n);
    const t = timeIt(() => be.gemm(false, false, n, n, n, 1, A, B, 0, C), reps, 0.1, clock);
    [A, B, C].forEach((s) => be.free(s));
    return 2 * n ** 3 / t / 1e9;
  }));
  const peer = opts.noPeer ? null : runPeer<Record<string, number>>('python3', 'gemm.py', { sizes, threads, reps, clock }, note);
  return sizes.map((n, i) => {
    const p = peer?.results?.[String(n)];
    const pg = p ? 2 * n ** 3 / p / 1e9 : null;
    return { case: `sgemm ${n}³ (${threads} threads)`, unit: unitOf(clock), ours: ours[i]!, peer: pg, peer_name: pg ? peer!.peer : null, ratio: pg ? ours[i]! / pg : null };
  });
}

/** A conv2d benchmark shape (square images, bias on). */
export interface ConvCase { name: string; N: number; Ci: number; H: number; Co: number; k: number; stride: number; pad: number }

/** The UNet's conv shapes at batch 8 (§1.4: ch 128, 32×32 and 16×16 levels, and the output conv into the 3 RGB channels). */
export const UNET_CONV_CASES: ConvCase[] = [
  { name: '3×3 s1 128→128 32×32', N: 8, Ci: 128, H: 32, Co: 128, k: 3, stride: 1, pad: 1 },
  { name: '3×3 s1 256→256 16×16', N: 8, Ci: 256, H: 16, Co: 256, k: 3, stride: 1, pad: 1 },
  { name: '3×3 s2 128→128 32→16 (down)', N: 8, Ci: 128, H: 32, Co: 128, k: 3, stride: 2, pad: 1 },
  { name: '1×1 128→256 16×16 (shortcut)', N: 8, Ci: 128, H: 16, Co: 256, k: 1, stride: 1, pad: 0 },
  { name: '3×3 s1 128→3 32×32 (output)', N: 8, Ci: 128, H: 32, Co: 3, k: 3, stride: 1, pad: 1 },
];

function geom(c: ConvCase): ConvGeom {
  const Ho = Math.floor((c.H + 2 * c.pad - c.k) / c.stride) + 1;
  return { N: c.N, Ci: c.Ci, H: c.H, W: c.H, Co: c.Co, KH: c.k, KW: c.k, stride: c.stride, pad: c.pad, Ho, Wo: Ho };
}

/** conv2d forward and forward+backward (data, weight, bias) per case, GFLOP/s (2 flops per MAC). */
export function benchConv(cases: ConvCase[] = UNET_CONV_CASES, opts: BenchOptions = {}): BenchCase[] {
  const be = cpuBackend();
  const threads = opts.threads ?? 2, reps = opts.reps ?? 5, note = opts.note ?? (() => {}), clock = opts.clock ?? 'wall';
  const ours = withThreads(threads, () => cases.map((c) => {
    const g = geom(c);
    const xs = g.N * g.Ci * g.H * g.W, ws = g.Co * g.Ci * g.KH * g.KW, ys = g.N * g.Co * g.Ho * g.Wo;
    const x = randomStorage(be, xs), w = randomStorage(be, ws, 0.05), b = randomStorage(be, g.Co), gy = randomStorage(be, ys);
    const y = be.alloc('float32', ys), gx = be.alloc('float32', xs), gw = be.alloc('float32', ws), gb = be.alloc('float32', g.Co);
    const fwd = timeIt(() => be.conv2dForward(x, w, b, y, g), reps, 0.05, clock);
    const all = timeIt(() => {
      be.conv2dForward(x, w, b, y, g);
      be.conv2dBackwardData(gy, w, gx, g);
      be.conv2dBackwardWeight(x, gy, gw, gb, g);
    }, reps, 0.05, clock);
    [x, w, b, gy, y, gx, gw, gb].forEach((s) => be.free(s));
    return { fwd, all };
  }));
  const peer = opts.noPeer ? null
    : runPeer<Record<string, { fwd: number; fwdbwd: number }>>('/usr/bin/python3', 'conv.py', { threads, reps, cases, clock }, note);
  const rows: BenchCase[] = [];
  cases.forEach((c, i) => {
    const g = geom(c);
    const flops = 2 * g.N * g.Co * g.Ho * g.Wo * g.Ci * g.KH * g.KW;
    const p = peer?.results?.[c.name];
    for (const [label, t, pt, f] of [['fwd', ours[i]!.fwd, p?.fwd, flops], ['fwd+bwd', ours[i]!.all, p?.fwdbwd, 3 * flops]] as const) {
      const o = f / t / 1e9;
      const pg = pt ? f / pt / 1e9 : null;
      rows.push({ case: `conv ${c.name} B=${c.N} ${label} (${threads} threads${computePrecision() === 'bf16' ? ', bf16 compute' : ''})`, unit: unitOf(clock), ours: o, peer: pg, peer_name: pg ? peer!.peer : null, ratio: pg ? o / pg : null });
    }
  });
  return rows;
}

/** A fixed-width table of benchmark rows. */
export function formatBenchTable(rows: BenchCase[]): string {
  const head = ['case', 'unit', 'ours', 'peer', 'ratio', 'peer name'];
  const body = rows.map((r) => [r.case, r.unit, r.ours.toFixed(1), r.peer === null ? '—' : r.peer.toFixed(1),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`, r.peer_name ?? '(no peer)']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
