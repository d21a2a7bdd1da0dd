/**
 * Symmetric eigendecomposition in float64 (row-major n×n), the core of the FID matrix square root.
 * The classic two-phase method:
 *   1. Householder reduction to tridiagonal form, A = Q T Qᵀ (LAPACK dsytd2, 'U' variant: the
 *      last row is reduced first, so every access is to a contiguous row of the lower triangle in
 *      row-major storage; each step's rank-2 update is fused with the next step's matrix–vector
 *      product);
 *   2. implicit QL with Wilkinson-type shifts on T (EISPACK tql2), rotations applied to the rows
 *      of Vᵀ, which is initialised to Qᵀ; rotations are queued and applied by column blocks.
 */

/** Where eigenvectors go: not computed, numpy's layout (column j ↔ values[j]), or row j ↔ values[j]. */
export type EigenVectors = 'none' | 'columns' | 'rows';

/** Eigenvalues in ascending order and, when asked for, orthonormal eigenvectors (n×n). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array | null;
}

const EPS = 2 ** -52;

/** √(a² + b²) without overflow for large |a|, |b|. */
function hypot2(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  if (a < b) {
    const t = a;
    a = b;
    b = t;
  }
  if (a === 0) return 0;
  const r = b / a;
  return a * Math.sqrt(1 + r * r);
}

/**
 * Householder vector of step k from row k (dlarfg): annihilate A[k, 0..k−2] with H = I − τvvᵀ
 * on indices 0..k−1. Writes v (v[k−1] = 1) into `v` and, scaled, over A[k, 0..k−2]; sets tau[k]
 * and e[k−1] = β. Returns false when the row is already reduced (τ = 0).
 */
function householderRow(a: Float64Array, n: number, k: number, v: Float64Array, e: Float64Array, tau: Float64Array): boolean {
  const rk = k * n;
  const alpha = a[rk + k - 1]!;
  let xnorm2 = 0;
  for (let j = 0; j < k - 1; j++) xnorm2 += a[rk + j]! * a[rk + j]!;
  if (xnorm2 === 0) {
    tau[k] = 0;
    e[k - 1] = alpha;
    return false;
  }
  const beta = alpha >= 0 ? -hypot2(alpha, Math.sqrt(xnorm2)) : hypot2(alpha, Math.sqrt(xnorm2));
  const scale = 1 / (alpha - beta);
  for (let j = 0; j < k - 1; j++) {
    a[rk + j]! *= scale;
    v[j] = a[rk + j]!;
  }
  v[k - 1] = 1;
  tau[k] = (beta - alpha) / beta;
  e[k - 1] = beta;
  return true;
}

/** Given p = B v (length k), turn it into w = τp − (τ²/2)(pᵀv)v, the rank-2 update vector. */
function updateVector(p: Float64Array, v: Float64Array, t: number, k: number): void {
  let pv = 0;
  for (let i = 0; i < k; i++) {
    p[i] *= t;
    pv += p[i]! * v[i]!;
  }
  const c = -0.5 * t * pv;
  for (let i = 0; i < k; i++) p[i] += c * v[i]!;
}

/**
 * Reduce the lower triangle of `a` (n×n, overwritten) to tridiagonal form.
 * On return d (diagonal), e (e[i] couples i and i+1, e[n−1] = 0) and, per step k ≥ 2, the
 * Householder vector vₖ (indices 0..k−1, vₖ[k−1] = 1 implicit) in a[k, 0..k−2] with tau[k].
 * Step k updates the leading block B ← B − vwᵀ − wvᵀ; that pass is fused with the symmetric
 * matrix–vector product B'v' of step k−1, so the shrinking block is streamed once per step.
 */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array, tau: Float64Array): void {
  let v = new Float64Array(n);
  let w = new Float64Array(n);
  let vn = new Float64Array(n);
  let pn = new Float64Array(n);
  e[n - 1] = 0;
  let k = n - 1;
  d[k] = a[k * n + k]!;
  if (k === 0) return;
  let active = householderRow(a, n, k, v, e, tau);
  if (active) {
    // first step: plain p = B v over the lower triangle of B = A[0..k−1, 0..k−1]
    for (let i = 0; i < k; i++) {
      const ri = i * n;
      const vi = v[i]!;
      let s = 0;
      for (let j = 0; j < i; j++) {
        const aij = a[ri + j]!;
        s += aij * v[j]!;
        w[j] += aij * vi;
      }
      w[i] += s + a[ri + i]! * vi;
    }
    updateVector(w, v, tau[k]!, k);
  }
  for (; k >= 1; k--) {
    const rl = (k - 1) * n;
    if (active) {
      const vl = v[k - 1]!;
      const wl = w[k - 1]!;
      for (let j = 0; j < k; j++) a[rl + j] -= vl * w[j]! + wl * v[j]!;
    }
    d[k - 1] = a[rl + k - 1]!;
    if (k - 1 === 0) break;
    const next = householderRow(a, n, k - 1, vn, e, tau);
    pn.fill(0, 0, k - 1);
    for (let i = 0; i < k - 1; i++) {
      const ri = i * n;
      const vi = v[i]!;
      const wi = w[i]!;
      const ui = vn[i]!;
      let s = 0;
      if (active && next) {
        for (let j = 0; j < i; j++) {
          const aij = a[ri + j]! - (vi * w[j]! + wi * v[j]!);
          a[ri + j] = aij;
          s += aij * vn[j]!;
          pn[j] += aij * ui;
        }
        const aii = a[ri + i]! - 2 * vi * wi;
        a[ri + i] = aii;
        pn[i] += s + aii * ui;
      } else if (active) {
        for (let j = 0; j <= i; j++) a[ri + j] -= vi * w[j]! + wi * v[j]!;
      } else if (next) {
        for (let j = 0; j < i; j++) {
          const aij = a[ri + j]!;
          s += aij * vn[j]!;
          pn[j] += aij * ui;
        }
        pn[i] += s + a[ri + i]! * ui;
      }
    }
    if (next) updateVector(pn, vn, tau[k - 1]!, k - 1);
    [v, vn] = [vn, v];
    [w, pn] = [pn, w];
    active = next;
  }
}

/**
 * Form Qᵀ = H₂ H₃ ⋯ Hₙ₋₁ (n×n, row-major) from the reflectors stored by `tridiagonalize`.
 * Right-multiplying by Hₖ only touches rows and columns 0..k−1 (2n³/3 multiply-adds in all).
 * Four reflectors at a time: with aⱼ = row·vⱼ from one pass over the row, the product
 * row·Hₖ⋯Hₖ₊₃ = row − Σ αⱼvⱼ where αⱼ = τⱼ(aⱼ − Σ_{i<j} αᵢ vᵢ·vⱼ) (a compact-WY form), so each
 * row is read twice and written once per four reflectors instead of per reflector.
 */
function formQt(a: Float64Array, n: number, tau: Float64Array): Float64Array {
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const vs = new Float64Array(4 * n);
  let k0 = 2;
  for (; k0 + 3 < n; k0 += 4) {
    // v_{k0+q} in vs row q, zero-padded to the block length L (Hₖ acts on indices 0..k−1)
    const L = k0 + 3;
    for (let q = 0; q < 4; q++) {
      const k = k0 + q;
      const o = q * n;
      for (let j = 0; j < k - 1; j++) vs[o + j] = a[k * n + j]!;
      vs[o + k - 1] = 1;
      for (let j = k; j < L; j++) vs[o + j] = 0;
    }
    const g = (i: number, j: number) => dot(vs, i * n, vs, j * n, L);
    const g01 = g(0, 1);
    const g02 = g(0, 2);
    const g12 = g(1, 2);
    const g03 = g(0, 3);
    const g13 = g(1, 3);
    const g23 = g(2, 3);
    const t0 = tau[k0]!;
    const t1 = tau[k0 + 1]!;
    const t2 = tau[k0 + 2]!;
    const t3 = tau[k0 + 3]!;
    const o1 = n;
    const o2 = 2 * n;
    const o3 = 3 * n;
    // rows ≥ L are still unit rows e_r, zero in columns 0..L−1: untouched
    for (let r = 0; r < L; r++) {
      const rr = r * n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < L; j++) {
        const x = qt[rr + j]!;
        a0 += x * vs[j]!;
        a1 += x * vs[o1 + j]!;
        a2 += x * vs[o2 + j]!;
        a3 += x * vs[o3 + j]!;
      }
      const al0 = t0 * a0;
      const al1 = t1 * (a1 - al0 * g01);
      const al2 = t2 * (a2 - al0 * g02 - al1 * g12);
      const al3 = t3 * (a3 - al0 * g03 - al1 * g13 - al2 * g23);
      if (al0 === 0 && al1 === 0 && al2 === 0 && al3 === 0) continue;
      for (let j = 0; j < L; j++) qt[rr + j] -= al0 * vs[j]! + al1 * vs[o1 + j]! + al2 * vs[o2 + j]! + al3 * vs[o3 + j]!;
    }
  }
  for (; k0 < n; k0++) {
    const t = tau[k0]!;
    if (t === 0) continue;
    for (let j = 0; j < k0 - 1; j++) vs[j] = a[k0 * n + j]!;
    vs[k0 - 1] = 1;
    for (let r = 0; r < k0; r++) {
      const rr = r * n;
      const sc = dot(qt, rr, vs, 0, k0) * t;
      if (sc === 0) continue;
      for (let j = 0; j < k0; j++) qt[rr + j] -= sc * vs[j]!;
    }
  }
  return qt;
}

/** x[ox..ox+k) · y[oy..oy+k). */
function dot(x: Float64Array, ox: number, y: Float64Array, oy: number, k: number): number {
  let s = 0;
  for (let t = 0; t < k; t++) s += x[ox + t]! * y[oy + t]!;
  return s;
}

/**
 * Implicit QL on the symmetric tridiagonal (d, e), in place: d becomes the eigenvalues (unsorted).
 * When `zt` is given (n×n, rows = current basis vectors) every rotation is applied to two of its
 * rows, so on return row j of `zt` is the eigenvector of d[j].
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, n: number, zt: Float64Array | null): void {
  const rot = zt === null ? null : new RotationBuffer(zt, n);
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        // Wilkinson-type shift from the leading 2×2 block
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypot2(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypot2(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (rot !== null) rot.push(i, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  rot?.flush();
}

/**
 * Givens rotations on rows of an n×n matrix, applied lazily: rows (i, i+1) ← (c·xᵢ − s·xᵢ₊₁,
 * s·xᵢ + c·xᵢ₊₁) in the order pushed. A flush applies the whole queue one column block at a time
 * (the block, n × ROT_COLS values, stays in L2), because every column transforms independently;
 * rotating full rows immediately would stream the whole matrix through memory once per QL sweep.
 */
const ROT_COLS = 64;

class RotationBuffer {
  private idx: Int32Array;
  private cs: Float64Array;
  private len = 0;

  constructor(
    private readonly z: Float64Array,
    private readonly n: number,
  ) {
    this.idx = new Int32Array(8 * n);
    this.cs = new Float64Array(16 * n);
  }

  push(i: number, c: number, s: number): void {
    if (this.len === this.idx.length) this.flush();
    this.idx[this.len] = i;
    this.cs[2 * this.len] = c;
    this.cs[2 * this.len + 1] = s;
    this.len++;
  }

  flush(): void {
    const { z, n, idx, cs, len } = this;
    for (let k0 = 0; k0 < n; k0 += ROT_COLS) {
      const k1 = Math.min(n, k0 + ROT_COLS);
      let r = 0;
      while (r < len) {
        const i = idx[r]!;
        if (r + 3 < len && idx[r + 1] === i - 1 && idx[r + 2] === i - 2 && idx[r + 3] === i - 3) {
          // four consecutive rotations of one QL sweep, (i, i+1) … (i−3, i−2): the shared rows
          // are carried in a register, 5 loads and 5 stores instead of 8 and 8
          const q = 2 * r;
          const c0 = cs[q]!;
          const s0 = cs[q + 1]!;
          const c1 = cs[q + 2]!;
          const s1 = cs[q + 3]!;
          const c2 = cs[q + 4]!;
          const s2 = cs[q + 5]!;
          const c3 = cs[q + 6]!;
          const s3 = cs[q + 7]!;
          const o4 = (i + 1) * n;
          const o3 = o4 - n;
          const o2 = o3 - n;
          const o1 = o2 - n;
          const o0 = o1 - n;
          for (let k = k0; k < k1; k++) {
            let y = z[o4 + k]!;
            let x = z[o3 + k]!;
            z[o4 + k] = s0 * x + c0 * y;
            y = c0 * x - s0 * y;
            x = z[o2 + k]!;
            z[o3 + k] = s1 * x + c1 * y;
            y = c1 * x - s1 * y;
            x = z[o1 + k]!;
            z[o2 + k] = s2 * x + c2 * y;
            y = c2 * x - s2 * y;
            x = z[o0 + k]!;
            z[o1 + k] = s3 * x + c3 * y;
            z[o0 + k] = c3 * x - s3 * y;
          }
          r += 4;
          continue;
        }
        const ox = i * n;
        const oy = ox + n;
        const c = cs[2 * r]!;
        const s = cs[2 * r + 1]!;
        for (let k = k0; k < k1; k++) {
          const x = z[ox + k]!;
          const y = z[oy + k]!;
          z[oy + k] = s * x + c * y;
          z[ox + k] = c * x - s * y;
        }
        r++;
      }
    }
    this.len = 0;
  }
}

/**
 * Eigendecomposition of a real symmetric n×n matrix (row-major; only the lower triangle is read),
 * A = V diag(values) Vᵀ, values ascending like numpy.linalg.eigh.
 * `vectors`: 'columns' gives numpy's layout (V[:, j] ↔ values[j]); 'rows' gives Vᵀ (cheaper to
 * produce, row j ↔ values[j]); 'none' computes eigenvalues only (O(n³·4/3), much faster).
 */
export function symmetricEigen(a: Float64Array, n: number, vectors: EigenVectors = 'columns'): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  if (n === 0) return { values: new Float64Array(0), vectors: vectors === 'none' ? null : new Float64Array(0) };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) if (!Number.isFinite(a[i * n + j]!)) throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is ${a[i * n + j]}`);
  }
  const w = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tau = new Float64Array(n);
  tridiagonalize(w, n, d, e, tau);
  const zt = vectors === 'none' ? null : formQt(w, n, tau);
  tridiagonalQL(d, e, n, zt);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x]! - d[y]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  if (zt === null) return { values, vectors: null };
  const out = new Float64Array(n * n);
  switch (vectors) {
    case 'rows':
      order.forEach((src, dst) => out.set(zt.subarray(src * n, src * n + n), dst * n));
      break;
    case 'columns':
      order.forEach((src, dst) => {
        for (let k = 0; k < n; k++) out[k * n + dst] = zt[src * n + k]!;
      });
      break;
    case 'none':
      break;
  }
  return { values, vectors: out };
}
