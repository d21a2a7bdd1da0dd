/**
 * The domain classifier of the embedded `shapes` datasets (docs/DESIGN.md §1.7): a small CNN trained on
 * balanced generator output, whose pooled features feed per-class domain-FID / recall and whose
 * logits say whether a class-c sample is recognisably class c.
 *
 *   x N×C×S×S in [−1, 1], S ∈ {16, 32}, C ∈ {1, 3}
 *   stem   Conv3×3(C→w1, stride S/16) → GN → ReLU          N×w1×16×16
 *          [Conv3×3(w1→w1) → GN → ReLU]  only with depths[0] = 2
 *   stage2 Conv3×3(w1→w2, s2) → GN → ReLU                   N×w2×8×8
 *          Conv3×3(w2→w2)     → GN → ReLU
 *   stage3 Conv3×3(w2→w3, s2) → GN → ReLU                   N×w3×4×4
 *          Conv3×3(w3→w3)     → GN → ReLU
 *   pool   global average                                   N×w3        (the feature, D = w3)
 *   fc     Linear(D→classes)                                N×classes   (logits)
 *
 * GroupNorm rather than BatchNorm: a sample's features then do not depend on the batch it was
 * extracted in, and there is no train/eval mode to get wrong in a metric. The 32×32 model uses a
 * stride-2 stem so both sizes cost about the same; the shapes are at least 7 px across at 32.
 */
import { Tensor } from '../engine/tensor.ts';
import { relu } from '../engine/ops/activation.ts';
import { globalAvgPool } from '../engine/ops/pool.ts';
import { ParamStore } from '../nn/params.ts';
import { Conv2d, GroupNorm, Linear } from '../nn/layers.ts';
import { CbdmError } from '../util/errors.ts';

/** Shape of the domain classifier. */
export interface SmallClassifierConfig {
  /** Number of classes (10 or 100 for shapes; any ≥ 2 works). */
  numClasses: number;
  /** Input size in pixels: 16 or 32. */
  imageSize: 16 | 32;
  /** Input channels: 3 (RGB) or 1 (greyscale). */
  channels: 1 | 3;
  /** Channels of the three stages; the last is the feature dimension D. */
  widths: readonly [number, number, number];
  /** GroupNorm groups (every width must be divisible by it). */
  groups: number;
  /**
   * Conv units per stage (default [1, 2, 2], the shapes classifier): [2, 2, 2] adds a second
   * unit at 16×16 (named `stage1.1`), as the Fashion-MNIST evaluator uses.
   */
  depths?: readonly [1 | 2, 2, 2];
}

/** Default widths: D = 64 features (measured: 99.3% / 99.9% held-out on shapes10 at 16 / 32 px; cheap on the js backend). */
export const DEFAULT_WIDTHS: readonly [number, number, number] = [16, 32, 64];

/** The default config for a class count and image size. */
export function smallClassifierConfig(numClasses: number, imageSize: 16 | 32, channels: 1 | 3 = 3): SmallClassifierConfig {
  return { numClasses, imageSize, channels, widths: DEFAULT_WIDTHS, groups: 8 };
}

/** Conv → GroupNorm → ReLU, the unit every stage repeats. */
class ConvUnit {
  readonly conv: Conv2d;
  readonly norm: GroupNorm;
  constructor(store: ParamStore, prefix: string, ci: number, co: number, stride: number, groups: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, ci, co, 3, stride, 1);
    this.norm = new GroupNorm(store, `${prefix}.norm`, co, groups);
  }

  forward(x: Tensor): Tensor {
    return relu(this.norm.forward(this.conv.forward(x)));
  }
}

/** Output of one forward pass. */
export interface ClassifierOutput {
  /** N×D pooled features. */
  features: Tensor;
  /** N×classes logits. */
  logits: Tensor;
}

/** What the classifier trainer needs of a network (SmallClassifier, ResNet32). */
export interface ClassifierNet {
  readonly store: ParamStore;
  /** Feature dimension D. */
  readonly featureDim: number;
  /** Input channels C (3 RGB, 1 greyscale). */
  readonly channels: number;
  readonly config: { numClasses: number; imageSize: number };
  /** Features and logits of x (N×C×S×S in [−1, 1]); `train` matters only for batch norm. */
  forward(x: Tensor, train: boolean): ClassifierOutput;
}

/** The small CNN above, parameters in one `ParamStore` arena. */
export class SmallClassifier implements ClassifierNet {
  readonly store = new ParamStore();
  readonly units: ConvUnit[];
  readonly fc: Linear;
  /** Feature dimension D. */
  readonly featureDim: number;
  readonly channels: number;

  constructor(readonly config: SmallClassifierConfig) {
    const { numClasses, imageSize, widths, groups } = config;
    if (config.channels !== 1 && config.channels !== 3) throw new CbdmError(`classifier: channels must be 1 or 3, got ${String(config.channels)}`);
    this.channels = config.channels;
    if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new CbdmError(`classifier: numClasses must be an integer ≥ 2, got ${numClasses}`);
    if (imageSize !== 16 && imageSize !== 32) throw new CbdmError(`classifier: image size must be 16 or 32, got ${String(imageSize)}`);
    for (const w of widths) {
      if (!(Number.isInteger(w) && w > 0 && w % groups === 0)) throw new CbdmError(`classifier: width ${w} must be a positive multiple of ${groups} groups`);
    }
    const [w1, w2, w3] = widths;
    const s = this.store;
    const extraStemUnit = (config.depths ?? [1, 2, 2])[0] === 2;
    this.units = [
      new ConvUnit(s, 'stem', config.channels, w1, imageSize / 16, groups),
      ...(extraStemUnit ? [new ConvUnit(s, 'stage1.1', w1, w1, 1, groups)] : []),
      new ConvUnit(s, 'stage2.0', w1, w2, 2, groups),
      new ConvUnit(s, 'stage2.1', w2, w2, 1, groups),
      new ConvUnit(s, 'stage3.0', w2, w3, 2, groups),
      new ConvUnit(s, 'stage3.1', w3, w3, 1, groups),
    ];
    this.fc = new Linear(s, 'fc', w3, numClasses);
    this.featureDim = w3;
  }

  /** Features and logits of a batch x (N×C×S×S, values in [−1, 1]); no batch norm, so `train` is unused. */
  forward(x: Tensor, _train = false): ClassifierOutput {
    const S = this.config.imageSize;
    const C = this.channels;
    if (x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`SmallClassifier.forward: expected N×${C}×${S}×${S}, got [${x.shape.join(', ')}]`);
    }
    let h = x;
    for (const u of this.units) h = u.forward(h);
    const features = globalAvgPool(h);
    return { features, logits: this.fc.forward(features) };
  }

  /** Multiply-accumulates of one forward pass of one image. */
  macs(): number {
    let H = this.config.imageSize;
    let total = 0;
    for (const u of this.units) {
      total += u.conv.macs(H, H);
      H = Math.floor((H + 2 - 3) / u.conv.stride) + 1;
    }
    return total + this.featureDim * this.config.numClasses;
  }
}
