/**
 * Euler and Heun on the probability-flow ODE of the VP process, in the variables of Karras et al.
 * 2022 ("Elucidating the Design Space of Diffusion-Based Generative Models"): x̃ = x/α and
 * σ̃ = σ/α, in which the ODE is dx̃/dσ̃ = ε̂(x̃·α, σ̃) (their eq. 4 with s(t) = 1 after the change of
 * variables of §4; the ε-model is their D via D = x̃ − σ̃·ε̂).
 *
 *   Euler (Algorithm 1 without the correction):  x̃_{i+1} = x̃_i + (σ̃_{i+1} − σ̃_i)·ε̂_i
 *   Heun (Algorithm 1):  x̃' = x̃_i + Δσ̃·ε̂_i;  x̃_{i+1} = x̃_i + Δσ̃·(ε̂_i + ε̂(x̃', σ̃_{i+1}))/2,
 *                        with the plain Euler step when σ̃_{i+1} = 0 (the last step)
 *
 * so Euler takes N model evaluations on an N-point grid and Heun 2N − 1. Same update as diffusers'
 * `EulerDiscreteScheduler` / `HeunDiscreteScheduler` (ε prediction, γ = 0), which keep x̃ where
 * we keep x = α·x̃. Euler on this ODE is DDIM with η = 0 (Song et al. 2021 eq. 14; Karras §3).
 */
import { predictX0, solveOnGrid, type GridSolver, type SamplerFn } from './sampler.ts';
import type { Grid } from './grid.ts';

/** x ← α_{i+1}·(x/α_i + (σ̃_{i+1} − σ̃_i)·d), the Euler step in x̃ written for x. */
function eulerUpdate(grid: Grid, i: number, x: Float32Array, from: Float32Array, d: Float32Array): void {
  const aNext = grid.alpha[i + 1]!, a = grid.alpha[i]!, dS = grid.sigmaVe[i + 1]! - grid.sigmaVe[i]!;
  for (let k = 0; k < x.length; k++) x[k] = aNext * (from[k]! / a + dS * d[k]!);
}

export const euler: SamplerFn = (model, xT, sched, opts) => solveOnGrid('euler', model, xT, sched, opts, (grid, size): GridSolver => {
  const d = new Float32Array(size);
  return {
    step(i, x, eps, ctx) {
      predictX0(grid, i, x, eps, opts.clip, ctx.x0, d);
      eulerUpdate(grid, i, x, x, d);
    },
  };
});

export const heun: SamplerFn = (model, xT, sched, opts) => solveOnGrid('heun', model, xT, sched, opts, (grid, size): GridSolver => {
  const d = new Float32Array(size), d2 = new Float32Array(size), xe = new Float32Array(size), x0b = new Float32Array(size);
  const N = grid.t.length;
  return {
    async step(i, x, eps, ctx) {
      predictX0(grid, i, x, eps, opts.clip, ctx.x0, d);
      eulerUpdate(grid, i, xe, x, d);
      if (i === N - 1) { x.set(xe); return; }
      // Second stage at point i + 1 (the model may reuse its output buffer: d already holds ε̂_i).
      const eps2 = await ctx.evalEps(xe, i + 1);
      predictX0(grid, i + 1, xe, eps2, opts.clip, x0b, d2);
      for (let k = 0; k < size; k++) d[k] = 0.5 * (d[k]! + d2[k]!);
      eulerUpdate(grid, i, x, x, d);
    },
  };
});
