/**
 * The FID Inception-v3 ("pt_inception-2015-12-05"), as pytorch-fid builds it for the published
 * FID/IS protocol: torchvision's Inception3 without aux logits and with a 1008-way fc, patched so
 *  - Mixed_5b/5c/5d (A), 6b–6e (C) and 7b (E_1) average-pool their pool branch with
 *    count_include_pad=False (TensorFlow's average pool ignores the padding),
 *  - Mixed_7c (E_2) max-pools its pool branch (3×3, stride 1, pad 1),
 *  - every conv is Conv(no bias) → BatchNorm(eps 1e-3) → ReLU.
 * Input x in [0, 1] (N×3×H×W, float or uint8/255) is resized bilinearly to 299×299
 * (align_corners=False, no antialias), scaled to [−1, 1]; pool3 is the 2048-d global average.
 * Inception Score uses `logits` = pool3·Wᵀ (fc *without* bias: the TF graph's
 * softmax/logits/MatMul, which the published IS code reads); `logitsWithBias` adds fc.bias.
 *
 * Parameters are declared in a ParamStore under the checkpoint's exact keys
 * (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.running_mean`, `fc.weight`, …). For speed the
 * BatchNorm is folded into each conv once after loading: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε).
 *
 * Shape letters: N batch, C channels, H W spatial. Full-width shapes at 299: 3 → 32×149² → 32×147²
 * → 64×147² → 64×73² → 80×73² → 192×71² → 192×35² → 256 → 288 → 288×35² → 768×17² ×4 → 1280×8²
 * → 2048×8² → 2048.
 */
import type { Backend } from '../engine/backend.ts';
import { Tensor } from '../engine/tensor.ts';
import { tidy, noGrad, keep } from '../engine/context.ts';
import { tensor } from '../engine/ops/create.ts';
import { conv2d } from '../engine/ops/conv2d.ts';
import { relu } from '../engine/ops/activation.ts';
import { linear } from '../engine/ops/linear.ts';
import { affine } from '../engine/ops/arith.ts';
import { concat } from '../engine/ops/concat.ts';
import { avgPool2d, maxPool2d, globalAvgPool } from '../engine/ops/pool.ts';
import { resizeBilinear } from '../engine/ops/upsample.ts';
import { ParamStore, type Param } from '../nn/params.ts';
import { toFloat32, type NdArray } from '../io/ndarray.ts';
import { padZeros } from './inception-ops.ts';

/** TF's average pool in the FID blocks: 3×3, stride 1, pad 1, padding not counted. */
const avgPool3x3ExcludePad = (x: Tensor): Tensor => avgPool2d(x, { kernel: 3, stride: 1, pad: 1, countIncludePad: false });
/** The stem's and Mixed_6a/7a's 3×3 stride-2 max pool, no padding. */
const maxPool3x3s2 = (x: Tensor): Tensor => maxPool2d(x, { kernel: 3, stride: 2 });
const concatChannels = (xs: Tensor[]): Tensor => concat(xs, 1);

/** Architecture knobs; the defaults (`FID_INCEPTION_CONFIG`) are the published network. */
export interface InceptionConfig {
  /** Every channel count is divided by this (1 = published; tests use 16). */
  widthDivisor: number;
  /** fc outputs (1008 in the published checkpoint). */
  numClasses: number;
  /** Side of the square network input the images are resized to (299 published; ≥ 75). */
  inputSize: number;
}

/** The published FID Inception-v3. */
export const FID_INCEPTION_CONFIG: Readonly<InceptionConfig> = Object.freeze({ widthDivisor: 1, numClasses: 1008, inputSize: 299 });

/** Forward outputs, all N×D float32 tensors. */
export interface InceptionOutputs {
  /** N×2048 (÷ widthDivisor) global-average-pooled Mixed_7c features (FID, P&R, KID). */
  pool3: Tensor;
  /** N×numClasses, pool3·fc.weightᵀ without bias (Inception Score). */
  logits: Tensor;
  /** N×numClasses, with fc.bias added (the classifier's true logits). */
  logitsWithBias: Tensor;
}

const BN_EPS = 1e-3;

/** Conv(bias=False) + BatchNorm(eps 1e-3) + ReLU, named `<prefix>.conv.*` / `<prefix>.bn.*`. */
class BasicConv2d {
  private readonly w: Param;
  private readonly gamma: Param;
  private readonly beta: Param;
  private readonly mean: Param;
  private readonly variance: Param;
  private folded: { w: Tensor; b: Tensor } | null = null;

  constructor(store: ParamStore, prefix: string, ci: number, readonly co: number, readonly kh: number, readonly kw: number,
    readonly stride = 1, readonly ph = 0, readonly pw = 0) {
    const fanIn = ci * kh * kw;
    this.w = store.declare(`${prefix}.conv.weight`, [co, ci, kh, kw], { kind: 'normal', std: Math.sqrt(2 / fanIn) }, false);
    this.gamma = store.declare(`${prefix}.bn.weight`, [co], { kind: 'ones' }, false);
    this.beta = store.declare(`${prefix}.bn.bias`, [co], { kind: 'zeros' }, false);
    this.mean = store.declare(`${prefix}.bn.running_mean`, [co], { kind: 'zeros' }, false);
    this.variance = store.declare(`${prefix}.bn.running_var`, [co], { kind: 'ones' }, false);
  }

  /** Fold the BatchNorm into a conv weight and bias (float64 maths, float32 result). */
  fold(backend: Backend): void {
    this.release();
    const w = this.w.value.toArray();
    const g = this.gamma.value.toArray();
    const b = this.beta.value.toArray();
    const m = this.mean.value.toArray();
    const v = this.variance.value.toArray();
    const per = w.length / this.co;
    const wf = new Float32Array(w.length);
    const bf = new Float32Array(this.co);
    for (let c = 0; c < this.co; c++) {
      const s = g[c]! / Math.sqrt(v[c]! + BN_EPS);
      for (let i = 0; i < per; i++) wf[c * per + i] = w[c * per + i]! * s;
      bf[c] = b[c]! - m[c]! * s;
    }
    this.folded = {
      w: keep(tensor(wf, this.w.shape, { backend })),
      b: keep(tensor(bf, [this.co], { backend })),
    };
  }

  release(): void {
    this.folded?.w.dispose();
    this.folded?.b.dispose();
    this.folded = null;
  }

  forward(x: Tensor): Tensor {
    if (!this.folded) throw new Error('FidInceptionV3: weights are not prepared (call materialize() or loadStateDict())');
    let input = x;
    let pad = this.ph;
    if (this.ph !== this.pw) {
      input = padZeros(x, this.ph, this.pw);
      pad = 0;
    }
    return relu(conv2d(input, this.folded.w, this.folded.b, { stride: this.stride, pad }));
  }
}

type Conv = BasicConv2d;
type Block = (x: Tensor) => Tensor;

/** A conv factory scoped to one block: `c('branch1x1', ci, co, 1)` etc. */
function convs(store: ParamStore, prefix: string, all: Conv[]) {
  return (name: string, ci: number, co: number, kh: number, kw = kh, stride = 1, ph = 0, pw = ph): Conv => {
    const c = new BasicConv2d(store, `${prefix}.${name}`, ci, co, kh, kw, stride, ph, pw);
    all.push(c);
    return c;
  };
}

/** FIDInceptionA (Mixed_5b/5c/5d): 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | avgpool(excl. pad)→1×1. */
function blockA(store: ParamStore, prefix: string, all: Conv[], d: number, ci: number, pool: number): { out: number; f: Block } {
  const c = convs(store, prefix, all);
  const b1 = c('branch1x1', ci, 64 / d, 1);
  const b5a = c('branch5x5_1', ci, 48 / d, 1);
  const b5b = c('branch5x5_2', 48 / d, 64 / d, 5, 5, 1, 2);
  const b3a = c('branch3x3dbl_1', ci, 64 / d, 1);
  const b3b = c('branch3x3dbl_2', 64 / d, 96 / d, 3, 3, 1, 1);
  const b3c = c('branch3x3dbl_3', 96 / d, 96 / d, 3, 3, 1, 1);
  const bp = c('branch_pool', ci, pool, 1);
  return {
    out: (64 + 64 + 96) / d + pool,
    f: (x) => concatChannels([b1.forward(x), b5b.forward(b5a.forward(x)), b3c.forward(b3b.forward(b3a.forward(x))), bp.forward(avgPool3x3ExcludePad(x))]),
  };
}

/** Mixed_6a (InceptionB): 3×3/2 | 1×1→3×3→3×3/2 | maxpool 3×3/2. */
function blockB(store: ParamStore, prefix: string, all: Conv[], d: number, ci: number): { out: number; f: Block } {
  const c = convs(store, prefix, all);
  const b3 = c('branch3x3', ci, 384 / d, 3, 3, 2);
  const bda = c('branch3x3dbl_1', ci, 64 / d, 1);
  const bdb = c('branch3x3dbl_2', 64 / d, 96 / d, 3, 3, 1, 1);
  const bdc = c('branch3x3dbl_3', 96 / d, 96 / d, 3, 3, 2);
  return {
    out: (384 + 96) / d + ci,
    f: (x) => concatChannels([b3.forward(x), bdc.forward(bdb.forward(bda.forward(x))), maxPool3x3s2(x)]),
  };
}

/** FIDInceptionC (Mixed_6b–6e): 1×1 | 1×1→1×7→7×1 | 1×1→7×1→1×7→7×1→1×7 | avgpool(excl. pad)→1×1. */
function blockC(store: ParamStore, prefix: string, all: Conv[], d: number, ci: number, c7: number): { out: number; f: Block } {
  const c = convs(store, prefix, all);
  const b1 = c('branch1x1', ci, 192 / d, 1);
  const s1 = c('branch7x7_1', ci, c7, 1);
  const s2 = c('branch7x7_2', c7, c7, 1, 7, 1, 0, 3);
  const s3 = c('branch7x7_3', c7, 192 / d, 7, 1, 1, 3, 0);
  const t1 = c('branch7x7dbl_1', ci, c7, 1);
  const t2 = c('branch7x7dbl_2', c7, c7, 7, 1, 1, 3, 0);
  const t3 = c('branch7x7dbl_3', c7, c7, 1, 7, 1, 0, 3);
  const t4 = c('branch7x7dbl_4', c7, c7, 7, 1, 1, 3, 0);
  const t5 = c('branch7x7dbl_5', c7, 192 / d, 1, 7, 1, 0, 3);
  const bp = c('branch_pool', ci, 192 / d, 1);
  return {
    out: 4 * 192 / d,
    f: (x) => concatChannels([
      b1.forward(x),
      s3.forward(s2.forward(s1.forward(x))),
      t5.forward(t4.forward(t3.forward(t2.forward(t1.forward(x))))),
      bp.forward(avgPool3x3ExcludePad(x)),
    ]),
  };
}

/** Mixed_7a (InceptionD): 1×1→3×3/2 | 1×1→1×7→7×1→3×3/2 | maxpool 3×3/2. */
function blockD(store: ParamStore, prefix: string, all: Conv[], d: number, ci: number): { out: number; f: Block } {
  const c = convs(store, prefix, all);
  const a1 = c('branch3x3_1', ci, 192 / d, 1);
  const a2 = c('branch3x3_2', 192 / d, 320 / d, 3, 3, 2);
  const b1 = c('branch7x7x3_1', ci, 192 / d, 1);
  const b2 = c('branch7x7x3_2', 192 / d, 192 / d, 1, 7, 1, 0, 3);
  const b3 = c('branch7x7x3_3', 192 / d, 192 / d, 7, 1, 1, 3, 0);
  const b4 = c('branch7x7x3_4', 192 / d, 192 / d, 3, 3, 2);
  return {
    out: (320 + 192) / d + ci,
    f: (x) => concatChannels([a2.forward(a1.forward(x)), b4.forward(b3.forward(b2.forward(b1.forward(x)))), maxPool3x3s2(x)]),
  };
}

/**
 * FIDInceptionE_1 (Mixed_7b, avg pool excl. pad) / E_2 (Mixed_7c, max pool):
 * 1×1 | 1×1→[1×3, 3×1] | 1×1→3×3→[1×3, 3×1] | pool→1×1.
 */
function blockE(store: ParamStore, prefix: string, all: Conv[], d: number, ci: number, pool: 'avg' | 'max'): { out: number; f: Block } {
  const c = convs(store, prefix, all);
  const b1 = c('branch1x1', ci, 320 / d, 1);
  const s1 = c('branch3x3_1', ci, 384 / d, 1);
  const s2a = c('branch3x3_2a', 384 / d, 384 / d, 1, 3, 1, 0, 1);
  const s2b = c('branch3x3_2b', 384 / d, 384 / d, 3, 1, 1, 1, 0);
  const t1 = c('branch3x3dbl_1', ci, 448 / d, 1);
  const t2 = c('branch3x3dbl_2', 448 / d, 384 / d, 3, 3, 1, 1);
  const t3a = c('branch3x3dbl_3a', 384 / d, 384 / d, 1, 3, 1, 0, 1);
  const t3b = c('branch3x3dbl_3b', 384 / d, 384 / d, 3, 1, 1, 1, 0);
  const bp = c('branch_pool', ci, 192 / d, 1);
  const poolFn = (x: Tensor): Tensor => {
    switch (pool) {
      case 'avg': return avgPool3x3ExcludePad(x);
      case 'max': return maxPool2d(x, { kernel: 3, stride: 1, pad: 1 });
      default: {
        const never: never = pool;
        throw new Error(`unknown pool ${String(never)}`);
      }
    }
  };
  return {
    out: (320 + 4 * 384 + 192) / d,
    f: (x) => {
      const s = s1.forward(x);
      const t = t2.forward(t1.forward(x));
      return concatChannels([b1.forward(x), s2a.forward(s), s2b.forward(s), t3a.forward(t), t3b.forward(t), bp.forward(poolFn(x))]);
    },
  };
}

/** The FID Inception-v3 on our engine. Build, then `materialize` (random) or `loadStateDict`. */
export class FidInceptionV3 {
  readonly store = new ParamStore();
  readonly config: Readonly<InceptionConfig>;
  /** pool3 width (2048 ÷ widthDivisor). */
  readonly dim: number;
  private readonly convList: Conv[] = [];
  private readonly stem: Conv[];
  private readonly blocks: Block[] = [];
  private readonly fcW: Param;
  private readonly fcB: Param;

  constructor(config: Partial<InceptionConfig> = {}) {
    const cfg = { ...FID_INCEPTION_CONFIG, ...config };
    const d = cfg.widthDivisor;
    for (const ch of [32, 48, 80, 96, 128, 160, 192, 320, 384, 448]) {
      if (!Number.isInteger(d) || d < 1 || ch % d !== 0) throw new Error(`FidInceptionV3: widthDivisor ${d} must divide every channel count (use 1, 2, 4, 8 or 16)`);
    }
    if (!(Number.isInteger(cfg.inputSize) && cfg.inputSize >= 75)) throw new Error(`FidInceptionV3: inputSize must be an integer ≥ 75, got ${cfg.inputSize}`);
    this.config = Object.freeze(cfg);
    const s = this.store;
    const all = this.convList;
    const c = (name: string, ci: number, co: number, k: number, stride = 1, pad = 0): Conv => {
      const conv = new BasicConv2d(s, name, ci, co, k, k, stride, pad, pad);
      all.push(conv);
      return conv;
    };
    this.stem = [
      c('Conv2d_1a_3x3', 3, 32 / d, 3, 2),
      c('Conv2d_2a_3x3', 32 / d, 32 / d, 3),
      c('Conv2d_2b_3x3', 32 / d, 64 / d, 3, 1, 1),
      c('Conv2d_3b_1x1', 64 / d, 80 / d, 1),
      c('Conv2d_4a_3x3', 80 / d, 192 / d, 3),
    ];
    let ch = 192 / d;
    const add = (b: { out: number; f: Block }): void => {
      this.blocks.push(b.f);
      ch = b.out;
    };
    add(blockA(s, 'Mixed_5b', all, d, ch, 32 / d));
    add(blockA(s, 'Mixed_5c', all, d, ch, 64 / d));
    add(blockA(s, 'Mixed_5d', all, d, ch, 64 / d));
    add(blockB(s, 'Mixed_6a', all, d, ch));
    add(blockC(s, 'Mixed_6b', all, d, ch, 128 / d));
    add(blockC(s, 'Mixed_6c', all, d, ch, 160 / d));
    add(blockC(s, 'Mixed_6d', all, d, ch, 160 / d));
    add(blockC(s, 'Mixed_6e', all, d, ch, 192 / d));
    add(blockD(s, 'Mixed_7a', all, d, ch));
    add(blockE(s, 'Mixed_7b', all, d, ch, 'avg'));
    add(blockE(s, 'Mixed_7c', all, d, ch, 'max'));
    this.dim = ch;
    this.fcW = s.declare('fc.weight', [cfg.numClasses, ch], { kind: 'normal', std: 1 / Math.sqrt(ch) }, false);
    this.fcB = s.declare('fc.bias', [cfg.numClasses], { kind: 'zeros' }, false);
  }

  /** Allocate the parameters on `backend` with seeded random values (tests, benchmarks). */
  materialize(backend: Backend, seed = 0): this {
    this.store.materialize(backend, seed);
    this.prepare();
    return this;
  }

  /**
   * Load a state dict (from `loadStateDictFile` on the .pth / safetensors file). BatchNorm
   * `num_batches_tracked` counters are ignored; every other key must match exactly. Allocates on
   * `backend` first if the model is not materialized yet.
   */
  loadStateDict(sd: Map<string, NdArray>, backend?: Backend): this {
    if (!this.isMaterialized()) {
      if (!backend) throw new Error('FidInceptionV3.loadStateDict: pass a backend for a model that is not materialized');
      this.store.materialize(backend, 0);
    }
    const values = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [k, v] of sd) {
      if (k.endsWith('.num_batches_tracked')) continue;
      values.set(k, { shape: v.shape, data: toFloat32(v) });
    }
    this.store.loadStateDict(values);
    this.prepare();
    return this;
  }

  private isMaterialized(): boolean {
    try {
      void this.store.arena;
      return true;
    } catch {
      return false;
    }
  }

  /** Re-fold every BatchNorm after the parameters changed. */
  prepare(): void {
    for (const c of this.convList) c.fold(this.store.backend);
  }

  /** Values in the state dict: 23,885,392 for the published net (23,850,960 learnable + BN running statistics). */
  get numel(): number {
    return this.store.numel;
  }

  /**
   * Network input from host images in [0, 1] (float) or 0..255 (uint8), N×3×H×W: bilinear resize
   * to inputSize² (align_corners=False, no antialias), then x·2 − 1.
   */
  preprocess(images: Float32Array | Float64Array | Uint8Array, n: number, h: number, w: number): Tensor {
    const S = this.config.inputSize;
    if (images.length !== n * 3 * h * w) throw new Error(`FidInceptionV3: ${images.length} values are not ${n}×3×${h}×${w} images`);
    return tidy(() => {
      const x = tensor(images instanceof Uint8Array ? Float32Array.from(images, (v) => v / 255) : images, [n, 3, h, w], { backend: this.store.backend });
      return affine(resizeBilinear(x, S, S), 2, -1);
    });
  }

  /**
   * Run the network on a preprocessed N×3×S×S tensor in [−1, 1]. No gradients. Each stage runs in
   * its own scope and frees its input, so at most one block's activations are alive at a time
   * (a batch of 50 at 299² needs ≈ 0.3 GB per stem activation).
   */
  forwardPreprocessed(x: Tensor): InceptionOutputs {
    return noGrad(() => tidy(() => {
      let h = x;
      const stage = (f: (t: Tensor) => Tensor): void => {
        const prev = h;
        h = tidy(() => f(prev));
        if (prev !== x) prev.dispose();
      };
      const [c1a, c2a, c2b, c3b, c4a] = this.stem as [Conv, Conv, Conv, Conv, Conv];
      for (const f of [(t: Tensor) => c1a.forward(t), (t: Tensor) => c2a.forward(t), (t: Tensor) => c2b.forward(t), maxPool3x3s2,
        (t: Tensor) => c3b.forward(t), (t: Tensor) => c4a.forward(t), maxPool3x3s2, ...this.blocks]) stage(f);
      const pool3 = globalAvgPool(h);
      const logits = linear(pool3, this.fcW.value, null);
      const logitsWithBias = linear(pool3, this.fcW.value, this.fcB.value);
      return { pool3, logits, logitsWithBias };
    }));
  }

  /** Preprocess host images (see `preprocess`) and run the network. */
  forward(images: Float32Array | Float64Array | Uint8Array, n: number, h: number, w: number): InceptionOutputs {
    return tidy(() => this.forwardPreprocessed(this.preprocess(images, n, h, w)));
  }

  /** Free the folded weights and the parameter arenas' views held by this model. */
  dispose(): void {
    for (const c of this.convList) c.release();
    for (const p of this.store.params) p.value.dispose();
  }
}
