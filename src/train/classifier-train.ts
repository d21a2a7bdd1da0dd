/**
 * Supervised training of image classifiers: the domain classifier of the shapes datasets and the
 * downstream ResNet-32 (docs/DESIGN.md §1.7); their evaluation is classifier-eval.ts.
 *
 * Shapes: B batch, C channels (3 RGB, 1 grey), S image size, K classes, D feature size. Batches come from the seeded
 * `BatchLoader` (shuffle + random horizontal flip, [−1, 1] scaling), optionally followed by a
 * random crop with zero padding (torchvision `RandomCrop(S, padding)`; the padding is black, −1).
 * One step: logits = net(x, train) → mean cross-entropy → backward → optimiser.
 *
 * The ResNet-32 recipe is LDAM-DRW's cross-entropy baseline (`cifar_train.py`): SGD momentum 0.9,
 * weight decay 2e-4, lr 0.1 with linear warm-up over 5 epochs, ×0.01 steps at epochs 160 and 180
 * of 200, batch 128, crop padding 4 + flip. Here the decay points are fractions of the epochs
 * asked for (0.8 and 0.9), so short runs keep the schedule's shape.
 */
import { tensor } from '../engine/ops/create.ts';
import { crossEntropy } from '../engine/ops/softmax.ts';
import { tidy } from '../engine/context.ts';
import { backward } from '../engine/autograd.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { BatchLoader, type LoaderState } from '../data/loader.ts';
import { SmallClassifier, smallClassifierConfig, type ClassifierNet } from '../models/classifier.ts';
import { ResNet32 } from '../models/resnet32.ts';
import { Adam } from './optimizer.ts';
import { WeightDecay, SgdMomentum } from './sgd.ts';
import { Rng, type RngState } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';
import { fieldName, type SettingNamer } from '../util/setting-names.ts';

/** Classifier architectures. */
export type ClassifierArch = 'resnet32' | 'small';
export const CLASSIFIER_ARCHS: readonly ClassifierArch[] = ['resnet32', 'small'];

/** Optimisers. */
export type ClassifierOptimizer = 'sgd' | 'adam';

/** A network of `arch` (not yet materialized). */
export function buildClassifier(arch: ClassifierArch, numClasses: number, imageSize: number, channels: 1 | 3 = 3, names: SettingNamer = fieldName): ClassifierNet {
  switch (arch) {
    case 'resnet32':
      return new ResNet32({ numClasses, imageSize, channels });
    case 'small':
      if (imageSize !== 16 && imageSize !== 32) throw new CbdmError(`the small classifier takes 16 or 32 pixel images, not ${imageSize}; use ${names('arch')} resnet32`);
      return new SmallClassifier(smallClassifierConfig(numClasses, imageSize, channels));
    default: {
      const never: never = arch;
      throw new CbdmError(`unknown architecture '${String(never)}': choose one of ${CLASSIFIER_ARCHS.join(', ')}`);
    }
  }
}

/** Training hyper-parameters. */
export interface ClassifierTrainConfig {
  /** Passes over the training set. */
  epochs: number;
  /** Exact number of optimiser steps; overrides `epochs` when set (tests, quick runs). */
  steps?: number;
  batchSize: number;
  optimizer: ClassifierOptimizer;
  /** Peak learning rate. */
  lr: number;
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  /** L2 weight decay added to the gradient (PyTorch SGD's `weight_decay`). */
  weightDecay: number;
  /** Linear warm-up length in epochs (fraction allowed). */
  warmupEpochs: number;
  /** Fractions of training after which the lr is multiplied by `decayFactor` (cumulative). */
  decayAt: readonly number[];
  decayFactor: number;
  /** Random horizontal flip. */
  flip: boolean;
  /** Random-crop zero padding in pixels (0 = no crop). */
  cropPad: number;
  /** Seed of initialisation, shuffling and augmentation. */
  seed: number;
}

/** LDAM-DRW's ResNet-32 cross-entropy recipe (200 epochs). */
export const RESNET32_RECIPE: ClassifierTrainConfig = {
  epochs: 200, batchSize: 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 2e-4,
  warmupEpochs: 5, decayAt: [0.8, 0.9], decayFactor: 0.1, flip: true, cropPad: 4, seed: 0,
};

/** The small classifier's recipe: Adam lr 2e-3, 3 epochs, warm-up 0.1 epoch, lr ×0.2 at 70% and again at 90%. */
export const SMALL_RECIPE: ClassifierTrainConfig = {
  epochs: 3, batchSize: 64, optimizer: 'adam', lr: 2e-3, momentum: 0.9, weightDecay: 0,
  warmupEpochs: 0.1, decayAt: [0.7, 0.9], decayFactor: 0.2, flip: true, cropPad: 0, seed: 0,
};

/** The default recipe of an architecture. */
export function defaultRecipe(arch: ClassifierArch): ClassifierTrainConfig {
  switch (arch) {
    case 'resnet32': return { ...RESNET32_RECIPE };
    case 'small': return { ...SMALL_RECIPE };
    default: {
      const never: never = arch;
      throw new CbdmError(`unknown architecture '${String(never)}'`);
    }
  }
}

/** Steps per epoch (the last batch of an epoch runs into the next) and steps of the run, for `n` training images. */
export function classifierSteps(cfg: ClassifierTrainConfig, n: number): { perEpoch: number; total: number } {
  const perEpoch = Math.max(1, Math.ceil(n / cfg.batchSize));
  return { perEpoch, total: cfg.steps ?? Math.max(1, Math.round(cfg.epochs * perEpoch)) };
}

/** Learning rate at step k of `total`, with `perEpoch` steps per epoch. */
export function classifierLr(cfg: ClassifierTrainConfig, k: number, total: number, perEpoch: number): number {
  const warm = cfg.warmupEpochs * perEpoch;
  let lr = warm > 0 && k < warm ? cfg.lr * (k + 1) / warm : cfg.lr;
  for (const f of cfg.decayAt) if (k >= f * total) lr *= cfg.decayFactor;
  return lr;
}

/**
 * Random crop with zero padding, in place on a batch x (B×C×S×S, [−1, 1]): each image is shifted
 * by (dy, dx) ∈ [−pad, pad]², uncovered pixels set to −1 (black), as RandomCrop(S, padding=pad).
 */
export function randomCropInPlace(x: Float32Array, B: number, S: number, pad: number, rng: Rng, C = 3): void {
  if (pad <= 0) return;
  const plane = S * S;
  const tmp = new Float32Array(plane);
  for (let b = 0; b < B; b++) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      tmp.set(x.subarray(base, base + plane));
      for (let i = 0; i < S; i++) {
        const si = i + dy;
        for (let j = 0; j < S; j++) {
          const sj = j + dx;
          x[base + i * S + j] = si >= 0 && si < S && sj >= 0 && sj < S ? tmp[si * S + sj]! : -1;
        }
      }
    }
  }
}

/** Progress of a training run, reported every `logEvery` steps. */
export interface ClassifierLog {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  imgPerS: number;
}

export interface ClassifierTrainOptions {
  /** Called every `logEvery` steps (default 50) and at the end. */
  onLog?: (r: ClassifierLog) => void;
  logEvery?: number;
  /**
   * Continue a run from this state (taken by `state()` of a trainer with the same network,
   * dataset, config and `logEvery`); the network's arena must hold the weights saved with it.
   */
  resumeFrom?: ClassifierTrainState;
}

export interface ClassifierTrainResult {
  steps: number;
  /** Training seconds (summed over the processes of a resumed run). */
  seconds: number;
  /** Mean loss of each logging window. */
  losses: number[];
}

/** The optimiser's state: SGD's momentum buffer, or Adam's moments and step count. */
export type ClassifierOptimizerState =
  | { kind: 'sgd'; momentum: Float32Array | Float64Array }
  | { kind: 'adam'; step: number; m: Float32Array | Float64Array; v: Float32Array | Float64Array };

/**
 * Everything the later steps of a run depend on besides the network's arena (weights and
 * batch-norm running statistics): with both restored, the continuation is bit for bit the
 * uninterrupted run's (the lr schedule is a function of the step, the crop and loader streams are
 * restored, the epoch orders are a function of the seed).
 */
export interface ClassifierTrainState {
  /** Optimiser steps done. */
  step: number;
  loader: LoaderState;
  cropRng: RngState;
  optimizer: ClassifierOptimizerState;
  /** Mean loss of each finished logging window, and the open window's loss sum and step count. */
  losses: number[];
  window: { loss: number; n: number };
  /** Training seconds so far. */
  seconds: number;
}

/**
 * One classifier training run, a step at a time (a caller can save `state()` between steps or
 * stop): logits = net(x, train) → cross-entropy → backward → weight decay → SGD/Adam at the
 * scheduled lr. Deterministic for a fixed seed and backend.
 */
export class ClassifierTrainer {
  /** Steps of the whole run, and steps per epoch. */
  readonly total: number;
  readonly perEpoch: number;
  private stepsDone = 0;
  private loader: BatchLoader;
  private cropRng: Rng;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  private readonly decay: WeightDecay;
  private readonly sgd: SgdMomentum | null;
  private readonly adam: Adam | null;
  private readonly logEvery: number;
  private losses: number[] = [];
  private windowLoss = 0;
  private windowN = 0;
  private secondsBefore = 0;
  private readonly t0 = performance.now();
  private tWindow = this.t0;

  constructor(readonly net: ClassifierNet, readonly ds: ImageDataset, readonly cfg: ClassifierTrainConfig, private readonly opts: ClassifierTrainOptions = {}) {
    if (ds.size !== net.config.imageSize) throw new CbdmError(`dataset ${ds.name} has ${ds.size}px images but the classifier expects ${net.config.imageSize}px`);
    if (ds.numClasses !== net.config.numClasses) throw new CbdmError(`dataset ${ds.name} has ${ds.numClasses} classes but the classifier has ${net.config.numClasses}`);
    if (ds.channels !== net.channels) throw new CbdmError(`dataset ${ds.name} has ${ds.channels}-channel images but the classifier takes ${net.channels}`);
    const B = cfg.batchSize;
    ({ perEpoch: this.perEpoch, total: this.total } = classifierSteps(cfg, ds.labels.length));
    if (!(Number.isInteger(this.total) && this.total >= 1)) throw new CbdmError(`classifier training needs at least one step, got ${this.total}`);
    this.loader = new BatchLoader(ds, { batchSize: B, seed: cfg.seed, flip: cfg.flip });
    this.cropRng = new Rng(cfg.seed, 0xc209);
    this.x = new Float32Array(B * ds.channels * ds.size * ds.size);
    this.y = new Int32Array(B);
    const store = net.store;
    this.decay = new WeightDecay(store, cfg.weightDecay);
    this.sgd = cfg.optimizer === 'sgd' ? new SgdMomentum(store, cfg.momentum) : null;
    this.adam = cfg.optimizer === 'adam'
      ? new Adam(store, { lr: cfg.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: 0, gradClip: 0 })
      : null;
    this.logEvery = opts.logEvery ?? 50;
    if (opts.resumeFrom) this.restore(opts.resumeFrom);
  }

  /** Steps done so far. */
  get step(): number {
    return this.stepsDone;
  }

  /** Whether every step of the run is done. */
  get done(): boolean {
    return this.stepsDone >= this.total;
  }

  /** One optimiser step (k = `step`, 0-based), logging at the end of each window. */
  runStep(): void {
    const { net, cfg, ds, x, y } = this;
    const k = this.stepsDone;
    const B = cfg.batchSize, C = ds.channels, S = ds.size;
    const store = net.store;
    this.loader.nextInto(x, y);
    randomCropInPlace(x, B, S, cfg.cropPad, this.cropRng, C);
    store.zeroGrad();
    const loss = tidy(() => {
      const xt = tensor(x, [B, C, S, S], { backend: store.backend, dtype: store.dtype });
      const l = crossEntropy(net.forward(xt, true).logits, y);
      backward(l);
      return l.item();
    });
    if (!Number.isFinite(loss)) throw new CbdmError(`classifier loss became ${loss} at step ${k}; lower the learning rate (now ${cfg.lr})`);
    const lr = classifierLr(cfg, k, this.total, this.perEpoch);
    this.decay.apply();
    if (this.sgd) this.sgd.update(lr);
    if (this.adam) {
      this.adam.cfg.lr = lr;
      this.adam.update();
    }
    this.stepsDone = k + 1;
    this.windowLoss += loss;
    this.windowN++;
    if ((k + 1) % this.logEvery === 0 || k + 1 === this.total) {
      const now = performance.now();
      const mean = this.windowLoss / this.windowN;
      this.losses.push(mean);
      this.opts.onLog?.({ step: k + 1, steps: this.total, loss: mean, lr, imgPerS: (this.windowN * B) / ((now - this.tWindow) / 1000) });
      this.windowLoss = 0;
      this.windowN = 0;
      this.tWindow = now;
    }
  }

  /** Training seconds so far, this process's and those before a resume. */
  get seconds(): number {
    return this.secondsBefore + (performance.now() - this.t0) / 1000;
  }

  /** The state to save with the network's arena (see ClassifierTrainState). */
  state(): ClassifierTrainState {
    const optimizer: ClassifierOptimizerState = this.sgd
      ? { kind: 'sgd', momentum: this.sgd.state() }
      : { kind: 'adam', ...this.adam!.state() };
    return {
      step: this.stepsDone, loader: this.loader.state(), cropRng: this.cropRng.state(), optimizer,
      losses: this.losses.slice(), window: { loss: this.windowLoss, n: this.windowN }, seconds: this.seconds,
    };
  }

  private restore(st: ClassifierTrainState): void {
    if (!(Number.isInteger(st.step) && st.step >= 0 && st.step <= this.total)) throw new CbdmError(`classifier state at step ${st.step} does not fit a run of ${this.total} steps`);
    if (st.optimizer.kind !== this.cfg.optimizer) throw new CbdmError(`classifier state holds ${st.optimizer.kind} state but the run uses ${this.cfg.optimizer}`);
    const o = st.optimizer;
    switch (o.kind) {
      case 'sgd': this.sgd!.load(o.momentum); break;
      case 'adam': this.adam!.load(o); break;
      default: {
        const never: never = o;
        throw new CbdmError(`unknown optimiser state ${String((never as { kind: unknown }).kind)}`);
      }
    }
    this.loader = BatchLoader.restore(this.ds, { batchSize: this.cfg.batchSize, seed: this.cfg.seed, flip: this.cfg.flip }, st.loader);
    this.cropRng = Rng.fromState(st.cropRng);
    this.stepsDone = st.step;
    this.losses = st.losses.slice();
    this.windowLoss = st.window.loss;
    this.windowN = st.window.n;
    this.secondsBefore = st.seconds;
  }

  /** What the run has done so far. */
  result(): ClassifierTrainResult {
    return { steps: this.stepsDone, seconds: this.seconds, losses: this.losses.slice() };
  }

  /** Free the optimiser's buffers. */
  dispose(): void {
    this.decay.dispose();
    this.sgd?.dispose();
    if (this.adam) {
      this.net.store.backend.free(this.adam.m);
      this.net.store.backend.free(this.adam.v);
    }
  }
}

/** Train a (materialized) network on a labelled dataset to the end, in one call. */
export function trainClassifier(net: ClassifierNet, ds: ImageDataset, cfg: ClassifierTrainConfig, opts: ClassifierTrainOptions = {}): ClassifierTrainResult {
  const t = new ClassifierTrainer(net, ds, cfg, opts);
  try {
    while (!t.done) t.runStep();
    return t.result();
  } finally {
    t.dispose();
  }
}
