// The fused inference convolution (src/engine/ops/conv-fused.ts, native/conv_fused.h):
// y = conv(GroupNorm(+swish)(x)) + b + channelAdd + residual, as the UNet's ResBlock and tail run it.
//
// Three checks per case, on every ISA this CPU has:
//  1. cpu fused (under noGrad) = cpu composed (groupNorm, conv2d, add — the path taken when a
//     gradient is needed) bit for bit: the fused kernel makes the separate kernels' float
//     operations in their order (the norm's affine form in the padded copy, the adds at the store);
//  2. cpu fused vs the js reference backend (which has no fused kernel and composes the ops):
//     max |cpu − js| / max |js| < 2e-5, the cpu-vs-js conv tolerance of cpu-kernels.test.ts (float32
//     sums in a different order: √n·2⁻²⁴ per output for n ≤ 2304 terms, with margin);
//  3. which path ran: convForwardFuses says the direct 3×3 / channel-vector cases fuse inside the
//     kernel and the im2col-gemm case does not (there the prologue and epilogue are separate passes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCpuBackend, cpuInfo, setCpuIsa, setCpuThreads, convForwardFuses, convKernelName } from '../../src/engine/cpu/load.ts';
import { ISAS, type Isa } from '../../src/engine/cpu/native.ts';
import { getBackend } from '../../src/engine/backends.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { noGrad, setCurrentBackend, tidy } from '../../src/engine/context.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { conv2dFused, type ConvFusion } from '../../src/engine/ops/conv-fused.ts';
import { convGeom } from '../../src/engine/ops/conv2d.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/util/rng.ts';
import { assertClose } from './harness.ts';

const loaded = loadCpuBackend();
const skip = loaded.ok ? false : `native cpu backend not built (${loaded.reason})`;
const cpu = (loaded.ok ? loaded.backend : null) as Backend;
const js = getBackend('js');

interface Case {
  what: string;
  N: number; Ci: number; S: number; Co: number;
  norm: 'swish' | 'plain' | null;
  channelAdd: boolean;
  residual: boolean;
  /** The forward kernel on avx512 (fp32; avx2's 8-float vectors move some 8×8 maps to direct-3x3). */
  kernel: string;
}

const CASES: Case[] = [
  { what: 'ResBlock conv1 (norm+swish, temb add), direct 3×3', N: 3, Ci: 32, S: 16, Co: 64, norm: 'swish', channelAdd: true, residual: false, kernel: 'direct-3x3' },
  { what: 'ResBlock conv2 (norm+swish, residual), direct 3×3', N: 3, Ci: 64, S: 16, Co: 64, norm: 'swish', channelAdd: false, residual: true, kernel: 'direct-3x3' },
  { what: 'tail (norm+swish → 3 channels), direct 3×3', N: 2, Ci: 32, S: 16, Co: 3, norm: 'swish', channelAdd: false, residual: false, kernel: 'direct-3x3' },
  { what: 'both adds and a plain norm, channel-vector at 6×6', N: 2, Ci: 64, S: 6, Co: 64, norm: 'plain', channelAdd: true, residual: true, kernel: 'channel-vector' },
  { what: 'k = 2304 in two k blocks (epilogue on the last), channel-vector at 10×10', N: 2, Ci: 256, S: 10, Co: 112, norm: 'swish', channelAdd: true, residual: true, kernel: 'channel-vector' },
  { what: 'short-row direct 3×3 at 8×8, 64 channels, both adds', N: 3, Ci: 64, S: 8, Co: 64, norm: 'plain', channelAdd: true, residual: true, kernel: 'direct-3x3-short-rows' },
  { what: 'no norm, residual only, direct 3×3', N: 2, Ci: 32, S: 16, Co: 32, norm: null, channelAdd: false, residual: true, kernel: 'direct-3x3' },
  { what: 'short-row direct 3×3 at 4×4 (a vector = one map, tiles spanning 3 images), both adds', N: 3, Ci: 32, S: 4, Co: 20, norm: 'swish', channelAdd: true, residual: true, kernel: 'direct-3x3-short-rows' },
  { what: 'short-row direct 3×3 at 8×8 (k 2304, 256 output channels), residual', N: 2, Ci: 256, S: 8, Co: 256, norm: 'swish', channelAdd: false, residual: true, kernel: 'direct-3x3-short-rows' },
  { what: 'im2col gemm (Co 24, 10×10): norm copy and add pass around the kernel', N: 2, Ci: 32, S: 10, Co: 24, norm: 'swish', channelAdd: true, residual: true, kernel: 'im2col-gemm' },
];

function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const v = new Rng(seed).fillNormal(new Float32Array(n)) as Float32Array;
  for (let i = 0; i < n; i++) v[i] = v[i]! * scale + shift;
  return v;
}

/** The case's tensors on `be` (requiresGrad set on the weights when `grad`), and the op's output. */
function run(c: Case, be: Backend, how: 'fused' | 'composed'): Float32Array {
  setCurrentBackend(be);
  const grad = how === 'composed';
  return tidy(() => {
    const t = (v: Float32Array, shape: number[], g = false): Tensor => tensor(v, shape, { requiresGrad: g && grad });
    // x with a non-zero mean per channel, so the norm's shift matters
    const x = t(values(c.N * c.Ci * c.S * c.S, 1, 1.5, 0.3), [c.N, c.Ci, c.S, c.S]);
    const w = t(values(c.Co * c.Ci * 9, 2, 1 / Math.sqrt(9 * c.Ci)), [c.Co, c.Ci, 3, 3], true);
    const b = t(values(c.Co, 3, 0.1), [c.Co], true);
    const f: ConvFusion = {};
    if (c.norm) f.norm = { gamma: t(values(c.Ci, 4, 0.2, 1), [c.Ci], true), beta: t(values(c.Ci, 5, 0.1), [c.Ci], true), groups: 32, eps: 1e-5, swish: c.norm === 'swish' };
    if (c.channelAdd) f.channelAdd = t(values(c.N * c.Co, 6), [c.N, c.Co]);
    if (c.residual) f.residual = t(values(c.N * c.Co * c.S * c.S, 7), [c.N, c.Co, c.S, c.S]);
    const y = how === 'fused' ? noGrad(() => conv2dFused(x, w, b, { pad: 1 }, f)) : conv2dFused(x, w, b, { pad: 1 }, f);
    return Float32Array.from(y.toArray());
  });
}

function isasHere(): Isa[] {
  return ISAS.slice(ISAS.indexOf(cpuInfo()!.bestIsa));
}

test('fused inference conv on cpu: equals the composed ops bit for bit, js within 2e-5, and fuses where its kernel can — every ISA', { skip }, () => {
  const before = cpuInfo()!.isa;
  const ref = new Map(CASES.map((c) => [c, run(c, js, 'composed')]));
  try {
    for (const isa of isasHere()) {
      assert.equal(setCpuIsa(isa), isa);
      for (const c of CASES) {
        const g = convGeom([c.N, c.Ci, c.S, c.S], [c.Co, c.Ci, 3, 3], 1, 1);
        const fused = run(c, cpu, 'fused');
        const composed = run(c, cpu, 'composed');
        assert.deepEqual(fused, composed, `${isa} ${c.what}: fused ≠ composed`);
        assertClose(ref.get(c)!, fused, 2e-5, `${isa} ${c.what}: cpu fused vs js`, { floor: 1e-30 });
        const kernel = convKernelName(g, 'forward')!;
        if (isa === 'avx512') assert.equal(kernel, c.kernel, `${isa} ${c.what}`);
        if (isa === 'scalar') assert.equal(kernel, 'im2col-gemm', `${isa} ${c.what}`);
        assert.equal(convForwardFuses(g), kernel.startsWith('direct-3x3') || kernel === 'channel-vector', `${isa} ${c.what} (${kernel}): fuses in the kernel`);
      }
    }
  } finally {
    setCpuIsa(before);
  }
});

test('fused inference conv on cpu: bit-identical at 1 and 2 threads', { skip }, () => {
  const before = cpuInfo()!.threads;
  try {
    for (const c of [CASES[1]!, CASES[4]!, CASES[5]!, CASES[7]!, CASES[8]!]) {
      setCpuThreads(1);
      const one = run(c, cpu, 'fused');
      setCpuThreads(2);
      assert.deepEqual(run(c, cpu, 'fused'), one, c.what);
    }
  } finally {
    setCpuThreads(before);
  }
});

test('conv2dFused: bad fusion shapes are named', { skip }, () => {
  setCurrentBackend(cpu);
  tidy(() => {
    const x = tensor(new Float32Array(2 * 32 * 4 * 4), [2, 32, 4, 4]);
    const w = tensor(new Float32Array(16 * 32 * 9), [16, 32, 3, 3]);
    assert.throws(() => conv2dFused(x, w, null, { pad: 1 }, { channelAdd: tensor(new Float32Array(16), [16]) }), /channelAdd must have N·Co = 32 elements/);
    assert.throws(() => conv2dFused(x, w, null, { pad: 1 }, { residual: tensor(new Float32Array(2 * 16 * 4), [2, 16, 4]) }), /residual must have the output's shape \[2, 16, 4, 4\]/);
  });
});

test('UNet inference forward on cpu: the fused path equals the separate ops bit for bit (tiny preset, labels and no label)', { skip }, async () => {
  const { UNet, NO_LABEL } = await import('../../src/models/unet.ts');
  const { presetConfig } = await import('../../src/models/presets.ts');
  setCurrentBackend(cpu);
  const cfg = presetConfig('tiny', 10);
  const net = new UNet(cfg);
  net.store.materialize(cpu, 3);
  const B = 4, S = cfg.imageSize;
  const forward = (): Float32Array => noGrad(() => tidy(() => {
    const x = tensor(values(B * 3 * S * S, 11), [B, 3, S, S]);
    return Float32Array.from(net.forward(x, Int32Array.from([1, 500, 999, 7]), Int32Array.from([0, 9, NO_LABEL, 3]), { training: false }).toArray());
  }));
  const fused = forward();
  // Shadow the backend's fused kernel on this instance: conv2dFused then composes groupNorm, conv2d, add.
  Object.defineProperty(cpu, 'conv2dForwardFused', { value: undefined, configurable: true });
  try {
    assert.deepEqual(fused, forward());
  } finally {
    delete (cpu as { conv2dForwardFused?: unknown }).conv2dForwardFused;
  }
  assert.equal(typeof cpu.conv2dForwardFused, 'function');
});
