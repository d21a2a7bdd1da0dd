/**
 * The backend interface: memory plus a fixed set of coarse kernels.
 *
 * A backend owns buffers (`Storage`) and runs kernels over them. Kernels take storages and plain
 * numbers (shapes in the op's shape letters, documented in `src/engine/js/<op>.ts`, which is the
 * reference implementation every other backend is tested against). Outputs are always written
 * whole (overwrite, never accumulate) unless the kernel says otherwise.
 *
 * Shape letters used throughout: N batch, C channels (Ci/Co in/out), H W height width,
 * G groups, M N K the gemm sizes, D feature size, L sequence (H·W) length.
 */
import type { DType } from './dtype.ts';

/** An opaque buffer owned by a backend. Host backends wrap a typed array. */
export interface Storage {
  readonly dtype: DType;
  readonly size: number;
}

/** 2-D convolution geometry (NCHW input, Co×Ci×KH×KW weight, square stride and padding). */
export interface ConvGeom {
  N: number; Ci: number; H: number; W: number;
  Co: number; KH: number; KW: number;
  stride: number; pad: number;
  Ho: number; Wo: number;
}

/** Group-norm geometry: x is N×C×L (L = H·W), statistics per (n, g). */
export interface GroupNormGeom {
  N: number; C: number; L: number; G: number; eps: number;
}

/** Adam hyper-parameters for one step (bias correction folded in by the caller's `step`). */
export interface AdamParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number;
}

/**
 * The kernels every backend implements. `js` implements all of them; faster backends extend the
 * `js` backend and override the ones they accelerate, so a missing override is never a stub.
 */
export interface Kernels {
  // ---- elementwise (n elements) --------------------------------------------------------------
  /** out = a + b (same length). */
  add(a: Storage, b: Storage, out: Storage): void;
  /** out = a − b. */
  sub(a: Storage, b: Storage, out: Storage): void;
  /** out = a ⊙ b. */
  mul(a: Storage, b: Storage, out: Storage): void;
  /** out = alpha·a + beta (scalar). */
  affine(a: Storage, alpha: number, beta: number, out: Storage): void;
  /** out = a + alpha·b (in place allowed: out may be a). */
  axpy(a: Storage, alpha: number, b: Storage, out: Storage): void;
  /** Broadcast add: a viewed as O×C×I, v of length C: out[o,c,i] = a[o,c,i] + v[c]. */
  addBroadcast(a: Storage, v: Storage, O: number, C: number, I: number, out: Storage): void;
  /** The adjoint of addBroadcast: out[c] = Σ_{o,i} a[o,c,i]. */
  sumBroadcast(a: Storage, O: number, C: number, I: number, out: Storage): void;
  /** Row scaling, a viewed as N×D: out[n,d] = a[n,d]·w[n]. */
  mulRows(a: Storage, w: Storage, N: number, D: number, out: Storage): void;
  /** Fill with a constant. */
  fill(out: Storage, value: number): void;
  /** Copy n elements from a[aOff..] to out[outOff..]. */
  copy(a: Storage, aOff: number, out: Storage, outOff: number, n: number): void;

  // ---- activations ---------------------------------------------------------------------------
  /** out = x·σ(x). */
  swishForward(x: Storage, out: Storage): void;
  /** gx = gy · (σ(x) + x·σ(x)(1−σ(x))). */
  swishBackward(x: Storage, gy: Storage, gx: Storage): void;
  /** out = max(x, 0). */
  reluForward(x: Storage, out: Storage): void;
  /** gx = gy · [x > 0]. */
  reluBackward(x: Storage, gy: Storage, gx: Storage): void;

  // ---- reductions ----------------------------------------------------------------------------
  /** Sum of all elements (float64 accumulation). */
  sumAll(a: Storage): number;
  /** Σ (a−b)², float64 accumulation. */
  sumSquaredDiff(a: Storage, b: Storage): number;
  /** Per-row weighted squared difference: Σ_i w[n]·(a−b)² over rows n of length D. */
  weightedSquaredDiff(a: Storage, b: Storage, w: Storage, N: number, D: number): number;

  // ---- matrix multiply -----------------------------------------------------------------------
  /** C(M×N) = alpha·op(A)·op(B) + beta·C, row-major; op(A) is M×K, op(B) is K×N. */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Storage, B: Storage, beta: number, C: Storage): void;

  // ---- convolution ---------------------------------------------------------------------------
  /** y(N×Co×Ho×Wo) = conv(x, w) + b (b may be null). */
  conv2dForward(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom): void;
  /** gx(N×Ci×H×W) from gy and w. */
  conv2dBackwardData(gy: Storage, w: Storage, gx: Storage, g: ConvGeom): void;
  /** gw(Co×Ci×KH×KW) and gb(Co, may be null) from x and gy. */
  conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, gb: Storage | null, g: ConvGeom): void;

  // ---- normalisation -------------------------------------------------------------------------
  /** y = swish?(γ·(x−μ)·rstd + β); saves mean and rstd (N×G) for the backward. */
  groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage,
    g: GroupNormGeom, swish: boolean): void;
  /** gx, gγ, gβ from gy (through the optional fused swish, recomputed from x). */
  groupNormBackward(x: Storage, gamma: Storage, beta: Storage, mean: Storage, rstd: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: GroupNormGeom, swish: boolean): void;

  // ---- optimiser, over flat parameter arenas ---------------------------------------------------
  /** Adam(W) update of p with gradient g and moments m, v, all of length n. */
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, h: AdamParams): void;
  /** ema = decay·ema + (1−decay)·p. */
  emaUpdate(ema: Storage, p: Storage, decay: number): void;
}

/** A compute backend: buffer management plus kernels. */
export interface Backend extends Kernels {
  readonly name: BackendName;
  /** Allocate a zero-filled buffer. */
  alloc(dtype: DType, size: number): Storage;
  /** A buffer viewing `size` elements of `base` from `offset` (shares memory; used for parameter arenas). */
  view(base: Storage, offset: number, size: number): Storage;
  /** Copy host data into a buffer. */
  write(s: Storage, data: ArrayLike<number>, offset?: number): void;
  /** Copy a buffer out to a new host array. */
  read(s: Storage): Float32Array | Float64Array;
  /** Release a buffer (its memory may be reused at once). */
  free(s: Storage): void;
  /** Bytes currently allocated and not freed (for leak tests). */
  liveBytes(): number;
}

export type BackendName = 'js' | 'cpu' | 'cuda';
