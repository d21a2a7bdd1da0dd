/**
 * Sampling grids: which noise levels a few-step sampler visits, and their VP coefficients.
 *
 * A grid is N points, from the noisiest to the cleanest, then the clean end point:
 *   t_i      model timestep of point i (an integer in 0..T−1, what the UNet is evaluated at)
 *   σ̃_i     the noise level in "variance-exploding" form σ̃ = √((1−ᾱ)/ᾱ) (Karras et al. 2022, §2),
 *            i = 0..N, with σ̃_N = 0 (the clean image)
 *   α_i = 1/√(1+σ̃_i²),  σ_i = σ̃_i·α_i,  λ_i = log(α_i/σ_i) = −log σ̃_i
 so x_t = α·x_0 + σ·ε (the VP process of the trained model). σ̃_i is always the schedule's own value
 * at t_i, so the solver's noise level is exactly the one the model is evaluated at. (diffusers'
 * `use_karras_sigmas` instead keeps the Karras σ̃ in the solver and rounds only the model's timestep,
 * an inconsistency of up to half a timestep that stops a solver from converging as its order says.)
 *
 * Spacings (the points chosen out of the T training timesteps):
 * - `uniform`:   the DDIM reference's skip, t ∈ range(0, T, ⌊T/S⌋) (ermongroup/ddim
 *                `runners/diffusion.py`, skip_type "uniform"); S ∤ T gives ⌈T/⌊T/S⌋⌉ points.
 *                Starts at 980 for S = 50, not at T−1.
 * - `quadratic`: the DDIM reference's other skip, t = ⌊(linspace(0, √(0.8T), S))²⌋, duplicates
 *                removed (they occur for large S near t = 0 and would be zero-length steps).
 * - `trailing`:  round(arange(T, 0, −T/S)) − 1: starts at T−1 (Lin et al. 2024, "Common diffusion
 *                noise schedules and sample steps are flawed", Table 2; diffusers
 *                `timestep_spacing="trailing"`).
 * - `karras`:    the timesteps nearest (log-σ̃ interpolation, rounded, diffusers `_sigma_to_t`) to
 *                σ̃_i = (σ̃_max^{1/ρ} + i/(S−1)·(σ̃_min^{1/ρ} − σ̃_max^{1/ρ}))^ρ, ρ = 7 (Karras et al.
 *                2022, eq. 5), σ̃_max/min those of t = T−1 and t = 0; duplicates removed (dense near
 *                t = 0 for large S).
 */
import type { Schedule } from './schedule.ts';

export type Spacing = 'uniform' | 'quadratic' | 'trailing' | 'karras';
export const SPACINGS: readonly Spacing[] = ['uniform', 'quadratic', 'trailing', 'karras'];

/** A sampling grid: N model timesteps and N + 1 noise levels (the last one 0). */
export interface Grid {
  /** Model timesteps t_0 > … > t_{N−1}. */
  t: Int32Array;
  /** σ̃_0 > … > σ̃_{N−1} > σ̃_N = 0. */
  sigmaVe: Float64Array;
  /** ᾱ_i = α_i²: the schedule's ᾱ at t_i (ᾱ_N = 1). */
  alphaBar: Float64Array;
  /** α_i = 1/√(1+σ̃_i²) (α_N = 1). */
  alpha: Float64Array;
  /** σ_i = σ̃_i·α_i (σ_N = 0). */
  sigma: Float64Array;
  /** λ_i = −log σ̃_i (λ_N = +∞). */
  lambda: Float64Array;
}

/** σ̃ = √((1−ᾱ_t)/ᾱ_t) of a training timestep. */
export function sigmaVeAt(sched: Schedule, t: number): number {
  const a = sched.alphaBar[t]!;
  return Math.sqrt((1 - a) / a);
}

/** The model timesteps of an integer spacing, descending (`karras` is built by makeGrid). */
export function spacedTimesteps(T: number, steps: number, spacing: Spacing): number[] {
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= T)) throw new RangeError(`steps must be an integer in 1..${T}, got ${steps}`);
  switch (spacing) {
    case 'uniform': {
      const skip = Math.floor(T / steps);
      const seq: number[] = [];
      for (let t = 0; t < T; t += skip) seq.push(t);
      return seq.reverse();
    }
    case 'quadratic': {
      const top = Math.sqrt(T * 0.8);
      const seq = new Set<number>();
      // numpy.linspace: i·(top/(S−1)), the last point exactly `top`.
      for (let i = 0; i < steps; i++) seq.add(Math.floor((steps === 1 ? 0 : i === steps - 1 ? top : (top / (steps - 1)) * i) ** 2));
      return [...seq].reverse();
    }
    case 'trailing': {
      const ratio = T / steps;
      const seq: number[] = [];
      // numpy.arange(T, 0, −ratio): T − k·ratio for k = 0, 1, … while > 0; then round half to even, − 1.
      for (let k = 0; T - k * ratio > 0; k++) seq.push(roundHalfEven(T - k * ratio) - 1);
      return seq;
    }
    case 'karras':
      throw new RangeError('karras spacing is defined by its noise levels: use makeGrid');
    default: {
      const never: never = spacing;
      throw new RangeError(`unknown spacing ${String(never)}`);
    }
  }
}

/** Build the grid of `steps` points with a spacing over a schedule. */
export function makeGrid(sched: Schedule, steps: number, spacing: Spacing): Grid {
  let t: number[];
  if (spacing === 'karras') {
    if (!(Number.isInteger(steps) && steps >= 1 && steps <= sched.T)) throw new RangeError(`steps must be an integer in 1..${sched.T}, got ${steps}`);
    const logSigmas = Array.from({ length: sched.T }, (_, i) => Math.log(sigmaVeAt(sched, i)));
    t = [...new Set(karrasSigmas(sched, steps).map((s) => roundHalfEven(sigmaToT(s, logSigmas))))];
  } else {
    t = spacedTimesteps(sched.T, steps, spacing);
  }
  const N = t.length;
  const sigmaVe = new Float64Array(N + 1), alphaBar = new Float64Array(N + 1), alpha = new Float64Array(N + 1);
  const sigma = new Float64Array(N + 1), lambda = new Float64Array(N + 1);
  for (let i = 0; i <= N; i++) {
    alphaBar[i] = i === N ? 1 : sched.alphaBar[t[i]!]!;
    sigmaVe[i] = i === N ? 0 : sigmaVeAt(sched, t[i]!);
    alpha[i] = Math.sqrt(alphaBar[i]!);
    sigma[i] = Math.sqrt(1 - alphaBar[i]!);
    lambda[i] = -Math.log(sigmaVe[i]!);
  }
  return { t: Int32Array.from(t), sigmaVe, alphaBar, alpha, sigma, lambda };
}

/** Karras et al. 2022 eq. 5 with ρ = 7 between the schedule's σ̃ at t = T−1 and t = 0. */
function karrasSigmas(sched: Schedule, steps: number): number[] {
  const rho = 7;
  const lo = sigmaVeAt(sched, 0) ** (1 / rho), hi = sigmaVeAt(sched, sched.T - 1) ** (1 / rho);
  return Array.from({ length: steps }, (_, i) => (hi + (steps === 1 ? 0 : i / (steps - 1)) * (lo - hi)) ** rho);
}

/**
 * Fractional timestep of a noise level σ̃ by linear interpolation of log σ̃ between the two
 * neighbouring training timesteps (diffusers `_sigma_to_t`), clamped to [0, T−1].
 */
export function sigmaToT(sv: number, logSigmas: readonly number[]): number {
  const ls = Math.log(Math.max(sv, 1e-10));
  const T = logSigmas.length;
  // low = last index with logSigmas[low] ≤ ls (log σ̃ increases with t), at most T − 2.
  let low = 0;
  for (let i = 0; i < T; i++) if (ls - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, T - 2);
  const a = logSigmas[low]!, b = logSigmas[low + 1]!;
  const w = Math.min(1, Math.max(0, (a - ls) / (a - b)));
  return (1 - w) * low + w * (low + 1);
}

/** numpy.round: half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
