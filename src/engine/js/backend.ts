/**
 * The `js` backend: plain TypeScript loops over host typed arrays. It is the specification every
 * other backend is tested against, and it supports float64 for gradient checks.
 *
 * Freed buffers go to a size-keyed pool (./buffer-pool.ts) so a training loop or a sampler
 * reuses the same memory each step instead of fresh, page-faulting arrays.
 */
import type { AdamParams, AllocInit, Backend, BackendName, BatchNormGeom, ConvGeom, GroupNormGeom, PoolGeom, Storage } from '../backend.ts';
import type { DType, FloatArray } from '../dtype.ts';
import { HostStorage, h } from './host.ts';
import { BufferPool } from './buffer-pool.ts';
import * as ew from './elementwise.ts';
import * as gm from './gemm.ts';
import * as cv from './conv2d.ts';
import * as gn from './groupnorm.ts';
import * as opt from './optim.ts';
import * as emb from './embedding.ts';
import * as att from './attention.ts';
import * as sm from './softmax.ts';
import * as up from './upsample.ts';
import * as pl from './pool.ts';
import * as bn from './batchnorm.ts';
import * as cc from './concat.ts';
import * as gnorm from './gradnorm.ts';
import { dropoutApply } from './dropout.ts';

export class JsBackend implements Backend {
  readonly name: BackendName = 'js';
  private readonly pool = new BufferPool();

  alloc(dtype: DType, size: number, init: AllocInit = 'zeros'): Storage {
    const { data, fresh } = this.pool.take(dtype, size);
    // Zeroing a reused buffer is a full write pass (≈ 7 % of a tiny-UNet forward on one core):
    // skipped for outputs their kernel overwrites.
    if (!fresh && init === 'zeros') data.fill(0);
    return new HostStorage(data, true);
  }

  view(base: Storage, offset: number, size: number): Storage {
    const d = h(base);
    if (offset < 0 || offset + size > d.length) throw new Error(`view: [${offset}, ${offset + size}) is outside a buffer of ${d.length}`);
    return new HostStorage(d.subarray(offset, offset + size), false);
  }

  write(s: Storage, data: ArrayLike<number>, offset = 0): void {
    const d = h(s);
    if (offset + data.length > d.length) throw new Error(`write: ${data.length} values at offset ${offset} overflow a buffer of ${d.length}`);
    d.set(data, offset);
  }

  read(s: Storage): FloatArray {
    return h(s).slice();
  }

  free(s: Storage): void {
    if (s instanceof HostStorage && s.pooled) this.pool.give(s.data);
  }

  liveBytes(): number {
    return this.pool.liveBytes();
  }

  add(a: Storage, b: Storage, out: Storage): void { ew.add(h(a), h(b), h(out)); }
  sub(a: Storage, b: Storage, out: Storage): void { ew.sub(h(a), h(b), h(out)); }
  mul(a: Storage, b: Storage, out: Storage): void { ew.mul(h(a), h(b), h(out)); }
  affine(a: Storage, alpha: number, beta: number, out: Storage): void { ew.affine(h(a), alpha, beta, h(out)); }
  axpy(a: Storage, alpha: number, b: Storage, out: Storage): void { ew.axpy(h(a), alpha, h(b), h(out)); }
  addBroadcast(a: Storage, v: Storage, O: number, C: number, I: number, out: Storage): void {
    ew.addBroadcast(h(a), h(v), O, C, I, h(out));
  }
  sumBroadcast(a: Storage, O: number, C: number, I: number, out: Storage): void {
    ew.sumBroadcast(h(a), O, C, I, h(out));
  }
  mulRows(a: Storage, w: Storage, N: number, D: number, out: Storage): void { ew.mulRows(h(a), h(w), N, D, h(out)); }
  fill(out: Storage, value: number): void { h(out).fill(value); }
  copy(a: Storage, aOff: number, out: Storage, outOff: number, n: number): void {
    h(out).set(h(a).subarray(aOff, aOff + n), outOff);
  }
  swishForward(x: Storage, out: Storage): void { ew.swishForward(h(x), h(out)); }
  swishBackward(x: Storage, gy: Storage, gx: Storage): void { ew.swishBackward(h(x), h(gy), h(gx)); }
  reluForward(x: Storage, out: Storage): void { ew.reluForward(h(x), h(out)); }
  reluBackward(x: Storage, gy: Storage, gx: Storage): void { ew.reluBackward(h(x), h(gy), h(gx)); }
  dropout(x: Storage, out: Storage, p: number, seed0: number, seed1: number): void { dropoutApply(h(x), h(out), p, seed0, seed1); }
  sumAll(a: Storage): number { return ew.sumAll(h(a)); }
  sumSquaredDiff(a: Storage, b: Storage): number { return ew.sumSquaredDiff(h(a), h(b)); }
  weightedSquaredDiff(a: Storage, b: Storage, w: Storage, N: number, D: number): number {
    return ew.weightedSquaredDiff(h(a), h(b), h(w), N, D);
  }
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Storage, B: Storage, beta: number, C: Storage): void {
    gm.gemm(transA, transB, M, N, K, alpha, h(A), h(B), beta, h(C));
  }
  conv2dForward(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom): void {
    cv.conv2dForward(h(x), h(w), b ? h(b) : null, h(y), g);
  }
  conv2dBackwardData(gy: Storage, w: Storage, gx: Storage, g: ConvGeom): void {
    cv.conv2dBackwardData(h(gy), h(w), h(gx), g);
  }
  conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, gb: Storage | null, g: ConvGeom): void {
    cv.conv2dBackwardWeight(h(x), h(gy), h(gw), gb ? h(gb) : null, g);
  }
  groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage, g: GroupNormGeom, swish: boolean): void {
    gn.groupNormForward(h(x), h(gamma), h(beta), h(y), h(mean), h(rstd), g, swish);
  }
  groupNormBackward(x: Storage, gamma: Storage, beta: Storage, mean: Storage, rstd: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: GroupNormGeom, swish: boolean): void {
    gn.groupNormBackward(h(x), h(gamma), h(beta), h(mean), h(rstd), h(gy), h(gx), h(gGamma), h(gBeta), g, swish);
  }
  embeddingForward(w: Storage, ids: Int32Array, V: number, D: number, out: Storage): void {
    emb.embeddingForward(h(w), ids, V, D, h(out));
  }
  embeddingBackward(gy: Storage, ids: Int32Array, V: number, D: number, gw: Storage): void {
    emb.embeddingBackward(h(gy), ids, V, D, h(gw));
  }
  attentionForward(q: Storage, k: Storage, v: Storage, y: Storage, P: Storage, N: number, C: number, L: number): void {
    att.attentionForward(h(q), h(k), h(v), h(y), h(P), N, C, L);
  }
  attentionBackward(q: Storage, k: Storage, v: Storage, P: Storage, gy: Storage, gq: Storage, gk: Storage, gv: Storage,
    N: number, C: number, L: number): void {
    att.attentionBackward(h(q), h(k), h(v), h(P), h(gy), h(gq), h(gk), h(gv), N, C, L);
  }
  softmaxForward(x: Storage, y: Storage, O: number, K: number, I: number, log: boolean): void {
    sm.softmaxForward(h(x), h(y), O, K, I, log);
  }
  softmaxBackward(y: Storage, gy: Storage, gx: Storage, O: number, K: number, I: number, log: boolean): void {
    sm.softmaxBackward(h(y), h(gy), h(gx), O, K, I, log);
  }
  crossEntropyForward(logits: Storage, labels: Int32Array, logp: Storage, N: number, K: number): number {
    return sm.crossEntropyForward(h(logits), labels, h(logp), N, K);
  }
  crossEntropyBackward(logp: Storage, labels: Int32Array, scale: number, gx: Storage, N: number, K: number): void {
    sm.crossEntropyBackward(h(logp), labels, scale, h(gx), N, K);
  }
  upsampleNearest2xForward(x: Storage, y: Storage, P: number, H: number, W: number): void {
    up.upsampleNearest2xForward(h(x), h(y), P, H, W);
  }
  upsampleNearest2xBackward(gy: Storage, gx: Storage, P: number, H: number, W: number): void {
    up.upsampleNearest2xBackward(h(gy), h(gx), P, H, W);
  }
  resizeBilinear(x: Storage, y: Storage, P: number, H: number, W: number, Ho: number, Wo: number): void {
    up.resizeBilinear(h(x), h(y), P, H, W, Ho, Wo);
  }
  avgPool2dForward(x: Storage, y: Storage, g: PoolGeom, countIncludePad: boolean): void {
    pl.avgPool2dForward(h(x), h(y), g, countIncludePad);
  }
  avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeom, countIncludePad: boolean): void {
    pl.avgPool2dBackward(h(gy), h(gx), g, countIncludePad);
  }
  maxPool2dForward(x: Storage, y: Storage, g: PoolGeom): void { pl.maxPool2dForward(h(x), h(y), g); }
  maxPool2dBackward(x: Storage, gy: Storage, gx: Storage, g: PoolGeom): void { pl.maxPool2dBackward(h(x), h(gy), h(gx), g); }
  batchNormStats(x: Storage, mean: Storage, variance: Storage, g: BatchNormGeom): void {
    bn.batchNormStats(h(x), h(mean), h(variance), g);
  }
  batchNormForward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, beta: Storage, y: Storage, g: BatchNormGeom): void {
    bn.batchNormForward(h(x), h(mean), h(variance), h(gamma), h(beta), h(y), g);
  }
  batchNormBackward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: BatchNormGeom, train: boolean): void {
    bn.batchNormBackward(h(x), h(mean), h(variance), h(gamma), h(gy), h(gx), h(gGamma), h(gBeta), g, train);
  }
  copyBlocks(a: Storage, aOff: number, aStride: number, out: Storage, outOff: number, outStride: number, len: number, count: number): void {
    cc.copyBlocks(h(a), aOff, aStride, h(out), outOff, outStride, len, count);
  }
  sumSquares(a: Storage): number { return gnorm.sumSquares(h(a)); }
  scaleInPlace(a: Storage, s: number): void { gnorm.scaleInPlace(h(a), s); }
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, hp: AdamParams): void {
    opt.adamStep(h(p), h(g), h(m), h(v), hp);
  }
  emaUpdate(ema: Storage, p: Storage, decay: number): void {
    opt.emaUpdate(h(ema), h(p), decay);
  }
}
