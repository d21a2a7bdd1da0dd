/**
 * A kernel profiler: wraps a backend so that every kernel call is timed (wall clock) and counted
 * by kernel name. It answers "where does a training step spend its time" without a native
 * profiler; the overhead is one `performance.now()` pair per call (≈ 0.1 µs).
 *
 * Usage: `const p = profileBackend(be); setCurrentBackend(p.backend); …; p.rows()`.
 * Only use it on fresh tensors: storages are shared with the wrapped backend, so the two mix.
 */
import type { Backend, ConvGeom } from './backend.ts';

/** Names the kernel a backend picks for a convolution pass (the cpu backend's `convKernelName`). */
export type ConvKernelNamer = (g: ConvGeom, pass: 'forward' | 'backward-data' | 'backward-weight') => string | null;
const CONV_PASS = { conv2dForward: 'forward', conv2dForwardFused: 'forward', conv2dBackwardData: 'backward-data', conv2dBackwardWeight: 'backward-weight' } as const;

/** Time spent in one kernel. */
export interface ProfileRow {
  kernel: string;
  calls: number;
  ms: number;
  /** Share of the total kernel time, 0–1. */
  share: number;
  /** Multiply-add work of these calls (2 per multiply-add), for convolutions keyed by shape; else 0. */
  flops: number;
}

export interface ProfiledBackend {
  backend: Backend;
  /** Rows sorted by time, slowest first. */
  rows(): ProfileRow[];
  /** Total time inside kernels, ms. */
  totalMs(): number;
  reset(): void;
}

/** Memory management calls that are counted but are not kernels. */
const NOT_KERNELS = new Set(['alloc', 'view', 'free', 'liveBytes', 'name', 'constructor']);

/** The geometry of a convolution call (its ConvGeom argument), or null for any other kernel. */
function convGeomOf(kernel: string, args: unknown[]): ConvGeom | null {
  if (!(kernel in CONV_PASS)) return null;
  return (args.find((a) => typeof a === 'object' && a !== null && 'KH' in a) as ConvGeom | undefined) ?? null;
}

/**
 * Conv kernels are keyed by geometry too (`conv2dForward 64→64 8×8 k3 s1`), and by the native
 * kernel that ran when a namer is given (`… [direct-3x3]`); the rest by name.
 */
function keyOf(kernel: string, g: ConvGeom | null, namer?: ConvKernelNamer): string {
  if (!g) return kernel;
  const which = namer?.(g, CONV_PASS[kernel as keyof typeof CONV_PASS]);
  return `${kernel === 'conv2dForwardFused' ? 'conv2dFused' : kernel} ${g.Ci}→${g.Co} ${g.H}×${g.W} k${g.KH} s${g.stride}${which ? ` [${which}]` : ''}`;
}

export function profileBackend(inner: Backend, opts: { byShape?: boolean; convKernelName?: ConvKernelNamer } = {}): ProfiledBackend {
  const stats = new Map<string, { calls: number; ms: number; flops: number }>();
  const wrapped = new Map<string, (...a: unknown[]) => unknown>();
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof v !== 'function' || NOT_KERNELS.has(prop)) return v;
      let w = wrapped.get(prop);
      if (!w) {
        const fn = v as (...a: unknown[]) => unknown;
        w = (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return fn.apply(target, args);
          } finally {
            const ms = performance.now() - t0;  // the kernel only, not the bookkeeping below
            const g = opts.byShape ? convGeomOf(prop, args) : null;
            const key = opts.byShape ? keyOf(prop, g, opts.convKernelName) : prop;
            const s = stats.get(key) ?? { calls: 0, ms: 0, flops: 0 };
            if (g) s.flops += 2 * g.N * g.Co * g.Ho * g.Wo * g.Ci * g.KH * g.KW;
            s.calls++;
            s.ms += ms;
            stats.set(key, s);
          }
        };
        wrapped.set(prop, w);
      }
      return w;
    },
  });
  const totalMs = () => [...stats.values()].reduce((a, s) => a + s.ms, 0);
  return {
    backend,
    totalMs,
    rows() {
      const tot = totalMs() || 1;
      return [...stats.entries()]
        .map(([kernel, s]) => ({ kernel, calls: s.calls, ms: s.ms, share: s.ms / tot, flops: s.flops }))
        .sort((a, b) => b.ms - a.ms);
    },
    reset() {
      stats.clear();
    },
  };
}

/** A fixed-width table of profile rows (for stderr). */
export function formatProfile(rows: ProfileRow[], wallMs: number, label: string): string {
  const kern = rows.reduce((a, r) => a + r.ms, 0);
  const lines = [`${label}: ${wallMs.toFixed(1)} ms wall, ${kern.toFixed(1)} ms in kernels (${((100 * kern) / wallMs).toFixed(0)}%), rest = JS graph/autograd/allocation`];
  lines.push(`  ${'kernel'.padEnd(50)}${'calls'.padStart(7)}${'ms'.padStart(10)}${'share'.padStart(8)}${'GFLOP/s'.padStart(9)}`);
  for (const r of rows) {
    const rate = r.flops > 0 && r.ms > 0 ? (r.flops / r.ms / 1e6).toFixed(0) : '';
    lines.push(`  ${r.kernel.padEnd(50)}${String(r.calls).padStart(7)}${r.ms.toFixed(2).padStart(10)}${(100 * r.share).toFixed(1).padStart(7)}%${rate.padStart(9)}`);
  }
  return lines.join('\n');
}
