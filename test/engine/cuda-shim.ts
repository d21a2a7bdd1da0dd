/**
 * The cuda backend's CPU test build for the parity suite: builds (once per source change, cached
 * under build/cuda-shim/) the core and kernels of native/cuda/ with g++ through the CPU shim, and
 * registers them as the `cuda-shim` backend, so every parity test runs the real kernel text
 * against `js`. Warp-level and tensor-core kernels (native/cuda/*_gpu.cuh) are not in this build:
 * they run only in the GPU parity suite (scripts/device-check.sh).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadCudaAddon } from '../../src/engine/cuda/load.ts';
import { registerTestBackend } from '../../src/engine/backends.ts';
import type { CudaBackend } from '../../src/engine/cuda/backend.ts';

const root = join(import.meta.dirname, '..', '..');

export interface ShimBuild { addon: string; standin: string }

let built: ShimBuild | { error: string } | null = null;

/** Paths of the shim addon and the cuBLAS stand-in, building them if stale; or why not. */
export function buildShim(): ShimBuild | { error: string } {
  if (built) return built;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cuda.mjs'), '--shim'], { encoding: 'utf8' });
  if (r.status !== 0) return (built = { error: (r.stderr || r.stdout || String(r.error)).trim() });
  return (built = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ShimBuild);
}

let registered: CudaBackend | null | undefined;

/**
 * The `cuda-shim` backend (gemm through the tiled kernel, or through the cuBLAS stand-in when
 * `withStandin`; one choice per process, as the addon holds one cuBLAS), or null with one line
 * saying why it is skipped.
 */
export function cudaShimBackend(withStandin = false): CudaBackend | null {
  if (registered !== undefined) return registered;
  const b = buildShim();
  if ('error' in b) {
    console.log(`# cuda-shim parity skipped: ${b.error}`);
    return (registered = null);
  }
  const r = loadCudaAddon(b.addon, 'cuda-shim', withStandin ? b.standin : null, {});
  if (!r.ok) {
    console.log(`# cuda-shim parity skipped: ${r.reason}`);
    return (registered = null);
  }
  registerTestBackend('cuda-shim', r.backend);
  return (registered = r.backend);
}
