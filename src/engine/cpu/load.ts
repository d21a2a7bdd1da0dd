/**
 * Loads the native `cpu` backend (the C++ addon in `native/`, built by `npm install`).
 */
import type { Backend } from '../backend.ts';

export type CpuLoadResult = { ok: true; backend: Backend } | { ok: false; reason: string };

/** Try to load the native addon; never throws. */
export function loadCpuBackend(): CpuLoadResult {
  return { ok: false, reason: 'the native addon is not part of this build yet' };
}
