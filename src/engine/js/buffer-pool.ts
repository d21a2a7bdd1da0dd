/**
 * The host backends' buffer pool: freed typed arrays kept by (dtype, length) and handed out again,
 * so a loop that repeats the same step (a training step, a sampler's forward) reuses the same
 * memory instead of asking V8 for fresh arrays. A fresh large array costs more than the GC: V8
 * gets it zeroed from the OS, so the kernel that first writes it takes a page fault per 4 KiB
 * (measured on the cifar UNet's B = 64 sampling forward, which frees 1.79 GiB per step: with a
 * fixed 1 GiB pool 40 % of its buffers were fresh and the forward took 5.4 s; with all of them
 * pooled, 3.7–4.0 s).
 *
 * How much it keeps: at most the larger of `minBytes` and the most bytes ever live at once (the
 * high-water mark), so a repeated step is always fully pooled while memory stays within twice the
 * largest working set. When a free would go over, the buffers of the sizes used least recently are
 * released first (shapes that stopped occurring, e.g. a last partial batch, give way to the ones
 * in use).
 */
import { allocArray, bytesPerElement, type DType, type FloatArray } from '../dtype.ts';

/** The pool's floor: what it may keep even before any working set was that large. */
export const POOL_MIN_BYTES = 1 << 30;

export class BufferPool {
  /** Free arrays by `${dtype}:${length}`; Map order is recency of use, least recent first. */
  private readonly free = new Map<string, FloatArray[]>();
  private pooled = 0;
  private live = 0;
  private highWater = 0;

  constructor(private readonly minBytes = POOL_MIN_BYTES) {}

  /** An array of `size` elements: a pooled one (contents arbitrary, `fresh` false) or a new zeroed one. */
  take(dtype: DType, size: number): { data: FloatArray; fresh: boolean } {
    const bytes = size * bytesPerElement(dtype);
    this.live += bytes;
    if (this.live > this.highWater) this.highWater = this.live;
    const key = `${dtype}:${size}`;
    const list = this.free.get(key);
    if (list && list.length > 0) {
      const data = list.pop()!;
      this.pooled -= bytes;
      this.touch(key, list);
      return { data, fresh: false };
    }
    return { data: allocArray(dtype, size), fresh: true };
  }

  /** Give an array back (it must have come from `take`). */
  give(data: FloatArray): void {
    const dtype: DType = data instanceof Float64Array ? 'float64' : 'float32';
    const bytes = data.byteLength;
    this.live -= bytes;
    const limit = this.limitBytes(); // ≥ the high-water mark, which counted this array: it fits
    const key = `${dtype}:${data.length}`;
    // Release the least recently used sizes (never this one) until the array fits.
    for (const [k, l] of this.free) {
      if (this.pooled + bytes <= limit) break;
      if (k === key) continue;
      while (l.length > 0 && this.pooled + bytes > limit) this.pooled -= l.pop()!.byteLength;
      if (l.length === 0) this.free.delete(k);
    }
    if (this.pooled + bytes > limit) return;
    let list = this.free.get(key);
    if (!list) list = [];
    list.push(data);
    this.touch(key, list);
    this.pooled += bytes;
  }

  /** Bytes handed out and not given back. */
  liveBytes(): number {
    return this.live;
  }

  /** Bytes held for reuse. */
  pooledBytes(): number {
    return this.pooled;
  }

  /** The most the pool may hold now: max(minBytes, high-water mark of live bytes). */
  limitBytes(): number {
    return Math.max(this.minBytes, this.highWater);
  }

  /** Mark a size as just used: move it to the end of the recency order. */
  private touch(key: string, list: FloatArray[]): void {
    this.free.delete(key);
    this.free.set(key, list);
  }
}
