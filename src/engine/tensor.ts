/**
 * Tensor: an n-d float array on a backend, with explicit lifetime and an optional autograd node.
 *
 * Lifetime: every tensor created inside `tidy(fn)` is disposed when fn returns, except what fn
 * returns (see `scope.ts`). Tensors created outside any scope (parameters, optimiser state) live
 * until `dispose()`. Views (`reshape`, `detach`) share storage; the storage is freed when its last
 * view is disposed. Using a disposed tensor is an error that names the op.
 */
import type { AllocInit, Backend, Storage } from './backend.ts';
import type { DType, FloatArray } from './dtype.ts';
import { currentBackend, trackTensor, untrackTensor, gradEnabled } from './context.ts';
import type { GradNode } from './autograd.ts';

interface SharedStorage {
  storage: Storage;
  backend: Backend;
  refs: number;
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  /** Accumulated gradient (leaf tensors with requiresGrad, after `backward`). */
  grad: Tensor | null = null;
  /** Whether gradients flow into this tensor. */
  requiresGrad: boolean;
  /** The op that produced this tensor (null for leaves and under noGrad). */
  node: GradNode | null = null;
  /** Optional name (parameter name) for error messages and state dicts. */
  name: string | undefined;
  private shared: SharedStorage | null;

  /** Internal: wrap a storage. Use the factories in `factory.ts` instead. */
  constructor(shared: { storage: Storage; backend: Backend } | Tensor, shape: readonly number[], requiresGrad = false) {
    const size = shapeSize(shape);
    if (shared instanceof Tensor) {
      const s = shared.live('view');
      if (s.storage.size !== size && shared.size !== size) {
        throw new Error(`view: cannot view ${fmtShape(shared.shape)} as ${fmtShape(shape)}`);
      }
      s.refs++;
      this.shared = s;
    } else {
      if (shared.storage.size !== size) throw new Error(`Tensor: storage of ${shared.storage.size} elements cannot hold shape ${fmtShape(shape)}`);
      this.shared = { storage: shared.storage, backend: shared.backend, refs: 1 };
    }
    this.shape = Object.freeze([...shape]);
    this.dtype = this.shared.storage.dtype;
    this.size = size;
    this.requiresGrad = requiresGrad;
    trackTensor(this);
  }

  private live(op: string): SharedStorage {
    if (this.shared === null) {
      throw new Error(`${op}: tensor ${this.describe()} was disposed (keep it out of tidy() or call keep() on it)`);
    }
    return this.shared;
  }

  /** The backing storage; throws if disposed. */
  storageFor(op: string): Storage {
    return this.live(op).storage;
  }

  get backend(): Backend {
    return this.live('backend').backend;
  }

  get disposed(): boolean {
    return this.shared === null;
  }

  /** Human-readable description for errors: name, shape, dtype. */
  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${fmtShape(this.shape)} ${this.dtype}`;
  }

  /** Free this tensor's reference to its storage (idempotent). */
  dispose(): void {
    if (this.shared === null) return;
    const s = this.shared;
    this.shared = null;
    this.node = null;
    untrackTensor(this);
    if (--s.refs === 0) s.backend.free(s.storage);
  }

  /** Copy the values out to a host array. */
  toArray(): FloatArray {
    const s = this.live('toArray');
    return s.backend.read(s.storage);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor ${this.describe()} has ${this.size} elements, expected 1`);
    return this.toArray()[0]!;
  }

  /** A view with a new shape (same number of elements); differentiable. */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(`reshape: cannot reshape ${this.describe()} (${this.size} elements) to ${fmtShape(shape)}`);
    }
    const out = new Tensor(this, shape, false);
    if (this.requiresGrad && gradEnabled()) {
      out.requiresGrad = true;
      const src = this;
      out.node = {
        op: 'reshape',
        inputs: [src],
        backward: (gy) => [gy.reshape(src.shape)],
      };
    }
    return out;
  }

  /** A view that blocks gradients (stop-gradient, `sg` in the CBDM loss). */
  detach(): Tensor {
    return new Tensor(this, this.shape, false);
  }
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape ${fmtShape(shape)}: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Allocate a new tensor on the current backend (zero-filled unless `init` is 'overwritten': see Backend.alloc). */
export function empty(shape: readonly number[], dtype: DType = 'float32', backend: Backend = currentBackend(), init: AllocInit = 'zeros'): Tensor {
  const storage = backend.alloc(dtype, shapeSize(shape), init);
  return new Tensor({ storage, backend }, shape);
}
