/**
 * Loads the `cuda` backend (the nvcc-built addon `build/Release/cbdm_cuda.node`) or its CPU shim
 * test build (`cuda-shim`), and finds cuBLAS. Never throws: a machine without the addon, without
 * an NVIDIA driver or without a GPU gets `{ ok: false, reason }`, one line that says which.
 *
 * cuBLAS is loaded with dlopen from the first of: `CBDM_CUBLAS` (a path; if set it must load),
 * the names `libcublas.so.13`, `.so.12`, `.so` on the loader path (LD_LIBRARY_PATH, e.g. PyTorch's
 * `site-packages/nvidia/cublas/lib`), `$CUDA_HOME/lib64` and `/usr/local/cuda/lib64`. Without
 * one, gemm (and so attention and convolution) use the tiled kernel of native/cuda/gemm_tiled.cuh.
 *
 * `CBDM_CUDA_MATH=fp32|tf32` (default fp32): tf32 lets cuBLAS use TF32 tensor cores for every GEMM
 * (PyTorch's default for convolutions on these GPUs); it needs cuBLAS.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../backend.ts';
import type { CudaAddon, CudaProbe } from './native.ts';
import { CudaBackend } from './backend.ts';
import { loadAddon } from '../cpu/load.ts';
import { CpuBackend } from '../cpu/backend.ts';
import { JsBackend } from '../js/backend.ts';

export type CudaLoadResult = { ok: true; backend: CudaBackend; probe: CudaProbe } | { ok: false; reason: string };

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where scripts/build-cuda.mjs puts the GPU addon. */
export const CUDA_ADDON_PATH = join(root, 'build', 'Release', 'cbdm_cuda.node');

/** Compute capability the addon is built for (scripts/build-cuda.mjs, CBDM_CUDA_ARCH). */
const MIN_MAJOR = 9;

const REQUIRED_EXPORTS: readonly (keyof CudaAddon)[] = [
  'probe', 'malloc', 'free', 'upload', 'download', 'copy', 'synchronize', 'ew', 'fill', 'broadcast', 'copyBlocks', 'reduce',
  'groupNormForward', 'groupNormBackward', 'softmaxForward', 'softmaxBackward', 'crossEntropyBackward', 'embeddingForward',
  'embeddingBackward', 'adamStep', 'emaUpdate', 'gemm', 'loadCublas', 'gemmLibrary', 'setGemmTf32', 'conv2dForward', 'conv2dBackwardData',
  'conv2dBackwardWeight', 'dropout', 'upsampleNearest2xForward', 'upsampleNearest2xBackward',
  'pool2dForward', 'pool2dBackward',
];

/** Why the GPU addon is missing, from build/cuda-status.json when the build left one. */
function notBuilt(): string {
  const status = join(root, 'build', 'cuda-status.json');
  if (existsSync(status)) {
    try {
      const s = JSON.parse(readFileSync(status, 'utf8')) as { ok?: boolean; message?: string };
      if (s.ok === false && s.message) return `the cuda addon was not built (${s.message})`;
    } catch {
      // unreadable status: fall through to the generic hint
    }
  }
  return `${CUDA_ADDON_PATH} is missing; build it with \`node scripts/build-cuda.mjs\` on a machine with nvcc`;
}

/** cuBLAS paths to try, in order (see the header). */
export function cublasCandidates(env: NodeJS.ProcessEnv): string[] {
  const homes = [env.CUDA_HOME, '/usr/local/cuda'].filter((h): h is string => !!h);
  return [
    'libcublas.so.13', 'libcublas.so.12', 'libcublas.so',
    ...homes.flatMap((h) => ['13', '12'].map((v) => join(h, 'lib64', `libcublas.so.${v}`))),
  ];
}

/**
 * Load a cuda addon and make a backend of it. `cublas`: an explicit library (must load), or
 * null to try `cublasCandidates` and fall back to the tiled kernel.
 */
export function loadCudaAddon(addonPath: string, name: BackendName, cublas: string | null, env: NodeJS.ProcessEnv = process.env): CudaLoadResult {
  if (!existsSync(addonPath)) return { ok: false, reason: `cuda backend unavailable: ${notBuilt()}` };
  let nat: CudaAddon;
  try {
    nat = createRequire(import.meta.url)(addonPath) as CudaAddon;
  } catch (e) {
    return { ok: false, reason: `cuda backend unavailable: could not load ${addonPath}: ${(e as Error).message}` };
  }
  const missing = REQUIRED_EXPORTS.filter((k) => typeof (nat as unknown as Record<string, unknown>)[k] !== 'function');
  if (missing.length > 0) return { ok: false, reason: `cuda backend unavailable: ${addonPath} is out of date (no ${missing.join(', ')}); rebuild it with \`node scripts/build-cuda.mjs\`` };
  const probe = nat.probe();
  if (probe.code === 35) return { ok: false, reason: `cuda backend unavailable: no NVIDIA driver (cudaGetDeviceCount: ${probe.message}, code 35)` };
  if (probe.code !== 0) return { ok: false, reason: `cuda backend unavailable: ${probe.message} (CUDA error ${probe.code})` };
  if (probe.count === 0) return { ok: false, reason: 'cuda backend unavailable: no CUDA device' };
  if (!probe.shim && (probe.major ?? 0) < MIN_MAJOR) {
    return { ok: false, reason: `cuda backend unavailable: ${probe.name} has compute capability ${probe.major}.${probe.minor}; the addon is built for sm_90 (rebuild with CBDM_CUDA_ARCH=sm_${probe.major}${probe.minor} node scripts/build-cuda.mjs)` };
  }
  if (cublas !== null) {
    const why = nat.loadCublas(cublas);
    if (why !== '') return { ok: false, reason: `cuda backend unavailable: cuBLAS from ${cublas}: ${why}` };
  } else {
    const explicit = env.CBDM_CUBLAS;
    if (explicit !== undefined && explicit !== '') {
      const why = nat.loadCublas(explicit);
      if (why !== '') return { ok: false, reason: `cuda backend unavailable: CBDM_CUBLAS=${explicit}: ${why}` };
    } else {
      for (const c of cublasCandidates(env)) if (nat.loadCublas(c) === '') break;
    }
  }
  const math = env.CBDM_CUDA_MATH;
  if (math !== undefined && math !== '' && math !== 'fp32' && math !== 'tf32') {
    return { ok: false, reason: `cuda backend unavailable: CBDM_CUDA_MATH='${math}' is not fp32 or tf32` };
  }
  if (math === 'tf32') {
    if (nat.gemmLibrary() === '') return { ok: false, reason: 'cuda backend unavailable: CBDM_CUDA_MATH=tf32 needs cuBLAS, which was not found (set CBDM_CUBLAS)' };
    nat.setGemmTf32(true);
  }
  // The host side gets its own instance (own pool and live-byte count), on the native kernels when built.
  const cpu = loadAddon();
  return { ok: true, backend: new CudaBackend(nat, name, 'addon' in cpu ? new CpuBackend(cpu.addon) : new JsBackend()), probe };
}

let gpu: CudaLoadResult | null = null;

/** The GPU backend (loaded once), or why not. */
export function loadCudaBackend(): CudaLoadResult {
  gpu ??= loadCudaAddon(CUDA_ADDON_PATH, 'cuda', null);
  return gpu;
}
