/**
 * WGSL compute kernels of the `webgpu` backend: the forward ops a UNet needs to sample. Each one
 * names the `js` function it matches (src/engine/js/<op>.ts, the specification) and uses the same
 * shape letters; operands are whole storage buffers plus an element offset (`<name>_o`), because
 * parameter views sit at arbitrary offsets of one arena and WebGPU binding offsets must be
 * 256-byte aligned. Arithmetic is float32 throughout (the js kernels accumulate some sums in
 * float64), so results agree with `js` to rounding, not bit for bit.
 */

export type ParamType = 'u32' | 'f32';

export interface KernelDef {
  /** Read-only operands (bound first, in this order); `ids` operands hold i32. */
  inputs: string[];
  /** Read-write operands (bound after the inputs). */
  outputs: string[];
  /** Scalar parameters after the automatic `<operand>_o` offsets, in uniform-struct order. */
  params: Array<[string, ParamType]>;
  /** Threads per workgroup (a 1-D workgroup). */
  workgroup: number;
  /** The entry point `main` and helpers; may use `p.<param>` and the operand arrays. */
  code: string;
}

/** The uniform block is every operand offset, then the kernel's own parameters. */
export function paramLayout(def: KernelDef): Array<[string, ParamType]> {
  return [...[...def.inputs, ...def.outputs].map((n): [string, ParamType] => [`${n}_o`, 'u32']), ...def.params];
}

/** Full WGSL of a kernel: bindings, the parameter struct, then its code. */
export function wgslSource(def: KernelDef): string {
  const fields = paramLayout(def).map(([n, t]) => `  ${n}: ${t},`).join('\n');
  const lines = ['struct Params {', fields, '}'];
  let b = 0;
  for (const n of def.inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<${n === 'ids' ? 'i32' : 'f32'}>;`);
  for (const n of def.outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<f32>;`);
  lines.push(`@group(0) @binding(${b}) var<uniform> p: Params;`, def.code);
  return lines.join('\n');
}

const EW_WG = 64;

/** An elementwise kernel over `n` items: `body` sees the flat index `i` (a u32 < p.n). */
function elementwise(inputs: string[], outputs: string[], params: Array<[string, ParamType]>, body: string, helpers = ''): KernelDef {
  return {
    inputs, outputs, params: [['n', 'u32'], ...params], workgroup: EW_WG,
    code: `${helpers}
@compute @workgroup_size(${EW_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${EW_WG}u;
  if (i >= p.n) { return; }
${body}
}`,
  };
}

/** σ(x)·x as src/engine/js/elementwise.ts `swishForward`; exp(−x) overflows to +∞ for x < −88, giving −0 as in js. */
const SWISH = 'fn swish(x: f32) -> f32 { if (x < -88.0) { return 0.0; } return x / (1.0 + exp(-x)); }';


export const KERNELS = {
  // ---- elementwise: src/engine/js/elementwise.ts --------------------------------------------------
  add: elementwise(['a', 'b'], ['out'], [], '  out[p.out_o + i] = a[p.a_o + i] + b[p.b_o + i];'),
  sub: elementwise(['a', 'b'], ['out'], [], '  out[p.out_o + i] = a[p.a_o + i] - b[p.b_o + i];'),
  mul: elementwise(['a', 'b'], ['out'], [], '  out[p.out_o + i] = a[p.a_o + i] * b[p.b_o + i];'),
  affine: elementwise(['a'], ['out'], [['alpha', 'f32'], ['beta', 'f32']], '  out[p.out_o + i] = p.alpha * a[p.a_o + i] + p.beta;'),
  axpy: elementwise(['a', 'b'], ['out'], [['alpha', 'f32']], '  out[p.out_o + i] = a[p.a_o + i] + p.alpha * b[p.b_o + i];'),
  /** a viewed as O×C×I: out[o,c,i] = a[o,c,i] + v[c]. */
  addBroadcast: elementwise(['a', 'v'], ['out'], [['C', 'u32'], ['I', 'u32']], '  out[p.out_o + i] = a[p.a_o + i] + v[p.v_o + (i / p.I) % p.C];'),
  /** a viewed as N×D: out[n,d] = a[n,d]·w[n]. */
  mulRows: elementwise(['a', 'w'], ['out'], [['D', 'u32']], '  out[p.out_o + i] = a[p.a_o + i] * w[p.w_o + i / p.D];'),
  fill: elementwise([], ['out'], [['value', 'f32']], '  out[p.out_o + i] = p.value;'),
  scaleInPlace: elementwise([], ['out'], [['s', 'f32']], '  out[p.out_o + i] = out[p.out_o + i] * p.s;'),
  swishForward: elementwise(['a'], ['out'], [], '  out[p.out_o + i] = swish(a[p.a_o + i]);', SWISH),
  reluForward: elementwise(['a'], ['out'], [], '  out[p.out_o + i] = max(a[p.a_o + i], 0.0);'),

  // ---- block copies: src/engine/js/concat.ts (n = len·count) -------------------------------------
  copyBlocks: elementwise(['a'], ['out'], [['len', 'u32'], ['aStride', 'u32'], ['outStride', 'u32']], `
  let o = i / p.len;
  let k = i % p.len;
  out[p.out_o + o * p.outStride + k] = a[p.a_o + o * p.aStride + k];`),

  // ---- src/engine/js/upsample.ts: y(P×2H×2W)[p, 2i+a, 2j+b] = x[p, i, j] (n = P·4HW) -------------
  upsampleNearest2xForward: elementwise(['x'], ['y'], [['H', 'u32'], ['W', 'u32']], `
  let plane = i / (4u * p.H * p.W);
  let r = i % (4u * p.H * p.W);
  let oy = r / (2u * p.W);
  let ox = r % (2u * p.W);
  y[p.y_o + i] = x[p.x_o + (plane * p.H + oy / 2u) * p.W + ox / 2u];`),

  // ---- src/engine/js/embedding.ts: y(N×D)[n] = w[ids[n]] (n = N·D) ---------------------------------
  embeddingForward: elementwise(['w', 'ids'], ['y'], [['D', 'u32']], `
  let row = u32(ids[p.ids_o + i / p.D]);
  y[p.y_o + i] = w[p.w_o + row * p.D + i % p.D];`),

  // ---- src/engine/js/conv2d.ts: one thread per strip y[n, co, i, 4q..4q+3] (n = N·Co·Ho·⌈Wo/4⌉), each
  // weight loaded once for the strip; every output sums in the js order (ci, then p, then q) -------
  conv2dForward: elementwise(['x', 'w', 'b'], ['y'], [['Ci', 'u32'], ['H', 'u32'], ['W', 'u32'], ['Co', 'u32'], ['KH', 'u32'], ['KW', 'u32'],
    ['stride', 'u32'], ['pad', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['hasBias', 'u32']], `
  let Wq = (p.Wo + 3u) / 4u;
  let j0 = (i % Wq) * 4u;
  let oi = (i / Wq) % p.Ho;
  let co = (i / (Wq * p.Ho)) % p.Co;
  let n = i / (Wq * p.Ho * p.Co);
  var acc = vec4<f32>(0.0);
  if (p.hasBias != 0u) { acc = vec4<f32>(b[p.b_o + co]); }
  for (var ci = 0u; ci < p.Ci; ci++) {
    let xBase = p.x_o + (n * p.Ci + ci) * p.H * p.W;
    let wBase = p.w_o + (co * p.Ci + ci) * p.KH * p.KW;
    for (var kh = 0u; kh < p.KH; kh++) {
      let hi = i32(oi * p.stride + kh) - i32(p.pad);
      if (hi < 0 || hi >= i32(p.H)) { continue; }
      let row = xBase + u32(hi) * p.W;
      for (var kw = 0u; kw < p.KW; kw++) {
        let wv = w[wBase + kh * p.KW + kw];
        for (var r = 0u; r < 4u; r++) {
          let wj = i32((j0 + r) * p.stride + kw) - i32(p.pad);
          if (wj >= 0 && wj < i32(p.W)) { acc[r] += wv * x[row + u32(wj)]; }
        }
      }
    }
  }
  let yBase = p.y_o + ((n * p.Co + co) * p.Ho + oi) * p.Wo;
  for (var r = 0u; r < 4u; r++) {
    if (j0 + r < p.Wo) { y[yBase + j0 + r] = acc[r]; }
  }`),

  // ---- src/engine/js/attention.ts: one thread per query row (n, i); P is its own scratch row ------
  attentionForward: elementwise(['q', 'k', 'v'], ['y', 'P'], [['C', 'u32'], ['L', 'u32'], ['scale', 'f32']], `
  let n = i / p.L;
  let qi = i % p.L;
  let base = n * p.C * p.L;
  let row = p.P_o + i * p.L;
  var mx = -3.40282346e38;
  for (var j = 0u; j < p.L; j++) {
    var s = 0.0;
    for (var c = 0u; c < p.C; c++) { s += q[p.q_o + base + c * p.L + qi] * k[p.k_o + base + c * p.L + j]; }
    s = s * p.scale;
    P[row + j] = s;
    mx = max(mx, s);
  }
  var z = 0.0;
  for (var j = 0u; j < p.L; j++) {
    let e = exp(P[row + j] - mx);
    P[row + j] = e;
    z += e;
  }
  for (var j = 0u; j < p.L; j++) { P[row + j] = P[row + j] / z; }
  for (var c = 0u; c < p.C; c++) {
    var s = 0.0;
    for (var j = 0u; j < p.L; j++) { s += P[row + j] * v[p.v_o + base + c * p.L + j]; }
    y[p.y_o + base + c * p.L + qi] = s;
  }`),

  // ---- src/engine/js/gemm.ts: C(M×N) = alpha·op(A)·op(B) + beta·C, one thread per C[m, n] (n = M·N) --
  gemm: elementwise(['A', 'B'], ['Cm'], [['N', 'u32'], ['K', 'u32'], ['M', 'u32'], ['transA', 'u32'], ['transB', 'u32'], ['alpha', 'f32'], ['beta', 'f32']], `
  let m = i / p.N;
  let c = i % p.N;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var a = A[p.A_o + m * p.K + k];
    if (p.transA != 0u) { a = A[p.A_o + k * p.M + m]; }
    var b = B[p.B_o + k * p.N + c];
    if (p.transB != 0u) { b = B[p.B_o + c * p.K + k]; }
    acc += a * b;
  }
  let at = p.Cm_o + i;
  if (p.beta == 0.0) { Cm[at] = p.alpha * acc; } else { Cm[at] = p.beta * Cm[at] + p.alpha * acc; }`),

  // ---- src/engine/js/groupnorm.ts, forward in two kernels ------------------------------------------
  /** Statistics: one thread per (n, g) (n = N·G), two passes over its M = (C/G)·L values as in js. */
  groupNormStats: elementwise(['x'], ['mean', 'rstd'], [['C', 'u32'], ['L', 'u32'], ['G', 'u32'], ['eps', 'f32']], `
  let M = (p.C / p.G) * p.L;
  let base = p.x_o + i * M;
  var s = 0.0;
  for (var k = 0u; k < M; k++) { s += x[base + k]; }
  let mu = s / f32(M);
  var v = 0.0;
  for (var k = 0u; k < M; k++) { let d = x[base + k] - mu; v += d * d; }
  mean[p.mean_o + i] = mu;
  rstd[p.rstd_o + i] = 1.0 / sqrt(v / f32(M) + p.eps);`),
  /** y = swish?(γ_c·(x − μ)·rstd + β_c), one thread per element (n = N·C·L). */
  groupNormApply: elementwise(['x', 'gamma', 'beta', 'mean', 'rstd'], ['y'], [['C', 'u32'], ['L', 'u32'], ['G', 'u32'], ['swish', 'u32']], `
  let ch = (i / p.L) % p.C;
  let ng = (i / p.L / p.C) * p.G + ch / (p.C / p.G);
  let z = gamma[p.gamma_o + ch] * (x[p.x_o + i] - mean[p.mean_o + ng]) * rstd[p.rstd_o + ng] + beta[p.beta_o + ch];
  if (p.swish != 0u) { y[p.y_o + i] = swish(z); } else { y[p.y_o + i] = z; }`, SWISH),
} satisfies Record<string, KernelDef>;

export type KernelName = keyof typeof KERNELS;
