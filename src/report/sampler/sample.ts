/**
 * What the sampler page computes, as plain functions that also run in node (where a test checks
 * them against `generate`): a UNet rebuilt from a run's EMA weights, its guided ε-model with an
 * asynchronous read-back (WebGPU has no other), and one class's images drawn exactly as
 * `cbdm sample --class c` draws them (src/diffusion/generate.ts).
 */
import { tensor } from '../../engine/ops/create.ts';
import { noGrad, tidy, keep } from '../../engine/context.ts';
import type { Backend } from '../../engine/backend.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { UNet, type UNetConfig } from '../../models/unet.ts';
import { readSafetensors } from '../../io/safetensors.ts';
import { toFloat32 } from '../../io/ndarray.ts';
import { batchedGuidance, type EpsModel } from '../../diffusion/model.ts';
import { resolveSampling, samplerOptions, type SamplerName } from '../../diffusion/samplers.ts';
import type { StepInfo } from '../../diffusion/sampler.ts';
import type { Schedule } from '../../diffusion/schedule.ts';
import { Rng } from '../../util/rng.ts';
import { CbdmError } from '../../util/errors.ts';

/** Reads a tensor back to the host: `toArray` on host backends, `readAsync` on webgpu. */
export type ReadBack = (t: Tensor) => Promise<Float32Array>;

/**
 * The UNet of `config` with the weights of a safetensors file (a run's ema.safetensors) on
 * `backend`. Non-finite weights are refused before they reach the device, as loadRunModel does.
 */
export function unetFromSafetensors(config: UNetConfig, bytes: Uint8Array, backend: Backend, source: string): UNet {
  const file = readSafetensors(bytes, source);
  const values = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, a] of file.tensors) {
    const data = toFloat32(a);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new CbdmError(`${source}: weights are not finite ('${name}' holds NaN/Inf); refusing to sample — use an earlier checkpoint`);
    }
    values.set(name, { shape: a.shape, data });
  }
  const net = new UNet(config);
  net.store.materialize(backend, 0);
  net.store.loadStateDict(values);
  return net;
}

/**
 * ε̃ = ε_c + ω(ε_c − ε_u) with both passes in one forward of 2B images (batchedGuidance, as
 * guidedUnetEpsModel in src/diffusion/generate.ts) on a forward that reads back asynchronously.
 */
export function guidedEpsModel(net: UNet, omega: number, read: ReadBack): EpsModel {
  const S = net.config.imageSize, C = net.config.channels;
  const forward = async (x: Float32Array, t: Int32Array, y: Int32Array | null): Promise<Float32Array> => {
    const out = noGrad(() => tidy(() => keep(net.forward(tensor(x, [t.length, C, S, S]), t, y, { training: false }))));
    try {
      return await read(out);
    } finally {
      out.dispose();
    }
  };
  return batchedGuidance(forward, omega);
}

export interface ClassSampleRequest {
  cls: number;
  n: number;
  sampler: SamplerName;
  steps: number;
  omega: number;
  /** DDIM's η (0 for the other samplers). */
  eta: number;
  seed: number;
  onStep?: (info: StepInfo) => void;
}

/**
 * n images of class `cls` in [0, 1] (n×C×S×S): the draws of `generate()` with labels
 * `{ kind: 'class' }`, one batch of n, the sampler's default spacing, fixedlarge variance and no
 * x̂_0 clamp (x_T from Rng(seed, 0), the sampler's noise from Rng(seed, 1)).
 */
export async function sampleClass(net: UNet, sched: Schedule, model: EpsModel, r: ClassSampleRequest): Promise<Float32Array> {
  const K = net.config.numClasses;
  if (!(Number.isInteger(r.cls) && r.cls >= 0 && r.cls < K)) throw new CbdmError(`class ${r.cls} is out of range: this model has ${K} classes (0..${K - 1})`);
  if (!(Number.isInteger(r.n) && r.n >= 1)) throw new CbdmError(`the number of images must be a positive integer, got ${r.n}`);
  const plan = resolveSampling(r.sampler, r.steps, undefined, r.eta, r.omega, sched);
  const S = net.config.imageSize;
  const D = net.config.channels * S * S;
  const rngX = new Rng(r.seed, 0);
  const rngZ = new Rng(r.seed, 1);
  const xT = rngX.fillNormal(new Float32Array(r.n * D)) as Float32Array;
  const y = new Int32Array(r.n).fill(r.cls);
  const out = await plan.sampler.run(model, xT, sched, samplerOptions({
    steps: r.steps, spacing: plan.spacing ?? 'uniform', eta: r.eta, variance: 'fixedlarge', clip: 'none', y, rng: rngZ, batch: r.n,
    ...(r.onStep ? { onStep: r.onStep } : {}),
  }));
  const x = new Float32Array(r.n * D);
  for (let i = 0; i < x.length; i++) x[i] = (Math.min(1, Math.max(-1, out[i]!)) + 1) / 2;
  return x;
}
