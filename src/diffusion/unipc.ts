/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of
 * Diffusion Models"), data prediction, B(h) = e^{h̃} − 1 with h̃ = −h ("bh2"), as the authors' code
 * and diffusers' `UniPCMultistepScheduler` (solver_order 2, predict_x0, bh2, lower_order_final).
 *
 * With the data predictions m_k = x̂_θ at the visited points, λ = log(α/σ), h = λ_t − λ_{s0}:
 *   r_k = (λ_{s_k} − λ_{s0})/h,  D_k = (m_{s_k} − m_{s0})/r_k  (k = 1..p−1, earlier points),
 *   φ-terms: h·φ_1 = e^{h̃} − 1, and for k = 1..p:  R[k][·] = r^{k−1} (r = (r_1..r_{p−1}, 1)),
 *            b_k = h·φ_{k+1}(h̃)·k!/B(h)  (eq. 7 / Algorithm 1 of the paper; the recursion
 *            φ_{k+1} = (φ_k − 1/k!)/h̃ as in the reference code)
 *   UniP-p (predictor, Alg. 1):  x_t = (σ_t/σ_{s0})·x − α_t(h·φ_1)·m_{s0} − α_t·B(h)·Σ_k ρ^p_k D_k,
 *            ρ^p = ½ for p = 2, else R[:−1,:−1]⁻¹ b[:−1]
 *   UniC-p (corrector, Alg. 2), once the model has been evaluated at the predicted x_t (m_t):
 *            x_t^c = (σ_t/σ_{s0})·x − α_t(h·φ_1)·m_{s0} − α_t·B(h)·(Σ_k ρ^c_k D_k + ρ^c_p·(m_t − m_{s0})),
 *            ρ^c = ½ for p = 1, else R⁻¹ b
 * The corrector reuses the evaluation the next step needs anyway, so NFE = N; the model output m_t
 * is not re-evaluated at the corrected point (as in the reference). Orders: warm-up (1, 2, …), and
 * min(p, N − i) near the end, so the last step (to σ = 0) is first order and returns x̂_θ.
 */
import { predictX0, solveOnGrid, type GridSolver, type SamplerFn } from './sampler.ts';
import type { Grid } from './grid.ts';

interface UniCoefficients { rhos: number[]; rks: number[]; hPhi1: number; Bh: number }

/**
 * The ρ coefficients and B(h) of one update of order p from grid point s0 to point t, using the
 * p − 1 earlier points s0 − 1, s0 − 2, … (UniP: predictor; UniC: corrector).
 */
function unipcCoefficients(grid: Grid, s0: number, t: number, p: number, corrector: boolean): UniCoefficients {
  const h = grid.lambda[t]! - grid.lambda[s0]!;
  const rks = Array.from({ length: p - 1 }, (_, k) => (grid.lambda[s0 - 1 - k]! - grid.lambda[s0]!) / h);
  const hh = -h;
  const hPhi1 = Math.expm1(hh);
  const Bh = Math.expm1(hh); // bh2: B(h) = e^{h̃} − 1
  const r = [...rks, 1];
  const R: number[][] = [];
  const b: number[] = [];
  let hPhiK = hPhi1 / hh - 1;
  let fact = 1;
  for (let k = 1; k <= p; k++) {
    R.push(r.map((v) => v ** (k - 1)));
    b.push((hPhiK * fact) / Bh);
    fact *= k + 1;
    hPhiK = hPhiK / hh - 1 / fact;
  }
  let rhos: number[];
  if (corrector) rhos = p === 1 ? [0.5] : solve(R, b);
  else rhos = p === 1 ? [] : p === 2 ? [0.5] : solve(R.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
  return { rhos, rks, hPhi1, Bh };
}

/** UniPC-p with the bh2 variant. */
function uniPC(order: number): SamplerFn {
  const who = order === 2 ? 'unipc' : `unipc-${order}`;
  return (model, xT, sched, opts) => solveOnGrid(who, model, xT, sched, opts, (grid, size): GridSolver => {
    const N = grid.t.length;
    const hist = new Map<number, Float32Array>(); // x̂_θ by grid point, the last `order` + 1 points
    const last = new Float32Array(size); // x at the previous point, before its predictor step
    let lastOrder = 0;
    const at = (point: number): Float32Array => hist.get(point)!;
    return {
      step(i, x, eps, ctx) {
        const stale = hist.get(i - order - 1);
        hist.delete(i - order - 1);
        const mt = stale ?? new Float32Array(size);
        predictX0(grid, i, x, eps, opts.clip, mt);
        ctx.x0.set(mt);
        // UniC: correct x at point i with the model output just computed there (points i−1 … i−lastOrder).
        if (i > 0) applyUpdate(grid, i - 1, i, last, x, at, unipcCoefficients(grid, i - 1, i, lastOrder, true), mt);
        hist.set(i, mt);
        // UniP: predict point i + 1 from points i … i−p+1 (warm-up order; first order on the last step).
        const p = Math.min(order, N - i, i + 1);
        last.set(x);
        applyUpdate(grid, i, i + 1, x, x, at, unipcCoefficients(grid, i, i + 1, p, false), null);
        lastOrder = p;
      },
    };
  });
}

/**
 * out = (σ_t/σ_{s0})·x − α_t(hφ_1)·m_{s0} − α_t·B(h)·(Σ_k ρ_k D_k [+ ρ_last·(m_t − m_{s0})]), with
 * D_k = (m_{s0−1−k} − m_{s0})/r_k. `mt` (the model output at t) is given for UniC.
 */
function applyUpdate(grid: Grid, s0: number, t: number, x: Float32Array, out: Float32Array, m: (point: number) => Float32Array,
  c: UniCoefficients, mt: Float32Array | null): void {
  const at = grid.alpha[t]!, ratio = grid.sigma[t]! / grid.sigma[s0]!;
  const m0 = m(s0);
  const K = c.rks.length;
  const mk = Array.from({ length: K }, (_, k) => m(s0 - 1 - k));
  const cm = -at * c.hPhi1, cb = -at * c.Bh;
  const rhoT = mt ? c.rhos[c.rhos.length - 1]! : 0;
  for (let j = 0; j < x.length; j++) {
    const m0j = m0[j]!;
    let res = 0;
    for (let k = 0; k < K; k++) res += c.rhos[k]! * ((mk[k]![j]! - m0j) / c.rks[k]!);
    if (mt) res += rhoT * (mt[j]! - m0j);
    out[j] = ratio * x[j]! + cm * m0j + cb * res;
  }
}

/** Solve the small dense system A·v = b (Gaussian elimination with partial pivoting, float64). */
export function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const v = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * v[k]!;
    v[r] = s / M[r]![r]!;
  }
  return v;
}

/** UniPC-2 (bh2): the diffusers default. */
export const unipc: SamplerFn = uniPC(2);
/** UniPC-3 (bh2). */
export const unipc3: SamplerFn = uniPC(3);
