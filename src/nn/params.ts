/**
 * Parameters live in one flat arena per model (llm.c style): every weight is a view into a single
 * buffer, and so is every gradient. The optimiser, gradient clipping and EMA then run as one
 * kernel call over the whole model instead of one per tensor.
 *
 * Layers declare parameters (name, shape, initialiser) while the model is built; `materialize`
 * lays out the arena, creates the views and runs the initialisers with a seeded Rng. Names follow
 * the published PyTorch state-dict keys so checkpoints map 1:1.
 */
import type { Backend, Storage } from '../engine/backend.ts';
import type { DType } from '../engine/dtype.ts';
import { Tensor, shapeSize, fmtShape } from '../engine/tensor.ts';
import { keep } from '../engine/context.ts';
import { Rng } from '../util/rng.ts';
import { initValues, type Init } from './init.ts';

/** A declared parameter, usable in forward passes once its store is materialized. */
export class Param {
  private t: Tensor | null = null;
  constructor(readonly name: string, readonly shape: readonly number[], readonly init: Init, readonly trainable: boolean) {}

  /** The parameter tensor (a view into the arena). */
  get value(): Tensor {
    if (this.t === null) throw new Error(`parameter '${this.name}' used before its model was materialized`);
    return this.t;
  }

  /** Internal: bind the arena view. */
  bind(t: Tensor): void {
    this.t = t;
  }
}

export interface ParamLayout {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  trainable: boolean;
}

export class ParamStore {
  readonly params: Param[] = [];
  private readonly byName = new Map<string, Param>();
  private arenaStorage: Storage | null = null;
  private gradStorage: Storage | null = null;
  private backendRef: Backend | null = null;
  private dtypeRef: DType = 'float32';
  private layoutRef: ParamLayout[] = [];

  /** Declare a parameter; names must be unique. */
  declare(name: string, shape: readonly number[], init: Init, trainable = true): Param {
    if (this.arenaStorage) throw new Error(`declare '${name}': the store is already materialized`);
    if (this.byName.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    const p = new Param(name, shape, init, trainable);
    this.params.push(p);
    this.byName.set(name, p);
    return p;
  }

  get(name: string): Param {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named '${name}'`);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Total number of elements (the frozen ones included, as PyTorch's state dict counts them). */
  get numel(): number {
    return this.params.reduce((s, p) => s + shapeSize(p.shape), 0);
  }

  get layout(): readonly ParamLayout[] {
    return this.layoutRef;
  }

  get arena(): Storage {
    if (!this.arenaStorage) throw new Error('parameter store is not materialized');
    return this.arenaStorage;
  }

  get gradArena(): Storage {
    if (!this.gradStorage) throw new Error('parameter store is not materialized');
    return this.gradStorage;
  }

  get backend(): Backend {
    if (!this.backendRef) throw new Error('parameter store is not materialized');
    return this.backendRef;
  }

  get dtype(): DType {
    return this.dtypeRef;
  }

  /** Allocate the arenas on `backend`, bind every parameter, and initialise from `seed`. */
  materialize(backend: Backend, seed: number, dtype: DType = 'float32'): void {
    if (this.arenaStorage) throw new Error('parameter store is already materialized');
    this.backendRef = backend;
    this.dtypeRef = dtype;
    const total = this.numel;
    this.arenaStorage = backend.alloc(dtype, total);
    this.gradStorage = backend.alloc(dtype, total);
    const rng = new Rng(seed, 0x9a7a);
    let offset = 0;
    this.layoutRef = [];
    for (const p of this.params) {
      const size = shapeSize(p.shape);
      const view = new Tensor({ storage: backend.view(this.arenaStorage, offset, size), backend }, p.shape, p.trainable);
      keep(view);
      view.name = p.name;
      if (p.trainable) {
        const g = new Tensor({ storage: backend.view(this.gradStorage, offset, size), backend }, p.shape);
        keep(g);
        view.grad = g;
      }
      backend.write(view.storageFor('materialize'), initValues(p.init, p.shape, rng));
      p.bind(view);
      this.layoutRef.push({ name: p.name, shape: [...p.shape], offset, size, trainable: p.trainable });
      offset += size;
    }
  }

  /** Zero every gradient (one kernel over the gradient arena). */
  zeroGrad(): void {
    this.backend.fill(this.gradArena, 0);
  }

  /** Parameter values by name, copied to host float32 (for checkpoints). */
  stateDict(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const p of this.params) out.set(p.name, Float32Array.from(p.value.toArray()));
    return out;
  }

  /** Copy the whole arena out (exact resume, EMA copies). */
  readArena(): Float32Array | Float64Array {
    return this.backend.read(this.arena);
  }

  /** Overwrite the whole arena. */
  writeArena(data: ArrayLike<number>): void {
    if (data.length !== this.arena.size) throw new Error(`writeArena: got ${data.length} values for an arena of ${this.arena.size}`);
    this.backend.write(this.arena, data);
  }

  /**
   * Load named values (e.g. from a PyTorch state dict). Every parameter must be present with its
   * exact shape; extra or missing names are listed in the error.
   */
  loadStateDict(values: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const missing = this.params.filter((p) => !values.has(p.name)).map((p) => p.name);
    const unexpected = [...values.keys()].filter((k) => !this.byName.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      throw new Error(`state dict does not match the model: missing [${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}] (${missing.length}), unexpected [${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', …' : ''}] (${unexpected.length}) — check --preset/--classes match the checkpoint`);
    }
    for (const p of this.params) {
      const v = values.get(p.name);
      if (!v) continue;
      if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`state dict entry '${p.name}' has shape ${fmtShape(v.shape)}, the model expects ${fmtShape(p.shape)}`);
      }
      this.backend.write(p.value.storageFor('loadStateDict'), v.data);
    }
  }
}
