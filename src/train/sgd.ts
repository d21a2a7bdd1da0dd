/**
 * The classifiers' SGD pieces over the flat parameter arena (see `ParamStore`): L2 weight decay
 * added to the gradient and SGD with momentum, as PyTorch's `optim.SGD` (LDAM-DRW's ResNet-32
 * recipe, src/train/classifier-train.ts). The momentum buffer is state a resumed run restores
 * (`state()` / `load()`).
 */
import type { Storage } from '../engine/backend.ts';
import type { ParamStore } from '../nn/params.ts';

/**
 * L2 weight decay added to the gradient, g ← g + wd·p (PyTorch SGD/Adam `weight_decay`), over the
 * trainable entries of the arena only: running statistics are not decayed (0/1 mask).
 */
export class WeightDecay {
  private readonly mask: Storage | null;
  private readonly tmp: Storage | null;

  constructor(readonly store: ParamStore, readonly weightDecay: number) {
    const be = store.backend;
    if (weightDecay > 0 && store.layout.some((l) => !l.trainable)) {
      const m = new Float32Array(store.arena.size);
      for (const l of store.layout) if (l.trainable) m.fill(1, l.offset, l.offset + l.size);
      this.mask = be.alloc(store.dtype, m.length);
      be.write(this.mask, m);
      this.tmp = be.alloc(store.dtype, m.length);
    } else {
      this.mask = null;
      this.tmp = null;
    }
  }

  /** Add the decay term to the store's gradient arena. */
  apply(): void {
    if (this.weightDecay <= 0) return;
    const be = this.store.backend;
    const g = this.store.gradArena;
    if (this.mask && this.tmp) {
      be.mul(this.store.arena, this.mask, this.tmp);
      be.axpy(g, this.weightDecay, this.tmp, g);
    } else {
      be.axpy(g, this.weightDecay, this.store.arena, g);
    }
  }

  /** Free the mask buffers. */
  dispose(): void {
    if (this.mask) this.store.backend.free(this.mask);
    if (this.tmp) this.store.backend.free(this.tmp);
  }
}

/**
 * SGD with momentum over the flat parameter arena (PyTorch `optim.SGD`, dampening 0, no
 * Nesterov): buf = μ·buf + g;  p ← p − lr·buf. Weight decay is applied to g before (WeightDecay).
 */
export class SgdMomentum {
  private readonly buf: Storage;

  constructor(readonly store: ParamStore, readonly momentum: number) {
    this.buf = store.backend.alloc(store.dtype, store.arena.size);
  }

  /** One update with learning rate `lr` from the gradients in the store's gradient arena. */
  update(lr: number): void {
    const be = this.store.backend;
    be.affine(this.buf, this.momentum, 0, this.buf);
    be.axpy(this.buf, 1, this.store.gradArena, this.buf);
    be.axpy(this.store.arena, -lr, this.buf, this.store.arena);
  }

  /** The momentum buffer, for checkpoints. */
  state(): Float32Array | Float64Array {
    return this.store.backend.read(this.buf);
  }

  /** Restore the momentum buffer from `state()`. */
  load(buf: ArrayLike<number>): void {
    if (buf.length !== this.buf.size) throw new Error(`SGD momentum state has ${buf.length} values for a model of ${this.buf.size} parameters`);
    this.store.backend.write(this.buf, buf);
  }

  /** Free the momentum buffer. */
  dispose(): void {
    this.store.backend.free(this.buf);
  }
}
