/**
 * DPM-Solver++ multistep (Lu et al. 2022b, "DPM-Solver++: Fast Solver for Guided Sampling of
 * Diffusion Probabilistic Models"): the exponential integrator of the probability-flow ODE in the
 * data prediction x̂_θ = (x_t − σ_t·ε̂)/α_t and the half-log-SNR λ = log(α/σ). With h = λ_t − λ_s:
 *
 *   1st order (= DDIM, eq. 8):   x_t = (σ_t/σ_s)·x_s − α_t·(e^{−h} − 1)·D0
 *   2M (Algorithm 2, "midpoint" form as in diffusers):
 *       r0 = h_0/h,  D1 = (m0 − m1)/r0
 *       x_t = (σ_t/σ_s)·x_s − α_t(e^{−h} − 1)·D0 − ½·α_t(e^{−h} − 1)·D1
 *   3M (diffusers `multistep_dpm_solver_third_order_update`, from the authors' DPM-Solver code):
 *       r0 = h_0/h, r1 = h_1/h, D1_0 = (m0 − m1)/r0, D1_1 = (m1 − m2)/r1,
 *       D1 = D1_0 + r0/(r0 + r1)·(D1_0 − D1_1),  D2 = (D1_0 − D1_1)/(r0 + r1)
 *       x_t = (σ_t/σ_s)x_s − α_t(e^{−h} − 1)D0 + α_t((e^{−h} − 1)/h + 1)D1 − α_t((e^{−h} − 1 + h)/h² − ½)D2
 * where m0, m1, m2 are x̂_θ at the current and the two previous points, D0 = m0.
 *
 * SDE variant (Lu et al. 2022b §5 / diffusers `algorithm_type="sde-dpmsolver++"`, midpoint):
 *   1st: x_t = (σ_t/σ_s)e^{−h}·x_s + α_t(1 − e^{−2h})·D0 + σ_t√(1 − e^{−2h})·z
 *   2nd: the same plus ½·α_t(1 − e^{−2h})·D1,   z ~ N(0, I) drawn after the model call of each step
 *        that does not end at σ = 0 (one `rng.fillNormal` of B×D values)
 *
 * Order schedule as diffusers' `DPMSolverMultistepScheduler` (lower_order_final, final σ = 0): the
 * first steps warm up (order 1, then 2); the last step, to σ = 0, is first order (it returns x̂_θ);
 * with fewer than 15 points the second-to-last step is at most second order.
 */
import { predictX0, solveOnGrid, type GridSolver, type SamplerFn } from './sampler.ts';

/** DPM-Solver++ of multistep order 2 or 3, or the second-order SDE variant. */
function dpmSolverPlusPlus(order: 2 | 3, sde = false): SamplerFn {
  const who = `dpmpp-${order}m${sde ? '-sde' : ''}`;
  return (model, xT, sched, opts) => solveOnGrid(who, model, xT, sched, opts, (grid, size): GridSolver => {
    const N = grid.t.length;
    // x̂_θ of the last three points, newest first (rotated, not reallocated).
    let hist = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
    let seen = 0;
    const z = sde ? new Float32Array(size) : null;
    return {
      step(i, x, eps, ctx) {
        hist = [hist[2]!, hist[0]!, hist[1]!];
        predictX0(grid, i, x, eps, opts.clip, hist[0]!);
        ctx.x0.set(hist[0]!);
        seen++;
        let k = Math.min(order, seen);
        if (i === N - 1) k = 1;
        else if (i === N - 2 && N < 15) k = Math.min(k, 2);
        const lt = grid.lambda[i + 1]!, l0 = grid.lambda[i]!;
        const h = lt - l0;
        const at = grid.alpha[i + 1]!, ratio = grid.sigma[i + 1]! / grid.sigma[i]!;
        const em1 = Math.exp(-h) - 1; // e^{−h} − 1 (−1 at the last step, where h = +∞)
        const [m0, m1, m2] = hist as [Float32Array, Float32Array, Float32Array];
        if (z) {
          // x_t = (σ_t/σ_s)e^{−h}·x + α_t(1 − e^{−2h})·(D0 [+ ½·D1]) + σ_t√(1 − e^{−2h})·z
          const e2 = -Math.expm1(-2 * h), st = grid.sigma[i + 1]!;
          if (st > 0) opts.rng.fillNormal(z);
          const cx = ratio * Math.exp(-h), cd = at * e2, cz = st * Math.sqrt(e2);
          const c1 = k === 2 ? 0.5 * cd / ((l0 - grid.lambda[i - 1]!) / h) : 0;
          for (let j = 0; j < size; j++) x[j] = cx * x[j]! + cd * m0[j]! + c1 * (m0[j]! - m1[j]!) + (st > 0 ? cz * z[j]! : 0);
          return;
        }
        switch (k) {
          case 1:
            for (let j = 0; j < size; j++) x[j] = ratio * x[j]! - at * em1 * m0[j]!;
            return;
          case 2: {
            const r0 = (l0 - grid.lambda[i - 1]!) / h;
            const c0 = -at * em1, c1 = -0.5 * at * em1 / r0;
            for (let j = 0; j < size; j++) x[j] = ratio * x[j]! + c0 * m0[j]! + c1 * (m0[j]! - m1[j]!);
            return;
          }
          case 3: {
            const l1 = grid.lambda[i - 1]!, l2 = grid.lambda[i - 2]!;
            const r0 = (l0 - l1) / h, r1 = (l1 - l2) / h;
            const c0 = -at * em1, c1 = at * (em1 / h + 1), c2 = -at * ((em1 + h) / (h * h) - 0.5);
            for (let j = 0; j < size; j++) {
              const d10 = (m0[j]! - m1[j]!) / r0, d11 = (m1[j]! - m2[j]!) / r1;
              const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11), d2 = (d10 - d11) / (r0 + r1);
              x[j] = ratio * x[j]! + c0 * m0[j]! + c1 * d1 + c2 * d2;
            }
            return;
          }
          default:
            throw new RangeError(`${who}: order ${k}`);
        }
      },
    };
  });
}

/** DPM-Solver++(2M): Lu et al. 2022b, Algorithm 2. */
export const dpmSolverPP2M: SamplerFn = dpmSolverPlusPlus(2);
/** DPM-Solver++(3M): the third-order multistep variant. */
export const dpmSolverPP3M: SamplerFn = dpmSolverPlusPlus(3);
/** SDE-DPM-Solver++(2M): stochastic, second order in the data prediction. */
export const dpmSolverPP2MSde: SamplerFn = dpmSolverPlusPlus(2, true);
