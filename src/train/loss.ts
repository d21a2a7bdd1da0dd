/**
 * The training objectives of DDPM and CBDM (docs/DESIGN.md §1.2), on engine tensors.
 *
 *   t ~ U{0..T−1},  ε ~ N(0, I),  x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
 *   with probability p_drop (cfg or cb): y = ∅ for the whole batch
 *   h = ε_θ(x_t, t, y);                       L_ddpm = mean((h − ε)²)
 *   CBDM, y ≠ ∅:  y′ ~ Categorical(p),  h′ = ε_θ(x_t, t, y′),  w = τ·t/T
 *                 L_reg = mean(w·(h − sg(h′))²),  L_com = mean(w·(sg(h) − h′)²)
 *                 loss = L_ddpm + L_reg + γ·L_com
 *   T2H (Zhang et al. ICLR 2024): one pass, the target ε replaced by ε̃ of t2h.ts:
 *                 loss = mean((h − ε̃)²), the condition y unchanged
 *   CM (Hong et al. ICLR 2026, approximate — cm.ts): h with the low-rank branches, h_b without,
 *                 loss = mean((h − ε)²) + λ·L_CM(h, h_b), the same draws as DDPM
 *   CORAL (coral.ts), on top of DDPM or CBDM, y ≠ ∅: z from the bottleneck of the pass h,
 *                 loss += τ_sc·w·λ(t)·SupCon(z/‖z‖, y)
 * (published CBDM `diffusion.py`, GaussianDiffusionTrainer.forward: the same draws in the same
 * order — t, ε, the label-drop coin, then y′ — from our seeded Rng; T2H draws one uniform per
 * sample for its categorical choice after the coin.)
 */
import { Tensor } from '../engine/tensor.ts';
import { tensor } from '../engine/ops/create.ts';
import { add, scale } from '../engine/ops/arith.ts';
import { mse, weightedMse } from '../engine/ops/reduce.ts';
import type { Rng } from '../util/rng.ts';
import type { Schedule } from '../diffusion/schedule.ts';
import { transferTargets, type T2hOptions } from './t2h.ts';
import { capacityTerm, type CmOptions } from './cm.ts';
import { coralTerm, type CoralOptions } from './coral.ts';
import type { ProjectionHead } from '../models/projection-head.ts';
import { sampleTrainingInputs, drawLabelDrop, sampleCbdmLabels, cbdmWeights, type LabelPrior } from '../diffusion/training.ts';
import type { Method } from './settings.ts';

export { METHODS, type Method } from './settings.ts';
export type { LabelPrior };

/** The loss settings of a run: config.ts lossConfigOf derives them (and DEFAULT_LOSS) from the settings table. */
export interface LossConfig {
  method: Method;
  /** Classifier-free guidance training (label dropout) for DDPM; always on for CBDM. */
  cfg: boolean;
  labelDropProb: number;
  tau: number;
  gamma: number;
  prior: LabelPrior;
  /** T2H's transfer settings (used by method t2h). */
  t2h: T2hOptions;
  /** CM's settings (method cm; only λ is used here, the rank ratio shapes the network). */
  cm: CmOptions;
  /** CORAL's contrastive term on the bottleneck (DDPM or CBDM); null: off. */
  coral: CoralOptions | null;
}

/**
 * Anything that predicts ε from (x_t, t, y): the UNet in training mode. With CORAL it must hand
 * its middle-block output to `onBottleneck` (UNet's ForwardOptions.onBottleneck).
 */
export type EpsNet = (xt: Tensor, t: Int32Array, y: Int32Array | null, onBottleneck?: (hMid: Tensor) => void) => Tensor;

/** CM's two passes: with the low-rank branches and without (cm-branches.ts twoPassNet); full runs first. */
export interface TwoPassNet {
  full: EpsNet;
  base: EpsNet;
}

export interface LossParts {
  loss: Tensor;
  lDdpm: number;
  lReg: number;
  lCom: number;
  /** CORAL's SupCon value L_con (0 when off or on a label-dropped batch). */
  lCon: number;
  /** Whether the labels were dropped for this batch. */
  dropped: boolean;
  /** CM: λ·L_CM (method cm only). */
  lCm?: number;
}

/** The random inputs of one training step, drawn host-side so every backend sees the same numbers. */
export interface StepDraws {
  t: Int32Array;
  eps: Float32Array;
  xt: Float32Array;
  dropped: boolean;
  yPrime: Int32Array | null;
  /** T2H: one uniform per sample for the transfer draw. */
  transferU: Float64Array | null;
}

/** What one step's draws depend on: the batch's images, its size, the loss settings and the stream. */
export interface StepDrawInputs extends Pick<LossBatch, 'x0' | 'sched' | 'cfg' | 'counts'> {
  /** B, the number of images in x0. */
  batch: number;
  rng: Rng;
}

/** Draw t, ε, x_t, the label-drop coin and y′ in the published order. */
export function drawStep({ x0, batch: B, sched, cfg, counts, rng }: StepDrawInputs): StepDraws {
  const { t, eps, xt } = sampleTrainingInputs(x0, B, rng, sched);
  const dropped = (cfg.cfg || cfg.method === 'cbdm') && drawLabelDrop(rng, cfg.labelDropProb);
  const yPrime = cfg.method === 'cbdm' && !dropped ? sampleCbdmLabels(rng, B, cfg.prior, counts) : null;
  // T2H transfers on every step, dropped labels included (the released code gates on y_0 alone).
  const transferU = cfg.method === 't2h' ? rng.fillUniform(new Float64Array(B)) as Float64Array : null;
  return { t, eps, xt, dropped, yPrime, transferU };
}

/** One batch and what its loss needs (x0 in [−1, 1], B×C×H×W flattened; y0 class labels). */
export interface LossBatch {
  net: EpsNet | TwoPassNet;
  x0: Float32Array;
  y0: Int32Array;
  /** B×C×H×W (or B×D). */
  shape: readonly number[];
  sched: Schedule;
  cfg: LossConfig;
  /** Training images per class (the CBDM prior, T2H's and CM's class weights). */
  counts: readonly number[];
  /** Precision of the loss tensors (default float32; tests use float64). */
  dtype?: 'float32' | 'float64';
  /** CORAL's projection head, required when cfg.coral is set. */
  head?: ProjectionHead | null;
}

/** The training loss for one batch, its random inputs drawn from `rng` (drawStep). */
export function trainingLoss(b: LossBatch & { rng: Rng }): LossParts {
  return lossFromDraws({ ...b, draws: drawStep({ ...b, batch: b.shape[0]! }) });
}

/**
 * The training loss for one batch with its random inputs given: what `trainingLoss` computes after
 * its draws (tests inject the published code's draws here).
 */
export function lossFromDraws(b: LossBatch & { draws: StepDraws }): LossParts {
  const { net, x0, y0, shape, sched, cfg, counts, draws: d } = b;
  const dtype = b.dtype ?? 'float32';
  const head = b.head ?? null;
  const B = shape[0]!;
  const xt = tensor(d.xt, shape, { dtype });
  const target = d.transferU ? transferTargets(x0, d.eps, d.xt, d.t, y0, sched, counts, cfg.t2h, d.transferU).eps : d.eps;
  const eps = tensor(target, shape, { dtype });
  const full = typeof net === 'function' ? net : net.full;
  const coral = cfg.coral;
  if (coral !== null && head === null) throw new Error('trainingLoss: CORAL is on but no projection head was given');
  // CORAL reads the bottleneck of the conditional pass, on labelled batches only (coral.ts).
  const bottleneck: Tensor[] = [];
  const tap = coral !== null && !d.dropped ? (b: Tensor) => { bottleneck.push(b); } : undefined;
  const h = full(xt, d.t, d.dropped ? null : y0, tap);
  const lDdpm = mse(h, eps);
  if (cfg.method === 'cm') {
    if (typeof net === 'function') throw new Error('trainingLoss: method cm needs both passes, {full, base} (cm-branches.ts twoPassNet)');
    // Both passes see the same condition; ω follows the images' classes even when it is dropped.
    const hBase = net.base(xt, d.t, d.dropped ? null : y0);
    const c = capacityTerm(h, hBase, y0, counts, cfg.cm.lambda, dtype);
    return { loss: add(lDdpm, c.term), lDdpm: lDdpm.item(), lReg: 0, lCom: 0, lCon: 0, lCm: c.term.item(), dropped: d.dropped };
  }
  let loss = lDdpm;
  let lCon = 0;
  if (tap !== undefined) {
    if (bottleneck.length !== 1) throw new Error(`trainingLoss: CORAL needs the network to report its bottleneck once (onBottleneck), got ${bottleneck.length}`);
    const c = coralTerm(head!, bottleneck[0]!, y0, d.t, sched.T, coral!);
    loss = add(loss, c.term);
    lCon = c.lCon;
  }
  if (cfg.method !== 'cbdm' || d.yPrime === null) {
    return { loss, lDdpm: lDdpm.item(), lReg: 0, lCom: 0, lCon, dropped: d.dropped };
  }
  const hPrime = full(xt, d.t, d.yPrime);
  const w = tensor(cbdmWeights(d.t, sched.T, cfg.tau), [B], { dtype });
  const lReg = weightedMse(h, hPrime.detach(), w);
  const lCom = weightedMse(h.detach(), hPrime, w);
  loss = add(add(loss, lReg), scale(lCom, cfg.gamma));
  return { loss, lDdpm: lDdpm.item(), lReg: lReg.item(), lCom: lCom.item(), lCon, dropped: false };
}
