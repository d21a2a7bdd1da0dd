/**
 * The native cpu backend's settings: one typed value, read from the environment once when the
 * addon is loaded (src/engine/cpu/load.ts) and passed to the addon explicitly. No kernel reads the
 * environment, and nothing mutates it: a scoped change (e.g. features in fp32 while training runs
 * in bf16) goes through `withPrecision` in src/engine/backends.ts, which sets the addon's value and
 * restores it.
 *
 *   CBDM_THREADS=n              threads of every kernel (default: all cores)
 *   CBDM_ISA=avx2|scalar        a lower instruction set than the CPU's best (tests, comparisons)
 *   CBDM_PRECISION=fp32|bf16    bf16: convolutions multiply in bfloat16, sum in fp32 (AVX512-BF16)
 *   CBDM_CONV_GEMM=1            every convolution through the fp32 im2col gemm (a comparison aid)
 *   CBDM_GEMM_BLOCK=mc,kc,nc    the gemm's cache blocking (a tuning aid)
 *   CBDM_THREAD_WAIT=sleep|spin what an idle kernel thread does (default sleep; see ThreadWait)
 */
import type { Isa } from './native.ts';
import { ISAS } from './native.ts';

/** The precision convolutions compute in. */
export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** Which convolution kernels may run: 'auto' = the rule tables' choice, 'gemm' = only the im2col gemm. */
export type ConvKernels = 'auto' | 'gemm';

/**
 * What a kernel thread does between and at the end of parallel regions while it has no work:
 *   'sleep'  it sleeps at once (libgomp's OMP_WAIT_POLICY=passive) and is woken by a futex when
 *            the next region starts — the default: on a machine where other processes hold the
 *            cores, a spinning thread takes the time slice of the thread it waits for
 *            (bench/RESULTS.md: the tiny UNet forward at 2 threads 1,484 → 131 ms with 1-thread
 *            116 ms, load ≈ 5 on 2 cores);
 *   'spin'   libgomp's default: it spins ≈ 300,000 iterations (a few ms) before sleeping, which
 *            saves the wake-up (microseconds per region) on an idle machine.
 * libgomp fixes the policy when it is loaded, so this setting is applied once, as the addon loads
 * (src/engine/cpu/load.ts); a GOMP_SPINCOUNT in the environment overrides it (libgomp's rule).
 */
export type ThreadWait = 'sleep' | 'spin';
export const THREAD_WAITS: readonly ThreadWait[] = ['sleep', 'spin'];

export interface CpuSettings {
  /** null = the CPU's best. */
  isa: Isa | null;
  /** null = all cores. */
  threads: number | null;
  precision: Precision;
  convKernels: ConvKernels;
  /** The gemm's {mc, kc, nc} cache blocking; null = each microkernel's own. */
  gemmBlock: readonly [number, number, number] | null;
  threadWait: ThreadWait;
}

export const DEFAULT_CPU_SETTINGS: CpuSettings = { isa: null, threads: null, precision: 'fp32', convKernels: 'auto', gemmBlock: null, threadWait: 'sleep' };

/** The settings the environment asks for, or the reason one of its values is invalid (naming the variable). */
export function cpuSettingsFromEnv(env: NodeJS.ProcessEnv): { settings: CpuSettings } | { reason: string } {
  const s: CpuSettings = { ...DEFAULT_CPU_SETTINGS };
  const get = (k: string): string | undefined => (env[k] === undefined || env[k] === '' ? undefined : env[k]);
  const isa = get('CBDM_ISA');
  if (isa !== undefined) {
    if (!(ISAS as readonly string[]).includes(isa)) return { reason: `CBDM_ISA='${isa}' is not one of ${ISAS.join(', ')}` };
    s.isa = isa as Isa;
  }
  const thr = get('CBDM_THREADS');
  if (thr !== undefined) {
    const n = Number(thr);
    if (!Number.isInteger(n) || n < 1) return { reason: `CBDM_THREADS='${thr}' is not a positive integer` };
    s.threads = n;
  }
  const prec = get('CBDM_PRECISION');
  if (prec !== undefined) {
    if (!(PRECISIONS as readonly string[]).includes(prec)) return { reason: `CBDM_PRECISION='${prec}' is not fp32 or bf16` };
    s.precision = prec as Precision;
  }
  const gemm = get('CBDM_CONV_GEMM');
  if (gemm !== undefined) {
    if (gemm !== '1' && gemm !== '0') return { reason: `CBDM_CONV_GEMM='${gemm}' is not 1 (gemm only) or 0` };
    s.convKernels = gemm === '1' ? 'gemm' : 'auto';
  }
  const blk = get('CBDM_GEMM_BLOCK');
  if (blk !== undefined) {
    const v = blk.split(',').map(Number);
    if (v.length !== 3 || !v.every((x) => Number.isInteger(x) && x > 0)) return { reason: `CBDM_GEMM_BLOCK='${blk}' is not three positive integers mc,kc,nc` };
    s.gemmBlock = [v[0]!, v[1]!, v[2]!];
  }
  const wait = get('CBDM_THREAD_WAIT');
  if (wait !== undefined) {
    if (!(THREAD_WAITS as readonly string[]).includes(wait)) return { reason: `CBDM_THREAD_WAIT='${wait}' is not sleep or spin` };
    s.threadWait = wait as ThreadWait;
  }
  return { settings: s };
}
