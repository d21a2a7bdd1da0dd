/**
 * The backend interface: memory plus a fixed set of coarse kernels.
 *
 * A backend owns buffers (`Storage`) and runs kernels over them. Kernels take storages and plain
 * numbers (shapes in the op's shape letters, documented in `src/engine/js/<op>.ts`, which is the
 * reference implementation every other backend is tested against). Outputs are always written
 * whole (overwrite, never accumulate) unless the kernel says otherwise.
 *
 * Shape letters used throughout: N batch, C channels (Ci/Co in/out), H W height width,
 * G groups, M N K the gemm sizes, D feature size, L sequence (H·W) length, V vocabulary (rows of
 * an embedding table), K classes (softmax width), O/I outer/inner block counts around an axis.
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

/**
 * What a fused inference convolution does around the convolution (src/engine/ops/conv-fused.ts):
 * `norm` a group norm (+swish) of its input, `channelAdd` an N×Co term added to every position,
 * `residual` a tensor of the output's shape added at the end; null for none.
 */
export interface ConvFusionStorages {
  norm: { gamma: Storage; beta: Storage; groups: number; eps: number; swish: boolean } | null;
  channelAdd: Storage | null;
  residual: Storage | null;
}

/** Group-norm geometry: x is N×C×L (L = H·W), statistics per (n, g). */
export interface GroupNormGeom {
  N: number; C: number; L: number; G: number; eps: number;
}

/** Pooling geometry (NCHW, square window `k`, PyTorch floor mode: Ho = ⌊(H + 2·pad − k)/stride⌋ + 1). */
export interface PoolGeom {
  N: number; C: number; H: number; W: number;
  k: number; stride: number; pad: number;
  Ho: number; Wo: number;
}

/** Batch-norm geometry: x is N×C×L (L = H·W), statistics per channel c over N·L values. */
export interface BatchNormGeom {
  N: number; C: number; L: number; eps: number;
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

  /**
   * Dropout with a counter-based mask (src/engine/js/dropout.ts): out[i] = 0 if element i is
   * dropped, else x[i]/(1−p); the mask is a function of (i, seed0, seed1) only. p ∈ [0, 1).
   */
  dropout(x: Storage, out: Storage, p: number, seed0: number, seed1: number): void;

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
  /**
   * Optional, inference only (nothing saved for a backward): y = conv(GroupNorm(+swish)(x), w) + b
   * + channelAdd[n, co] + residual, in fewer passes than the separate kernels
   * (src/engine/ops/conv-fused.ts, which composes those kernels where this is absent or returns
   * false — e.g. for storages the backend's fused kernel does not take).
   */
  conv2dForwardFused?(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom, f: ConvFusionStorages): boolean;

  // ---- normalisation -------------------------------------------------------------------------
  /** y = swish?(γ·(x−μ)·rstd + β); saves mean and rstd (N×G) for the backward. */
  groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage,
    g: GroupNormGeom, swish: boolean): void;
  /** gx, gγ, gβ from gy (through the optional fused swish, recomputed from x). */
  groupNormBackward(x: Storage, gamma: Storage, beta: Storage, mean: Storage, rstd: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: GroupNormGeom, swish: boolean): void;

  // ---- embedding (src/engine/js/embedding.ts) ------------------------------------------------
  /** out(N×D)[n] = w(V×D)[ids[n]]; ids are host integers already checked to lie in [0, V). */
  embeddingForward(w: Storage, ids: Int32Array, V: number, D: number, out: Storage): void;
  /** gw(V×D) = Σ_n scatter of gy(N×D)[n] into row ids[n] (gw overwritten, rows not hit are 0). */
  embeddingBackward(gy: Storage, ids: Int32Array, V: number, D: number, gw: Storage): void;

  // ---- attention over H·W (src/engine/js/attention.ts) -----------------------------------------
  /** q, k, v, y N×C×L; P N×L×L: P[n,i,:] = softmax_j(Σ_c q[n,c,i]·k[n,c,j]/√C), y[n,c,i] = Σ_j P[n,i,j]·v[n,c,j]. */
  attentionForward(q: Storage, k: Storage, v: Storage, y: Storage, P: Storage, N: number, C: number, L: number): void;
  /** gq, gk, gv (N×C×L) from gy (N×C×L) and the saved probabilities P (N×L×L). */
  attentionBackward(q: Storage, k: Storage, v: Storage, P: Storage, gy: Storage,
    gq: Storage, gk: Storage, gv: Storage, N: number, C: number, L: number): void;

  // ---- softmax family (src/engine/js/softmax.ts); x viewed as O×K×I, softmax over K ------------
  /** y = softmax(x) or log-softmax(x) over the K axis (max-subtracted). */
  softmaxForward(x: Storage, y: Storage, O: number, K: number, I: number, log: boolean): void;
  /** gx from the saved output y: softmax gx = y⊙(gy − Σ_K gy⊙y); log-softmax gx = gy − exp(y)·Σ_K gy. */
  softmaxBackward(y: Storage, gy: Storage, gx: Storage, O: number, K: number, I: number, log: boolean): void;
  /** logits N×K → logp N×K (log-softmax, saved) and returns Σ_n −logp[n, labels[n]] (float64). */
  crossEntropyForward(logits: Storage, labels: Int32Array, logp: Storage, N: number, K: number): number;
  /** gx(N×K) = scale·(exp(logp) − onehot(labels)). */
  crossEntropyBackward(logp: Storage, labels: Int32Array, scale: number, gx: Storage, N: number, K: number): void;

  // ---- resampling (src/engine/js/upsample.ts); planes P = N·C --------------------------------
  /** y(P×2H×2W)[p, 2i+a, 2j+b] = x(P×H×W)[p, i, j]. */
  upsampleNearest2xForward(x: Storage, y: Storage, P: number, H: number, W: number): void;
  /** gx(P×H×W)[p,i,j] = Σ_{a,b∈{0,1}} gy[p, 2i+a, 2j+b]. */
  upsampleNearest2xBackward(gy: Storage, gx: Storage, P: number, H: number, W: number): void;
  /** y(P×Ho×Wo) = bilinear resize of x(P×H×W), PyTorch align_corners=False, no antialias. */
  resizeBilinear(x: Storage, y: Storage, P: number, H: number, W: number, Ho: number, Wo: number): void;

  // ---- pooling (src/engine/js/pool.ts) -----------------------------------------------------------
  /** y(N×C×Ho×Wo) = window mean; divisor k² (countIncludePad) or the in-image count. */
  avgPool2dForward(x: Storage, y: Storage, g: PoolGeom, countIncludePad: boolean): void;
  /** gx(N×C×H×W): each gy spread evenly (same divisor) over its window's in-image cells. */
  avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeom, countIncludePad: boolean): void;
  /** y = window max over in-image cells (NaN wins; first max in row-major window order on ties). */
  maxPool2dForward(x: Storage, y: Storage, g: PoolGeom): void;
  /** gx(N×C×H×W): each gy routed to its window's argmax, recomputed from x with the same rule. */
  maxPool2dBackward(x: Storage, gy: Storage, gx: Storage, g: PoolGeom): void;

  // ---- batch normalisation (src/engine/js/batchnorm.ts) ------------------------------------------
  /** Per-channel mean and biased variance of x(N×C×L) (float64 accumulation) into mean, var (C). */
  batchNormStats(x: Storage, mean: Storage, variance: Storage, g: BatchNormGeom): void;
  /** y = γ_c·(x − mean_c)/√(var_c + eps) + β_c. */
  batchNormForward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, beta: Storage, y: Storage, g: BatchNormGeom): void;
  /** gx, gγ, gβ; `train`: mean/var are the batch's own statistics and gx flows through them. */
  batchNormBackward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: BatchNormGeom, train: boolean): void;

  // ---- block copies (src/engine/js/concat.ts) ------------------------------------------------------
  /** For o < count: out[outOff + o·outStride + i] = a[aOff + o·aStride + i], i < len (concat/slice). */
  copyBlocks(a: Storage, aOff: number, aStride: number, out: Storage, outOff: number, outStride: number,
    len: number, count: number): void;

  // ---- gradient norm (src/engine/js/gradnorm.ts) -----------------------------------------------
  /** Σ a², float64 accumulation. */
  sumSquares(a: Storage): number;
  /** a ← s·a in place. */
  scaleInPlace(a: Storage, s: number): void;

  // ---- optimiser, over flat parameter arenas ---------------------------------------------------
  /** Adam(W) update of p with gradient g and moments m, v, all of length n. */
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, h: AdamParams): void;
  /** ema = decay·ema + (1−decay)·p. */
  emaUpdate(ema: Storage, p: Storage, decay: number): void;
}

/** What a new buffer must hold: zeros, or anything because a kernel overwrites all of it. */
export type AllocInit = 'zeros' | 'overwritten';

/** A compute backend: buffer management plus kernels. */
export interface Backend extends Kernels {
  readonly name: BackendName;
  /**
   * Allocate a buffer: zero-filled, or with `init` 'overwritten' (the caller's kernel writes every
   * element before anything reads it) whatever a reused buffer held — a backend may skip the fill.
   */
  alloc(dtype: DType, size: number, init?: AllocInit): Storage;
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
  /** Wait until queued device work is done (asynchronous backends; for timing). Host backends omit it. */
  synchronize?(): void;
}

/**
 * `cuda-shim` is the cuda backend's CPU test build (the same kernels compiled by g++ through
 * native/cuda/shim.h): tests register it, users never select it. `webgpu` (src/engine/webgpu)
 * runs in the browser sampler page only, created there from `navigator.gpu`.
 */
export type BackendName = 'js' | 'cpu' | 'cuda' | 'cuda-shim' | 'webgpu';
