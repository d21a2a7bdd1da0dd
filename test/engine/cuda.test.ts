/**
 * The cuda backend without a GPU: how it reports itself unavailable (no addon, no driver), that
 * `npm install`'s cuda step skips cleanly without nvcc, and gemm through the cuBLAS stand-in
 * (native/cuda/cublas_standin.cpp: cuBLAS's column-major semantics and argument checks on the
 * CPU) so that transposes, leading dimensions and batch strides of the row-major mapping are
 * checked. The op-parity suites run every op on the shim build as `cuda-shim` (harness.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { CUDA_ADDON_PATH, loadCudaAddon } from '../../src/engine/cuda/load.ts';
import { assertClose, parity } from './harness.ts';
import { buildShim, cudaShimBackend } from './cuda-shim.ts';
import { Rng } from '../../src/util/rng.ts';
import { CBDM } from '../cli/source-cli.ts';

const root = join(import.meta.dirname, '..', '..');

test('a missing cuda addon is one line naming what to do', () => {
  const r = loadCudaAddon('/nonexistent/cbdm_cuda.node', 'cuda', null, {});
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.reason, /^cuda backend unavailable: .*(not built|missing)/);
});

test('scripts/build-cuda.mjs without nvcc skips with one line and exits 0', () => {
  const out = mkdtempSync(join(tmpdir(), 'cbdm-cuda-build-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cuda.mjs'), '--out', out], {
      encoding: 'utf8', env: { ...process.env, CBDM_NVCC: '/nonexistent/nvcc' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'cbdm: cuda backend not built: nvcc not found (CBDM_NVCC=/nonexistent/nvcc does not run).');
    const status = JSON.parse(readFileSync(join(out, 'cuda-status.json'), 'utf8')) as { ok: boolean; message: string };
    assert.equal(status.ok, false);
    assert.match(status.message, /^skipped: nvcc not found/);
    assert.equal(existsSync(join(out, 'Release', 'cbdm_cuda.node')), false);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const gpuAddon = existsSync(CUDA_ADDON_PATH) ? loadCudaAddon(CUDA_ADDON_PATH, 'cuda', null, {}) : null;
const noDriver = gpuAddon !== null && !gpuAddon.ok && /code 35/.test(gpuAddon.reason);

test('CBDM_BACKEND=cuda on a machine without an NVIDIA driver is one cbdm: error line', {
  skip: gpuAddon === null ? 'the nvcc-built addon is not here (no nvcc at install)'
    : gpuAddon.ok ? 'this machine has a working GPU' : !noDriver ? gpuAddon.reason : false,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'cbdm-cuda-cli-'));
  try {
    const r = spawnSync(process.execPath, [...CBDM, 'demo', '--out', join(out, 'demo')], {
      encoding: 'utf8', env: { ...process.env, CBDM_BACKEND: 'cuda' },
    });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^cbdm: error: cuda backend unavailable: no NVIDIA driver \(cudaGetDeviceCount: .*code 35\); choose CBDM_BACKEND=cpu or js$/);
    assert.equal(existsSync(join(out, 'demo')), false, 'nothing written');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const shim = cudaShimBackend(true);
const shimSkip = shim === null ? 'cuda shim not built' : false;

test('gemm goes through the cuBLAS stand-in, every transpose, ragged sizes, alpha and beta', { skip: shimSkip }, () => {
  const b = shim!;
  const js = E.getBackend('js');
  const standin = (buildShim() as { standin: string }).standin;
  assert.equal(b.gemmLibrary(), standin);
  const rng = new Rng(5);
  for (const [M, N, K] of [[1, 1, 1], [5, 7, 3], [17, 33, 19], [64, 3, 40]] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = rng.fillNormal(new Float32Array(M * K)) as Float32Array;
        const bb = rng.fillNormal(new Float32Array(K * N)) as Float32Array;
        const c = rng.fillNormal(new Float32Array(M * N)) as Float32Array;
        const run = (be: E.Backend): Float32Array => {
          const [A, B, C] = [a, bb, c].map((d) => { const s = be.alloc('float32', d.length); be.write(s, d); return s; });
          be.gemm(transA, transB, M, N, K, 0.75, A!, B!, 0.5, C!);
          const r = be.read(C!) as Float32Array;
          [A, B, C].forEach((s) => be.free(s!));
          return r;
        };
        assertClose(run(js), run(b), 1e-5, `gemm ${M}×${N}×${K} transA=${transA} transB=${transB}`);
      }
    }
  }
});

test('attention (batched strided gemm around a row softmax) through the stand-in matches js', { skip: shimSkip }, () => {
  parity('cuda-shim', (q, k, v) => E.attention(q!, k!, v!), [{ shape: [3, 5, 7] }, { shape: [3, 5, 7] }, { shape: [3, 5, 7] }], { tol: 1e-5 });
});

for (const [name, geom] of [
  ['3×3 s1 p1', { stride: 1, pad: 1, k: 3, H: 5, W: 6 }], ['3×3 s2 p1', { stride: 2, pad: 1, k: 3, H: 7, W: 6 }],
  ['1×1 (no lowering)', { stride: 1, pad: 0, k: 1, H: 4, W: 3 }], ['1×1 s2', { stride: 2, pad: 0, k: 1, H: 5, W: 5 }],
  ['5×5 s1 p2', { stride: 1, pad: 2, k: 5, H: 6, W: 6 }],
] as const) {
  test(`conv2d ${name} as im2col + strided-batched cuBLAS (stand-in) matches js, forward and both backward passes`, { skip: shimSkip }, () => {
    parity('cuda-shim', (x, w, b) => E.conv2d(x!, w!, b!, { stride: geom.stride, pad: geom.pad }),
      [{ shape: [3, 4, geom.H, geom.W] }, { shape: [5, 4, geom.k, geom.k] }, { shape: [5] }], { tol: 1e-5 });
  });
}

test('cuda-shim: device memory returns to baseline, host fallbacks are counted', { skip: shimSkip }, () => {
  const b = E.useBackend('cuda-shim');
  const before = b.liveBytes();
  const bnBefore = shim!.hostFallbacks.get('batchNormForward') ?? 0;
  E.tidy(() => {
    const x = E.tensor(Float32Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => Math.sin(i)), [2, 3, 4, 4], { requiresGrad: true });
    const w = E.tensor(Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.cos(i)), [4, 3, 3, 3], { requiresGrad: true });
    const h = E.avgPool2d(E.swish(E.conv2d(x, w, null, { pad: 1 })), { kernel: 2 });
    const c = E.tensor([0, 0, 0, 0], [4]);
    const v = E.tensor([1, 1, 1, 1], [4]);
    E.backward(E.mean(E.batchNormInference(h, c, v, v, c, 1e-3)));
    x.grad?.dispose();
    w.grad?.dispose();
    x.dispose();
    w.dispose();
  });
  assert.equal(b.liveBytes(), before);
  assert.equal(shim!.hostFallbacks.get('batchNormForward'), bnBefore + 1);
  assert.equal(shim!.hostFallbacks.get('avgPool2dForward'), undefined, 'pooling runs on the device');
  assert.equal(shim!.hostFallbacks.get('conv2dForward'), undefined, 'conv runs on the device');
  E.useBackend('js');
});

const nvccCheck = (() => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cuda.mjs'), '--check'], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout.trim()) as { ok: boolean; message: string } | null : { ok: false, message: r.stderr };
})();

test('the kernel text compiles with nvcc for sm_90 (device code, cached by source hash)', {
  skip: nvccCheck === null ? 'nvcc not found' : false,
}, () => {
  assert.ok(nvccCheck!.ok, nvccCheck!.message);
});

test('two CBDM training steps on cuda-shim run without a host fallback and match js', { skip: shimSkip }, async () => {
  const { UNet } = await import('../../src/models/unet.ts');
  const { trainingLoss } = await import('../../src/train/loss.ts');
  const { DEFAULT_LOSS } = await import('../../src/train/config.ts');
  const { Adam, emaUpdate, DEFAULT_ADAM } = await import('../../src/train/optimizer.ts');
  const { defaultSchedule } = await import('../../src/diffusion/schedule.ts');
  const run = (name: 'js' | 'cuda-shim'): number[] => {
    const be = E.useBackend(name);
    const cfg = { T: 1000, ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1, dropout: 0.1, numClasses: 3, imageSize: 8 };
    const net = new UNet(cfg);
    const ema = new UNet(cfg);
    net.store.materialize(be, 0);
    ema.store.materialize(be, 0);
    const opt = new Adam(net.store, { ...DEFAULT_ADAM });
    const x0 = new Rng(11).fillNormal(new Float32Array(2 * 3 * 8 * 8)) as Float32Array;
    const y = Int32Array.from([0, 2]);
    const rng = new Rng(1);
    const dropRng = new Rng(2);
    const losses: number[] = [];
    for (let s = 0; s < 2; s++) {
      E.tidy(() => {
        net.store.zeroGrad();
        const p = trainingLoss({ net: (xt, t, yy) => net.forward(xt, t, yy, { training: true, rng: dropRng }), x0, y0: y, shape: [2, 3, 8, 8], sched: defaultSchedule(), cfg: DEFAULT_LOSS, counts: [10, 5, 2], rng });
        losses.push(p.loss.item());
        E.backward(p.loss);
      });
      opt.update();
      emaUpdate(ema.store, net.store, 0.9999);
    }
    return losses;
  };
  const before = new Map(shim!.hostFallbacks);
  const ref = run('js');
  const ours = run('cuda-shim');
  assert.deepEqual(new Map(shim!.hostFallbacks), before, 'no op of the training step ran on the host');
  assertClose(ref, ours, 1e-4, 'losses of two steps');
  E.useBackend('js');
});

/** x rounded to TF32 (10 mantissa bits, nearest even), as the stand-in and the tensor cores read it. */
function tf32(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer);
  u[0] = ((u[0]! + 0xfff + ((u[0]! >>> 13) & 1)) & ~0x1fff) >>> 0;
  return new Float32Array(u.buffer)[0]!;
}

test('TF32 math (CBDM_CUDA_MATH=tf32) reaches cuBLAS: products of TF32-rounded inputs, and back to fp32', { skip: shimSkip }, () => {
  const b = shim!;
  const js = E.getBackend('js');
  const rng = new Rng(9);
  const [M, N, K] = [6, 5, 33];
  const a = rng.fillNormal(new Float32Array(M * K)) as Float32Array;
  const bb = rng.fillNormal(new Float32Array(K * N)) as Float32Array;
  const run = (be: E.Backend, x: Float32Array, y: Float32Array): Float32Array => {
    const [A, B, C] = [x, y, new Float32Array(M * N)].map((d) => { const s = be.alloc('float32', d.length); be.write(s, d); return s; });
    be.gemm(false, false, M, N, K, 1, A!, B!, 0, C!);
    const r = be.read(C!) as Float32Array;
    [A, B, C].forEach((s) => be.free(s!));
    return r;
  };
  const fp32 = run(js, a, bb);
  const tf32Ref = run(js, a.map(tf32), bb.map(tf32));
  b.setGemmTf32(true);
  try {
    const ours = run(b, a, bb);
    assertClose(tf32Ref, ours, 1e-6, 'tf32 gemm vs js on TF32-rounded inputs');
    assert.ok(fp32.some((v, i) => Math.abs(v - ours[i]!) > 1e-4), 'tf32 differs from fp32');
  } finally {
    b.setGemmTf32(false);
  }
  assertClose(fp32, run(b, a, bb), 1e-6, 'fp32 again');
});

test('CBDM_CUDA_MATH other than fp32 or tf32 makes the backend unavailable, naming the setting', { skip: shimSkip }, () => {
  const r = loadCudaAddon((buildShim() as { addon: string }).addon, 'cuda-shim', null, { CBDM_CUDA_MATH: 'bf16' });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reason, "cuda backend unavailable: CBDM_CUDA_MATH='bf16' is not fp32 or tf32");
});

test('max pooling on the device: ties go to the first maximum in window order, NaN wins (forward and gradient vs js)', { skip: shimSkip }, () => {
  const values = Array.from({ length: 2 * 2 * 5 * 6 }, (_, i) => (i === 17 ? NaN : Math.floor(((i * 7) % 11) / 4)));
  const run = (name: 'js' | 'cuda-shim', opts: { kernel: number; stride?: number; pad?: number }): [Float32Array, Float32Array] => {
    E.useBackend(name);
    const x = E.tensor(values, [2, 2, 5, 6], { requiresGrad: true });
    const y = E.tidy(() => {
      const out = E.maxPool2d(x, opts);
      const r = out.toArray() as Float32Array;
      E.backward(out, E.tensor(Array.from({ length: out.size }, (_, i) => 1 + (i % 3)), [...out.shape]));
      return r;
    });
    const g = x.grad!.toArray() as Float32Array;
    x.grad!.dispose();
    x.dispose();
    return [y, g];
  };
  for (const opts of [{ kernel: 3, stride: 2, pad: 1 }, { kernel: 2 }]) {
    const [yj, gj] = run('js', opts);
    const [yc, gc] = run('cuda-shim', opts);
    assert.deepEqual(Array.from(yc), Array.from(yj), `forward ${JSON.stringify(opts)}`);
    assert.deepEqual(Array.from(gc), Array.from(gj), `gradient ${JSON.stringify(opts)}`);
  }
  E.useBackend('js');
});
