/**
 * Engine-wide state: the current backend, grad mode, and the scope stack that gives tensors
 * their lifetime. Kept in one small module so the rules are in one place:
 *  - `tidy(fn)`: tensors created in fn are disposed when it returns, except the returned ones
 *    (which move to the enclosing scope) and those passed to `keep()`.
 *  - `noGrad(fn)`: no autograd nodes are recorded inside fn.
 */
import type { Backend } from './backend.ts';
import type { Tensor } from './tensor.ts';

let backend: Backend | null = null;
let gradDepth = 0;
const scopes: Set<Tensor>[] = [];
let liveTensors = 0;

/** The backend new tensors are created on. */
export function currentBackend(): Backend {
  if (backend === null) throw new Error('no backend selected: call useBackend() first (src/engine/backends.ts)');
  return backend;
}

/** Select the backend for new tensors. Existing tensors stay on theirs. */
export function setCurrentBackend(b: Backend): void {
  backend = b;
}

export function gradEnabled(): boolean {
  return gradDepth === 0;
}

/** Run fn without recording autograd nodes. */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}

/** Internal: register a new tensor with the innermost scope. */
export function trackTensor(t: Tensor): void {
  liveTensors++;
  const s = scopes[scopes.length - 1];
  if (s) s.add(t);
}

/** Internal: a tensor was disposed. */
export function untrackTensor(t: Tensor): void {
  liveTensors--;
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.delete(t)) break;
}

/** Number of tensors created and not yet disposed (leak tests). */
export function liveTensorCount(): number {
  return liveTensors;
}

/** Run fn in a scope: everything it creates is disposed at the end except what it returns. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keepSet = new Set<Tensor>();
  collect(result!, keepSet);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t)) {
      if (parent) parent.add(t);
    } else {
      t.dispose();
    }
  }
  return result!;
}

/** Remove a tensor from all scopes so `tidy` will not dispose it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>): void {
  if (v === null || v === undefined || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) {
    for (const x of v) collect(x, out);
  } else if ('shape' in v && 'dtype' in v && 'dispose' in v) {
    out.add(v as Tensor);
  } else {
    for (const x of Object.values(v)) collect(x, out);
  }
}
