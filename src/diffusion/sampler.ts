/**
 * The one sampler interface: every sampler has the signature
 *   (model: EpsModel, xT, sched, opts: SamplerOptions) → x_0 in [−1, 1]
 * (k-diffusion style: the ε-model, guidance included, is a plain function; the schedule is pure
 * data; the solver is the only thing that changes). Few-step solvers run on a Grid (grid.ts) through
 * one shared loop, `solveOnGrid`, which evaluates the model once per grid point, checks its output,
 * reports progress and applies the final clip; a solver only says how x moves from point i to i+1.
 *
 * Shapes: x, ε̂, x̂_0 are B×D float32 (C order); every sample of a batch is at the same noise level.
 */
import { CbdmError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { makeGrid, type Grid, type Spacing } from './grid.ts';
import { batchSize, type EpsModel } from './model.ts';
import type { Schedule, VarianceType } from './schedule.ts';

/**
 * What happens to the model's x̂_0 = (x_t − σ_t·ε̂)/α_t.
 * - `none`: used as predicted.
 * - `preview-only`: used as predicted, but clamped to [−1, 1] in what `onStep` reports. This is what
 *   the published CBDM/pytorch-ddpm sampler does (it clips x̂_0 *after* computing the posterior
 *   mean, CBDM-pytorch `diffusion.py` l.183), so the samples equal `none`.
 * - `clamp`: clamped to [−1, 1] before the update (Ho et al. 2020's TF sampler; diffusers
 *   `clip_sample`); solvers that step with ε̂ re-derive ε̂ = (x_t − α_t·x̂_0)/σ_t from it.
 */
export type X0Clip = 'none' | 'preview-only' | 'clamp';
export const X0_CLIPS: readonly X0Clip[] = ['none', 'preview-only', 'clamp'];

/** Progress of a sampler after each step. */
export interface StepInfo {
  /** Steps done so far (1..n). */
  step: number;
  /** Total number of steps. */
  n: number;
  /** The timestep that was just denoised. */
  t: number;
  /** The new state, B×D (do not keep; it is overwritten by the next step). */
  x: Float32Array;
  /** The model's x̂_0 at this step, B×D (clamped when the clip mode is not `none`). */
  x0: Float32Array;
}

/** Options shared by every sampler (fields a sampler does not use must keep their neutral value). */
export interface SamplerOptions {
  /** Grid points N (ancestral DDPM: must equal T). */
  steps: number;
  /** How the N points are chosen (ignored by ancestral DDPM, which visits every timestep). */
  spacing: Spacing;
  /** DDIM's stochasticity η ≥ 0 (0 for every other sampler). */
  eta: number;
  /** Reverse-step variance of ancestral DDPM (`fixedlarge`, published default). */
  variance: VarianceType;
  /** What happens to x̂_0 (see X0Clip). */
  clip: X0Clip;
  /** Class labels (B), or null for unconditional sampling. */
  y: Int32Array | null;
  /** Source of per-step noise (ancestral DDPM, DDIM with η > 0); untouched by the ODE solvers. */
  rng: Rng;
  /** Batch size; needed only when y is null. */
  batch?: number;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
}

/** Every sampler's signature. Returns x_0 clipped to [−1, 1]; x_T is not modified. */
export type SamplerFn = (model: EpsModel, xT: Float32Array, sched: Schedule, opts: SamplerOptions) => Promise<Float32Array>;

/** What a grid solver sees while it advances x from point i to i + 1. */
export interface SolverContext {
  grid: Grid;
  opts: SamplerOptions;
  /** ε̂ at grid point j for a state x (one model evaluation; Heun's second stage uses it). */
  evalEps(x: Float32Array, j: number): Promise<Float32Array>;
  /** x̂_0 written here by the solver for `onStep` previews (length B×D). */
  x0: Float32Array;
}

/**
 * One solver: `step(i, x, eps, ctx)` moves x (in place) from grid point i to i + 1, given the
 * model's ε̂ at point i. It is created per batch, so it may keep a history (multistep solvers).
 */
export interface GridSolver {
  step(i: number, x: Float32Array, eps: Float32Array, ctx: SolverContext): Promise<void> | void;
}

/**
 * The shared loop of the grid solvers: builds the grid, calls the model at t_0 … t_{N−1} and the
 * solver after each call, and clips the result to [−1, 1]. A non-finite model output stops the run
 * with the step named.
 */
export async function solveOnGrid(who: string, model: EpsModel, xT: Float32Array, sched: Schedule, opts: SamplerOptions,
  makeSolver: (grid: Grid, size: number) => GridSolver): Promise<Float32Array> {
  const B = batchSize(xT, opts.y, opts.batch, who);
  const grid = makeGrid(sched, opts.steps, opts.spacing);
  const N = grid.t.length;
  const x = Float32Array.from(xT);
  const tArr = new Int32Array(B);
  const evalEps = async (xs: Float32Array, j: number): Promise<Float32Array> => {
    tArr.fill(grid.t[j]!);
    return checkedEps(await model(xs, tArr, opts.y), xs.length, who, j, grid.t[j]!);
  };
  const ctx: SolverContext = { grid, opts, evalEps, x0: new Float32Array(x.length) };
  const solver = makeSolver(grid, x.length);
  for (let i = 0; i < N; i++) {
    const eps = await evalEps(x, i);
    await solver.step(i, x, eps, ctx);
    if (opts.onStep) {
      if (opts.clip === 'preview-only') for (let k = 0; k < x.length; k++) ctx.x0[k] = clamp1(ctx.x0[k]!);
      opts.onStep({ step: i + 1, n: N, t: grid.t[i]!, x, x0: ctx.x0 });
    }
  }
  for (let k = 0; k < x.length; k++) x[k] = clamp1(x[k]!);
  return x;
}

/** The model output, checked: right length, every value finite (else the step is named). */
export function checkedEps(eps: Float32Array, n: number, who: string, step: number, t: number): Float32Array {
  if (eps.length !== n) throw new RangeError(`${who}: model returned ${eps.length} values for ${n} inputs`);
  for (let k = 0; k < n; k++) {
    if (!Number.isFinite(eps[k]!)) {
      throw new CbdmError(`${who}: the model's output is not finite at step ${step + 1} (t = ${t}): the weights or the input are broken (check the checkpoint for NaN/Inf)`);
    }
  }
  return eps;
}

/**
 * x̂_0 = (x − σ·ε̂)/α at grid point i into `x0` (float64 maths, float32 store), clamped for `clamp`.
 * With `epsOut`, also the ε̂ consistent with the (possibly clamped) x̂_0: (x − α·x̂_0)/σ.
 */
export function predictX0(grid: Grid, i: number, x: Float32Array, eps: Float32Array, clip: X0Clip, x0: Float32Array, epsOut?: Float32Array): void {
  const a = grid.alpha[i]!, s = grid.sigma[i]!;
  for (let k = 0; k < x.length; k++) {
    let v = (x[k]! - s * eps[k]!) / a;
    if (clip === 'clamp' && (v < -1 || v > 1)) {
      v = v < -1 ? -1 : 1;
      if (epsOut) epsOut[k] = (x[k]! - a * v) / s;
    } else if (epsOut) epsOut[k] = eps[k]!;
    x0[k] = v;
  }
}

export function clamp1(v: number): number {
  return v < -1 ? -1 : v > 1 ? 1 : v;
}
