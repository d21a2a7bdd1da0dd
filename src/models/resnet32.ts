/**
 * The CIFAR ResNet-32 of He et al. (2016, §4.2) as LDAM-DRW (Cao et al. 2019,
 * `models/resnet_cifar.py`, `resnet32`) defines it — the downstream classifier of long-tailed
 * recognition papers, CBDM's included.
 *
 *   x N×C×S×S → conv1 3×3(C→16) → bn1 → ReLU                        N×16×S×S
 *   layer1: 5 BasicBlocks, 16 ch, stride 1                          N×16×S×S
 *   layer2: 5 BasicBlocks, 32 ch, first stride 2                    N×32×S/2×S/2
 *   layer3: 5 BasicBlocks, 64 ch, first stride 2                    N×64×S/4×S/4
 *   global average pool → linear(64 → classes)                      N×classes
 *   BasicBlock: conv3×3(s) → BN → ReLU → conv3×3 → BN, + shortcut, → ReLU  (convs without bias)
 *
 * Shortcut: option A (LDAM-DRW's default and He et al.'s CIFAR choice): where the shape changes,
 * the identity is subsampled x[:, :, ::2, ::2] and zero-padded with planes/4 channels on each
 * side. It has no parameters, which is what gives the well-known 0.46 M count (464,154 for 10
 * classes); option B (1×1 conv + BN) would add parameters and is not what the published numbers
 * use. We compute it as a 1×1 stride-2 convolution with a fixed 0/1 selection matrix (not a
 * parameter): exactly the slice-and-pad, with its gradient for free.
 *
 * Init as LDAM-DRW's `_weights_init`: Kaiming-normal (fan_in, gain √2) for conv and linear weights,
 * BN γ = 1, β = 0, linear bias PyTorch's default U(±1/√fan_in). BatchNorm (momentum 0.1,
 * eps 1e-5) uses batch statistics and updates running statistics in training mode, and the
 * running statistics in eval mode. Parameter names follow the PyTorch state-dict keys.
 */
import { Tensor } from '../engine/tensor.ts';
import { tensor } from '../engine/ops/create.ts';
import { add } from '../engine/ops/arith.ts';
import { relu } from '../engine/ops/activation.ts';
import { conv2d } from '../engine/ops/conv2d.ts';
import { linear } from '../engine/ops/linear.ts';
import { globalAvgPool } from '../engine/ops/pool.ts';
import { batchNormTrain, batchNormInference, updateRunningStats } from '../engine/ops/batchnorm.ts';
import { keep } from '../engine/context.ts';
import type { Backend } from '../engine/backend.ts';
import { ParamStore, type Param } from '../nn/params.ts';
import { CbdmError } from '../util/errors.ts';
import type { ClassifierNet, ClassifierOutput } from './classifier.ts';

/** ResNet-32 shape: classes and input size (any multiple of 4; CIFAR 32, shapes 16 or 32). */
export interface ResNet32Config {
  numClasses: number;
  imageSize: number;
  /** Input channels: 3 (default) or 1 (greyscale). */
  channels?: 1 | 3;
}

/** Blocks per stage (ResNet-6n+2 with n = 5). */
export const RESNET32_BLOCKS = 5;
/** Channels of the three stages. */
export const RESNET32_WIDTHS: readonly [number, number, number] = [16, 32, 64];

/** Trainable parameters of ResNet-32 for `numClasses` classes (running statistics excluded). */
export function resnet32ParamCount(numClasses: number): number {
  const conv = (ci: number, co: number) => ci * co * 9;
  const bn = (c: number) => 2 * c;
  let n = conv(3, 16) + bn(16);
  let ci = 16;
  for (const co of RESNET32_WIDTHS) {
    for (let b = 0; b < RESNET32_BLOCKS; b++) {
      n += conv(ci, co) + bn(co) + conv(co, co) + bn(co);
      ci = co;
    }
  }
  return n + 64 * numClasses + numClasses;
}

/** BatchNorm2d with PyTorch's parameter and buffer names. */
export class BatchNorm2d {
  readonly weight: Param;
  readonly bias: Param;
  readonly runningMean: Param;
  readonly runningVar: Param;
  constructor(store: ParamStore, prefix: string, readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    this.weight = store.declare(`${prefix}.weight`, [channels], { kind: 'ones' });
    this.bias = store.declare(`${prefix}.bias`, [channels], { kind: 'zeros' });
    this.runningMean = store.declare(`${prefix}.running_mean`, [channels], { kind: 'zeros' }, false);
    this.runningVar = store.declare(`${prefix}.running_var`, [channels], { kind: 'ones' }, false);
  }

  /** Batch statistics (and a running-statistics update) when `train`, else running statistics. */
  forward(x: Tensor, train: boolean): Tensor {
    if (train) {
      const r = batchNormTrain(x, this.weight.value, this.bias.value, this.eps);
      updateRunningStats(this.runningMean.value, this.runningVar.value, r, this.momentum);
      return r.y;
    }
    return batchNormInference(x, this.runningMean.value, this.runningVar.value, this.weight.value, this.bias.value, this.eps);
  }
}

/** A 3×3 convolution without bias, Kaiming-normal initialised. */
class Conv3x3 {
  readonly weight: Param;
  constructor(store: ParamStore, name: string, ci: number, co: number, readonly stride: number) {
    this.weight = store.declare(`${name}.weight`, [co, ci, 3, 3], { kind: 'normal', std: Math.sqrt(2 / (ci * 9)) });
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight.value, null, { stride: this.stride, pad: 1 });
  }
}

/**
 * Option-A shortcut: y = pad_channels(x[:, :, ::2, ::2], Co/4 each side), as a 1×1 stride-2 conv
 * with fixed weights Co×Ci×1×1, w[c + Co/4, c] = 1 (cached per backend, not a parameter).
 */
export class OptionAShortcut {
  private readonly cache = new Map<Backend, Tensor>();
  constructor(readonly ci: number, readonly co: number) {
    if (co !== 2 * ci) throw new Error(`option-A shortcut expects the channels to double, got ${ci} → ${co}`);
  }

  forward(x: Tensor): Tensor {
    let w = this.cache.get(x.backend);
    if (w === undefined || w.disposed || w.dtype !== x.dtype) {
      const v = new Float32Array(this.co * this.ci);
      const pad = this.co / 4;
      for (let c = 0; c < this.ci; c++) v[(c + pad) * this.ci + c] = 1;
      w = keep(tensor(v, [this.co, this.ci, 1, 1], { backend: x.backend, dtype: x.dtype }));
      this.cache.set(x.backend, w);
    }
    return conv2d(x, w, null, { stride: 2, pad: 0 });
  }
}

/** conv → BN → ReLU → conv → BN, + shortcut, → ReLU. */
class BasicBlock {
  readonly conv1: Conv3x3;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv3x3;
  readonly bn2: BatchNorm2d;
  readonly shortcut: OptionAShortcut | null;
  constructor(store: ParamStore, prefix: string, ci: number, co: number, stride: number) {
    this.conv1 = new Conv3x3(store, `${prefix}.conv1`, ci, co, stride);
    this.bn1 = new BatchNorm2d(store, `${prefix}.bn1`, co);
    this.conv2 = new Conv3x3(store, `${prefix}.conv2`, co, co, 1);
    this.bn2 = new BatchNorm2d(store, `${prefix}.bn2`, co);
    this.shortcut = stride !== 1 || ci !== co ? new OptionAShortcut(ci, co) : null;
  }

  forward(x: Tensor, train: boolean): Tensor {
    const h = relu(this.bn1.forward(this.conv1.forward(x), train));
    const y = this.bn2.forward(this.conv2.forward(h), train);
    return relu(add(y, this.shortcut ? this.shortcut.forward(x) : x));
  }
}

/** ResNet-32 (see the module comment). */
export class ResNet32 implements ClassifierNet {
  readonly store = new ParamStore();
  readonly conv1: Conv3x3;
  readonly bn1: BatchNorm2d;
  readonly blocks: BasicBlock[] = [];
  readonly fcWeight: Param;
  readonly fcBias: Param;
  /** Feature dimension (the pooled layer3 output). */
  readonly featureDim = RESNET32_WIDTHS[2];
  /** Input channels (3 unless the config says 1). */
  readonly channels: number;

  constructor(readonly config: ResNet32Config) {
    const { numClasses, imageSize } = config;
    if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new CbdmError(`resnet32: numClasses must be an integer ≥ 2, got ${numClasses}`);
    if (!(Number.isInteger(imageSize) && imageSize >= 4 && imageSize % 4 === 0)) throw new CbdmError(`resnet32: image size must be a multiple of 4, got ${imageSize}`);
    const s = this.store;
    this.channels = config.channels ?? 3;
    if (this.channels !== 1 && this.channels !== 3) throw new CbdmError(`resnet32: channels must be 1 or 3, got ${this.channels}`);
    this.conv1 = new Conv3x3(s, 'conv1', this.channels, 16, 1);
    this.bn1 = new BatchNorm2d(s, 'bn1', 16);
    let ci = 16;
    RESNET32_WIDTHS.forEach((co, stage) => {
      for (let b = 0; b < RESNET32_BLOCKS; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1;
        this.blocks.push(new BasicBlock(s, `layer${stage + 1}.${b}`, ci, co, stride));
        ci = co;
      }
    });
    this.fcWeight = s.declare('linear.weight', [numClasses, ci], { kind: 'normal', std: Math.sqrt(2 / ci) });
    this.fcBias = s.declare('linear.bias', [numClasses], { kind: 'uniform', bound: 1 / Math.sqrt(ci) });
  }

  /** Trainable parameter count (running statistics excluded). */
  get numTrainable(): number {
    return this.store.params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  }

  /** Logits and pooled features of x (N×C×S×S); `train` selects batch statistics (and updates running ones). */
  forward(x: Tensor, train: boolean): ClassifierOutput {
    const S = this.config.imageSize;
    const C = this.channels;
    if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`ResNet32.forward: expected N×${C}×${S}×${S}, got [${x.shape.join(', ')}]`);
    }
    let h = relu(this.bn1.forward(this.conv1.forward(x), train));
    for (const b of this.blocks) h = b.forward(h, train);
    const features = globalAvgPool(h);
    return { features, logits: linear(features, this.fcWeight.value, this.fcBias.value) };
  }
}
