/**
 * The training objectives of DDPM and CBDM (DESIGN §1.2), on engine tensors.
 *
 *   t ~ U{0..T−1},  ε ~ N(0, I),  x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
 *   with probability p_drop (cfg or cb): y = ∅ for the whole batch
 *   h = ε_θ(x_t, t, y);                       L_ddpm = mean((h − ε)²)
 *   CBDM, y ≠ ∅:  y′ ~ Categorical(p),  h′ = ε_θ(x_t, t, y′),  w = τ·t/T
 *                 L_reg = mean(w·(h − sg(h′))²),  L_com = mean(w·(sg(h) − h′)²)
 *                 loss = L_ddpm + L_reg + γ·L_com
 * (published CBDM `diffusion.py`, GaussianDiffusionTrainer.forward: the same draws in the same
 * order — t, ε, the label-drop coin, then y′ — from our seeded Rng.)
 */
import { Tensor } from '../engine/tensor.ts';
import { tensor } from '../engine/ops/create.ts';
import { add, scale } from '../engine/ops/arith.ts';
import { mse, weightedMse } from '../engine/ops/reduce.ts';
import type { Rng } from '../util/rng.ts';
import type { Schedule } from '../diffusion/schedule.ts';
import { sampleTrainingInputs, drawLabelDrop, sampleCbdmLabels, cbdmWeights, type LabelPrior } from '../diffusion/training.ts';

export type Method = 'ddpm' | 'cbdm';
export type { LabelPrior };

export interface LossConfig {
  method: Method;
  /** Classifier-free guidance training (label dropout) for DDPM; always on for CBDM. */
  cfg: boolean;
  labelDropProb: number;
  tau: number;
  gamma: number;
  prior: LabelPrior;
}

export const DEFAULT_LOSS: LossConfig = { method: 'cbdm', cfg: true, labelDropProb: 0.1, tau: 1.0, gamma: 0.25, prior: 'train' };

/** Anything that predicts ε from (x_t, t, y): the UNet in training mode. */
export type EpsNet = (xt: Tensor, t: Int32Array, y: Int32Array | null) => Tensor;

export interface LossParts {
  loss: Tensor;
  lDdpm: number;
  lReg: number;
  lCom: number;
  /** Whether the labels were dropped for this batch. */
  dropped: boolean;
}

/** The random inputs of one training step, drawn host-side so every backend sees the same numbers. */
export interface StepDraws {
  t: Int32Array;
  eps: Float32Array;
  xt: Float32Array;
  dropped: boolean;
  yPrime: Int32Array | null;
}

/** Draw t, ε, x_t, the label-drop coin and y′ in the published order. */
export function drawStep(x0: Float32Array, B: number, sched: Schedule, cfg: LossConfig, counts: readonly number[], rng: Rng): StepDraws {
  const { t, eps, xt } = sampleTrainingInputs(x0, B, rng, sched);
  const dropped = (cfg.cfg || cfg.method === 'cbdm') && drawLabelDrop(rng, cfg.labelDropProb);
  const yPrime = cfg.method === 'cbdm' && !dropped ? sampleCbdmLabels(rng, B, cfg.prior, counts) : null;
  return { t, eps, xt, dropped, yPrime };
}

/** The training loss for one batch (x0 in [−1, 1], B×C×H×W flattened; y0 class labels). */
export function trainingLoss(net: EpsNet, x0: Float32Array, y0: Int32Array, shape: readonly number[], sched: Schedule,
  cfg: LossConfig, counts: readonly number[], rng: Rng, dtype: 'float32' | 'float64' = 'float32'): LossParts {
  const B = shape[0]!;
  const d = drawStep(x0, B, sched, cfg, counts, rng);
  const xt = tensor(d.xt, shape, { dtype });
  const eps = tensor(d.eps, shape, { dtype });
  const h = net(xt, d.t, d.dropped ? null : y0);
  const lDdpm = mse(h, eps);
  if (cfg.method === 'ddpm' || d.yPrime === null) {
    return { loss: lDdpm, lDdpm: lDdpm.item(), lReg: 0, lCom: 0, dropped: d.dropped };
  }
  const hPrime = net(xt, d.t, d.yPrime);
  const w = tensor(cbdmWeights(d.t, sched.T, cfg.tau), [B], { dtype });
  const lReg = weightedMse(h, hPrime.detach(), w);
  const lCom = weightedMse(h.detach(), hPrime, w);
  const loss = add(add(lDdpm, lReg), scale(lCom, cfg.gamma));
  return { loss, lDdpm: lDdpm.item(), lReg: lReg.item(), lCom: lCom.item(), dropped: false };
}
