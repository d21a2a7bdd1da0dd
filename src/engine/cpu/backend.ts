/**
 * The native `cpu` backend: the `js` backend's host buffers (same pool, same HostStorage), with
 * the hot kernels replaced by the C++ addon (SIMD, cache-blocked gemm, OpenMP threads).
 *
 * Every override handles float32 storages only and calls `super` (the js reference kernel, which
 * is the specification it is tested against) for float64, so gradient checks keep working and a
 * kernel the addon does not have is never a stub. Kernels not overridden here (embedding,
 * pooling, upsampling, …) are inherited from the js backend unchanged.
 */
import type { AdamParams, BackendName, ConvFusionStorages, ConvGeom, GroupNormGeom, PoolGeom, Storage } from '../backend.ts';
import { JsBackend } from '../js/backend.ts';
import { h } from '../js/host.ts';
import { BC, EW, RD, type NativeAddon } from './native.ts';

/** The Float32Array behind each storage, or null if any of them is not float32. */
function f32(...ss: Storage[]): Float32Array[] | null {
  const out: Float32Array[] = [];
  for (const s of ss) {
    const d = h(s);
    if (!(d instanceof Float32Array)) return null;
    out.push(d);
  }
  return out;
}

export class CpuBackend extends JsBackend {
  override readonly name: BackendName = 'cpu';

  constructor(private readonly nat: NativeAddon) {
    super();
  }

  // ---- elementwise ----------------------------------------------------------------------------
  override add(a: Storage, b: Storage, out: Storage): void {
    const f = f32(a, b, out);
    if (f) this.nat.ew(EW.add, f[0]!, f[1]!, f[2]!, 0, 0); else super.add(a, b, out);
  }
  override sub(a: Storage, b: Storage, out: Storage): void {
    const f = f32(a, b, out);
    if (f) this.nat.ew(EW.sub, f[0]!, f[1]!, f[2]!, 0, 0); else super.sub(a, b, out);
  }
  override mul(a: Storage, b: Storage, out: Storage): void {
    const f = f32(a, b, out);
    if (f) this.nat.ew(EW.mul, f[0]!, f[1]!, f[2]!, 0, 0); else super.mul(a, b, out);
  }
  override affine(a: Storage, alpha: number, beta: number, out: Storage): void {
    const f = f32(a, out);
    if (f) this.nat.ew(EW.affine, f[0]!, null, f[1]!, alpha, beta); else super.affine(a, alpha, beta, out);
  }
  override axpy(a: Storage, alpha: number, b: Storage, out: Storage): void {
    const f = f32(a, b, out);
    if (f) this.nat.ew(EW.axpy, f[0]!, f[1]!, f[2]!, alpha, 0); else super.axpy(a, alpha, b, out);
  }
  override addBroadcast(a: Storage, v: Storage, O: number, C: number, I: number, out: Storage): void {
    const f = f32(a, v, out);
    if (f) this.nat.broadcast(BC.add, f[0]!, f[1]!, f[2]!, O, C, I); else super.addBroadcast(a, v, O, C, I, out);
  }
  override sumBroadcast(a: Storage, O: number, C: number, I: number, out: Storage): void {
    const f = f32(a, out);
    if (f) this.nat.broadcast(BC.sum, f[0]!, null, f[1]!, O, C, I); else super.sumBroadcast(a, O, C, I, out);
  }
  override mulRows(a: Storage, w: Storage, N: number, D: number, out: Storage): void {
    const f = f32(a, w, out);
    if (f) this.nat.broadcast(BC.mulRows, f[0]!, f[1]!, f[2]!, N, D, 1); else super.mulRows(a, w, N, D, out);
  }

  // ---- activations ----------------------------------------------------------------------------
  override swishForward(x: Storage, out: Storage): void {
    const f = f32(x, out);
    if (f) this.nat.ew(EW.swish, f[0]!, null, f[1]!, 0, 0); else super.swishForward(x, out);
  }
  override swishBackward(x: Storage, gy: Storage, gx: Storage): void {
    const f = f32(x, gy, gx);
    if (f) this.nat.ew(EW.swishBackward, f[0]!, f[1]!, f[2]!, 0, 0); else super.swishBackward(x, gy, gx);
  }
  override reluForward(x: Storage, out: Storage): void {
    const f = f32(x, out);
    if (f) this.nat.ew(EW.relu, f[0]!, null, f[1]!, 0, 0); else super.reluForward(x, out);
  }
  override reluBackward(x: Storage, gy: Storage, gx: Storage): void {
    const f = f32(x, gy, gx);
    if (f) this.nat.ew(EW.reluBackward, f[0]!, f[1]!, f[2]!, 0, 0); else super.reluBackward(x, gy, gx);
  }
  override avgPool2dForward(x: Storage, y: Storage, g: PoolGeom, countIncludePad: boolean): void {
    const f = f32(x, y);
    if (f) this.nat.pool2dForward(false, f[0]!, f[1]!, g.N, g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, countIncludePad);
    else super.avgPool2dForward(x, y, g, countIncludePad);
  }
  override maxPool2dForward(x: Storage, y: Storage, g: PoolGeom): void {
    const f = f32(x, y);
    if (f) this.nat.pool2dForward(true, f[0]!, f[1]!, g.N, g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, false);
    else super.maxPool2dForward(x, y, g);
  }
  override dropout(x: Storage, out: Storage, p: number, seed0: number, seed1: number): void {
    const f = f32(x, out);
    if (f) this.nat.dropout(f[0]!, f[1]!, p, seed0, seed1); else super.dropout(x, out, p, seed0, seed1);
  }

  // ---- reductions (float64 accumulation) ------------------------------------------------------
  override sumAll(a: Storage): number {
    const f = f32(a);
    return f ? this.nat.reduce(RD.sum, f[0]!, null, null, 1, f[0]!.length) : super.sumAll(a);
  }
  override sumSquaredDiff(a: Storage, b: Storage): number {
    const f = f32(a, b);
    return f ? this.nat.reduce(RD.sumSquaredDiff, f[0]!, f[1]!, null, 1, f[0]!.length) : super.sumSquaredDiff(a, b);
  }
  override weightedSquaredDiff(a: Storage, b: Storage, w: Storage, N: number, D: number): number {
    const f = f32(a, b, w);
    return f ? this.nat.reduce(RD.weightedSquaredDiff, f[0]!, f[1]!, f[2]!, N, D) : super.weightedSquaredDiff(a, b, w, N, D);
  }
  override sumSquares(a: Storage): number {
    const f = f32(a);
    return f ? this.nat.reduce(RD.sumSquares, f[0]!, null, null, 1, f[0]!.length) : super.sumSquares(a);
  }
  override scaleInPlace(a: Storage, s: number): void {
    const f = f32(a);
    if (f) this.nat.ew(EW.scale, f[0]!, null, f[0]!, s, 0); else super.scaleInPlace(a, s);
  }

  // ---- gemm and convolution -------------------------------------------------------------------
  override gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Storage, B: Storage, beta: number, C: Storage): void {
    const f = f32(A, B, C);
    if (f) this.nat.gemm(transA, transB, M, N, K, alpha, f[0]!, f[1]!, beta, f[2]!);
    else super.gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
  }
  override conv2dForward(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom): void {
    const f = f32(x, w, y);
    const fb = b ? f32(b) : [];
    if (!f || !fb) return super.conv2dForward(x, w, b, y, g);
    this.nat.conv2dForward(f[0]!, f[1]!, fb[0] ?? null, f[2]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }
  /** The fused inference convolution (native/conv_fused.h); false (the op composes) unless every storage is float32. */
  conv2dForwardFused(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom, fu: ConvFusionStorages): boolean {
    const f = f32(x, w, y);
    const opt = (s: Storage | null): Float32Array | null | false => (s === null ? null : (f32(s)?.[0] ?? false));
    const fb = opt(b), gamma = opt(fu.norm?.gamma ?? null), beta = opt(fu.norm?.beta ?? null), ch = opt(fu.channelAdd), res = opt(fu.residual);
    if (!f || fb === false || gamma === false || beta === false || ch === false || res === false) return false;
    const n = fu.norm;
    this.nat.conv2dForwardFused(f[0]!, f[1]!, fb, f[2]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo,
      gamma, beta, n?.groups ?? 1, n?.eps ?? 0, n?.swish ?? false, ch, res);
    return true;
  }
  override conv2dBackwardData(gy: Storage, w: Storage, gx: Storage, g: ConvGeom): void {
    const f = f32(gy, w, gx);
    if (!f) return super.conv2dBackwardData(gy, w, gx, g);
    this.nat.conv2dBackwardData(f[0]!, f[1]!, f[2]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }
  override conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, gb: Storage | null, g: ConvGeom): void {
    const f = f32(x, gy, gw);
    const fb = gb ? f32(gb) : [];
    if (!f || !fb) return super.conv2dBackwardWeight(x, gy, gw, gb, g);
    this.nat.conv2dBackwardWeight(f[0]!, f[1]!, f[2]!, fb[0] ?? null, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }

  // ---- group norm -----------------------------------------------------------------------------
  override groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage,
    g: GroupNormGeom, swish: boolean): void {
    const f = f32(x, gamma, beta, y, mean, rstd);
    if (!f) return super.groupNormForward(x, gamma, beta, y, mean, rstd, g, swish);
    this.nat.groupNormForward(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, g.N, g.C, g.L, g.G, g.eps, swish);
  }
  override groupNormBackward(x: Storage, gamma: Storage, beta: Storage, mean: Storage, rstd: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: GroupNormGeom, swish: boolean): void {
    const f = f32(x, gamma, beta, mean, rstd, gy, gx, gGamma, gBeta);
    if (!f) return super.groupNormBackward(x, gamma, beta, mean, rstd, gy, gx, gGamma, gBeta, g, swish);
    this.nat.groupNormBackward(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, f[6]!, f[7]!, f[8]!, g.N, g.C, g.L, g.G, swish);
  }

  // ---- data movement (copies: the same values as the js loops, on all threads) ----------------
  override upsampleNearest2xForward(x: Storage, y: Storage, P: number, H: number, W: number): void {
    const f = f32(x, y);
    if (f) this.nat.upsampleNearest2x(f[0]!, f[1]!, P, H, W); else super.upsampleNearest2xForward(x, y, P, H, W);
  }
  override copyBlocks(a: Storage, aOff: number, aStride: number, out: Storage, outOff: number, outStride: number,
    len: number, count: number): void {
    const f = f32(a, out);
    // views of one buffer may overlap: those keep the js loop (TypedArray.set copies as memmove)
    if (f && f[0]!.buffer !== f[1]!.buffer) this.nat.copyBlocks(f[0]!, aOff, aStride, f[1]!, outOff, outStride, len, count);
    else super.copyBlocks(a, aOff, aStride, out, outOff, outStride, len, count);
  }

  // ---- attention (GEMMs around a row softmax) -------------------------------------------------
  override attentionForward(q: Storage, k: Storage, v: Storage, y: Storage, P: Storage, N: number, C: number, L: number): void {
    const f = f32(q, k, v, y, P);
    if (f) this.nat.attentionForward(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, N, C, L);
    else super.attentionForward(q, k, v, y, P, N, C, L);
  }
  override attentionBackward(q: Storage, k: Storage, v: Storage, P: Storage, gy: Storage, gq: Storage, gk: Storage, gv: Storage,
    N: number, C: number, L: number): void {
    const f = f32(q, k, v, P, gy, gq, gk, gv);
    if (f) this.nat.attentionBackward(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, f[6]!, f[7]!, N, C, L);
    else super.attentionBackward(q, k, v, P, gy, gq, gk, gv, N, C, L);
  }

  // ---- optimiser ------------------------------------------------------------------------------
  override adamStep(p: Storage, g: Storage, m: Storage, v: Storage, hp: AdamParams): void {
    const f = f32(p, g, m, v);
    if (!f) return super.adamStep(p, g, m, v, hp);
    this.nat.adamStep(f[0]!, f[1]!, f[2]!, f[3]!, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, hp.step);
  }
  override emaUpdate(ema: Storage, p: Storage, decay: number): void {
    const f = f32(ema, p);
    if (f) this.nat.emaUpdate(f[0]!, f[1]!, decay); else super.emaUpdate(ema, p, decay);
  }
}
