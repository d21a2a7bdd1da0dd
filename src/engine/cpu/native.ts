/**
 * The shape of the native addon (`build/Release/cbdm_native.node`, sources in `native/`) and its
 * op codes. Every kernel takes Float32Arrays (zero-copy views of host storages) and plain numbers;
 * the addon checks each array's length against the shapes and throws on a mismatch.
 */

/** ISAs the addon has kernels for, best first. */
export type Isa = 'avx512' | 'avx2' | 'scalar';

export const ISAS: readonly Isa[] = ['avx512', 'avx2', 'scalar'];

/** Elementwise op codes of `ew` (must match `EwOp` in native/addon_kernels.inc). */
export const EW = {
  add: 0, sub: 1, mul: 2, affine: 3, axpy: 4, swish: 5, swishBackward: 6, relu: 7, reluBackward: 8, scale: 9,
} as const;

/** Reduction op codes of `reduce` (must match `ReduceOp`). */
export const RD = { sum: 0, sumSquares: 1, sumSquaredDiff: 2, weightedSquaredDiff: 3 } as const;

/** Broadcast op codes of `broadcast`. */
export const BC = { add: 0, sum: 1, mulRows: 2 } as const;

type F = Float32Array;

export interface NativeAddon {
  /** `bf16`: the CPU and ISA can compute in bf16; `precision`: what convolutions compute in now. */
  info(): { isa: Isa; bestIsa: Isa; threads: number; bf16: boolean; precision: 'fp32' | 'bf16'; convKernels: 'auto' | 'gemm' };
  setThreads(n: number): number;
  setIsa(isa: Isa): Isa;
  setPrecision(p: 'fp32' | 'bf16'): void;
  setConvKernels(k: 'auto' | 'gemm'): void;
  /** 0, 0, 0 = each microkernel's own blocking. */
  setGemmBlock(mc: number, kc: number, nc: number): void;
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: F, B: F, beta: number, C: F): void;
  /** The kernel the rule table of `pass` (0 forward, 1 backward-data, 2 backward-weight) picks now. */
  convKernelName(pass: number, N: number, Ci: number, H: number, W: number, Co: number,
    KH: number, KW: number, stride: number, pad: number, Ho: number, Wo: number): string;
  conv2dForward(x: F, w: F, b: F | null, y: F, N: number, Ci: number, H: number, W: number, Co: number,
    KH: number, KW: number, stride: number, pad: number, Ho: number, Wo: number): void;
  /** y = conv(GroupNorm(+swish)(x), w) + b + channelAdd + residual (native/conv_fused.h); gamma null = no norm. */
  conv2dForwardFused(x: F, w: F, b: F | null, y: F, N: number, Ci: number, H: number, W: number, Co: number,
    KH: number, KW: number, stride: number, pad: number, Ho: number, Wo: number,
    gamma: F | null, beta: F | null, G: number, eps: number, swish: boolean, channelAdd: F | null, residual: F | null): void;
  /** Whether conv2dForwardFused fuses inside the kernel for this geometry now (else separate passes). */
  convForwardFuses(N: number, Ci: number, H: number, W: number, Co: number, KH: number, KW: number, stride: number, pad: number,
    Ho: number, Wo: number): boolean;
  conv2dBackwardData(gy: F, w: F, gx: F, N: number, Ci: number, H: number, W: number, Co: number,
    KH: number, KW: number, stride: number, pad: number, Ho: number, Wo: number): void;
  conv2dBackwardWeight(x: F, gy: F, gw: F, gb: F | null, N: number, Ci: number, H: number, W: number, Co: number,
    KH: number, KW: number, stride: number, pad: number, Ho: number, Wo: number): void;
  groupNormForward(x: F, gamma: F, beta: F, y: F, mean: F, rstd: F, N: number, C: number, L: number, G: number,
    eps: number, swish: boolean): void;
  groupNormBackward(x: F, gamma: F, beta: F, mean: F, rstd: F, gy: F, gx: F, gGamma: F, gBeta: F,
    N: number, C: number, L: number, G: number, swish: boolean): void;
  /** out = op(a, b) elementwise over out.length; s1/s2 are alpha/beta of affine/axpy and the scale. */
  ew(op: number, a: F, b: F | null, out: F, s1: number, s2: number): void;
  /** float64 reductions over N×D (N = 1 for the plain sums). */
  reduce(op: number, a: F, b: F | null, w: F | null, N: number, D: number): number;
  broadcast(op: number, a: F, v: F | null, out: F, O: number, C: number, I: number): void;
  adamStep(p: F, g: F, m: F, v: F, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  emaUpdate(ema: F, p: F, decay: number): void;
  /** avg (max = false) or max pooling forward, NCHW, as src/engine/js/pool.ts. */
  pool2dForward(max: boolean, x: F, y: F, N: number, C: number, H: number, W: number, k: number, stride: number, pad: number,
    Ho: number, Wo: number, countIncludePad: boolean): void;
  /** Counter-based dropout (src/engine/js/dropout.ts); p ∈ [0, 1), seeds uint32. */
  dropout(x: F, out: F, p: number, seed0: number, seed1: number): void;
  /** y (P×2H×2W) = x (P×H×W) repeated 2×2 (src/engine/js/upsample.ts). */
  upsampleNearest2x(x: F, y: F, P: number, H: number, W: number): void;
  /** out[outOff + o·outStride + i] = a[aOff + o·aStride + i], o < count, i < len (src/engine/js/concat.ts). */
  copyBlocks(a: F, aOff: number, aStride: number, out: F, outOff: number, outStride: number, len: number, count: number): void;
  attentionForward(q: F, k: F, v: F, y: F, P: F, N: number, C: number, L: number): void;
  attentionBackward(q: F, k: F, v: F, P: F, gy: F, gq: F, gk: F, gv: F, N: number, C: number, L: number): void;
}
