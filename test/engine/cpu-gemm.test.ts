// Native cpu backend: sgemm against a float64 reference for every transpose combination, odd
// sizes around each ISA's microkernel tile (12×32 avx512, 6×16 avx2, 4×8 scalar) and cache
// blocks (KC 256, MC 240/120/128), every ISA this CPU has, and bit-exact repeatability.
//
// Tolerance: |ours − ref|max / |ref|max < 2e-6·√K + 1e-6. A float32 dot product of K terms of
// random sign has a rounding error that grows like √K·2⁻²⁴ times the size of its terms; the
// bound leaves a ×10 margin over that (1e-5 at K = 20, 4e-5 at K = 300) and still catches any
// wrong index, dropped edge or wrong beta, which give errors of order 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCpuBackend, cpuInfo, setCpuIsa, setCpuThreads } from '../../src/engine/cpu/load.ts';
import { ISAS, type Isa } from '../../src/engine/cpu/native.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import { relativeError } from './harness.ts';

const loaded = loadCpuBackend();
const skip = loaded.ok ? false : `native cpu backend not built (${loaded.reason})`;
const cpu = (loaded.ok ? loaded.backend : null) as Backend;

function refGemm(tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, B: Float32Array, beta: number, C0: Float32Array): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? A[k * M + i]! : A[i * K + k]!) * (tB ? B[j * K + k]! : B[k * N + j]!);
      C[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C0[i * N + j]!);
    }
  return C;
}

function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  return relativeError(ref, got, { floor: 1e-30 });
}

function runGemm(tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number, beta: number, seed: number): void {
  const rng = new Rng(seed);
  const A = rng.fillNormal(new Float32Array(M * K)) as Float32Array;
  const B = rng.fillNormal(new Float32Array(K * N)) as Float32Array;
  const C0 = rng.fillNormal(new Float32Array(M * N)) as Float32Array;
  if (beta === 0) C0.fill(NaN); // beta = 0 must ignore C entirely
  const sA = cpu.alloc('float32', A.length), sB = cpu.alloc('float32', B.length), sC = cpu.alloc('float32', C0.length);
  cpu.write(sA, A); cpu.write(sB, B); cpu.write(sC, C0);
  cpu.gemm(tA, tB, M, N, K, alpha, sA, sB, beta, sC);
  const got = cpu.read(sC);
  [sA, sB, sC].forEach((s) => cpu.free(s));
  const ref = refGemm(tA, tB, M, N, K, alpha, A, B, beta, C0);
  const tol = 2e-6 * Math.sqrt(K) + 1e-6;
  const err = relErr(ref, got);
  assert.ok(err < tol, `gemm tA=${tA} tB=${tB} ${M}×${N}×${K} α=${alpha} β=${beta}: relative error ${err.toExponential(2)} ≥ ${tol.toExponential(2)}`);
}

/** The ISAs this CPU can run (the addon clamps requests to the best supported). */
function isasHere(): Isa[] {
  const best = cpuInfo()!.bestIsa;
  return ISAS.slice(ISAS.indexOf(best));
}

function withIsa(isa: Isa, f: () => void): void {
  const before = cpuInfo()!.isa;
  assert.equal(setCpuIsa(isa), isa);
  try { f(); } finally { setCpuIsa(before); }
}

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 24, 31, 32, 33, 47, 64, 67];

test('cpu gemm: odd sizes 1..67, all transposes, every ISA', { skip }, () => {
  for (const isa of isasHere()) {
    withIsa(isa, () => {
      let seed = 1;
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (let s = 0; s < SIZES.length; s++) {
            // walk M, N, K through the size list at different phases so every size meets every role
            const M = SIZES[s]!, N = SIZES[(s * 7 + 3) % SIZES.length]!, K = SIZES[(s * 5 + 11) % SIZES.length]!;
            runGemm(tA, tB, M, N, K, 1, 0, seed++);
          }
    });
  }
});

test('cpu gemm: alpha, beta, K = 0, and blocks past KC/MC/NC', { skip }, () => {
  for (const isa of isasHere()) {
    withIsa(isa, () => {
      runGemm(false, false, 13, 33, 5, -0.5, 0.25, 1);
      runGemm(true, true, 7, 9, 300, 2, 1, 2);          // K > KC: second k block accumulates with beta 1
      runGemm(false, true, 251, 40, 20, 1, 0, 3);        // M > MC (240 / 120 / 128)
      runGemm(true, false, 9, 3100, 3, 1, 0.5, 4);       // N > NC (3072 / 2048 / 1024)
      runGemm(false, false, 64, 128, 640, 1, 0, 5);      // several k blocks, threaded split
      if (isa === cpuInfo()!.bestIsa) runGemm(false, true, 500, 450, 600, 1, 0.5, 6); // threads share packed B blocks
      // K = 0: C = beta·C
      const c = cpu.alloc('float32', 6);
      cpu.write(c, [1, 2, 3, 4, 5, 6]);
      const e = cpu.alloc('float32', 0);
      cpu.gemm(false, false, 2, 3, 0, 1, e, e, 0.5, c);
      assert.deepEqual(Array.from(cpu.read(c)), [0.5, 1, 1.5, 2, 2.5, 3]);
      cpu.free(c); cpu.free(e);
    });
  }
});

test('cpu gemm: operands may be views at an offset into a larger buffer (byte offsets respected)', { skip }, () => {
  const rng = new Rng(7);
  const arena = cpu.alloc('float32', 1000);
  cpu.write(arena, rng.fillNormal(new Float32Array(1000)));
  const A = cpu.view(arena, 13, 6 * 5), B = cpu.view(arena, 301, 5 * 7);
  const out = cpu.alloc('float32', 6 * 7);
  cpu.gemm(false, false, 6, 7, 5, 1, A, B, 0, out);
  const a = cpu.read(A) as Float32Array, b = cpu.read(B) as Float32Array;
  assert.ok(relErr(refGemm(false, false, 6, 7, 5, 1, a, b, 0, new Float32Array(42)), cpu.read(out)) < 1e-6);
  cpu.free(arena); cpu.free(out);
});

test('cpu gemm: bit-identical across repeated runs and thread counts', { skip }, () => {
  for (const [M, N, K] of [[97, 203, 301], [500, 450, 600]] as const) bitIdentical(M, N, K); // the second shares packed B blocks
});

function bitIdentical(M: number, N: number, K: number): void {
  const rng = new Rng(11);
  const A = cpu.alloc('float32', M * K), B = cpu.alloc('float32', K * N), C = cpu.alloc('float32', M * N);
  cpu.write(A, rng.fillNormal(new Float32Array(M * K)));
  cpu.write(B, rng.fillNormal(new Float32Array(K * N)));
  const threads = cpuInfo()!.threads;
  try {
    for (const [tA, tB] of [[false, false], [true, true]] as const) {
      let first: Float32Array | null = null;
      for (const t of [1, 2, 3, 1, 2]) {
        setCpuThreads(t);
        cpu.gemm(tA, tB, M, N, K, 1, A, B, 0, C);
        const got = cpu.read(C) as Float32Array;
        if (!first) first = got;
        else assert.ok(Buffer.from(got.buffer).equals(Buffer.from(first.buffer)), `gemm ${M}×${N}×${K} tA=${tA} tB=${tB} differs with ${t} threads`);
      }
    }
  } finally {
    setCpuThreads(threads);
    [A, B, C].forEach((s) => cpu.free(s));
  }
}

test('cpu gemm: a too-short buffer is an error, not a crash', { skip }, () => {
  const a = cpu.alloc('float32', 5), b = cpu.alloc('float32', 6), c = cpu.alloc('float32', 4);
  assert.throws(() => cpu.gemm(false, false, 2, 2, 3, 1, a, b, 0, c), /holds 5 floats, the shapes need 6/);
  [a, b, c].forEach((s) => cpu.free(s));
});
