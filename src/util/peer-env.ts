/**
 * The environment a benchmark peer (a Python process: NumPy, PyTorch) runs in: ours, with `extra`
 * added, minus the OpenBLAS overrides some machines set for their own reasons
 * (`OPENBLAS_CORETYPE=Haswell`, `OPENBLAS_L2_SIZE`): they make OpenBLAS pick older, slower kernels
 * than the CPU has, and a peer slowed that way would flatter every ratio against it.
 */
export const PEER_ENV_DROPPED = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

export function peerEnv(extra: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, ...extra };
  for (const k of PEER_ENV_DROPPED) delete out[k];
  return out;
}
