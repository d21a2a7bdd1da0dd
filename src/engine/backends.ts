/**
 * Backend registry. `CBDM_BACKEND=js|cpu|cuda` selects; `cpu` (the native addon) is the default
 * and falls back to `js` with one warning when the addon is not built. `cuda` is never chosen by
 * default; asked for where it cannot run, it is one CbdmError line saying why (no addon, no
 * NVIDIA driver, no device).
 */
import type { Backend, BackendName } from './backend.ts';
import { JsBackend } from './js/backend.ts';
import { setCurrentBackend, currentBackend } from './context.ts';
import { loadCpuBackend, computePrecision, cpuInfo, setCpuPrecision } from './cpu/load.ts';
import { loadCudaBackend } from './cuda/load.ts';
import { CbdmError } from '../util/errors.ts';

const instances = new Map<BackendName, Backend>();
let warned = false;

/** Names a user may select. */
export const BACKEND_NAMES: readonly BackendName[] = ['js', 'cpu', 'cuda'];

const testBackends = new Map<BackendName, Backend>();

/** Tests register builds users cannot select (the cuda CPU shim) under their name. */
export function registerTestBackend(name: 'cuda-shim', backend: Backend): void {
  testBackends.set(name, backend);
}

/** Get (creating once) a backend by name. Throws with a hint if it is not available. */
export function getBackend(name: BackendName): Backend {
  const cached = instances.get(name);
  if (cached) return cached;
  let b: Backend;
  switch (name) {
    case 'js':
      b = new JsBackend();
      break;
    case 'cpu': {
      const r = loadCpuBackend();
      if (!r.ok) throw new Error(`the cpu backend is not available: ${r.reason}`);
      b = r.backend;
      break;
    }
    case 'cuda': {
      const r = loadCudaBackend();
      if (!r.ok) throw new CbdmError(`${r.reason}; choose CBDM_BACKEND=cpu or js`);
      b = r.backend;
      break;
    }
    case 'cuda-shim': {
      const r = testBackends.get(name);
      if (!r) throw new Error('the cuda-shim backend is a test build: tests register it with registerTestBackend');
      b = r;
      break;
    }
    case 'webgpu':
      throw new CbdmError('the webgpu backend runs in the browser sampler page only (cbdm serve, sampler.html); in node choose CBDM_BACKEND=cpu, js or cuda');
    default: {
      const never: never = name;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
  instances.set(name, b);
  return b;
}

/** Is this backend usable here? */
export function backendAvailable(name: BackendName): boolean {
  try {
    getBackend(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Select the backend for new tensors: the argument, else `CBDM_BACKEND`, else `cpu` falling back
 * to `js` with a single warning.
 */
export function useBackend(name?: string): Backend {
  const requested = name ?? process.env.CBDM_BACKEND;
  let b: Backend;
  if (requested !== undefined && requested !== '') {
    if (!(BACKEND_NAMES as readonly string[]).includes(requested) && !testBackends.has(requested as BackendName)) {
      throw new Error(`unknown backend '${requested}': choose one of ${BACKEND_NAMES.join(', ')}`);
    }
    b = getBackend(requested as BackendName);
  } else {
    const r = loadCpuBackend();
    if (r.ok) {
      b = getBackend('cpu');
    } else {
      if (!warned) {
        console.warn(`cbdm: warning: native cpu backend unavailable (${r.reason}); using the slower js backend.`);
        warned = true;
      }
      b = getBackend('js');
    }
  }
  setCurrentBackend(b);
  return b;
}

/**
 * The precision convolutions compute in on the current backend: 'bf16' only on `cpu` with
 * `CBDM_PRECISION=bf16` and AVX512-BF16 (recorded in run configs and sample protocols).
 */
export function currentPrecision(): 'fp32' | 'bf16' {
  return currentBackend().name === 'cpu' ? computePrecision() : 'fp32';
}

/**
 * Run `fn` with the cpu backend's convolutions computing in precision `p`, whatever the
 * start-up setting (`CBDM_PRECISION`) says; the backend's setting is restored afterwards. Feature
 * extraction for FID uses this so that its precision is chosen on its own, not inherited from a
 * training setting. Throws if `p` is 'bf16' and the CPU cannot.
 */
export function withPrecision<T>(p: 'fp32' | 'bf16', fn: () => T): T {
  if (p === 'bf16' && (currentBackend().name !== 'cpu' || cpuInfo()?.bf16 !== true)) {
    throw new CbdmError('bf16 compute needs the cpu backend on a CPU with AVX512-BF16 (this one has none): use fp32');
  }
  const before = setCpuPrecision(p);
  try {
    return fn();
  } finally {
    setCpuPrecision(before);
  }
}
