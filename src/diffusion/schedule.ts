/**
 * The DDPM noise schedule (Ho et al. 2020) as pure float64 functions, and the forward process
 * q(x_t | x_0) for a batch.
 *
 * Shapes: B = batch, D = elements per sample (C·H·W); images are B×D float32, C order.
 * Timesteps are 0-based like the published code: t ∈ {0..T−1}, where index t holds β_{t+1} of
 * the paper (so ᾱ[0] = 1 − β_1).
 *
 * Published reference (CBDM-pytorch `diffusion.py`, identical to w86763777/pytorch-ddpm):
 *   betas = torch.linspace(beta_1, beta_T, T).double()
 * i.e. the linspace is evaluated in float32 (torch's default dtype) and only then widened, after
 * which every coefficient below is computed in float64.
 */

/**
 * How the linear β ramp is evaluated.
 * - `torch-float32`: the published code's values — `torch.linspace` in float32 on a CPU, widened
 *   to float64. Bit-exact with PyTorch's x86 CPU kernel under AVX2 dispatch (checked against
 *   Debian's PyTorch 1.13 for T = 2..59, 100, 250, 500, 999..1015, 2000, 4000). Builds that
 *   dispatch to AVX-512 or run on CUDA round a few entries differently by one float32 ulp
 *   (≤ 2e-9 absolute for the default ramp).
 * - `float64`: `numpy.linspace(beta1, betaT, T)` exactly, an option beside the published ramp
 *   (docs/DESIGN.md §1.1).
 */
export type BetaPrecision = 'torch-float32' | 'float64';

/** Posterior/model variance choice of the ancestral sampler (pytorch-ddpm `var_type`). */
export type VarianceType = 'fixedlarge' | 'fixedsmall';

/** Every precomputed coefficient of a DDPM schedule, float64, indexed by t ∈ {0..T−1}. */
export interface Schedule {
  T: number;
  /** β_t: variance of the forward step q(x_t | x_{t−1}) = N(√(1−β_t)·x_{t−1}, β_t·I). */
  betas: Float64Array;
  /** α_t = 1 − β_t. */
  alphas: Float64Array;
  /** ᾱ_t = Π_{s≤t} α_s: q(x_t | x_0) = N(√ᾱ_t·x_0, (1−ᾱ_t)·I). */
  alphaBar: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1. */
  alphaBarPrev: Float64Array;
  /** √ᾱ_t, the mean factor of q(x_t | x_0). */
  sqrtAlphaBar: Float64Array;
  /** √(1−ᾱ_t), the std of q(x_t | x_0). */
  sqrtOneMinusAlphaBar: Float64Array;
  /** √(1/ᾱ_t): x̂_0 = √(1/ᾱ_t)·x_t − √(1/ᾱ_t − 1)·ε̂. */
  sqrtRecipAlphaBar: Float64Array;
  /** √(1/ᾱ_t − 1). */
  sqrtRecipm1AlphaBar: Float64Array;
  /** β̃_t = β_t(1−ᾱ_{t−1})/(1−ᾱ_t): variance of the posterior q(x_{t−1} | x_t, x_0); 0 at t = 0. */
  posteriorVariance: Float64Array;
  /** log β̃_t with β̃_0 replaced by β̃_1 (the log of 0 is avoided, as published). */
  posteriorLogVarianceClipped: Float64Array;
  /** Coefficient of x_0 in the posterior mean μ̃_t = coef1·x_0 + coef2·x_t: √ᾱ_{t−1}·β_t/(1−ᾱ_t). */
  posteriorMeanCoef1: Float64Array;
  /** Coefficient of x_t in μ̃_t: √α_t·(1−ᾱ_{t−1})/(1−ᾱ_t). */
  posteriorMeanCoef2: Float64Array;
}

/** Nearest float32 with the float32 linspace's arithmetic (fround of an exact double result). */
const f32 = Math.fround;

/**
 * float32 `torch.linspace(start, end, n)` as PyTorch's AVX2 CPU kernel computes it: step =
 * (end − start)/(n − 1); index i < n/2 counts up from start, the rest count down from end; blocks
 * of 2×8 lanes take a fused multiply-add base plus lane·step, the tail (n mod 16) is scalar FMA.
 * Every product of step and a small integer is exact in float64, so `fround(a·b + c)` is the FMA.
 */
function torchLinspaceF32(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = f32(start);
    return out;
  }
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  const at = (i: number): number => (i < half ? f32(step * i + s) : f32(e - step * (n - i - 1)));
  const W = 8;
  let i = 0;
  for (; i <= n - 2 * W; i += 2 * W) {
    for (const c of [i, i + W]) {
      const base = at(c);
      out[c] = base;
      for (let j = 1; j < W; j++) out[c + j] = f32(base + f32(j * step));
    }
  }
  for (; i < n; i++) out[i] = at(i);
  return out;
}

/**
 * The β schedules a run can train with:
 * - `linear`: β from β_1 to β_T over T steps, as DDPM (Ho et al. 2020, §4: T = 1000, β 1e-4 → 0.02)
 *   and the published CBDM code (`torch.linspace(beta_1, beta_T, T)`, flags T, beta_1, beta_T of
 *   qym7/CBDM-pytorch `main.py`); unlike improved-diffusion's "linear" it is not rescaled by 1000/T;
 * - `cosine`: ᾱ(t) = cos²(((t/T + s)/(1 + s))·π/2) with s = 0.008, β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999)
 *   (Nichol & Dhariwal 2021, eq. 17; openai/improved-diffusion `gaussian_diffusion.py`,
 *   get_named_beta_schedule("cosine") and betas_for_alpha_bar); β_1 and β_T do not apply.
 */
export type BetaScheduleKind = 'linear' | 'cosine';

export const BETA_SCHEDULE_KINDS: readonly BetaScheduleKind[] = ['linear', 'cosine'];

/** What defines a run's schedule (saved in its config.json; TrainConfig's diffusion fields). */
export interface ScheduleSettings {
  kind: BetaScheduleKind;
  /** T, the number of diffusion steps (timesteps 0..T−1). */
  T: number;
  /** β_1 of the linear ramp. */
  betaStart: number;
  /** β_T of the linear ramp. */
  betaEnd: number;
}

/** The published schedule: DDPM's linear β 1e-4 → 0.02 over T = 1000 (Ho et al. 2020, §4; CBDM's defaults). */
export const PUBLISHED_SCHEDULE: Readonly<ScheduleSettings> = Object.freeze({ kind: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 });

/**
 * The schedule to sample a model of T steps with when nothing records its own: the published one
 * over T (every published model has T = 1000). Runs record theirs (TrainConfig's schedule fields).
 */
export function publishedScheduleFor(T: number): ScheduleSettings {
  return { ...PUBLISHED_SCHEDULE, T };
}

/** The schedule of these settings (the linear ramp in the published float32 precision). */
export function scheduleOf(s: ScheduleSettings): Schedule {
  switch (s.kind) {
    case 'linear': return makeSchedule(linearBetas(s.T, s.betaStart, s.betaEnd));
    case 'cosine': return makeSchedule(cosineBetas(s.T));
    default: {
      const never: never = s.kind;
      throw new RangeError(`scheduleOf: unknown schedule kind ${String(never)}`);
    }
  }
}

/** Offset s and β cap of the cosine schedule (improved-diffusion: 0.008 and max_beta 0.999). */
const COSINE_OFFSET = 0.008;
const COSINE_MAX_BETA = 0.999;

/** The cosine schedule's β over T steps, float64 (as improved-diffusion computes it with math.cos). */
export function cosineBetas(T: number): Float64Array {
  if (!(Number.isInteger(T) && T >= 1)) throw new RangeError(`cosineBetas: T must be a positive integer, got ${T}`);
  const alphaBar = (u: number) => Math.cos((u + COSINE_OFFSET) / (1 + COSINE_OFFSET) * Math.PI / 2) ** 2;
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), COSINE_MAX_BETA);
  return out;
}

/**
 * Linear β schedule of DDPM: β from `beta1` to `betaT` over T steps (defaults: the published
 * schedule). `precision` picks the published float32 ramp (default) or a float64 one.
 */
export function linearBetas(T = PUBLISHED_SCHEDULE.T, beta1 = PUBLISHED_SCHEDULE.betaStart, betaT = PUBLISHED_SCHEDULE.betaEnd,
  precision: BetaPrecision = 'torch-float32'): Float64Array {
  if (!(Number.isInteger(T) && T >= 1)) throw new RangeError(`linearBetas: T must be a positive integer, got ${T}`);
  if (!(beta1 > 0 && betaT < 1 && beta1 <= betaT)) throw new RangeError(`linearBetas: need 0 < beta1 <= betaT < 1, got ${beta1}, ${betaT}`);
  switch (precision) {
    case 'torch-float32':
      return torchLinspaceF32(beta1, betaT, T);
    case 'float64': {
      // numpy.linspace: start + i·step, with the last entry set to stop.
      const out = new Float64Array(T);
      const step = T > 1 ? (betaT - beta1) / (T - 1) : 0;
      for (let i = 0; i < T; i++) out[i] = i * step + beta1;
      if (T > 1) out[T - 1] = betaT;
      return out;
    }
    default: {
      const never: never = precision;
      throw new RangeError(`linearBetas: unknown precision ${String(never)}`);
    }
  }
}

/** All coefficients of Algorithms 1 and 2 from β (float64, in the published evaluation order). */
export function makeSchedule(betas: Float64Array): Schedule {
  const T = betas.length;
  if (T < 2) throw new RangeError(`makeSchedule: need at least 2 steps, got ${T}`);
  const alphas = new Float64Array(T);
  const alphaBar = new Float64Array(T);
  const alphaBarPrev = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    const b = betas[t]!;
    if (!(b > 0 && b < 1)) throw new RangeError(`makeSchedule: β[${t}] = ${b} is outside (0, 1)`);
    alphas[t] = 1 - b;
    alphaBarPrev[t] = prod;
    prod *= alphas[t]!;
    alphaBar[t] = prod;
  }
  const sqrtAlphaBar = alphaBar.map(Math.sqrt);
  const sqrtOneMinusAlphaBar = alphaBar.map((a) => Math.sqrt(1 - a));
  const sqrtRecipAlphaBar = alphaBar.map((a) => Math.sqrt(1 / a));
  const sqrtRecipm1AlphaBar = alphaBar.map((a) => Math.sqrt(1 / a - 1));
  const posteriorVariance = new Float64Array(T);
  const posteriorMeanCoef1 = new Float64Array(T);
  const posteriorMeanCoef2 = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const b = betas[t]!;
    const oneMinusAb = 1 - alphaBar[t]!;
    posteriorVariance[t] = b * (1 - alphaBarPrev[t]!) / oneMinusAb;
    posteriorMeanCoef1[t] = Math.sqrt(alphaBarPrev[t]!) * b / oneMinusAb;
    posteriorMeanCoef2[t] = Math.sqrt(alphas[t]!) * (1 - alphaBarPrev[t]!) / oneMinusAb;
  }
  const posteriorLogVarianceClipped = posteriorVariance.map((v, t) => Math.log(t === 0 ? posteriorVariance[1]! : v));
  return {
    T, betas, alphas, alphaBar, alphaBarPrev, sqrtAlphaBar, sqrtOneMinusAlphaBar, sqrtRecipAlphaBar,
    sqrtRecipm1AlphaBar, posteriorVariance, posteriorLogVarianceClipped, posteriorMeanCoef1, posteriorMeanCoef2,
  };
}

/** The published DDPM schedule: T = 1000, β linear 1e-4 → 0.02 (float32 ramp, float64 maths). */
export function defaultSchedule(): Schedule {
  return scheduleOf(PUBLISHED_SCHEDULE);
}

/**
 * log of the reverse-step variance σ_t² of Algorithm 2 (pytorch-ddpm `p_mean_variance`):
 * - `fixedlarge`: σ_t² = β_t, except σ_0² = β̃_1 "to get a better decoder log likelihood";
 * - `fixedsmall`: σ_t² = β̃_t (posterior variance), with β̃_0 replaced by β̃_1.
 */
export function modelLogVariance(sched: Schedule, variance: VarianceType): Float64Array {
  switch (variance) {
    case 'fixedlarge':
      return sched.betas.map((b, t) => Math.log(t === 0 ? sched.posteriorVariance[1]! : b));
    case 'fixedsmall':
      return sched.posteriorLogVarianceClipped.slice();
    default: {
      const never: never = variance;
      throw new RangeError(`modelLogVariance: unknown variance ${String(never)}`);
    }
  }
}

/**
 * Forward process q(x_t | x_0) for a batch ("q_sample"): x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε with a
 * timestep per sample. x0, eps, out: B×D float32 (out may alias x0 or eps); t: B timesteps.
 */
export function addNoise(x0: Float32Array, eps: Float32Array, t: Int32Array, sched: Schedule, out: Float32Array): Float32Array {
  const B = t.length;
  if (B === 0 || x0.length % B !== 0) throw new RangeError(`addNoise: x0 has ${x0.length} elements, not a multiple of batch ${B}`);
  if (eps.length !== x0.length || out.length !== x0.length) {
    throw new RangeError(`addNoise: x0, eps and out must have equal lengths (${x0.length}, ${eps.length}, ${out.length})`);
  }
  const D = x0.length / B;
  for (let i = 0; i < B; i++) {
    const ti = t[i]!;
    if (!(ti >= 0 && ti < sched.T)) throw new RangeError(`addNoise: t[${i}] = ${ti} is outside 0..${sched.T - 1}`);
    const a = sched.sqrtAlphaBar[ti]!;
    const s = sched.sqrtOneMinusAlphaBar[ti]!;
    for (let d = i * D; d < (i + 1) * D; d++) out[d] = a * x0[d]! + s * eps[d]!;
  }
  return out;
}
