// Native cpu backend vs the js reference kernels at UNet-like shapes, on every ISA this CPU has:
// conv2d (3×3 s1/s2, 1×1) forward/backward, group norm (32 groups, ± fused swish), elementwise,
// broadcasts, float64 reductions, Adam and EMA; plus bit-exact repeatability and thread-count
// independence of the threaded kernels.
//
// Tolerance: max |cpu − js| / max |js| < 2e-5 for conv and group norm. Both sides accumulate in
// float32 (the js conv rounds after every term, the native gemm keeps float32 sums in registers),
// so each output carries a rounding error of order √n·2⁻²⁴ of its terms for n up to 576
// (forward, backward-data) and 2048 (backward-weight sums over N·H·W); 2e-5 is a ×5–10 margin.
// Elementwise kernels differ from js only by float32 vs float64 intermediate rounding and the
// native exp (relative error < 1e-7): 1e-6. Reductions accumulate in float64 on both sides: 1e-9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCpuBackend, cpuInfo, setCpuIsa, setCpuThreads, setCpuPrecision, setCpuConvKernels, convKernelName } from '../../src/engine/cpu/load.ts';
import { ISAS, type Isa } from '../../src/engine/cpu/native.ts';
import { getBackend } from '../../src/engine/backends.ts';
import type { Backend, ConvGeom, GroupNormGeom, Storage } from '../../src/engine/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import { assertClose, relativeError } from './harness.ts';

const loaded = loadCpuBackend();
const skip = loaded.ok ? false : `native cpu backend not built (${loaded.reason})`;
const cpu = (loaded.ok ? loaded.backend : null) as Backend;
const js = getBackend('js');

function isasHere(): Isa[] {
  return ISAS.slice(ISAS.indexOf(cpuInfo()!.bestIsa));
}

function forEachIsa(f: (isa: Isa) => void): void {
  const before = cpuInfo()!.isa;
  try {
    for (const isa of isasHere()) {
      assert.equal(setCpuIsa(isa), isa);
      f(isa);
    }
  } finally {
    setCpuIsa(before);
  }
}

function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  return relativeError(ref, got, { floor: 1e-30 });
}

function close(ref: ArrayLike<number>, got: ArrayLike<number>, tol: number, what: string): void {
  assertClose(ref, got, tol, what, { floor: 1e-30 });
}

/** The same float32 values on both backends. */
function pair(values: Float32Array): [Storage, Storage] {
  const a = js.alloc('float32', values.length), b = cpu.alloc('float32', values.length);
  js.write(a, values); cpu.write(b, values);
  return [a, b];
}

function normal(n: number, seed: number, scale = 1): Float32Array {
  const v = new Rng(seed).fillNormal(new Float32Array(n)) as Float32Array;
  for (let i = 0; i < n; i++) v[i]! *= scale;
  return v;
}

function convGeom(N: number, Ci: number, H: number, Co: number, k: number, stride: number, pad: number): ConvGeom {
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  return { N, Ci, H, W: H, Co, KH: k, KW: k, stride, pad, Ho, Wo: Ho };
}

function checkConv(g: ConvGeom, bias: boolean, what: string): void {
  const xs = g.N * g.Ci * g.H * g.W, ws = g.Co * g.Ci * g.KH * g.KW, ys = g.N * g.Co * g.Ho * g.Wo;
  const [xj, xc] = pair(normal(xs, 1));
  const [wj, wc] = pair(normal(ws, 2, 1 / Math.sqrt(g.Ci * g.KH * g.KW)));
  const [bj, bc] = pair(normal(g.Co, 3));
  const [gyj, gyc] = pair(normal(ys, 4));
  const out = (be: Backend, n: number) => be.alloc('float32', n);
  const [yj, yc] = [out(js, ys), out(cpu, ys)];
  cpu.write(yc, new Float32Array(ys).fill(NaN)); // every forward kernel overwrites (ops allocate y 'overwritten')
  js.conv2dForward(xj, wj, bias ? bj : null, yj, g);
  cpu.conv2dForward(xc, wc, bias ? bc : null, yc, g);
  close(js.read(yj), cpu.read(yc), 2e-5, `${what} forward`);
  const [gxj, gxc] = [out(js, xs), out(cpu, xs)];
  cpu.write(gxc, new Float32Array(xs).fill(NaN)); // outputs are overwritten, never accumulated
  js.conv2dBackwardData(gyj, wj, gxj, g);
  cpu.conv2dBackwardData(gyc, wc, gxc, g);
  close(js.read(gxj), cpu.read(gxc), 2e-5, `${what} backward-data`);
  const [gwj, gwc] = [out(js, ws), out(cpu, ws)];
  const [gbj, gbc] = [out(js, g.Co), out(cpu, g.Co)];
  cpu.write(gwc, new Float32Array(ws).fill(NaN));
  js.conv2dBackwardWeight(xj, gyj, gwj, bias ? gbj : null, g);
  cpu.conv2dBackwardWeight(xc, gyc, gwc, bias ? gbc : null, g);
  close(js.read(gwj), cpu.read(gwc), 2e-5, `${what} backward-weight`);
  if (bias) close(js.read(gbj), cpu.read(gbc), 1e-6, `${what} backward-bias`);
}

test('cpu conv2d vs js at UNet shapes (8×64×16×16 → 64 3×3 s1 p1, s2 p1, 1×1 → 128), every ISA', { skip }, () => {
  forEachIsa((isa) => {
    // The full-size cases run once (they dominate the js reference time); other ISAs get smaller ones.
    const big = isa === cpuInfo()!.bestIsa;
    const N = big ? 8 : 2;
    checkConv(convGeom(N, 64, 16, 64, 3, 1, 1), true, `${isa} 3×3 s1 p1`);
    checkConv(convGeom(N, 64, 16, 64, 3, 2, 1), true, `${isa} 3×3 s2 p1`);
    checkConv(convGeom(N, 64, 16, 128, 1, 1, 0), true, `${isa} 1×1`);
    checkConv(convGeom(3, 5, 7, 6, 3, 2, 0), false, `${isa} odd 3×3 s2 p0 no bias`);
    checkConv(convGeom(2, 3, 9, 4, 3, 1, 2), true, `${isa} pad 2`);
    // Wo = 31: a packing panel of 32 columns ends one column into an output row, so a run of one
    // column lies wholly in the left padding of the taps q < pad
    checkConv(convGeom(1, 2, 29, 3, 3, 1, 2), true, `${isa} pad 2, Wo 31`);
    checkConv(convGeom(2, 3, 6, 5, 1, 2, 0), true, `${isa} 1×1 s2`);
    checkConv(convGeom(1, 4, 5, 3, 1, 1, 1), true, `${isa} 1×1 p1`);
    // small maps: several images per gemm (batched columns), plain and 1×1
    checkConv(convGeom(5, 8, 4, 16, 3, 1, 1), true, `${isa} 4×4 batched`);
    checkConv(convGeom(5, 8, 4, 16, 1, 1, 0), true, `${isa} 1×1 4×4 batched`);
    // the pointwise 1×1 tiles (AVX-512, ≥ 256 positions): 4×4 maps (a vector = one map, tiles
    // spanning images, a short last tile: 17 vectors = 4·4 + 1), 1–6-channel blocks (Co 19), odd
    // Ci, with and without bias; 8×8 maps (4 vectors an image)
    checkConv(convGeom(17, 9, 4, 19, 1, 1, 0), true, `${isa} pointwise 4×4 Ci 9 Co 19`);
    checkConv(convGeom(5, 7, 8, 13, 1, 1, 0), false, `${isa} pointwise 8×8 Ci 7 Co 13 no bias`);
    // the direct backward-weight kernel (3×3 s1 p1, Co a multiple of the vector width, ≤ 64):
    // channel counts that leave partial channel tiles, one- and two-vector output tiles
    checkConv(convGeom(3, 17, 5, 48, 3, 1, 1), true, `${isa} direct wgrad Ci 17 Co 48 5×5`);
    checkConv(convGeom(2, 30, 12, 32, 3, 1, 1), false, `${isa} direct wgrad Ci 30 Co 32 12×12`);
    // the map-dot backward-weight kernel (3×3 into fewer channels than a vector, rows of whole
    // vectors; 1×1 on maps ≥ 16×16 with Ci + Co ≤ 128): edge tiles of every size (Co 35, 5, 3;
    // Ci 37, 200), and images in several chunks (an image's maps > 64 Ki floats: one a chunk)
    checkConv(convGeom(3, 37, 32, 35, 1, 1, 0), false, `${isa} map-dot wgrad 1×1 32×32 Ci 37 Co 35 (3 chunks)`);
    checkConv(convGeom(3, 200, 16, 3, 3, 1, 1), true, `${isa} map-dot wgrad 3×3 16×16 Ci 200 Co 3 (3 chunks)`);
    checkConv(convGeom(2, 13, 16, 5, 3, 1, 1), true, `${isa} map-dot wgrad 3×3 16×16 Ci 13 Co 5`);
    // the direct 3×3 forward / backward-data kernel (W a multiple of the vector width)
    checkConv(convGeom(2, 5, 16, 19, 3, 1, 1), true, `${isa} direct conv 16×16 Ci 5 Co 19`);
    checkConv(convGeom(1, 9, 32, 3, 3, 1, 1), true, `${isa} direct conv 32×32 Ci 9 Co 3 (and direct backward-data)`);
    checkConv(convGeom(2, 7, 8, 13, 3, 1, 1), false, `${isa} direct conv 8×8 (avx2; short rows on avx512) Ci 7 Co 13`);
    // the direct kernel's short-row tiles (AVX-512, W 4 or 8, Co not a multiple of the vector so the
    // channel-vector kernel declines): 4×4 vectors spanning images with a short last tile (5 maps =
    // 4 + 1), an 8×4 map (two vectors of four rows), 1–6-channel blocks (Co 19 = 4 blocks of 4–5)
    checkConv(convGeom(5, 7, 4, 19, 3, 1, 1), true, `${isa} short rows 4×4 Ci 7 Co 19`);
    checkConv({ ...convGeom(3, 9, 8, 5, 3, 1, 1), W: 4, Wo: 4 }, false, `${isa} short rows 8×4 Ci 9 Co 5`);
    // non-square maps: row blocks shorter than the kernel's 4 rows (6 = 4 + 2, 3, 1 rows)
    for (const H of [6, 3, 1]) checkConv({ ...convGeom(2, 6, 16, 9, 3, 1, 1), H, Ho: H }, true, `${isa} direct conv ${H}×16 Ci 6 Co 9`);
    // the channel-vector kernel (Co a multiple of the vector width, 64 ≤ Ci·KH·KW ≤ 2048; backward-
    // data too on small maps when stride 1 and Ci is a multiple): 1–4-vector output tiles (Co 16 …
    // 80 = 4 + 1 vectors), position tiles spanning images and a short last tile, stride 2, pad 2,
    // k 1×3, 5×5 and 7×1 on odd maps
    checkConv(convGeom(3, 64, 8, 64, 3, 1, 1), true, `${isa} cv 8×8 Ci 64 Co 64`);
    checkConv(convGeom(5, 48, 4, 80, 3, 1, 1), true, `${isa} cv 4×4 Ci 48 Co 80`);
    checkConv(convGeom(3, 32, 6, 32, 3, 1, 2), false, `${isa} cv 6×6 pad 2 Ci 32 Co 32`);
    checkConv(convGeom(3, 16, 9, 48, 3, 2, 1), true, `${isa} cv stride 2 9×9 → 5×5`);
    checkConv(convGeom(2, 8, 3, 16, 3, 1, 1), true, `${isa} cv 3×3 Ci 8 Co 16`);
    {
      const g: ConvGeom = { N: 3, Ci: 32, H: 5, W: 7, Co: 32, KH: 1, KW: 3, stride: 1, pad: 0, Ho: 5, Wo: 5 };
      checkConv(g, true, `${isa} cv k 1×3, 5×7 → 5×5`);
      checkConv(convGeom(2, 16, 11, 32, 5, 1, 2), true, `${isa} cv 5×5 pad 2 on 11×11`);
      const g7: ConvGeom = { N: 2, Ci: 24, H: 13, W: 7, Co: 48, KH: 7, KW: 1, stride: 1, pad: 0, Ho: 7, Wo: 7 };
      checkConv(g7, false, `${isa} cv k 7×1, 13×7 → 7×7`);
    }
    // fp32 forward with k > 2048 through the cv kernel in k blocks (each tile adding its block to
    // the sums the block before stored): k 2304 = 2 blocks of 1152 (256 → 112 at 8×8, a short last
    // position tile: 2·64 positions), k 4320 = 3 blocks of 1440, 3 vectors of Co
    checkConv(convGeom(big ? 2 : 1, 256, 8, 112, 3, 1, 1), true, `${isa} cv k 2304 (2 k blocks) 8×8 Ci 256 Co 112`);
    // ≥ 128 output channels at 8×8 take the short-row tiles on avx512 (the cv kernel elsewhere)
    checkConv(convGeom(2, 24, 8, 128, 3, 1, 1), true, `${isa} 8×8 Ci 24 Co 128`);
    checkConv(convGeom(1, 480, 8, 48, 3, 1, 1), false, `${isa} cv k 4320 (3 k blocks) 8×8 Ci 480 Co 48`);
    // stride 2 onto a small map at k > 2048 and > 128 output channels (the downsampling rule):
    // k 2160 = 2 blocks, Co 144 = 4 + 4 + 1 vectors, 8×8 → 4×4
    checkConv(convGeom(2, 240, 8, 144, 3, 2, 1), true, `${isa} cv stride 2 k 2160 8×8 → 4×4 Ci 240 Co 144`);
  });
});

function checkGroupNorm(g: GroupNormGeom, swish: boolean, what: string, offset = 0, scale = 3): void {
  const n = g.N * g.C * g.L;
  const [xj, xc] = pair(normal(n, 5, scale).map((v, i) => v + (i % 7) + offset));
  const [gaj, gac] = pair(normal(g.C, 6));
  const [bej, bec] = pair(normal(g.C, 7));
  const [gyj, gyc] = pair(normal(n, 8));
  const a = (be: Backend, k: number) => be.alloc('float32', k);
  const [yj, yc, mj, mc, rj, rc] = [a(js, n), a(cpu, n), a(js, g.N * g.G), a(cpu, g.N * g.G), a(js, g.N * g.G), a(cpu, g.N * g.G)];
  js.groupNormForward(xj, gaj, bej, yj, mj, rj, g, swish);
  cpu.groupNormForward(xc, gac, bec, yc, mc, rc, g, swish);
  close(js.read(yj), cpu.read(yc), 2e-5, `${what} y`);
  close(js.read(mj), cpu.read(mc), 1e-6, `${what} mean`);
  close(js.read(rj), cpu.read(rc), 1e-6, `${what} rstd`);
  const [gxj, gxc, ggj, ggc, gbj, gbc] = [a(js, n), a(cpu, n), a(js, g.C), a(cpu, g.C), a(js, g.C), a(cpu, g.C)];
  cpu.write(ggc, new Float32Array(g.C).fill(NaN));
  js.groupNormBackward(xj, gaj, bej, mj, rj, gyj, gxj, ggj, gbj, g, swish);
  cpu.groupNormBackward(xc, gac, bec, mc, rc, gyc, gxc, ggc, gbc, g, swish);
  close(js.read(gxj), cpu.read(gxc), 2e-5, `${what} gx`);
  close(js.read(ggj), cpu.read(ggc), 2e-5, `${what} gγ`);
  close(js.read(gbj), cpu.read(gbc), 2e-5, `${what} gβ`);
}

test('cpu groupNorm (32 groups) ± fused swish vs js, every ISA', { skip }, () => {
  forEachIsa((isa) => {
    for (const swish of [false, true]) {
      checkGroupNorm({ N: 4, C: 128, L: 64, G: 32, eps: 1e-5 }, swish, `${isa} swish=${swish} 4×128×8×8`);
      checkGroupNorm({ N: 2, C: 12, L: 5, G: 3, eps: 1e-6 }, swish, `${isa} swish=${swish} odd`);
      // the native statistics are one pass (E[x²] − μ² in float64): a mean far from zero against a
      // small spread (μ²/σ² ≈ 1e5) still matches the js two-pass reference
      checkGroupNorm({ N: 2, C: 64, L: 64, G: 32, eps: 1e-5 }, swish, `${isa} swish=${swish} mean 1000`, 1000, 3);
    }
  });
});

test('cpu elementwise, broadcasts, reductions, Adam and EMA vs js, every ISA, on offset views', { skip }, () => {
  forEachIsa((isa) => {
    const O = 7, C = 73, I = 137; // O·C·I = 70007
    const n = O * C * I; // several threading chunks plus a ragged vector tail
    const arena = normal(3 * n + 11, 9, 4);
    const [aj0, ac0] = pair(arena);
    const v = (be: Backend, s: Storage, k: number) => be.view(s, 5 + k * n, n); // misaligned views
    const [aj, ac, bj, bc] = [v(js, aj0, 0), v(cpu, ac0, 0), v(js, aj0, 1), v(cpu, ac0, 1)];
    const o = (be: Backend) => be.alloc('float32', n);
    const [oj, oc] = [o(js), o(cpu)];
    const cmp = (what: string, tol = 1e-6) => close(js.read(oj), cpu.read(oc), tol, `${isa} ${what}`);
    js.add(aj, bj, oj); cpu.add(ac, bc, oc); cmp('add');
    js.sub(aj, bj, oj); cpu.sub(ac, bc, oc); cmp('sub');
    js.mul(aj, bj, oj); cpu.mul(ac, bc, oc); cmp('mul');
    js.affine(aj, -1.5, 0.25, oj); cpu.affine(ac, -1.5, 0.25, oc); cmp('affine');
    js.axpy(aj, 0.3, bj, oj); cpu.axpy(ac, 0.3, bc, oc); cmp('axpy');
    js.swishForward(aj, oj); cpu.swishForward(ac, oc); cmp('swish');
    js.swishBackward(aj, bj, oj); cpu.swishBackward(ac, bc, oc); cmp('swish backward');
    js.reluForward(aj, oj); cpu.reluForward(ac, oc); cmp('relu');
    js.reluBackward(aj, bj, oj); cpu.reluBackward(ac, bc, oc); cmp('relu backward');
    const [vj, vc] = pair(normal(C, 10));
    js.addBroadcast(aj, vj, O, C, I, oj); cpu.addBroadcast(ac, vc, O, C, I, oc); cmp('addBroadcast');
    const [sj, sc] = [js.alloc('float32', C), cpu.alloc('float32', C)];
    js.sumBroadcast(aj, O, C, I, sj); cpu.sumBroadcast(ac, O, C, I, sc);
    close(js.read(sj), cpu.read(sc), 1e-6, `${isa} sumBroadcast`);
    const [wj, wc] = pair(normal(O * C, 11));
    js.mulRows(aj, wj, O * C, I, oj); cpu.mulRows(ac, wc, O * C, I, oc); cmp('mulRows');
    const near = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)), `${isa} ${what}: ${x} vs ${y}`);
    near(js.sumAll(aj), cpu.sumAll(ac), 'sumAll');
    near(js.sumSquares(aj), cpu.sumSquares(ac), 'sumSquares');
    near(js.sumSquaredDiff(aj, bj), cpu.sumSquaredDiff(ac, bc), 'sumSquaredDiff');
    const [rj, rc] = pair(normal(O * C, 12));
    near(js.weightedSquaredDiff(aj, bj, rj, O * C, I), cpu.weightedSquaredDiff(ac, bc, rc, O * C, I), 'weightedSquaredDiff');
    js.copy(aj, 0, oj, 0, n); cpu.copy(ac, 0, oc, 0, n);
    js.scaleInPlace(oj, 0.7); cpu.scaleInPlace(oc, 0.7); cmp('scaleInPlace');
    // Adam: three steps over p (oj/oc), grad a, moments m, v starting at 0.
    const [mj, mc, qj, qc] = [o(js), o(cpu), o(js), o(cpu)];
    for (let step = 1; step <= 3; step++) {
      const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: step === 3 ? 0.01 : 0, step };
      js.adamStep(oj, aj, mj, qj, hp); cpu.adamStep(oc, ac, mc, qc, hp);
    }
    cmp('adam p', 1e-6);
    close(js.read(mj), cpu.read(mc), 1e-6, `${isa} adam m`);
    close(js.read(qj), cpu.read(qc), 1e-6, `${isa} adam v`);
    js.emaUpdate(oj, bj, 0.9999); cpu.emaUpdate(oc, bc, 0.9999); cmp('ema');
    // the views' neighbours in the arena are untouched
    assert.deepEqual(cpu.read(ac0), js.read(aj0), `${isa} arena changed`);
  });
});

function checkAttention(N: number, C: number, L: number, what: string): void {
  const n = N * C * L;
  const [qj, qc] = pair(normal(n, 21));
  const [kj, kc] = pair(normal(n, 22));
  const [vj, vc] = pair(normal(n, 23));
  const [gyj, gyc] = pair(normal(n, 24));
  const a = (be: Backend, k: number) => be.alloc('float32', k);
  const [yj, yc, Pj, Pc] = [a(js, n), a(cpu, n), a(js, N * L * L), a(cpu, N * L * L)];
  js.attentionForward(qj, kj, vj, yj, Pj, N, C, L);
  cpu.attentionForward(qc, kc, vc, yc, Pc, N, C, L);
  close(js.read(Pj), cpu.read(Pc), 1e-5, `${what} P`);
  close(js.read(yj), cpu.read(yc), 2e-5, `${what} y`);
  const [gqj, gqc, gkj, gkc, gvj, gvc] = [a(js, n), a(cpu, n), a(js, n), a(cpu, n), a(js, n), a(cpu, n)];
  js.attentionBackward(qj, kj, vj, Pj, gyj, gqj, gkj, gvj, N, C, L);
  cpu.attentionBackward(qc, kc, vc, Pc, gyc, gqc, gkc, gvc, N, C, L);
  close(js.read(gqj), cpu.read(gqc), 2e-5, `${what} gq`);
  close(js.read(gkj), cpu.read(gkc), 2e-5, `${what} gk`);
  close(js.read(gvj), cpu.read(gvc), 2e-5, `${what} gv`);
}

test('cpu upsample 2× and block copies equal js bit for bit (odd sizes, one long block, many short ones, offsets, empty)', { skip }, () => {
  for (const [P, H, W] of [[3, 5, 7], [2, 16, 16], [1, 1, 1], [64, 4, 4]] as const) {
    const [xj, xc] = pair(normal(P * H * W, 21));
    const yj = js.alloc('float32', P * 4 * H * W), yc = cpu.alloc('float32', P * 4 * H * W);
    cpu.write(yc, new Float32Array(P * 4 * H * W).fill(NaN));
    js.upsampleNearest2xForward(xj, yj, P, H, W);
    cpu.upsampleNearest2xForward(xc, yc, P, H, W);
    assert.deepEqual(Array.from(cpu.read(yc)), Array.from(js.read(yj)), `upsample ${P}×${H}×${W}`);
  }
  // [aOff, aStride, outOff, outStride, len, count]: concat-like, one long block (split over
  // threads inside the block), many 3-float blocks, and nothing to copy
  for (const [aOff, aStride, outOff, outStride, len, count] of [[0, 40, 7, 96, 40, 16], [3, 0, 0, 0, 200000, 1], [5, 4, 1, 9, 3, 30000],
    [0, 1, 0, 1, 0, 5], [0, 1, 0, 1, 4, 0]] as const) {
    const na = aOff + Math.max(0, count - 1) * aStride + len + 2, no = outOff + Math.max(0, count - 1) * outStride + len + 3;
    const [aj, ac] = pair(normal(na, 22));
    const [oj, oc] = pair(normal(no, 23));
    js.copyBlocks(aj, aOff, aStride, oj, outOff, outStride, len, count);
    cpu.copyBlocks(ac, aOff, aStride, oc, outOff, outStride, len, count);
    assert.deepEqual(Array.from(cpu.read(oc)), Array.from(js.read(oj)), `copyBlocks ${[aOff, aStride, outOff, outStride, len, count]}`);
  }
});

test('cpu attention (GEMM + row softmax) vs js at 16×16, every ISA', { skip }, () => {
  forEachIsa((isa) => {
    checkAttention(2, 64, 256, `${isa} N2 C64 L256`);
    checkAttention(3, 5, 7, `${isa} odd N3 C5 L7`);
  });
});

test('cpu conv2d, direct kernels (16×16, Co 32; short rows 4×4, Co 20), small-map kernel (8×8, Co 64), gemm (10×10, Co 24), pointwise 1×1 (8×8, Co 24) and the map-dot backward-weight (1×1 16×16, Co 24; 3×3 16×16, Co 3): bit-identical across thread counts', { skip }, () => {
  const threads = cpuInfo()!.threads;
  try {
    for (const [H, Co, k] of [[16, 32, 3], [8, 64, 3], [10, 24, 3], [4, 20, 3], [8, 24, 1], [16, 24, 1], [16, 3, 3]] as const) {
      const g = convGeom(6, 20, H, Co, k, 1, (k - 1) / 2);
      const xs = g.N * g.Ci * g.H * g.W, ys = g.N * g.Co * g.Ho * g.Wo, ws = Co * 20 * k * k;
      const x = cpu.alloc('float32', xs), w = cpu.alloc('float32', ws), gy = cpu.alloc('float32', ys);
      const y = cpu.alloc('float32', ys), gx = cpu.alloc('float32', xs), gw = cpu.alloc('float32', ws);
      cpu.write(x, normal(xs, 11)); cpu.write(gy, normal(ys, 12)); cpu.write(w, normal(ws, 13));
      const run = (t: number) => {
        setCpuThreads(t);
        cpu.conv2dForward(x, w, null, y, g);
        cpu.conv2dBackwardData(gy, w, gx, g);
        cpu.conv2dBackwardWeight(x, gy, gw, null, g);
        return [y, gx, gw].map((s) => Buffer.from((cpu.read(s) as Float32Array).buffer).toString('base64')).join('|');
      };
      const ref = run(1);
      for (const t of [2, 3, 5]) assert.equal(run(t), ref, `${H}×${H} Co ${Co} k${k}: ${t} threads differ from 1`);
    }
  } finally {
    setCpuThreads(threads);
  }
});

test('cpu conv2d with the convKernels = gemm setting: every shape through the im2col gemm, equal to js, and really another kernel', { skip }, () => {
  // 16×16 Co 32 and 8×8 Co 64 take the direct / channel-vector kernels under 'auto': under 'gemm'
  // the same convolutions must still equal js, and differ from 'auto' in the last bits (another
  // summation order — at 64 input channels; with 20 both orders happen to agree bit for bit),
  // which shows the setting reached the addon.
  const g = convGeom(2, 64, 16, 32, 3, 1, 1), h = convGeom(2, 64, 8, 64, 3, 1, 1);
  const fwd = (geom: ConvGeom) => {
    const xs = geom.N * geom.Ci * geom.H * geom.W, ws = geom.Co * geom.Ci * 9, ys = geom.N * geom.Co * geom.Ho * geom.Wo;
    const x = cpu.alloc('float32', xs), w = cpu.alloc('float32', ws), y = cpu.alloc('float32', ys);
    cpu.write(x, normal(xs, 21)); cpu.write(w, normal(ws, 22, 0.1));
    cpu.conv2dForward(x, w, null, y, geom);
    return cpu.read(y) as Float32Array;
  };
  try {
    const auto = [fwd(g), fwd(h)];
    setCpuConvKernels('gemm');
    checkConv(g, true, 'gemm-only 16×16 Co 32');
    checkConv(h, true, 'gemm-only 8×8 Co 64');
    const gemm = [fwd(g), fwd(h)];
    for (let i = 0; i < 2; i++) assert.notDeepEqual(Array.from(gemm[i]!), Array.from(auto[i]!), `case ${i}: 'gemm' ran the same kernel as 'auto'`);
  } finally {
    setCpuConvKernels('auto');
  }
});

test('convKernelName: the rule table of each pass picks the kernel its rules say, per ISA and setting', { skip }, () => {
  const isa = cpuInfo()!.isa;
  const name = (g: ConvGeom) => [convKernelName(g, 'forward'), convKernelName(g, 'backward-data'), convKernelName(g, 'backward-weight')];
  const c16 = convGeom(4, 32, 16, 32, 3, 1, 1), c8 = convGeom(4, 128, 8, 128, 3, 1, 1), wide = convGeom(4, 128, 32, 128, 3, 1, 1);
  const big = convGeom(4, 256, 8, 128, 3, 1, 1), big256 = convGeom(4, 256, 8, 256, 3, 1, 1), big4 = convGeom(4, 256, 4, 128, 3, 1, 1);
  const p1 = convGeom(4, 128, 16, 128, 1, 1, 0), out = convGeom(4, 64, 32, 3, 3, 1, 1), wide256 = convGeom(4, 256, 32, 256, 3, 1, 1);
  try {
    if (isa !== 'scalar') {
      for (const i of ['avx512', 'avx2'] as const) {
        if (i === 'avx512' && isa !== 'avx512') continue;
        setCpuIsa(i);
        // direct 3×3 (maps whose width is a multiple of the vector) forward at any channel count with
        // AVX-512 (≤ 64 outputs with AVX2), and backward-data into ≥ 8 channels with AVX-512; the
        // channel-vector kernel on small maps (k > 2048 in k blocks, with ≤ 128 output channels on
        // maps ≥ 8×8) — with AVX-512 only on maps the direct kernel's short-row tiles (widths 4 and
        // 8) cannot take; with AVX2 the short-row tiles (4×4 maps) only where the channel-vector
        // kernel declines, the gemm elsewhere it declines, as on wide maps with many channels; the
        // pointwise tiles (AVX-512) or the gemm for 1×1
        const d = i === 'avx512';
        assert.deepEqual(name(c16), ['direct-3x3', d ? 'direct-3x3' : 'channel-vector', 'direct-3x3'], `${i} 32→32 16×16`);
        assert.deepEqual(name(c8), [d ? 'direct-3x3-short-rows' : 'channel-vector', 'channel-vector', 'im2col-gemm'], `${i} 128→128 8×8`);
        assert.deepEqual(name(convGeom(4, 64, 8, 64, 3, 1, 1))[0], d ? 'direct-3x3-short-rows' : 'direct-3x3', `${i} 64→64 8×8 (a whole vector row with AVX2)`);
        assert.deepEqual(name(convGeom(4, 64, 6, 64, 3, 1, 1))[0], 'channel-vector', `${i} 64→64 6×6 (neither direct kernel's geometry)`);
        assert.deepEqual(name(wide), d ? ['direct-3x3', 'direct-3x3', 'im2col-gemm'] : ['im2col-gemm', 'im2col-gemm', 'im2col-gemm'], `${i} 128→128 32×32`);
        assert.deepEqual(name(wide256), d ? ['direct-3x3', 'direct-3x3', 'im2col-gemm'] : ['im2col-gemm', 'im2col-gemm', 'im2col-gemm'], `${i} 256→256 32×32`);
        assert.deepEqual(name(big), [d ? 'direct-3x3-short-rows' : 'channel-vector', 'channel-vector', 'im2col-gemm'], `${i} 256→128 8×8 (forward k 2304)`);
        assert.deepEqual(name(big256)[0], d ? 'direct-3x3-short-rows' : 'im2col-gemm', `${i} 256→256 8×8 (k 2304, 256 output channels)`);
        assert.deepEqual(name(big4)[0], 'direct-3x3-short-rows', `${i} 256→128 4×4 (k 2304 on a 4×4 map: the channel-vector kernel declines)`);
        // stride 2 onto ≤ 16×16 maps: the channel-vector kernel at any k and channel count
        assert.deepEqual(name(convGeom(4, 256, 16, 256, 3, 2, 1))[0], 'channel-vector', `${i} 256→256 16×16 stride 2 (k 2304)`);
        assert.deepEqual(name(convGeom(4, 512, 8, 512, 3, 2, 1))[0], 'channel-vector', `${i} 512→512 8×8 stride 2 (k 4608)`);
        assert.deepEqual(name(convGeom(4, 256, 64, 256, 3, 2, 1))[0], 'im2col-gemm', `${i} 256→256 64×64 stride 2 (32×32 out)`);
        assert.deepEqual(name(p1), [d ? 'pointwise' : 'im2col-gemm', 'im2col-gemm', 'im2col-gemm'], `${i} 1×1`);
        // backward-weight of 1×1 convs with few channels on maps ≥ 16×16: the map-dot kernel
        assert.deepEqual(name(convGeom(4, 96, 16, 32, 1, 1, 0))[2], 'map-dot', `${i} 1×1 96→32 16×16 backward-weight`);
        assert.deepEqual(name(convGeom(4, 64, 8, 64, 1, 1, 0))[2], 'im2col-gemm', `${i} 1×1 64→64 8×8 backward-weight`);
        assert.deepEqual(name(convGeom(4, 128, 16, 64, 1, 1, 0))[2], 'im2col-gemm', `${i} 1×1 128→64 16×16 backward-weight`);
        assert.deepEqual(name(convGeom(1, 64, 8, 64, 1, 1, 0))[0], 'im2col-gemm', `${i} 1×1, one 8×8 image (64 positions)`);
        assert.deepEqual(name(out), ['direct-3x3', 'direct-3x3', 'map-dot'], `${i} the UNet's output conv 64→3`);
        setCpuConvKernels('gemm');
        assert.deepEqual(name(c16), ['im2col-gemm', 'im2col-gemm', 'im2col-gemm'], `${i} gemm-only`);
        setCpuConvKernels('auto');
      }
    }
    if (cpuInfo()!.bf16 || isa === 'avx512') setCpuIsa('avx512');
    if (cpuInfo()!.bf16) {
      const before = setCpuPrecision('bf16');
      try {
        assert.deepEqual(name(c16), ['bf16-channel-vector', 'bf16-channel-vector', 'bf16-channel-vector'], 'bf16 32→32 16×16');
        assert.deepEqual(name(p1), ['bf16-gemm-1x1', 'bf16-gemm-1x1', 'bf16-gemm-1x1'], 'bf16 1×1');
        // the fp32 pointwise tiles keep the 1×1 convs on maps ≤ 8×8 or with ≤ 64 output channels
        assert.deepEqual(name(convGeom(4, 64, 8, 64, 1, 1, 0)), ['pointwise', 'bf16-gemm-1x1', 'bf16-gemm-1x1'], 'bf16 1×1 64→64 8×8');
        assert.deepEqual(name(convGeom(4, 96, 16, 32, 1, 1, 0))[0], 'pointwise', 'bf16 1×1 96→32 16×16');
        assert.deepEqual(name(big).slice(0, 1), ['direct-3x3-short-rows'], 'bf16 k 2304 (256→128 8×8)');
        assert.deepEqual(name(convGeom(4, 256, 6, 128, 3, 1, 1)).slice(0, 1), ['bf16-im2col-gemm'], 'bf16 k 2304 on 6×6');
        // the fp32 direct kernel keeps the maps with ≥ 64 output channels it is faster on
        assert.deepEqual(name(wide), ['direct-3x3', 'bf16-channel-vector', 'bf16-channel-vector'], 'bf16 128→128 32×32');
        assert.deepEqual(name(wide256).slice(0, 1), ['direct-3x3'], 'bf16 256→256 32×32');
        assert.deepEqual(name(big256).slice(0, 1), ['direct-3x3-short-rows'], 'bf16 256→256 8×8 (k 2304)');
        // the UNet's output conv (3 output channels) keeps the fp32 direct kernel: the bf16 gemm ran it 8× slower
        assert.deepEqual(name(out).slice(0, 1), ['direct-3x3'], 'bf16 the UNet\'s output conv 64→3');
      } finally {
        setCpuPrecision(before);
      }
    }
    setCpuIsa('scalar');  // no vector kernels: the gemm takes everything
    assert.deepEqual(name(c16), ['im2col-gemm', 'im2col-gemm', 'im2col-gemm'], 'scalar');
    assert.equal(convKernelName(convGeom(0, 8, 8, 8, 3, 1, 1), 'backward-weight'), 'none (empty batch)');
  } finally {
    setCpuIsa(isa);
    setCpuConvKernels('auto');
  }
});

test('cpu conv2d and groupNorm are bit-identical across runs and thread counts', { skip }, () => {
  const g = convGeom(4, 16, 12, 24, 3, 1, 1);
  const xs = g.N * g.Ci * g.H * g.W, ws = g.Co * g.Ci * 9, ys = g.N * g.Co * g.Ho * g.Wo;
  const x = cpu.alloc('float32', xs), w = cpu.alloc('float32', ws), gy = cpu.alloc('float32', ys);
  cpu.write(x, normal(xs, 1)); cpu.write(w, normal(ws, 2)); cpu.write(gy, normal(ys, 3));
  const y = cpu.alloc('float32', ys), gx = cpu.alloc('float32', xs), gw = cpu.alloc('float32', ws), gb = cpu.alloc('float32', g.Co);
  const gn: GroupNormGeom = { N: 4, C: 24, L: 144, G: 8, eps: 1e-5 };
  const gam = cpu.alloc('float32', 24), bet = cpu.alloc('float32', 24), mu = cpu.alloc('float32', 32), rs = cpu.alloc('float32', 32);
  cpu.write(gam, normal(24, 4)); cpu.write(bet, normal(24, 5));
  const gnY = cpu.alloc('float32', ys), gnGx = cpu.alloc('float32', ys), gg = cpu.alloc('float32', 24), gbb = cpu.alloc('float32', 24);
  const run = (): string => {
    cpu.conv2dForward(x, w, null, y, g);
    cpu.conv2dBackwardData(gy, w, gx, g);
    cpu.conv2dBackwardWeight(x, gy, gw, gb, g);
    cpu.groupNormForward(y, gam, bet, gnY, mu, rs, gn, true);
    cpu.groupNormBackward(y, gam, bet, mu, rs, gy, gnGx, gg, gbb, gn, true);
    const parts = [y, gx, gw, gb, gnY, gnGx, gg, gbb].map((s) => Buffer.from((cpu.read(s) as Float32Array).buffer).toString('base64'));
    return parts.join('|') + String(cpu.sumSquares(gnGx));
  };
  const threads = cpuInfo()!.threads;
  try {
    setCpuThreads(2);
    const ref = run();
    assert.equal(run(), ref, 'repeated run with 2 threads differs');
    for (const t of [1, 3]) {
      setCpuThreads(t);
      assert.equal(run(), ref, `run with ${t} threads differs from 2 threads`);
    }
  } finally {
    setCpuThreads(threads);
  }
});

test('cpu backend falls back to js for float64 storages', { skip }, () => {
  const a = cpu.alloc('float64', 3), b = cpu.alloc('float64', 3), o = cpu.alloc('float64', 3);
  cpu.write(a, [1, 2, 3]); cpu.write(b, [0.5, 0.25, 1e-17]);
  cpu.add(a, b, o);
  assert.deepEqual(Array.from(cpu.read(o)), [1.5, 2.25, 3 + 1e-17]);
  assert.equal(cpu.sumAll(o), 1.5 + 2.25 + 3);
});

test('cpu avg/max pool forward equal js bit for bit (count_include_pad both ways, NaN, ties), every ISA', { skip }, () => {
  forEachIsa((isa) => {
    // W 300: interior runs longer than the kernel's 256-column chunks
    for (const [k, stride, pad, H, W] of [[3, 1, 1, 9, 7], [3, 2, 0, 35, 35], [2, 2, 0, 8, 8], [3, 2, 1, 10, 11], [3, 1, 1, 4, 300]] as const) {
      const N = 2, C = 3;
      const Ho = Math.floor((H + 2 * pad - k) / stride) + 1, Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
      const g = { N, C, H, W, k, stride, pad, Ho, Wo };
      const v = normal(N * C * H * W, 21);
      for (let i = 0; i < v.length; i += 17) v[i] = v[i + 1] ?? 0;  // ties
      v[5] = NaN;  // in a border window
      v[2 * W + 4] = NaN;  // in interior windows (the column-vectorised path)
      const [xj, xc] = pair(v);
      for (const mode of ['avg-cip', 'avg-nocip', 'max'] as const) {
        const yj = js.alloc('float32', N * C * Ho * Wo), yc = cpu.alloc('float32', N * C * Ho * Wo);
        if (mode === 'max') { js.maxPool2dForward(xj, yj, g); cpu.maxPool2dForward(xc, yc, g); }
        else { js.avgPool2dForward(xj, yj, g, mode === 'avg-cip'); cpu.avgPool2dForward(xc, yc, g, mode === 'avg-cip'); }
        assert.deepEqual(Array.from(cpu.read(yc)), Array.from(js.read(yj)), `${isa} ${mode} k${k} s${stride} p${pad} ${H}×${W}`);
      }
    }
  });
});

/** Round float32 values to bfloat16 (nearest, ties to even), kept as float32. */
function bf16Round(v: Float32Array): Float32Array {
  const out = new Float32Array(v);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) {
    if ((u[i]! & 0x7fffffff) > 0x7f800000) continue;
    u[i] = (((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16) >>> 0;
  }
  return out;
}

const bf16Skip = skip || (cpuInfo()?.bf16 ? false : 'this CPU has no AVX512-BF16 (bf16 compute unavailable)');

test('cpu conv2d in bf16 precision: exact bf16 products, fp32 sums (equals js on bf16-rounded operands)', { skip: bf16Skip }, () => {
  const before = setCpuPrecision('bf16');
  try {
    // 8×8 (cv in fp32 too), 16×16 Ci 33 (odd channel count: the last pair is half zero), 32×32
    // Co 32 (the fp32 row kernel's shape, cv in bf16), stride 2 (backward-data by output phase,
    // backward-weight on column-de-interleaved rows) on even and odd maps, 5×5 stride 2, and 1×1
    // at strides 1 and 2 (stride 1: the bf16 gemm, also with odd k, an odd position count, and 4×4
    // maps whose images share gemm panels), and the forward through the im2col bf16 gemm (96 output
    // channels on a 33-wide map — 32 wide, the fp32 direct kernel takes it —, k > 2048, and 24
    // output channels, which the cv kernel cannot take)
    const cases = [convGeom(3, 64, 8, 64, 3, 1, 1), convGeom(2, 33, 16, 32, 3, 1, 1), convGeom(2, 16, 32, 32, 3, 1, 1),
      convGeom(2, 32, 12, 48, 3, 2, 1), convGeom(2, 32, 13, 32, 3, 2, 1), convGeom(1, 16, 11, 16, 5, 2, 2),
      convGeom(2, 64, 8, 48, 1, 1, 0), convGeom(2, 64, 8, 32, 1, 2, 0), convGeom(3, 32, 5, 32, 1, 1, 0), convGeom(2, 33, 6, 17, 1, 1, 0),
      convGeom(5, 32, 4, 32, 1, 1, 0), convGeom(1, 16, 33, 96, 3, 1, 1), convGeom(1, 240, 6, 16, 3, 1, 1), convGeom(2, 16, 9, 24, 3, 1, 1)];
    for (const g of cases) {
      const what = `bf16 ${g.Ci}→${g.Co} ${g.H}×${g.W} k${g.KH} s${g.stride}`;
      const xs = g.N * g.Ci * g.H * g.W, ws = g.Co * g.Ci * g.KH * g.KW, ys = g.N * g.Co * g.Ho * g.Wo;
      const x = normal(xs, 31), w = normal(ws, 32, 1 / Math.sqrt(g.Ci * g.KH * g.KW)), b = normal(g.Co, 33), gy = normal(ys, 34);
      const run = (be: Backend, xv: Float32Array, wv: Float32Array, gyv: Float32Array) => {
        const [sx, sw, sb, sgy] = [xv, wv, b, gyv].map((v) => { const s = be.alloc('float32', v.length); be.write(s, v); return s; });
        const y = be.alloc('float32', ys), gx = be.alloc('float32', xs), gw = be.alloc('float32', ws), gb = be.alloc('float32', g.Co);
        be.write(y, new Float32Array(ys).fill(NaN));  // the forward overwrites every element
        be.conv2dForward(sx!, sw!, sb!, y, g);
        be.conv2dBackwardData(sgy!, sw!, gx, g);
        be.conv2dBackwardWeight(sx!, sgy!, gw, gb, g);
        return { y: be.read(y), gx: be.read(gx), gw: be.read(gw), gb: be.read(gb) };
      };
      const xr = bf16Round(x), wr = bf16Round(w), gyr = bf16Round(gy);
      const ref = run(js, xr, wr, gyr), got = run(cpu, x, w, gy), exact = run(js, x, w, gy);
      close(ref.y, got.y, 2e-5, `${what} forward`);
      // the bf16 path really ran: against the unrounded operands the error is bf16-sized
      const e = relErr(exact.y, got.y);
      assert.ok(e > 1e-4 && e < 2e-2, `${what}: forward error vs fp32 ${e.toExponential(2)} should be bf16-sized`);
      // backward-data computes in bf16 where a bf16 kernel takes it: 1×1 stride 1 (bf16 gemm, Ci ≥ 16),
      // stride 2 (bf16 gemm + col2im), stride 1 with Ci a multiple of 16 (cv); elsewhere in fp32
      const pointwise = g.KH === 1 && g.stride === 1 && g.pad === 0;
      if (pointwise ? g.Ci >= 16 : g.stride > 1 || g.Ci % 16 === 0) close(ref.gx, got.gx, 2e-5, `${what} backward-data (bf16)`);
      else close(exact.gx, got.gx, 2e-5, `${what} backward-data (fp32)`);
      // backward-weight in bf16 for 1×1 stride 1 (Ci ≥ 16) and with an even output width and Co a
      // multiple of 16; the bias gradient is fp32
      if (pointwise ? g.Ci >= 16 : g.Wo % 2 === 0 && g.Co % 16 === 0) close(ref.gw, got.gw, 2e-5, `${what} backward-weight (bf16)`);
      else close(exact.gw, got.gw, 2e-5, `${what} backward-weight (fp32)`);
      close(exact.gb, got.gb, 1e-6, `${what} backward-bias`);
      // and thread-count independent, bit for bit
      const threads = cpuInfo()!.threads;
      try {
        setCpuThreads(1);
        const one = run(cpu, x, w, gy);
        setCpuThreads(3);
        const three = run(cpu, x, w, gy);
        for (const k of ['y', 'gx', 'gw'] as const) assert.deepEqual(Array.from(three[k]), Array.from(one[k]), `${what} ${k}: 3 threads differ from 1`);
      } finally {
        setCpuThreads(threads);
      }
    }
  } finally {
    setCpuPrecision(before);
  }
});
