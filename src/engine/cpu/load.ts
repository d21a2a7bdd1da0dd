/**
 * Loads the native `cpu` backend (the C++ addon in `native/`, built by `npm install`) and applies
 * its settings (threads, ISA, precision, kernel overrides, the threads' wait policy:
 * src/engine/cpu/settings.ts), read from the environment here, once.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, ConvGeom } from '../backend.ts';
import type { Isa, NativeAddon } from './native.ts';
import { CpuBackend } from './backend.ts';
import { cpuSettingsFromEnv, type ConvKernels, type CpuSettings, type Precision, type ThreadWait } from './settings.ts';

export type CpuLoadResult = { ok: true; backend: Backend } | { ok: false; reason: string };

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where node-gyp puts the addon. */
export const BUILT_ADDON_PATH = join(root, 'build', 'Release', 'cbdm_native.node');
/**
 * Where the npm package carries an addon prebuilt for one platform (`npm pack` copies it there;
 * N-API, so any Node ≥ 20 of that platform loads it). A checkout never has one.
 */
export const PREBUILT_ADDON_PATH = join(root, 'prebuilt', `${process.platform}-${process.arch}`, 'cbdm_native.node');
/** The addon in use: a local build wins over the packaged prebuilt one. */
export const ADDON_PATH = existsSync(BUILT_ADDON_PATH) || !existsSync(PREBUILT_ADDON_PATH) ? BUILT_ADDON_PATH : PREBUILT_ADDON_PATH;

/** Every function the CpuBackend calls: an addon built from older sources lacks some. */
const REQUIRED_EXPORTS: readonly (keyof NativeAddon)[] = [
  'info', 'setThreads', 'setIsa', 'setPrecision', 'setConvKernels', 'setGemmBlock', 'convKernelName', 'gemm', 'conv2dForward', 'conv2dBackwardData', 'conv2dBackwardWeight',
  'conv2dForwardFused', 'convForwardFuses',
  'groupNormForward', 'groupNormBackward', 'ew', 'reduce', 'broadcast', 'adamStep', 'emaUpdate',
  'attentionForward', 'attentionBackward', 'dropout', 'pool2dForward', 'upsampleNearest2x', 'copyBlocks',
];

/** The precision last asked of the addon (it computes in bf16 only where the CPU can). */
let askedPrecision: Precision = 'fp32';
let cached: { addon: NativeAddon } | { reason: string } | null = null;

function why(): string {
  const status = join(root, 'build', 'native-status.json');
  if (existsSync(status)) {
    try {
      const s = JSON.parse(readFileSync(status, 'utf8')) as { ok?: boolean; message?: string };
      if (s.ok === false && s.message) return `the native build did not run or failed: ${s.message}`;
    } catch {
      // an unreadable status file just means no extra detail
    }
  }
  return `${ADDON_PATH} is missing; build it with \`npm install\` (or \`node scripts/build-native.mjs\`)`;
}

let loadedWait: ThreadWait = 'sleep';

/**
 * What the native kernels' idle threads do (settings.ts ThreadWait): the policy the addon was
 * loaded with, 'sleep' (the default) also when it is not loaded. Benchmarks give their peers the same.
 */
export function threadWait(): ThreadWait {
  loadAddon();
  return loadedWait;
}

/** The raw addon (loaded once), or the reason it is not usable. */
export function loadAddon(): { addon: NativeAddon } | { reason: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) return (cached = { reason: why() });
  const env = cpuSettingsFromEnv(process.env);
  if ('reason' in env) return (cached = { reason: env.reason });
  try {
    const addon = withLibgompWait(env.settings.threadWait, () => createRequire(import.meta.url)(ADDON_PATH) as NativeAddon);
    loadedWait = env.settings.threadWait;
    const missing = REQUIRED_EXPORTS.filter((k) => typeof (addon as unknown as Record<string, unknown>)[k] !== 'function');
    if (missing.length > 0) {
      return (cached = { reason: `${ADDON_PATH} is out of date (no ${missing.join(', ')}); rebuild it with \`npm install\` (or \`node scripts/build-native.mjs\`)` });
    }
    applySettings(addon, env.settings);
    if (env.settings.precision === 'bf16' && !addon.info().bf16) {
      console.error('cbdm: CBDM_PRECISION=bf16 needs a CPU with AVX512-BF16 (and the avx512 kernels); this one computes in fp32');
    }
    return (cached = { addon });
  } catch (e) {
    return (cached = { reason: `could not load ${ADDON_PATH}: ${(e as Error).message}` });
  }
}

/**
 * Load the addon (`load`) with libgomp's wait policy set for `wait` (settings.ts ThreadWait).
 * libgomp reads OMP_WAIT_POLICY once, when the addon's dlopen loads it, so the variable is set for
 * exactly that moment and restored afterwards: child processes (the benchmark peers, which run
 * their own OpenMP) keep the environment they were given.
 */
function withLibgompWait<T>(wait: ThreadWait, load: () => T): T {
  if (libgompLoaded()) {
    console.error('cbdm: libgomp was loaded before the cpu backend, so CBDM_THREAD_WAIT cannot take effect (its wait policy is fixed when it loads)');
  }
  const before = process.env.OMP_WAIT_POLICY;
  switch (wait) {
    case 'sleep': process.env.OMP_WAIT_POLICY = 'passive'; break;
    case 'spin': delete process.env.OMP_WAIT_POLICY; break;
    default: {
      const never: never = wait;
      throw new Error(`unknown thread wait ${String(never)}`);
    }
  }
  try {
    return load();
  } finally {
    if (before === undefined) delete process.env.OMP_WAIT_POLICY;
    else process.env.OMP_WAIT_POLICY = before;
  }
}

/** Whether this process has libgomp mapped already (Linux; elsewhere: unknown, false). */
function libgompLoaded(): boolean {
  try {
    return /libgomp/.test(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}

/** Pass every setting to the addon (an unset ISA / thread count keeps the addon's default). */
function applySettings(addon: NativeAddon, s: CpuSettings): void {
  if (s.isa !== null) addon.setIsa(s.isa);
  if (s.threads !== null) addon.setThreads(s.threads);
  addon.setPrecision(s.precision);
  askedPrecision = s.precision;
  addon.setConvKernels(s.convKernels);
  addon.setGemmBlock(...(s.gemmBlock ?? [0, 0, 0]));
}

let backend: CpuBackend | null = null;

/** Try to load the native addon; never throws. */
export function loadCpuBackend(): CpuLoadResult {
  const r = loadAddon();
  if ('reason' in r) return { ok: false, reason: r.reason };
  backend ??= new CpuBackend(r.addon);
  return { ok: true, backend };
}

/**
 * The instruction set and thread count the native kernels use now, and whether bf16 compute
 * (`CBDM_PRECISION=bf16`: AVX512-BF16 dot products in the direct convolutions) is available
 * (null when not built).
 */
export function cpuInfo(): ReturnType<NativeAddon['info']> | null {
  const r = loadAddon();
  return 'addon' in r ? r.addon.info() : null;
}

/**
 * The precision convolutions compute in: 'bf16' when the precision setting is bf16 (start-up:
 * `CBDM_PRECISION=bf16`; scoped: `setCpuPrecision`) and the CPU has AVX512-BF16 (inputs and weights rounded to bfloat16, products exact, sums in fp32: the bf16
 * kernels of native/conv_bf16.h and conv_gemm.h take the forward and both backward passes of the 1×1, 3×3, 5×5 and
 * strided convolutions; a few shapes — fewer than 64 multiply-adds per output, or channel counts
 * the kernels cannot tile — and all other ops stay fp32), else 'fp32'.
 */
export function computePrecision(): Precision {
  return cpuInfo()?.precision ?? 'fp32';
}

/**
 * Ask the convolutions to compute in `p` (bf16 takes effect only where the CPU can); returns the
 * precision asked for before, so that a caller can restore it. No-op ('fp32') when not built.
 */
export function setCpuPrecision(p: Precision): Precision {
  const r = loadAddon();
  if (!('addon' in r)) return 'fp32';
  const before = askedPrecision;
  r.addon.setPrecision(p);
  askedPrecision = p;
  return before;
}

/** Which convolution kernels may run ('gemm': only the fp32 im2col gemm); no-op when not built. */
export function setCpuConvKernels(k: ConvKernels): void {
  const r = loadAddon();
  if ('addon' in r) r.addon.setConvKernels(k);
}

/** The passes of a convolution, each with its own ordered rule table of kernels (native/conv_rules.h). */
export type ConvPass = 'forward' | 'backward-data' | 'backward-weight';
const PASS_CODE: Record<ConvPass, number> = { forward: 0, 'backward-data': 1, 'backward-weight': 2 };

/**
 * The name of the native kernel that computes `pass` of this convolution under the current ISA
 * and settings (e.g. 'direct-3x3', 'channel-vector', 'im2col-gemm', 'bf16-gemm-1x1'); null when
 * the addon is not built. Tests and the profiler use it to say which kernel ran.
 */
export function convKernelName(g: ConvGeom, pass: ConvPass): string | null {
  const r = loadAddon();
  if (!('addon' in r)) return null;
  return r.addon.convKernelName(PASS_CODE[pass], g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
}

/**
 * Whether the fused inference convolution (src/engine/ops/conv-fused.ts) applies its group norm and
 * adds inside the kernel for this geometry now (the direct 3×3 and fp32 channel-vector kernels),
 * rather than as separate passes around another kernel; null when the addon is not built.
 */
export function convForwardFuses(g: ConvGeom): boolean | null {
  const r = loadAddon();
  if (!('addon' in r)) return null;
  return r.addon.convForwardFuses(g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
}

/** Set the native thread count (≥ 1); returns the count in use, or null when not built. */
export function setCpuThreads(n: number): number | null {
  const r = loadAddon();
  return 'addon' in r ? r.addon.setThreads(n) : null;
}

/** Select the ISA (clamped to what the CPU supports); returns the one in use, or null when not built. */
export function setCpuIsa(isa: Isa): Isa | null {
  const r = loadAddon();
  return 'addon' in r ? r.addon.setIsa(isa) : null;
}
