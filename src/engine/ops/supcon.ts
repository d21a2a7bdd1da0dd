/**
 * Supervised contrastive loss (Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020,
 * eq. 2, the "L_out" form) exactly as pytorch-metric-learning's `SupConLoss` computes it with its
 * defaults (KevinMusgrave/pytorch-metric-learning v2.8.1 @216a792: `losses/supcon_loss.py`
 * L15–39, `distances/cosine_similarity.py`, `reducers/threshold_reducer.py` L32–46 with low = 0,
 * `utils/loss_and_miner_utils.py` L10–40), on embeddings that are first L2-normalised as
 * `F.normalize(z, p=2, dim=1)` (eps 1e-12) — CORAL's use of it (SankarLab/coral-lt-diffusion
 * @62c9dfa `diffusion.py` L126–130). Shapes: z B×D, labels B host ints → scalar.
 *
 *   u_i = z_i / max(‖z_i‖, 1e-12)        (the cosine distance normalises once more: a no-op in
 *                                          value and in gradient, (I − uuᵀ)² = I − uuᵀ)
 *   s_ik = u_i·u_k / τ
 *   P(i) = {p ≠ i : y_p = y_i}            positives;  every k ≠ i is in the denominator
 *   ℓ_i = −(1/|P(i)|) Σ_{p∈P(i)} [s_ip − log Σ_{k≠i} exp s_ik]      (ℓ_i = 0 when P(i) = ∅)
 *   L = mean of ℓ_i over the anchors with ℓ_i > 0 (AvgNonZeroReducer); L = 0 when no anchor has
 *       ℓ_i > 0, when the batch holds no positive pair or when it holds no negative pair (one class).
 *
 * Backward, with A the contributing anchors and q_ik = softmax_{k≠i}(s_i·):
 *   ∂L/∂s_ik = (q_ik − [k∈P(i)]/|P(i)|)/|A| for i ∈ A, k ≠ i;  ∂L/∂u_i = (1/τ) Σ_k (G_ik + G_ki) u_k
 *   ∂L/∂z_i = (I − u_i u_iᵀ) ∂L/∂u_i / ‖z_i‖   (1/1e-12 · ∂L/∂u_i below the eps, as F.normalize)
 * The membership of A is a step function of z: no gradient flows through it (as in PyTorch).
 *
 * Computed host-side in float64 (B ≤ a few hundred, D = 128: negligible next to a UNet pass), so
 * every backend gives the same numbers for the same z. Saves u, ‖z‖, G.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, newLike, st } from './util.ts';

/** F.normalize's eps. */
const NORM_EPS = 1e-12;

export interface SupConForward {
  loss: number;
  /** Anchors that contributed (ℓ_i > 0). */
  anchors: number;
  /** Unit embeddings u, B×D. */
  u: Float64Array;
  /** max(‖z_i‖, eps), B. */
  norm: Float64Array;
  /** ∂L/∂s, B×B (zero when L is the constant 0). */
  gradS: Float64Array;
}

/** The loss and what its backward needs (z B×D row-major, labels B). */
export function supConForward(z: ArrayLike<number>, labels: ArrayLike<number>, B: number, D: number, tau: number): SupConForward {
  const u = new Float64Array(B * D);
  const norm = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += z[i * D + d]! * z[i * D + d]!;
    norm[i] = Math.max(Math.sqrt(s), NORM_EPS);
    for (let d = 0; d < D; d++) u[i * D + d] = z[i * D + d]! / norm[i]!;
  }
  const gradS = new Float64Array(B * B);
  let anyPos = false, anyNeg = false;
  for (let i = 0; i < B; i++) for (let k = 0; k < B; k++) {
    if (k === i) continue;
    if (labels[i] === labels[k]) anyPos = true; else anyNeg = true;
  }
  if (!anyPos || !anyNeg) return { loss: 0, anchors: 0, u, norm, gradS };
  const s = new Float64Array(B * B);
  for (let i = 0; i < B; i++) for (let k = 0; k < B; k++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += u[i * D + d]! * u[k * D + d]!;
    s[i * B + k] = dot / tau;
  }
  const ell = new Float64Array(B);
  const q = new Float64Array(B * B);
  const nPos = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    let max = -Infinity;
    for (let k = 0; k < B; k++) if (k !== i) max = Math.max(max, s[i * B + k]!);
    let sum = 0;
    for (let k = 0; k < B; k++) if (k !== i) { q[i * B + k] = Math.exp(s[i * B + k]! - max); sum += q[i * B + k]!; }
    const lse = max + Math.log(sum);
    let acc = 0;
    for (let k = 0; k < B; k++) {
      if (k === i) continue;
      q[i * B + k] = q[i * B + k]! / sum;
      if (labels[k] === labels[i]) { nPos[i]++; acc += s[i * B + k]! - lse; }
    }
    ell[i] = nPos[i]! > 0 ? -acc / nPos[i]! : 0;
  }
  let anchors = 0, total = 0;
  for (let i = 0; i < B; i++) if (ell[i]! > 0) { anchors++; total += ell[i]!; }
  if (anchors === 0) return { loss: 0, anchors: 0, u, norm, gradS };
  for (let i = 0; i < B; i++) {
    if (!(ell[i]! > 0)) continue;
    for (let k = 0; k < B; k++) {
      if (k === i) continue;
      gradS[i * B + k] = (q[i * B + k]! - (labels[k] === labels[i] ? 1 / nPos[i]! : 0)) / anchors;
    }
  }
  return { loss: total / anchors, anchors, u, norm, gradS };
}

/** ∂L/∂z (B×D) from the saved forward, scaled by the upstream scalar gradient g. */
export function supConBackward(f: SupConForward, B: number, D: number, tau: number, g: number): Float64Array {
  const gz = new Float64Array(B * D);
  if (f.anchors === 0) return gz;
  const gu = new Float64Array(D);
  for (let i = 0; i < B; i++) {
    gu.fill(0);
    for (let k = 0; k < B; k++) {
      const c = (f.gradS[i * B + k]! + f.gradS[k * B + i]!) / tau;
      if (c === 0) continue;
      for (let d = 0; d < D; d++) gu[d] += c * f.u[k * D + d]!;
    }
    const n = f.norm[i]!;
    if (n > NORM_EPS) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += gu[d]! * f.u[i * D + d]!;
      for (let d = 0; d < D; d++) gz[i * D + d] = g * (gu[d]! - dot * f.u[i * D + d]!) / n;
    } else {
      for (let d = 0; d < D; d++) gz[i * D + d] = g * gu[d]! / NORM_EPS;
    }
  }
  return gz;
}

/** SupCon loss of embeddings z (B×D, not yet normalised) with class labels (no gradient into them). */
export function supConLoss(z: Tensor, labels: Int32Array | readonly number[], tau: number): Tensor {
  checkRank('supConLoss', 'embeddings', z, 2);
  const [B, D] = z.shape as [number, number];
  if (labels.length !== B) throw new Error(`supConLoss: ${labels.length} labels for ${z.describe()} (need one per row)`);
  if (!(tau > 0 && Number.isFinite(tau))) throw new Error(`supConLoss: temperature must be a positive number, got ${tau}`);
  const be = z.backend;
  const f = supConForward(be.read(st(z, 'supConLoss')), labels, B, D, tau);
  const out = newLike(z, []);
  be.fill(st(out, 'supConLoss'), f.loss);
  return record('supConLoss', [z], out, (gy) => {
    const gz = newLike(z);
    be.write(st(gz, 'supConLoss.backward'), supConBackward(f, B, D, tau, gy.item()));
    return [gz];
  });
}
