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

/** The parts of a diffusion schedule the loss needs (float64 coefficients). */
export interface NoiseSchedule {
  T: number;
  sqrtAlphaBar: Float64Array;
  sqrtOneMinusAlphaBar: Float64Array;
}

export type Method = 'ddpm' | 'cbdm';
/** Distribution of y′ in the CBDM regulariser: the training prior, or uniform (fine-tuning). */
export type LabelPrior = 'train' | 'uniform';

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
export function drawStep(x0: Float32Array, B: number, sched: NoiseSchedule, cfg: LossConfig, counts: readonly number[], rng: Rng): StepDraws {
  const D = x0.length / B;
  const t = new Int32Array(B);
  for (let i = 0; i < B; i++) t[i] = rng.int(sched.T);
  const eps = rng.fillNormal(new Float32Array(x0.length)) as Float32Array;
  const xt = new Float32Array(x0.length);
  for (let i = 0; i < B; i++) {
    const a = sched.sqrtAlphaBar[t[i]!]!;
    const s = sched.sqrtOneMinusAlphaBar[t[i]!]!;
    for (let d = i * D; d < (i + 1) * D; d++) xt[d] = a * x0[d]! + s * eps[d]!;
  }
  const useDrop = cfg.cfg || cfg.method === 'cbdm';
  const dropped = useDrop && rng.uniform() < cfg.labelDropProb;
  let yPrime: Int32Array | null = null;
  if (cfg.method === 'cbdm' && !dropped) {
    yPrime = new Int32Array(B);
    const weights = cfg.prior === 'train' ? counts : counts.map(() => 1);
    for (let i = 0; i < B; i++) yPrime[i] = rng.categorical(weights);
  }
  return { t, eps, xt, dropped, yPrime };
}

/** The training loss for one batch (x0 in [−1, 1], B×C×H×W flattened; y0 class labels). */
export function trainingLoss(net: EpsNet, x0: Float32Array, y0: Int32Array, shape: readonly number[], sched: NoiseSchedule,
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
  const w = tensor(Float64Array.from(d.t, (ti) => cfg.tau * ti / sched.T), [B], { dtype });
  const lReg = weightedMse(h, hPrime.detach(), w);
  const lCom = weightedMse(h.detach(), hPrime, w);
  const loss = add(add(lDdpm, lReg), scale(lCom, cfg.gamma));
  return { loss, lDdpm: lDdpm.item(), lReg: lReg.item(), lCom: lCom.item(), dropped: false };
}
