/**
 * CORAL (Rodriguez, Welfert, McDowell, Stromberg, Antolin Camarena, Sankar, "CORAL: Disentangling
 * Latent Representations in Long-Tailed Diffusion", NeurIPS 2025, arXiv 2506.15933): a supervised
 * contrastive term on a projection of the UNet bottleneck pulls the latent codes of a class
 * together and pushes classes apart, so tail classes stop borrowing head-class features.
 *
 * As the released code computes it (SankarLab/coral-lt-diffusion @62c9dfa), on the conditional
 * pass of labelled batches only (`diffusion.py` L121: `if self.supcon and y_0 is not None`, so a
 * batch whose labels were dropped for classifier-free guidance gets no CORAL term):
 *   z = mean_proj(GAP(h_mid))                                 (model.py L260–264; projection-head.ts)
 *   L_con = SupCon(z/‖z‖, y; τ_sc)                            (diffusion.py L126–130; ops/supcon.ts)
 *   λ = mean_i exp((1 − t_i/T)/τ_r)    t_i ∈ {0..T−1}         (diffusion.py L73–77, L84, L123: a batch mean)
 *   L = L_DM + τ_sc · w · λ · L_con                            (diffusion.py L133: w·λ·L_con;
 *                                                               main.py L377–379: × supcon_temp once more)
 * Defaults (the settings table, settings.ts) are the code's flag defaults (main.py L90–93): w = supcon_weight 0.5,
 * τ_r = temperature_scaling 0.3, τ_sc = supcon_temp 0.1, i.e. an effective weight of
 * 0.05·λ ∈ [0.05, 0.05·e^{1/0.3} ≈ 1.40]. The paper's stated τ ranges differ; the code is what
 * produced the released numbers.
 *
 * With CBDM: the reference's non-AMP training loop overwrites the sum (main.py L373–379:
 * `loss = loss + loss_cb`, then `loss = loss_ddpm + (loss_supcon * temperature)`), so `--cb
 * --supcon` trains without the CBDM term there (its AMP path, L350–353, keeps it). Ours keeps
 * both: L = L_DM + L_reg + γ·L_com + τ_sc·w·λ·L_con.
 */
import type { Tensor } from '../engine/tensor.ts';
import { scale } from '../engine/ops/arith.ts';
import { supConLoss } from '../engine/ops/supcon.ts';
import type { ProjectionHead } from '../models/projection-head.ts';

export interface CoralOptions {
  /** w: weight of the contrastive term (`--supcon_weight`, default 0.5). */
  weight: number;
  /** τ_sc: SupCon temperature, also the code's extra loss factor (`--supcon_temp`, default 0.1). */
  temperature: number;
  /** τ_r: temperature of the time weight exp((1 − t/T)/τ_r) (`--temperature_scaling`, default 0.3). */
  timeTemperature: number;
}

/** λ = mean_i exp((1 − t_i/T)/τ_r), one number per batch (as the code: the mean, not per sample). */
export function coralTimeWeight(t: Int32Array, T: number, timeTemperature: number): number {
  let s = 0;
  for (let i = 0; i < t.length; i++) s += Math.exp((1 - t[i]! / T) / timeTemperature);
  return s / t.length;
}

/** The multiplier of L_con in the total loss: τ_sc · w · λ. */
export function coralLossWeight(t: Int32Array, T: number, o: CoralOptions): number {
  return o.temperature * o.weight * coralTimeWeight(t, T, o.timeTemperature);
}

export interface CoralTerm {
  /** τ_sc·w·λ·L_con, to add to the loss. */
  term: Tensor;
  /** L_con (unweighted SupCon value). */
  lCon: number;
  /** τ_sc·w·λ. */
  weight: number;
}

/** The CORAL term of one labelled batch from the bottleneck feature h_mid (N×C×H×W). */
export function coralTerm(head: ProjectionHead, hMid: Tensor, y: Int32Array, t: Int32Array, T: number, o: CoralOptions): CoralTerm {
  const lCon = supConLoss(head.forward(hMid), y, o.temperature);
  const weight = coralLossWeight(t, T, o);
  return { term: scale(lCon, weight), lCon: lCon.item(), weight };
}
