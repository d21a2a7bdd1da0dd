/**
 * The `webgpu` backend: float32 buffers on a WebGPU device and the WGSL kernels of kernels.ts.
 * It runs where `navigator.gpu` gives an adapter — the browser sampler page — and implements the
 * forward ops of sampling: everything a UNet forward pass calls, each checked against the `js`
 * kernel it names (test/report/webgpu-parity.test.ts, in headless Chromium).
 *
 * WebGPU has no synchronous read-back, so `read` cannot exist here: the sampler awaits
 * `readAsync`. For the same reason the reductions that return a number (loss, gradient norm) and
 * everything only training calls (backward kernels, optimiser) are not provided; they throw one
 * line naming the kernel and the backends that have it.
 *
 * Ordering: kernels are recorded into one command encoder and submitted at the next read, write
 * or every FLUSH_EVERY dispatches. `queue.writeBuffer` runs before any not-yet-submitted command,
 * so `write` submits first. Freed buffers are pooled by size and cleared (in command order) on
 * reuse, so `alloc` still returns zeros.
 */
import type { AdamParams, Backend, BackendName, BatchNormGeom, ConvGeom, GroupNormGeom, PoolGeom, Storage } from '../backend.ts';
import type { DType } from '../dtype.ts';
import { BUFFER_USAGE, MAP_MODE_READ, type Gpu, type GpuAdapterInfo, type GpuBuffer, type GpuCommandEncoder, type GpuComputePassEncoder,
  type GpuComputePipeline, type GpuDevice } from './gpu-types.ts';
import { KERNELS, paramLayout, wgslSource, type KernelName } from './kernels.ts';

/** A float32 buffer on the device, or a view of `size` elements from element `offset` of one. */
export class GpuStorage implements Storage {
  readonly dtype: DType = 'float32';
  constructor(readonly buffer: GpuBuffer, readonly offset: number, readonly size: number, readonly owned: boolean) {}
}

/** Submit recorded work after this many dispatches (bounds the per-dispatch uniform buffers held). */
const FLUSH_EVERY = 256;
const MAX_GROUPS = 65535;
/** Bytes of one dispatch's parameters: WebGPU's minUniformBufferOffsetAlignment default (256). */
const UNIFORM_SLOT = 256;

type Operands = Record<string, GpuStorage | Int32Array>;

export class WebGpuBackend implements Backend {
  readonly name: BackendName = 'webgpu';
  private readonly pipelines = new Map<KernelName, GpuComputePipeline>();
  private readonly pool = new Map<number, GpuBuffer[]>();
  private encoder: GpuCommandEncoder | null = null;
  private pass: GpuComputePassEncoder | null = null;
  /** Uniform and id buffers of recorded dispatches, destroyed once submitted. */
  private transient: GpuBuffer[] = [];
  private pending = 0;
  private uniforms: { buffer: GpuBuffer; range: ArrayBuffer; used: number } | null = null;
  private live = 0;

  private constructor(readonly device: GpuDevice, readonly adapterInfo: GpuAdapterInfo | null) {
    device.pushErrorScope('validation');
  }

  /** The backend on the first adapter of `gpu`, or null when there is none (then use `js`). */
  static async create(gpu: Gpu | undefined): Promise<WebGpuBackend | null> {
    if (!gpu) return null;
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return null;
    // The defaults (128 MiB bindings, 256 MiB buffers) are below the paper's UNet's 143 MB arena.
    const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
    const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
    return new WebGpuBackend(device, adapter.info ?? null);
  }

  // ---- memory -----------------------------------------------------------------------------------
  alloc(dtype: DType, size: number): Storage {
    if (dtype !== 'float32') throw new Error(`webgpu backend: ${dtype} buffers are not supported (WGSL has no float64); use the js backend for float64`);
    const bytes = byteSize(size);
    const reused = this.pool.get(bytes)?.pop();
    let buffer: GpuBuffer;
    if (reused) {
      this.endPass();
      this.enc().clearBuffer(reused);
      buffer = reused;
    } else {
      buffer = this.device.createBuffer({ size: bytes, usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST });
    }
    this.live += bytes;
    return new GpuStorage(buffer, 0, size, true);
  }

  view(base: Storage, offset: number, size: number): Storage {
    const b = g(base);
    if (offset < 0 || offset + size > b.size) throw new Error(`view: [${offset}, ${offset + size}) is outside a buffer of ${b.size}`);
    return new GpuStorage(b.buffer, b.offset + offset, size, false);
  }

  write(s: Storage, data: ArrayLike<number>, offset = 0): void {
    const b = g(s);
    if (offset + data.length > b.size) throw new Error(`write: ${data.length} values at offset ${offset} overflow a buffer of ${b.size}`);
    if (data.length === 0) return;
    this.flush();
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(b.buffer, (b.offset + offset) * 4, f);
  }

  read(s: Storage): Float32Array {
    void s;
    throw new Error('webgpu backend: read-back is asynchronous in WebGPU; await backend.readAsync(storage) instead of toArray()');
  }

  /** Copy a buffer to the host once every recorded kernel has run; reports any WebGPU validation error. */
  async readAsync(s: Storage): Promise<Float32Array> {
    const b = g(s);
    const staging = this.device.createBuffer({ size: byteSize(b.size), usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    this.endPass();
    if (b.size > 0) this.enc().copyBufferToBuffer(b.buffer, b.offset * 4, staging, 0, b.size * 4);
    this.flush();
    const err = await this.device.popErrorScope();
    this.device.pushErrorScope('validation');
    if (err) {
      staging.destroy();
      throw new Error(`webgpu backend: ${err.message}`);
    }
    await staging.mapAsync(MAP_MODE_READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, b.size * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }

  free(s: Storage): void {
    const b = g(s);
    if (!b.owned) return;
    const bytes = byteSize(b.size);
    this.live -= bytes;
    let list = this.pool.get(bytes);
    if (!list) this.pool.set(bytes, (list = []));
    list.push(b.buffer);
  }

  liveBytes(): number {
    return this.live;
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.endPass();
    if (this.uniforms) {
      this.uniforms.buffer.unmap();
      this.uniforms = null;
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    for (const t of this.transient) t.destroy();
    this.transient = [];
    this.pending = 0;
  }

  // ---- elementwise ------------------------------------------------------------------------------
  add(a: Storage, b: Storage, out: Storage): void { this.ew('add', out.size, { a: g(a), b: g(b), out: g(out) }, {}); }
  sub(a: Storage, b: Storage, out: Storage): void { this.ew('sub', out.size, { a: g(a), b: g(b), out: g(out) }, {}); }
  mul(a: Storage, b: Storage, out: Storage): void { this.ew('mul', out.size, { a: g(a), b: g(b), out: g(out) }, {}); }
  affine(a: Storage, alpha: number, beta: number, out: Storage): void { this.ew('affine', out.size, { a: g(a), out: g(out) }, { alpha, beta }); }
  axpy(a: Storage, alpha: number, b: Storage, out: Storage): void { this.ew('axpy', out.size, { a: g(a), b: g(b), out: g(out) }, { alpha }); }
  addBroadcast(a: Storage, v: Storage, O: number, C: number, I: number, out: Storage): void {
    this.ew('addBroadcast', O * C * I, { a: g(a), v: g(v), out: g(out) }, { C, I });
  }
  mulRows(a: Storage, w: Storage, N: number, D: number, out: Storage): void { this.ew('mulRows', N * D, { a: g(a), w: g(w), out: g(out) }, { D }); }
  fill(out: Storage, value: number): void { this.ew('fill', out.size, { out: g(out) }, { value }); }
  copy(a: Storage, aOff: number, out: Storage, outOff: number, n: number): void { this.copyBlocks(a, aOff, n, out, outOff, n, n, 1); }
  scaleInPlace(a: Storage, s: number): void { this.ew('scaleInPlace', a.size, { out: g(a) }, { s }); }
  swishForward(x: Storage, out: Storage): void { this.ew('swishForward', out.size, { a: g(x), out: g(out) }, {}); }
  reluForward(x: Storage, out: Storage): void { this.ew('reluForward', out.size, { a: g(x), out: g(out) }, {}); }

  copyBlocks(a: Storage, aOff: number, aStride: number, out: Storage, outOff: number, outStride: number, len: number, count: number): void {
    const A = g(a), O = g(out);
    this.ew('copyBlocks', len * count, { a: at(A, aOff), out: at(O, outOff) }, { len, aStride, outStride });
  }

  upsampleNearest2xForward(x: Storage, y: Storage, P: number, H: number, W: number): void {
    this.ew('upsampleNearest2xForward', P * 4 * H * W, { x: g(x), y: g(y) }, { H, W });
  }

  embeddingForward(w: Storage, ids: Int32Array, V: number, D: number, out: Storage): void {
    for (const id of ids) if (id < 0 || id >= V) throw new Error(`embeddingForward: id ${id} outside [0, ${V})`);
    this.ew('embeddingForward', ids.length * D, { w: g(w), ids, y: g(out) }, { D });
  }

  conv2dForward(x: Storage, w: Storage, b: Storage | null, y: Storage, c: ConvGeom): void {
    const X = g(x);
    this.ew('conv2dForward', c.N * c.Co * c.Ho * Math.ceil(c.Wo / 4), { x: X, w: g(w), b: b ? g(b) : X, y: g(y) }, {
      Ci: c.Ci, H: c.H, W: c.W, Co: c.Co, KH: c.KH, KW: c.KW, stride: c.stride, pad: c.pad, Ho: c.Ho, Wo: c.Wo, hasBias: b ? 1 : 0,
    });
  }

  attentionForward(q: Storage, k: Storage, v: Storage, y: Storage, P: Storage, N: number, C: number, L: number): void {
    this.ew('attentionForward', N * L, { q: g(q), k: g(k), v: g(v), y: g(y), P: g(P) }, { C, L, scale: 1 / Math.sqrt(C) });
  }

  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Storage, B: Storage, beta: number, C: Storage): void {
    this.ew('gemm', M * N, { A: g(A), B: g(B), Cm: g(C) }, { M, N, K, transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha, beta });
  }

  groupNormForward(x: Storage, gamma: Storage, beta: Storage, y: Storage, mean: Storage, rstd: Storage, c: GroupNormGeom, swish: boolean): void {
    this.ew('groupNormStats', c.N * c.G, { x: g(x), mean: g(mean), rstd: g(rstd) }, { C: c.C, L: c.L, G: c.G, eps: c.eps });
    this.ew('groupNormApply', c.N * c.C * c.L, { x: g(x), gamma: g(gamma), beta: g(beta), mean: g(mean), rstd: g(rstd), y: g(y) },
      { C: c.C, L: c.L, G: c.G, swish: swish ? 1 : 0 });
  }

  // ---- not in this backend (training and host reductions) ----------------------------------------
  sumBroadcast(): void { inferenceOnly('sumBroadcast'); }
  swishBackward(): void { inferenceOnly('swishBackward'); }
  reluBackward(): void { inferenceOnly('reluBackward'); }
  dropout(): void { inferenceOnly('dropout'); }
  sumAll(): number { return inferenceOnly('sumAll'); }
  sumSquaredDiff(): number { return inferenceOnly('sumSquaredDiff'); }
  weightedSquaredDiff(): number { return inferenceOnly('weightedSquaredDiff'); }
  conv2dBackwardData(): void { inferenceOnly('conv2dBackwardData'); }
  conv2dBackwardWeight(): void { inferenceOnly('conv2dBackwardWeight'); }
  groupNormBackward(): void { inferenceOnly('groupNormBackward'); }
  embeddingBackward(): void { inferenceOnly('embeddingBackward'); }
  attentionBackward(): void { inferenceOnly('attentionBackward'); }
  softmaxForward(): void { inferenceOnly('softmaxForward'); }
  softmaxBackward(): void { inferenceOnly('softmaxBackward'); }
  crossEntropyForward(): number { return inferenceOnly('crossEntropyForward'); }
  crossEntropyBackward(): void { inferenceOnly('crossEntropyBackward'); }
  upsampleNearest2xBackward(): void { inferenceOnly('upsampleNearest2xBackward'); }
  resizeBilinear(): void { inferenceOnly('resizeBilinear'); }
  avgPool2dForward(_x: Storage, _y: Storage, _g: PoolGeom): void { inferenceOnly('avgPool2dForward'); }
  avgPool2dBackward(): void { inferenceOnly('avgPool2dBackward'); }
  maxPool2dForward(): void { inferenceOnly('maxPool2dForward'); }
  maxPool2dBackward(): void { inferenceOnly('maxPool2dBackward'); }
  batchNormStats(_x: Storage, _m: Storage, _v: Storage, _g: BatchNormGeom): void { inferenceOnly('batchNormStats'); }
  batchNormForward(): void { inferenceOnly('batchNormForward'); }
  batchNormBackward(): void { inferenceOnly('batchNormBackward'); }
  sumSquares(): number { return inferenceOnly('sumSquares'); }
  adamStep(_p: Storage, _g: Storage, _m: Storage, _v: Storage, _h: AdamParams): void { inferenceOnly('adamStep'); }
  emaUpdate(): void { inferenceOnly('emaUpdate'); }

  // ---- dispatch ---------------------------------------------------------------------------------
  /** An elementwise-style kernel over n items (workgroups laid out in 2-D past 65,535). */
  private ew(name: KernelName, n: number, ops: Operands, params: Record<string, number>): void {
    if (n === 0) return;
    const groups = Math.ceil(n / KERNELS[name].workgroup);
    const x = Math.min(groups, MAX_GROUPS);
    this.dispatch(name, [x, Math.ceil(groups / x)], ops, { n, ...params });
  }

  private dispatch(name: KernelName, groups: [number, number], ops: Operands, params: Record<string, number>): void {
    const def = KERNELS[name];
    if (groups[0] > MAX_GROUPS || groups[1] > MAX_GROUPS) throw new Error(`webgpu backend: ${name} needs ${groups.join('×')} workgroups, above WebGPU's ${MAX_GROUPS} per dimension`);
    // WebGPU forbids a writable binding that aliases another binding of the same buffer (e.g. the
    // in-place bias add of `linear`): such an output is computed into a scratch buffer, then copied.
    const bound: GpuStorage[] = [];
    const redirected: Array<{ scratch: GpuStorage; target: GpuStorage }> = [];
    const buffers: GpuBuffer[] = [];
    const offsets: number[] = [];
    for (const name of def.inputs) {
      const op = ops[name]!;
      if (op instanceof Int32Array) {
        const ids = this.device.createBuffer({ size: byteSize(op.length), usage: BUFFER_USAGE.STORAGE, mappedAtCreation: true });
        new Int32Array(ids.getMappedRange()).set(op);
        ids.unmap();
        this.transient.push(ids);
        buffers.push(ids);
        offsets.push(0);
      } else {
        bound.push(op);
        buffers.push(op.buffer);
        offsets.push(op.offset);
      }
    }
    for (const name of def.outputs) {
      let op = ops[name] as GpuStorage;
      if (bound.some((o) => o.buffer === op.buffer)) {
        // Start from the output's values: a kernel may write only part of it (copyBlocks).
        const scratch = this.alloc('float32', op.size) as GpuStorage;
        this.endPass();
        this.enc().copyBufferToBuffer(op.buffer, op.offset * 4, scratch.buffer, 0, op.size * 4);
        redirected.push({ scratch, target: op });
        op = scratch;
      }
      bound.push(op);
      buffers.push(op.buffer);
      offsets.push(op.offset);
    }
    const layout = paramLayout(def);
    const values = [...offsets, ...def.params.map(([p]) => {
      const v = params[p];
      if (v === undefined) throw new Error(`webgpu backend: ${name} is missing parameter ${p}`);
      return v;
    })];
    if (layout.length * 4 > UNIFORM_SLOT) throw new Error(`webgpu backend: ${name} has more parameters than a uniform slot holds`);
    const slot = this.uniformSlot();
    layout.forEach(([, type], i) => { if (type === 'f32') slot.f32[i] = values[i]!; else slot.u32[i] = values[i]!; });

    const pipeline = this.pipeline(name);
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [...buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
        { binding: buffers.length, resource: { buffer: slot.buffer, offset: slot.offset, size: UNIFORM_SLOT } }],
    });
    if (!this.pass) this.pass = this.enc().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(groups[0], groups[1]);
    for (const { scratch, target } of redirected) {
      this.endPass();
      this.enc().copyBufferToBuffer(scratch.buffer, 0, target.buffer, target.offset * 4, target.size * 4);
      this.free(scratch);
    }
    if (++this.pending >= FLUSH_EVERY) this.flush();
  }

  /**
   * The next 256-byte slot of the batch's uniform buffer. One buffer, mapped at creation, holds
   * the parameters of up to FLUSH_EVERY dispatches (creating a buffer per dispatch costs far more
   * than the kernels of a small model); it is unmapped when the batch is submitted.
   */
  private uniformSlot(): { buffer: GpuBuffer; offset: number; u32: Uint32Array; f32: Float32Array } {
    if (!this.uniforms) {
      const buffer = this.device.createBuffer({ size: FLUSH_EVERY * UNIFORM_SLOT, usage: BUFFER_USAGE.UNIFORM, mappedAtCreation: true });
      this.uniforms = { buffer, range: buffer.getMappedRange(), used: 0 };
      this.transient.push(buffer);
    }
    const u = this.uniforms;
    const offset = u.used * UNIFORM_SLOT;
    u.used++;
    return { buffer: u.buffer, offset, u32: new Uint32Array(u.range, offset, UNIFORM_SLOT / 4), f32: new Float32Array(u.range, offset, UNIFORM_SLOT / 4) };
  }

  private pipeline(name: KernelName): GpuComputePipeline {
    let p = this.pipelines.get(name);
    if (!p) {
      const module = this.device.createShaderModule({ code: wgslSource(KERNELS[name]), label: name });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name });
      this.pipelines.set(name, p);
    }
    return p;
  }

  private enc(): GpuCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

function g(s: Storage): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new Error(`webgpu backend: expected a device buffer, got ${s.constructor.name}`);
  return s;
}

/** The view of `s` starting `off` elements in (offsets of copy kernels fold into the binding offset). */
function at(s: GpuStorage, off: number): GpuStorage {
  return off === 0 ? s : new GpuStorage(s.buffer, s.offset + off, s.size - off, false);
}

/** Bytes of a buffer of n float32 values (at least 4: WebGPU bindings cannot be empty). */
function byteSize(n: number): number {
  return Math.max(4, n * 4);
}

function inferenceOnly(kernel: string): never {
  throw new Error(`webgpu backend: ${kernel} is not part of this backend, which runs the forward ops of sampling (the browser sampler page); use the js, cpu or cuda backend`);
}
