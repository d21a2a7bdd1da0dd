/**
 * Loads the native `cpu` backend (the C++ addon in `native/`, built by `npm install`).
 *
 * Environment: `CBDM_THREADS=n` sets the thread count (default: all cores), `CBDM_PRECISION=bf16`
 * computes convolutions in bfloat16 with fp32 sums where the CPU has AVX512-BF16, `CBDM_ISA=avx2|scalar`
 * forces a lower instruction set than the CPU's best (for tests and for comparing kernels).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backend.ts';
import { ISAS, type Isa, type NativeAddon } from './native.ts';
import { CpuBackend } from './backend.ts';

export type CpuLoadResult = { ok: true; backend: Backend } | { ok: false; reason: string };

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where node-gyp puts the addon. */
export const ADDON_PATH = join(root, 'build', 'Release', 'cbdm_native.node');

/** Every function the CpuBackend calls: an addon built from older sources lacks some. */
const REQUIRED_EXPORTS: readonly (keyof NativeAddon)[] = [
  'info', 'setThreads', 'setIsa', 'gemm', 'conv2dForward', 'conv2dBackwardData', 'conv2dBackwardWeight',
  'groupNormForward', 'groupNormBackward', 'ew', 'reduce', 'broadcast', 'adamStep', 'emaUpdate',
  'attentionForward', 'attentionBackward', 'dropout', 'pool2dForward',
];

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

/** The raw addon (loaded once), or the reason it is not usable. */
export function loadAddon(): { addon: NativeAddon } | { reason: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) return (cached = { reason: why() });
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    const missing = REQUIRED_EXPORTS.filter((k) => typeof (addon as unknown as Record<string, unknown>)[k] !== 'function');
    if (missing.length > 0) {
      return (cached = { reason: `${ADDON_PATH} is out of date (no ${missing.join(', ')}); rebuild it with \`npm install\` (or \`node scripts/build-native.mjs\`)` });
    }
    const isaEnv = process.env.CBDM_ISA;
    if (isaEnv !== undefined && isaEnv !== '') {
      if (!(ISAS as readonly string[]).includes(isaEnv)) {
        return (cached = { reason: `CBDM_ISA='${isaEnv}' is not one of ${ISAS.join(', ')}` });
      }
      addon.setIsa(isaEnv as Isa);
    }
    const thrEnv = process.env.CBDM_THREADS;
    if (thrEnv !== undefined && thrEnv !== '') {
      const n = Number(thrEnv);
      if (!Number.isInteger(n) || n < 1) return (cached = { reason: `CBDM_THREADS='${thrEnv}' is not a positive integer` });
      addon.setThreads(n);
    }
    const prec = process.env.CBDM_PRECISION;
    if (prec !== undefined && prec !== '' && prec !== 'fp32' && prec !== 'bf16') {
      return (cached = { reason: `CBDM_PRECISION='${prec}' is not fp32 or bf16` });
    }
    if (prec === 'bf16' && !addon.info().bf16) {
      console.error('cbdm: CBDM_PRECISION=bf16 needs a CPU with AVX512-BF16 (and the avx512 kernels); this one computes in fp32');
    }
    return (cached = { addon });
  } catch (e) {
    return (cached = { reason: `could not load ${ADDON_PATH}: ${(e as Error).message}` });
  }
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
export function cpuInfo(): { isa: Isa; bestIsa: Isa; threads: number; bf16: boolean } | null {
  const r = loadAddon();
  return 'addon' in r ? r.addon.info() : null;
}

/**
 * The precision convolutions compute in: 'bf16' when `CBDM_PRECISION=bf16` and the CPU has
 * AVX512-BF16 (inputs and weights rounded to bfloat16, products exact, sums in fp32: the bf16
 * kernels of native/conv.inc take the forward and both backward passes of the 1×1, 3×3, 5×5 and
 * strided convolutions; a few shapes — fewer than 64 multiply-adds per output, or channel counts
 * the kernels cannot tile — and all other ops stay fp32), else 'fp32'.
 */
export function computePrecision(): 'fp32' | 'bf16' {
  return process.env.CBDM_PRECISION === 'bf16' && cpuInfo()?.bf16 === true ? 'bf16' : 'fp32';
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
