/**
 * The `cuda` backend: float32 buffers in device memory and kernels from `native/cuda/` (one
 * launcher per op over the `.cuh` kernels; gemm through cuBLAS when loaded, else a tiled kernel).
 * The same class runs the CPU shim build (`cuda-shim`, tests only), so every line here is checked
 * in CI against the `js` reference by the op-parity suite.
 *
 * float64 storages (gradient checks) live on the host and run the host backend's kernels. Kernels
 * without a device implementation yet (bilinear resize and batch norm: Inception feature
 * extraction's, not the UNet's) copy
 * their operands to the host, run the host kernel (native cpu when built, else js) and copy the
 * outputs back; each such call is counted in `hostFallbacks` so that benchmarks report them.
 */
import type { AdamParams, Backend, BackendName, BatchNormGeom, ConvGeom, GroupNormGeom, PoolGeom, Storage } from '../backend.ts';
import type { DType } from '../dtype.ts';
import { HostStorage } from '../js/host.ts';
import { BC, EW, RD, type CudaAddon, type Ptr } from './native.ts';

/** A float32 buffer in device memory (or a view into one). */
export class DeviceStorage implements Storage {
  readonly dtype: DType = 'float32';
  constructor(readonly ptr: Ptr, readonly size: number, readonly owned: boolean) {}
}

/** Device bytes kept for reuse after `free` (beyond this, memory goes back to the driver). */
const POOL_LIMIT_BYTES = 4 * 1024 ** 3;

export class CudaBackend implements Backend {
  /** Calls per kernel name that ran on the host through copies (no device kernel yet). */
  readonly hostFallbacks = new Map<string, number>();
  private readonly pool = new Map<number, Ptr[]>();
  private live = 0;
  private pooled = 0;

  /**
   * @param host runs float64 storages and the host fallbacks: the native cpu backend when built
   *   (parity-tested against js itself), else js.
   */
  constructor(private readonly nat: CudaAddon, readonly name: BackendName, private readonly host: Backend) {}

  // ---- memory -----------------------------------------------------------------------------------
  alloc(dtype: DType, size: number): Storage {
    if (dtype === 'float64') return this.host.alloc(dtype, size);
    const list = this.pool.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) this.pooled -= size * 4;
    else ptr = this.nat.malloc(size * 4);
    this.nat.fill(ptr, size, 0);
    this.live += size * 4;
    return new DeviceStorage(ptr, size, true);
  }

  view(base: Storage, offset: number, size: number): Storage {
    if (!(base instanceof DeviceStorage)) return this.host.view(base, offset, size);
    if (offset < 0 || offset + size > base.size) throw new Error(`view: [${offset}, ${offset + size}) is outside a buffer of ${base.size}`);
    return new DeviceStorage(base.ptr + 4 * offset, size, false);
  }

  write(s: Storage, data: ArrayLike<number>, offset = 0): void {
    if (!(s instanceof DeviceStorage)) return this.host.write(s, data, offset);
    if (offset + data.length > s.size) throw new Error(`write: ${data.length} values at offset ${offset} overflow a buffer of ${s.size}`);
    this.nat.upload(s.ptr, data instanceof Float32Array ? data : Float32Array.from(data), offset * 4);
  }

  read(s: Storage): Float32Array | Float64Array {
    if (!(s instanceof DeviceStorage)) return this.host.read(s);
    const out = new Float32Array(s.size);
    this.nat.download(out, s.ptr);
    return out;
  }

  free(s: Storage): void {
    if (!(s instanceof DeviceStorage)) return this.host.free(s);
    if (!s.owned) return;
    this.live -= s.size * 4;
    if (this.pooled + s.size * 4 > POOL_LIMIT_BYTES) return this.nat.free(s.ptr);
    let list = this.pool.get(s.size);
    if (!list) this.pool.set(s.size, (list = []));
    list.push(s.ptr);
    this.pooled += s.size * 4;
  }

  liveBytes(): number {
    return this.live + this.host.liveBytes();
  }

  /** Wait for queued kernels (timing; reads already wait). */
  synchronize(): void {
    this.nat.synchronize();
  }

  /** Switch cuBLAS GEMMs to TF32 tensor-core math or back to fp32 (throws without cuBLAS). */
  setGemmTf32(on: boolean): void {
    this.nat.setGemmTf32(on);
  }

  /** The cuBLAS library gemm goes through, or '' for the tiled kernel. */
  gemmLibrary(): string {
    return this.nat.gemmLibrary();
  }

  /** Device pointers of the storages, or null when any is on the host (float64). */
  private d(...ss: Storage[]): Ptr[] | null {
    const out: Ptr[] = [];
    for (const s of ss) {
      if (!(s instanceof DeviceStorage)) return null;
      out.push(s.ptr);
    }
    return out;
  }

  /**
   * Run a `js` kernel on host copies of device storages: `ins` are copied down, `outs` (also
   * copied down, as some kernels accumulate) are copied back up afterwards.
   */
  private viaHost<R>(kernel: string, ins: (Storage | null)[], outs: (Storage | null)[], run: (hs: (s: Storage | null) => Storage | null) => R): R {
    if (this.d(...[...ins, ...outs].filter((s): s is Storage => s !== null)) === null) {
      return run((s) => s); // float64: already host storages
    }
    this.hostFallbacks.set(kernel, (this.hostFallbacks.get(kernel) ?? 0) + 1);
    const copies = new Map<Storage, HostStorage>();
    const hs = (s: Storage | null): Storage | null => {
      if (s === null) return null;
      let c = copies.get(s);
      if (!c) {
        c = new HostStorage(this.read(s) as Float32Array, false);
        copies.set(s, c);
      }
      return c;
    };
    const r = run(hs);
    for (const s of outs) if (s) this.write(s, (copies.get(s) ?? (hs(s) as HostStorage)).data);
    return r;
  }

  // ---- elementwise ------------------------------------------------------------------------------
  private ew(op: number, a: Storage, b: Storage | null, out: Storage, s1: number, s2: number, js: () => void): void {
    const p = this.d(a, ...(b ? [b] : []), out);
    if (!p) return js();
    this.nat.ew(op, p[0]!, b ? p[1]! : 0, p[p.length - 1]!, out.size, s1, s2);
  }
  add(a: Storage, b: Storage, out: Storage): void { this.ew(EW.add, a, b, out, 0, 0, () => this.host.add(a, b, out)); }
  sub(a: Storage, b: Storage, out: Storage): void { this.ew(EW.sub, a, b, out, 0, 0, () => this.host.sub(a, b, out)); }
  mul(a: Storage, b: Storage, out: Storage): void { this.ew(EW.mul, a, b, out, 0, 0, () => this.host.mul(a, b, out)); }
  affine(a: Storage, alpha: number, beta: number, out: Storage): void {
    this.ew(EW.affine, a, null, out, alpha, beta, () => this.host.affine(a, alpha, beta, out));
  }
  axpy(a: Storage, alpha: number, b: Storage, out: Storage): void {
    this.ew(EW.axpy, a, b, out, alpha, 0, () => this.host.axpy(a, alpha, b, out));
  }
  swishForward(x: Storage, out: Storage): void { this.ew(EW.swish, x, null, out, 0, 0, () => this.host.swishForward(x, out)); }
  swishBackward(x: Storage, gy: Storage, gx: Storage): void {
    this.ew(EW.swishBackward, x, gy, gx, 0, 0, () => this.host.swishBackward(x, gy, gx));
  }
  reluForward(x: Storage, out: Storage): void { this.ew(EW.relu, x, null, out, 0, 0, () => this.host.reluForward(x, out)); }
  reluBackward(x: Storage, gy: Storage, gx: Storage): void {
    this.ew(EW.reluBackward, x, gy, gx, 0, 0, () => this.host.reluBackward(x, gy, gx));
  }
  scaleInPlace(a: Storage, s: number): void { this.ew(EW.scale, a, null, a, s, 0, () => this.host.scaleInPlace(a, s)); }

  addBroadcast(a: Storage, v: Storage, O: number, C: number, I: number, out: Storage): void {
    const p = this.d(a, v, out);
    if (p) this.nat.broadcast(BC.add, p[0]!, p[1]!, p[2]!, O, C, I); else this.host.addBroadcast(a, v, O, C, I, out);
  }
  sumBroadcast(a: Storage, O: number, C: number, I: number, out: Storage): void {
    const p = this.d(a, out);
    if (p) this.nat.broadcast(BC.sum, p[0]!, 0, p[1]!, O, C, I); else this.host.sumBroadcast(a, O, C, I, out);
  }
  mulRows(a: Storage, w: Storage, N: number, D: number, out: Storage): void {
    const p = this.d(a, w, out);
    if (p) this.nat.broadcast(BC.mulRows, p[0]!, p[1]!, p[2]!, N, D, 1); else this.host.mulRows(a, w, N, D, out);
  }
  fill(out: Storage, value: number): void {
    const p = this.d(out);
    if (p) this.nat.fill(p[0]!, out.size, value); else this.host.fill(out, value);
  }
  copy(a: Storage, aOff: number, out: Storage, outOff: number, n: number): void {
    const p = this.d(a, out);
    if (!p) return this.host.copy(a, aOff, out, outOff, n);
    if (aOff + n > a.size || outOff + n > out.size) throw new Error(`copy: ${n} values from ${aOff} to ${outOff} overflow a buffer`);
    this.nat.copy(p[1]! + 4 * outOff, p[0]! + 4 * aOff, 4 * n);
  }
  copyBlocks(a: Storage, aOff: number, aStride: number, out: Storage, outOff: number, outStride: number, len: number, count: number): void {
    const p = this.d(a, out);
    if (!p) return this.host.copyBlocks(a, aOff, aStride, out, outOff, outStride, len, count);
    this.nat.copyBlocks(p[0]! + 4 * aOff, aStride, p[1]! + 4 * outOff, outStride, len, count);
  }
  dropout(x: Storage, out: Storage, p: number, seed0: number, seed1: number): void {
    const d = this.d(x, out);
    if (d) this.nat.dropout(d[0]!, d[1]!, out.size, p, seed0 >>> 0, seed1 >>> 0); else this.host.dropout(x, out, p, seed0, seed1);
  }

  // ---- reductions (float64 accumulation on the device) --------------------------------------------
  sumAll(a: Storage): number {
    const p = this.d(a);
    return p ? this.nat.reduce(RD.sum, p[0]!, 0, 0, 1, a.size) : this.host.sumAll(a);
  }
  sumSquares(a: Storage): number {
    const p = this.d(a);
    return p ? this.nat.reduce(RD.sumSquares, p[0]!, 0, 0, 1, a.size) : this.host.sumSquares(a);
  }
  sumSquaredDiff(a: Storage, b: Storage): number {
    const p = this.d(a, b);
    return p ? this.nat.reduce(RD.sumSquaredDiff, p[0]!, p[1]!, 0, 1, a.size) : this.host.sumSquaredDiff(a, b);
  }
  weightedSquaredDiff(a: Storage, b: Storage, w: Storage, N: number, D: number): number {
    const p = this.d(a, b, w);
    return p ? this.nat.reduce(RD.weightedSquaredDiff, p[0]!, p[1]!, p[2]!, N, D) : this.host.weightedSquaredDiff(a, b, w, N, D);
  }

  // ---- gemm ---------------------------------------------------------------------------------------
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Storage, B: Storage, beta: number, C: Storage): void {
    const p = this.d(A, B, C);
    if (!p) return this.host.gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
    this.nat.gemm(transA, transB, M, N, K, alpha, p[0]!, 0, p[1]!, 0, beta, p[2]!, 0, 1);
  }

  // ---- convolution as im2col + GEMM (native/cuda/im2col.cuh) --------------------------------------
  conv2dForward(x: Storage, w: Storage, b: Storage | null, y: Storage, g: ConvGeom): void {
    const p = this.d(x, w, y);
    const pb = b ? this.d(b) : [0];
    if (!p || !pb) return this.host.conv2dForward(x, w, b, y, g);
    this.nat.conv2dForward(p[0]!, p[1]!, pb[0]!, p[2]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }
  conv2dBackwardData(gy: Storage, w: Storage, gx: Storage, g: ConvGeom): void {
    const p = this.d(gy, w, gx);
    if (!p) return this.host.conv2dBackwardData(gy, w, gx, g);
    this.nat.conv2dBackwardData(p[0]!, p[1]!, p[2]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }
  conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, gb: Storage | null, g: ConvGeom): void {
    const p = this.d(x, gy, gw);
    const pb = gb ? this.d(gb) : [0];
    if (!p || !pb) return this.host.conv2dBackwardWeight(x, gy, gw, gb, g);
    this.nat.conv2dBackwardWeight(p[0]!, p[1]!, p[2]!, pb[0]!, g.N, g.Ci, g.H, g.W, g.Co, g.KH, g.KW, g.stride, g.pad, g.Ho, g.Wo);
  }

  // ---- group norm ---------------------------------------------------------------------------------
  groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage, g: GroupNormGeom, swish: boolean): void {
    const p = this.d(x, gamma, beta, y, mean, rstd);
    if (!p) return this.host.groupNormForward(x, gamma, beta, y, mean, rstd, g, swish);
    this.nat.groupNormForward(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, g.N, g.C, g.L, g.G, g.eps, swish);
  }
  groupNormBackward(x: Storage, gamma: Storage, beta: Storage, mean: Storage, rstd: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: GroupNormGeom, swish: boolean): void {
    const p = this.d(x, gamma, beta, mean, rstd, gy, gx, gGamma, gBeta);
    if (!p) return this.host.groupNormBackward(x, gamma, beta, mean, rstd, gy, gx, gGamma, gBeta, g, swish);
    this.nat.groupNormBackward(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!, p[8]!, g.N, g.C, g.L, g.G, swish);
  }

  // ---- embedding ----------------------------------------------------------------------------------
  embeddingForward(w: Storage, ids: Int32Array, V: number, D: number, out: Storage): void {
    const p = this.d(w, out);
    if (!p) return this.host.embeddingForward(w, ids, V, D, out);
    for (const id of ids) if (id < 0 || id >= V) throw new Error(`embeddingForward: id ${id} outside [0, ${V})`);
    this.nat.embeddingForward(p[0]!, ids, ids.length, D, p[1]!);
  }
  embeddingBackward(gy: Storage, ids: Int32Array, V: number, D: number, gw: Storage): void {
    const p = this.d(gy, gw);
    if (!p) return this.host.embeddingBackward(gy, ids, V, D, gw);
    for (const id of ids) if (id < 0 || id >= V) throw new Error(`embeddingBackward: id ${id} outside [0, ${V})`);
    this.nat.embeddingBackward(p[0]!, ids, ids.length, V, D, p[1]!);
  }

  // ---- attention: two batched GEMMs around a row softmax (shapes in src/engine/js/attention.ts) ----
  attentionForward(q: Storage, k: Storage, v: Storage, y: Storage, P: Storage, N: number, C: number, L: number): void {
    const p = this.d(q, k, v, y, P);
    if (!p) return this.host.attentionForward(q, k, v, y, P, N, C, L);
    const [pq, pk, pv, py, pP] = p as [Ptr, Ptr, Ptr, Ptr, Ptr];
    // S_n (L×L) = q_nᵀ·k_n / √C into P, then the row softmax in place, then y_n (C×L) = v_n·P_nᵀ.
    this.nat.gemm(true, false, L, L, C, 1 / Math.sqrt(C), pq, C * L, pk, C * L, 0, pP, L * L, N);
    this.nat.softmaxForward(pP, pP, N * L, L, 1, false);
    this.nat.gemm(false, true, C, L, L, 1, pv, C * L, pP, L * L, 0, py, C * L, N);
  }
  attentionBackward(q: Storage, k: Storage, v: Storage, P: Storage, gy: Storage, gq: Storage, gk: Storage, gv: Storage,
    N: number, C: number, L: number): void {
    const p = this.d(q, k, v, P, gy, gq, gk, gv);
    if (!p) return this.host.attentionBackward(q, k, v, P, gy, gq, gk, gv, N, C, L);
    const [pq, pk, pv, pP, pgy, pgq, pgk, pgv] = p as [Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr];
    const gS = this.alloc('float32', N * L * L) as DeviceStorage;
    try {
      const s = 1 / Math.sqrt(C);
      this.nat.gemm(true, false, L, L, C, 1, pgy, C * L, pv, C * L, 0, gS.ptr, L * L, N); // gP_n = gy_nᵀ·v_n
      this.nat.gemm(false, false, C, L, L, 1, pgy, C * L, pP, L * L, 0, pgv, C * L, N); // gv_n = gy_n·P_n
      this.nat.softmaxBackward(pP, gS.ptr, gS.ptr, N * L, L, 1, false); // gS = P⊙(gP − Σ P⊙gP)
      this.nat.gemm(false, true, C, L, L, s, pk, C * L, gS.ptr, L * L, 0, pgq, C * L, N); // gq_n = k_n·gS_nᵀ/√C
      this.nat.gemm(false, false, C, L, L, s, pq, C * L, gS.ptr, L * L, 0, pgk, C * L, N); // gk_n = q_n·gS_n/√C
    } finally {
      this.free(gS);
    }
  }

  // ---- softmax family -----------------------------------------------------------------------------
  softmaxForward(x: Storage, y: Storage, O: number, K: number, I: number, log: boolean): void {
    const p = this.d(x, y);
    if (p) this.nat.softmaxForward(p[0]!, p[1]!, O, K, I, log); else this.host.softmaxForward(x, y, O, K, I, log);
  }
  softmaxBackward(y: Storage, gy: Storage, gx: Storage, O: number, K: number, I: number, log: boolean): void {
    const p = this.d(y, gy, gx);
    if (p) this.nat.softmaxBackward(p[0]!, p[1]!, p[2]!, O, K, I, log); else this.host.softmaxBackward(y, gy, gx, O, K, I, log);
  }
  crossEntropyForward(logits: Storage, labels: Int32Array, logp: Storage, N: number, K: number): number {
    const p = this.d(logits, logp);
    if (!p) return this.host.crossEntropyForward(logits, labels, logp, N, K);
    this.nat.softmaxForward(p[0]!, p[1]!, N, K, 1, true);
    const lp = this.read(logp); // the loss is a host number: N·K values come down
    let loss = 0;
    for (let n = 0; n < N; n++) loss -= lp[n * K + labels[n]!]!;
    return loss;
  }
  crossEntropyBackward(logp: Storage, labels: Int32Array, scale: number, gx: Storage, N: number, K: number): void {
    const p = this.d(logp, gx);
    if (p) this.nat.crossEntropyBackward(p[0]!, labels, scale, p[1]!, N, K); else this.host.crossEntropyBackward(logp, labels, scale, gx, N, K);
  }

  // ---- resampling (bilinear on the host for now), pooling; batch norm on the host for now ---------------------------------------------
  upsampleNearest2xForward(x: Storage, y: Storage, P: number, H: number, W: number): void {
    const d = this.d(x, y);
    if (d) this.nat.upsampleNearest2xForward(d[0]!, d[1]!, P, H, W); else this.host.upsampleNearest2xForward(x, y, P, H, W);
  }
  upsampleNearest2xBackward(gy: Storage, gx: Storage, P: number, H: number, W: number): void {
    const d = this.d(gy, gx);
    if (d) this.nat.upsampleNearest2xBackward(d[0]!, d[1]!, P, H, W); else this.host.upsampleNearest2xBackward(gy, gx, P, H, W);
  }
  resizeBilinear(x: Storage, y: Storage, P: number, H: number, W: number, Ho: number, Wo: number): void {
    this.viaHost('resizeBilinear', [x], [y], (hs) => this.host.resizeBilinear(hs(x)!, hs(y)!, P, H, W, Ho, Wo));
  }
  avgPool2dForward(x: Storage, y: Storage, g: PoolGeom, countIncludePad: boolean): void {
    const d = this.d(x, y);
    if (!d) return this.host.avgPool2dForward(x, y, g, countIncludePad);
    this.nat.pool2dForward(false, d[0]!, d[1]!, g.N * g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, countIncludePad);
  }
  avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeom, countIncludePad: boolean): void {
    const d = this.d(gy, gx);
    if (!d) return this.host.avgPool2dBackward(gy, gx, g, countIncludePad);
    this.nat.pool2dBackward(false, 0, d[0]!, d[1]!, g.N * g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, countIncludePad);
  }
  maxPool2dForward(x: Storage, y: Storage, g: PoolGeom): void {
    const d = this.d(x, y);
    if (!d) return this.host.maxPool2dForward(x, y, g);
    this.nat.pool2dForward(true, d[0]!, d[1]!, g.N * g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, false);
  }
  maxPool2dBackward(x: Storage, gy: Storage, gx: Storage, g: PoolGeom): void {
    const d = this.d(x, gy, gx);
    if (!d) return this.host.maxPool2dBackward(x, gy, gx, g);
    this.nat.pool2dBackward(true, d[0]!, d[1]!, d[2]!, g.N * g.C, g.H, g.W, g.k, g.stride, g.pad, g.Ho, g.Wo, false);
  }
  batchNormStats(x: Storage, mean: Storage, variance: Storage, g: BatchNormGeom): void {
    this.viaHost('batchNormStats', [x], [mean, variance], (hs) => this.host.batchNormStats(hs(x)!, hs(mean)!, hs(variance)!, g));
  }
  batchNormForward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, beta: Storage, y: Storage, g: BatchNormGeom): void {
    this.viaHost('batchNormForward', [x, mean, variance, gamma, beta], [y],
      (hs) => this.host.batchNormForward(hs(x)!, hs(mean)!, hs(variance)!, hs(gamma)!, hs(beta)!, hs(y)!, g));
  }
  batchNormBackward(x: Storage, mean: Storage, variance: Storage, gamma: Storage, gy: Storage,
    gx: Storage, gGamma: Storage, gBeta: Storage, g: BatchNormGeom, train: boolean): void {
    this.viaHost('batchNormBackward', [x, mean, variance, gamma, gy], [gx, gGamma, gBeta],
      (hs) => this.host.batchNormBackward(hs(x)!, hs(mean)!, hs(variance)!, hs(gamma)!, hs(gy)!, hs(gx)!, hs(gGamma)!, hs(gBeta)!, g, train));
  }

  // ---- optimiser over the flat parameter arena ----------------------------------------------------
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, hp: AdamParams): void {
    const d = this.d(p, g, m, v);
    if (!d) return this.host.adamStep(p, g, m, v, hp);
    this.nat.adamStep(d[0]!, d[1]!, d[2]!, d[3]!, p.size, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, hp.step);
  }
  emaUpdate(ema: Storage, p: Storage, decay: number): void {
    const d = this.d(ema, p);
    if (d) this.nat.emaUpdate(d[0]!, d[1]!, ema.size, decay); else this.host.emaUpdate(ema, p, decay);
  }
}
