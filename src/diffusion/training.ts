/**
 * The random inputs of one DDPM/CBDM training step (Algorithm 1 of Ho et al. 2020 and the CBDM
 * regulariser, docs/DESIGN.md §1.2), as pure host-side helpers independent of the engine.
 *
 * Facts from the published code (qym7/CBDM-pytorch `diffusion.py`, GaussianDiffusionTrainer.forward,
 * HEAD 94e201e; line numbers of that file):
 * - l.65 t = torch.randint(T, (B,)): t ∈ {0..T−1}; noise = randn_like(x_0); x_t = q_sample.
 * - l.72–74 label drop: `if self.cfg or self.cb: if torch.rand(1)[0] < 1/10: y_0 = None` — ONE coin per
 *   batch: the whole batch is unconditional (not per-sample dropping as in Ho & Salimans).
 * - l.80–83 y_bal = np.random.choice(num_class, size=B, p=weight if not finetune else None): the training
 *   class frequencies (counts / total, `class_counter` in main.py), uniform when fine-tuning.
 * - l.86 weight = t[:, None, None, None] / self.T * self.tau: w = τ·t/T with the 0-based t and /T
 *   (not t+1, not T−1), so w ∈ [0, τ·(T−1)/T], evaluated in float32.
 * Shapes: x0, eps, xt are B×D float32 (C order).
 */
import type { Rng } from '../util/rng.ts';
import { addNoise, type Schedule } from './schedule.ts';

/** Random inputs of Algorithm 1 for one batch. */
export interface TrainingInputs {
  /** Timesteps, B values in 0..T−1. */
  t: Int32Array;
  /** The noise ε ~ N(0, I), B×D: the regression target. */
  eps: Float32Array;
  /** x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε, B×D. */
  xt: Float32Array;
}

/**
 * Draw t ~ U{0..T−1} (B values, `rng.int`), then ε ~ N(0, I) (one `rng.fillNormal` of B×D), and
 * form x_t — the published order (t before the noise).
 */
export function sampleTrainingInputs(x0: Float32Array, B: number, rng: Rng, sched: Schedule): TrainingInputs {
  if (!(Number.isInteger(B) && B >= 1 && x0.length % B === 0)) throw new RangeError(`sampleTrainingInputs: x0 has ${x0.length} values, not a multiple of batch ${B}`);
  const t = new Int32Array(B);
  for (let i = 0; i < B; i++) t[i] = rng.int(sched.T);
  const eps = rng.fillNormal(new Float32Array(x0.length)) as Float32Array;
  const xt = addNoise(x0, eps, t, sched, new Float32Array(x0.length));
  return { t, eps, xt };
}

/**
 * Whether this batch trains unconditionally (y = ∅ for every sample): one uniform draw,
 * `rng.uniform() < pDrop`, as the published `torch.rand(1)[0] < 1/10` (pDrop = 0.1).
 */
export function drawLabelDrop(rng: Rng, pDrop = 0.1): boolean {
  if (!(pDrop >= 0 && pDrop <= 1)) throw new RangeError(`drawLabelDrop: probability must be in [0, 1], got ${pDrop}`);
  return rng.uniform() < pDrop;
}

/**
 * The CBDM regulariser's per-sample weight w = τ·t/T (published: `t / self.T * self.tau`, in
 * float32: the quotient is rounded to float32, then multiplied by float32 τ).
 */
export function cbdmWeights(t: Int32Array, T: number, tau: number): Float32Array {
  const w = new Float32Array(t.length);
  const tau32 = Math.fround(tau);
  for (let i = 0; i < t.length; i++) w[i] = Math.fround(t[i]! / T) * tau32;
  return w;
}

/** Distribution of the CBDM target label y′: the training class prior, or uniform (fine-tuning). */
export type LabelPrior = 'train' | 'uniform';

/**
 * y′ ~ Categorical(p) for B samples, p ∝ `counts` (prior `train`) or uniform over counts.length
 * classes (prior `uniform`). One `rng.categorical` draw per sample, in sample order.
 */
export function sampleCbdmLabels(rng: Rng, B: number, prior: LabelPrior, counts: ArrayLike<number>): Int32Array {
  const C = counts.length;
  if (C === 0) throw new RangeError('sampleCbdmLabels: counts must list at least one class');
  let weights: ArrayLike<number>;
  switch (prior) {
    case 'train':
      for (let c = 0; c < C; c++) {
        if (!(counts[c]! >= 0)) throw new RangeError(`sampleCbdmLabels: count of class ${c} is ${counts[c]}`);
      }
      weights = counts;
      break;
    case 'uniform':
      weights = new Float64Array(C).fill(1);
      break;
    default: {
      const never: never = prior;
      throw new RangeError(`sampleCbdmLabels: unknown prior ${String(never)}`);
    }
  }
  const y = new Int32Array(B);
  for (let i = 0; i < B; i++) y[i] = rng.categorical(weights);
  return y;
}
