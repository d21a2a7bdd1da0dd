/**
 * The shape of the cuda addons (sources in `native/cuda/`): `build/Release/cbdm_cuda.node` (nvcc,
 * the GPU) and the CPU shim test build `build/cuda-shim/cbdm_cuda_shim-<hash>.node` (the same
 * core and kernels through g++). Device pointers travel as numbers; op codes match the enums in
 * the `.cuh` headers. Every call throws a `CBDM_CUDA` error naming the call and the CUDA error.
 */

/** Elementwise op codes of `ew` (must match EwOp in native/cuda/elementwise.cuh). */
export const EW = {
  add: 0, sub: 1, mul: 2, affine: 3, axpy: 4, swish: 5, swishBackward: 6, relu: 7, reluBackward: 8, scale: 9,
} as const;

/** Reduction op codes of `reduce` (ReduceOp in native/cuda/reduce.cuh). */
export const RD = { sum: 0, sumSquares: 1, sumSquaredDiff: 2, weightedSquaredDiff: 3 } as const;

/** Broadcast op codes of `broadcast` (BroadcastOp in native/cuda/elementwise.cuh). */
export const BC = { add: 0, sum: 1, mulRows: 2 } as const;

/** A device pointer (0 stands for null). */
export type Ptr = number;

export interface CudaProbe {
  /** 0, or the CUDA error of cudaGetDeviceCount / device query (35: no driver, 100: no device). */
  code: number;
  count: number;
  message: string;
  /** Built with the CPU shim (host memory, host threads). */
  shim: boolean;
  name?: string;
  major?: number;
  minor?: number;
  sms?: number;
  memBytes?: number;
}

export interface CudaAddon {
  probe(): CudaProbe;
  malloc(bytes: number): Ptr;
  free(p: Ptr): void;
  /** Copy a whole host array to dst + byteOffset. */
  upload(dst: Ptr, src: Float32Array | Int32Array, byteOffset: number): void;
  /** Fill a whole host array from src. */
  download(dst: Float32Array, src: Ptr): void;
  copy(dst: Ptr, src: Ptr, bytes: number): void;
  synchronize(): void;
  ew(op: number, a: Ptr, b: Ptr, out: Ptr, n: number, s1: number, s2: number): void;
  fill(out: Ptr, n: number, value: number): void;
  broadcast(op: number, a: Ptr, v: Ptr, out: Ptr, O: number, C: number, I: number): void;
  /** Counter-based dropout (src/engine/js/dropout.ts); p ∈ [0, 1), seeds uint32. */
  dropout(x: Ptr, out: Ptr, n: number, p: number, seed0: number, seed1: number): void;
  upsampleNearest2xForward(x: Ptr, y: Ptr, P: number, H: number, W: number): void;
  upsampleNearest2xBackward(gy: Ptr, gx: Ptr, P: number, H: number, W: number): void;
  /** Average (max = false) or max pooling over P = N·C planes (native/cuda/pool.cuh). */
  pool2dForward(max: boolean, x: Ptr, y: Ptr, P: number, H: number, W: number, k: number, stride: number, pad: number,
    Ho: number, Wo: number, countIncludePad: boolean): void;
  /** Gradient of either pooling; x is only read by the max pooling (0 for average). */
  pool2dBackward(max: boolean, x: Ptr, gy: Ptr, gx: Ptr, P: number, H: number, W: number, k: number, stride: number, pad: number,
    Ho: number, Wo: number, countIncludePad: boolean): void;
  copyBlocks(a: Ptr, aStride: number, out: Ptr, outStride: number, len: number, count: number): void;
  reduce(op: number, a: Ptr, b: Ptr, w: Ptr, N: number, D: number): number;
  groupNormForward(x: Ptr, gamma: Ptr, beta: Ptr, y: Ptr, mean: Ptr, rstd: Ptr, N: number, C: number, L: number, G: number,
    eps: number, swish: boolean): void;
  groupNormBackward(x: Ptr, gamma: Ptr, beta: Ptr, mean: Ptr, rstd: Ptr, gy: Ptr, gx: Ptr, gGamma: Ptr, gBeta: Ptr,
    N: number, C: number, L: number, G: number, swish: boolean): void;
  softmaxForward(x: Ptr, y: Ptr, O: number, K: number, I: number, log: boolean): void;
  softmaxBackward(y: Ptr, gy: Ptr, gx: Ptr, O: number, K: number, I: number, log: boolean): void;
  crossEntropyBackward(logp: Ptr, labels: Int32Array, scale: number, gx: Ptr, N: number, K: number): void;
  embeddingForward(w: Ptr, ids: Int32Array, N: number, D: number, y: Ptr): void;
  embeddingBackward(gy: Ptr, ids: Int32Array, N: number, V: number, D: number, gw: Ptr): void;
  adamStep(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  emaUpdate(ema: Ptr, p: Ptr, n: number, decay: number): void;
  /** Row-major C = alpha·op(A)·op(B) + beta·C, `batch` products with element strides sA, sB, sC. */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Ptr, sA: number,
    B: Ptr, sB: number, beta: number, C: Ptr, sC: number, batch: number): void;
  /** Convolution as im2col + GEMM (native/cuda/im2col.cuh); b / gb may be 0 (none). */
  conv2dForward(x: Ptr, w: Ptr, b: Ptr, y: Ptr, N: number, Ci: number, H: number, W: number, Co: number, KH: number, KW: number,
    stride: number, pad: number, Ho: number, Wo: number): void;
  conv2dBackwardData(gy: Ptr, w: Ptr, gx: Ptr, N: number, Ci: number, H: number, W: number, Co: number, KH: number, KW: number,
    stride: number, pad: number, Ho: number, Wo: number): void;
  conv2dBackwardWeight(x: Ptr, gy: Ptr, gw: Ptr, gb: Ptr, N: number, Ci: number, H: number, W: number, Co: number, KH: number,
    KW: number, stride: number, pad: number, Ho: number, Wo: number): void;
  /** dlopen cuBLAS from `path`: '' on success, else why not. */
  loadCublas(path: string): string;
  /** TF32 tensor-core math for cuBLAS GEMMs (and so conv and attention); throws without cuBLAS. */
  setGemmTf32(on: boolean): void;
  /** The cuBLAS library gemm uses, or '' for the tiled kernel. */
  gemmLibrary(): string;
}
