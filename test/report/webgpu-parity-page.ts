/**
 * Browser side of test/report/webgpu-parity.test.ts (bundled by the test with esbuild): every
 * kernel of the webgpu backend against the js kernel it names, on seeded random inputs with ragged
 * shapes, parameter-like views at odd offsets and an in-place call, reported as max |Δ| per case.
 */
import { JsBackend } from '../../src/engine/js/backend.ts';
import { WebGpuBackend } from '../../src/engine/webgpu/backend.ts';
import type { Backend, ConvGeom, Storage } from '../../src/engine/backend.ts';
import type { Gpu } from '../../src/engine/webgpu/gpu-types.ts';
import { Rng } from '../../src/util/rng.ts';

export interface ParityResult { name: string; maxAbs: number; maxRef: number; n: number }

type Case = { name: string; inputs: Record<string, number | Float32Array>; outputs: Record<string, number>; run: (be: Backend, s: Record<string, Storage>) => void };

const rng = new Rng(2026, 16);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * (2 * rng.uniform() - 1));
const conv = (N: number, Ci: number, H: number, W: number, Co: number, K: number, stride: number, pad: number): ConvGeom =>
  ({ N, Ci, H, W, Co, KH: K, KW: K, stride, pad, Ho: Math.floor((H + 2 * pad - K) / stride) + 1, Wo: Math.floor((W + 2 * pad - K) / stride) + 1 });

function cases(): Case[] {
  const n = 1000;
  const out: Case[] = [
    { name: 'add', inputs: { a: rand(n), b: rand(n) }, outputs: { o: n }, run: (be, s) => be.add(s.a!, s.b!, s.o!) },
    { name: 'sub', inputs: { a: rand(n), b: rand(n) }, outputs: { o: n }, run: (be, s) => be.sub(s.a!, s.b!, s.o!) },
    { name: 'mul', inputs: { a: rand(n), b: rand(n) }, outputs: { o: n }, run: (be, s) => be.mul(s.a!, s.b!, s.o!) },
    { name: 'affine', inputs: { a: rand(n) }, outputs: { o: n }, run: (be, s) => be.affine(s.a!, 1.7, -0.3, s.o!) },
    { name: 'axpy', inputs: { a: rand(n), b: rand(n) }, outputs: { o: n }, run: (be, s) => be.axpy(s.a!, -0.6, s.b!, s.o!) },
    { name: 'addBroadcast', inputs: { a: rand(3 * 7 * 11), v: rand(7) }, outputs: { o: 3 * 7 * 11 }, run: (be, s) => be.addBroadcast(s.a!, s.v!, 3, 7, 11, s.o!) },
    { name: 'addBroadcast in place (linear bias)', inputs: { v: rand(5) }, outputs: { o: 4 * 5 }, run: (be, s) => { be.fill(s.o!, 0.25); be.addBroadcast(s.o!, s.v!, 4, 5, 1, s.o!); } },
    { name: 'mulRows', inputs: { a: rand(6 * 9), w: rand(6) }, outputs: { o: 6 * 9 }, run: (be, s) => be.mulRows(s.a!, s.w!, 6, 9, s.o!) },
    { name: 'fill + scaleInPlace', inputs: {}, outputs: { o: 77 }, run: (be, s) => { be.fill(s.o!, 1.5); be.scaleInPlace(s.o!, -3); } },
    { name: 'copy with offsets', inputs: { a: rand(50) }, outputs: { o: 60 }, run: (be, s) => be.copy(s.a!, 7, s.o!, 13, 31) },
    { name: 'swishForward', inputs: { a: Float32Array.from([...rand(200, 12), -100, -89, 0, 89, 100]) }, outputs: { o: 205 }, run: (be, s) => be.swishForward(s.a!, s.o!) },
    { name: 'reluForward', inputs: { a: rand(n) }, outputs: { o: n }, run: (be, s) => be.reluForward(s.a!, s.o!) },
    { name: 'copyBlocks (concat)', inputs: { a: rand(3 * 4 * 5), b: rand(3 * 2 * 5) }, outputs: { o: 3 * 6 * 5 },
      run: (be, s) => { be.copyBlocks(s.a!, 0, 20, s.o!, 0, 30, 20, 3); be.copyBlocks(s.b!, 0, 10, s.o!, 20, 30, 10, 3); } },
    { name: 'upsampleNearest2xForward', inputs: { x: rand(6 * 3 * 5) }, outputs: { y: 6 * 12 * 5 }, run: (be, s) => be.upsampleNearest2xForward(s.x!, s.y!, 6, 3, 5) },
    { name: 'embeddingForward', inputs: { w: rand(7 * 9) }, outputs: { y: 5 * 9 }, run: (be, s) => be.embeddingForward(s.w!, Int32Array.from([6, 0, 3, 3, 1]), 7, 9, s.y!) },
    { name: 'attentionForward', inputs: { q: rand(2 * 8 * 13), k: rand(2 * 8 * 13), v: rand(2 * 8 * 13) }, outputs: { y: 2 * 8 * 13, P: 2 * 13 * 13 },
      run: (be, s) => be.attentionForward(s.q!, s.k!, s.v!, s.y!, s.P!, 2, 8, 13) },
  ];
  for (const [tA, tB, beta] of [[false, false, 0], [false, true, 0], [true, false, 0.5], [true, true, -1]] as const) {
    const [M, N, K] = [7, 19, 23];
    out.push({ name: `gemm transA=${tA} transB=${tB} beta=${beta}`, inputs: { A: rand(M * K), B: rand(K * N), C: rand(M * N) }, outputs: { o: M * N },
      run: (be, s) => { be.copy(s.C!, 0, s.o!, 0, M * N); be.gemm(tA, tB, M, N, K, 0.8, s.A!, s.B!, beta, s.o!); } });
  }
  for (const g of [conv(2, 3, 7, 9, 5, 3, 1, 1), conv(2, 4, 8, 8, 6, 3, 2, 1), conv(3, 6, 5, 5, 4, 1, 1, 0)]) {
    const hasBias = g.KH === 3;
    const wn = g.Co * g.Ci * g.KH * g.KW;
    // Weights and bias as views at odd offsets of one arena, as parameters are.
    out.push({ name: `conv2dForward ${g.KH}×${g.KW} s${g.stride} p${g.pad}${hasBias ? ' +bias' : ''}`, inputs: { x: rand(g.N * g.Ci * g.H * g.W), arena: rand(3 + wn + 5 + g.Co) },
      outputs: { y: g.N * g.Co * g.Ho * g.Wo },
      run: (be, s) => be.conv2dForward(s.x!, be.view(s.arena!, 3, wn), hasBias ? be.view(s.arena!, 3 + wn + 5, g.Co) : null, s.y!, g) });
  }
  for (const swish of [false, true]) {
    const [N, C, L, G] = [2, 8, 10, 4];
    out.push({ name: `groupNormForward swish=${swish}`, inputs: { x: rand(N * C * L, 3), gamma: rand(C), beta: rand(C) }, outputs: { y: N * C * L, mean: N * G, rstd: N * G },
      run: (be, s) => be.groupNormForward(s.x!, s.gamma!, s.beta!, s.y!, s.mean!, s.rstd!, { N, C, L, G, eps: 1e-5 }, swish) });
  }
  return out;
}

async function runParity(): Promise<ParityResult[] | string> {
  const gpu = await WebGpuBackend.create((navigator as Navigator & { gpu?: Gpu }).gpu);
  if (!gpu) return 'no WebGPU adapter';
  const js = new JsBackend();
  const results: ParityResult[] = [];
  for (const c of cases()) {
    const outs: Record<string, Float32Array>[] = [];
    for (const be of [js, gpu] as Backend[]) {
      const s: Record<string, Storage> = {};
      for (const [k, v] of Object.entries(c.inputs)) {
        const data = typeof v === 'number' ? new Float32Array(v) : v;
        s[k] = be.alloc('float32', data.length);
        be.write(s[k]!, data);
      }
      for (const [k, size] of Object.entries(c.outputs)) s[k] = be.alloc('float32', size);
      c.run(be, s);
      const got: Record<string, Float32Array> = {};
      for (const k of Object.keys(c.outputs)) got[k] = be === gpu ? await gpu.readAsync(s[k]!) : Float32Array.from(be.read(s[k]!));
      outs.push(got);
    }
    let maxAbs = 0, maxRef = 0, n = 0;
    for (const k of Object.keys(c.outputs)) {
      const a = outs[0]![k]!, b = outs[1]![k]!;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - b[i]!);
        maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
        maxRef = Math.max(maxRef, Math.abs(a[i]!));
        n++;
      }
    }
    results.push({ name: c.name, maxAbs, maxRef, n });
  }
  return results;
}

(window as unknown as { runParity: typeof runParity }).runParity = runParity;
