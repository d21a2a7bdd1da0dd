/**
 * Generate images from a trained UNet: batches of x_T ~ N(0, I), labels (uniform-random as the
 * published evaluation, balanced for per-class evaluation, or one fixed class), the chosen
 * sampler with classifier-free guidance, and the final clip to [−1, 1] mapped to [0, 1].
 *
 * Random streams (seeded, so a run is reproducible): stream 0 draws x_T then the labels of each
 * batch (the published order), stream 1 the sampler's per-step noise.
 */
import { tensor } from '../engine/ops/create.ts';
import { noGrad, tidy } from '../engine/context.ts';
import { currentPrecision } from '../engine/backends.ts';
import type { UNet } from '../models/unet.ts';
import { Rng } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';
import { fieldName, type SettingNamer } from '../util/setting-names.ts';
import { batchedGuidance, sampleEvalLabels, type EpsModel } from './model.ts';
import type { Spacing } from './grid.ts';
import type { X0Clip } from './sampler.ts';
import { resolveSampling, samplerOptions, type ResolvedSampling, type SamplerName } from './samplers.ts';
import type { Schedule, VarianceType } from './schedule.ts';

export type { SamplerName } from './samplers.ts';
/** Which labels to generate: i.i.d. uniform (`random`, the published eval), balanced (cycling), or one class. */
export type LabelMode = { kind: 'random' } | { kind: 'balanced' } | { kind: 'class'; cls: number };

export interface GenerateOptions {
  n: number;
  labels: LabelMode;
  sampler: SamplerName;
  /** Grid points (ancestral DDPM: all T). */
  steps: number;
  /** Grid spacing (default: the sampler's own). */
  spacing?: Spacing;
  eta: number;
  omega: number;
  variance: VarianceType;
  clip: X0Clip;
  batch: number;
  seed: number;
  /**
   * Which part of a larger run this is: `part` k draws x_T and labels from Rng(seed, 2k) and the
   * sampler noise from Rng(seed, 2k + 1), and balanced labels continue from `labelOffset`, so the
   * shards of a sharded run do not depend on each other (part 0 is the unsharded run).
   */
  part?: { index: number; labelOffset: number };
  /** Called after each finished batch with the number of images done. */
  onBatch?: (done: number, total: number) => void;
  /** How errors name the settings (default: these option fields; the CLI passes its flags). */
  names?: SettingNamer;
}

/** The protocol actually used, stored with the samples and shown next to every metric. */
export interface SampleProtocol {
  sampler: SamplerName;
  /** Grid points visited. */
  steps: number;
  /** Model evaluations per image (each a guided ε̃ when ω > 0). */
  nfe?: number;
  spacing?: Spacing;
  /** x̂_0 handling when it is not the published behaviour. */
  clip?: 'clamp';
  omega: number;
  eta?: number;
  variance?: VarianceType;
  n: number;
  labels: string;
  seed: number;
  /** 'bf16' when the UNet's convolutions computed in bfloat16 (CBDM_PRECISION=bf16); absent = fp32. */
  precision?: 'bf16';
}

/** Wrap the UNet (eval mode, no autograd) as the samplers' ε-model. */
export function unetEpsModel(net: UNet): EpsModel {
  const S = net.config.imageSize;
  return async (x, t, y) => noGrad(() => tidy(() => {
    const B = t.length;
    const out = net.forward(tensor(x, [B, net.config.channels, S, S]), t, y, { training: false }).toArray();
    return out instanceof Float32Array ? out : Float32Array.from(out);
  }));
}

/**
 * The guided ε̃ = ε_c + ω(ε_c − ε_u) of the UNet with both passes in one forward of 2B images
 * (labels y, then NO_LABEL): same maths as classifierFreeGuidance(unetEpsModel(net), ω), one
 * larger batch instead of two (fewer, larger GEMMs; the time embedding computed once per step).
 */
export function guidedUnetEpsModel(net: UNet, omega: number): EpsModel {
  return batchedGuidance(unetEpsModel(net), omega);
}

/** Generate `n` images: x in [0, 1] (N×3×S×S) and labels y. */
export async function generate(net: UNet, sched: Schedule, opts: GenerateOptions): Promise<{ x: Float32Array; y: Int32Array; protocol: SampleProtocol }> {
  const C = net.config.numClasses;
  const S = net.config.imageSize;
  const D = net.config.channels * S * S;
  const name = opts.names ?? fieldName;
  if (!(Number.isInteger(opts.n) && opts.n >= 1)) throw new CbdmError(`${name('n')} must be a positive integer, got ${opts.n}`);
  if (!(Number.isInteger(opts.batch) && opts.batch >= 1)) throw new CbdmError(`${name('batch')} must be a positive integer, got ${opts.batch}`);
  if (opts.labels.kind === 'class' && !(Number.isInteger(opts.labels.cls) && opts.labels.cls >= 0 && opts.labels.cls < C)) {
    throw new CbdmError(`${name('class')} ${opts.labels.cls} is out of range: this model has ${C} classes (0..${C - 1})`);
  }
  if (C === 0 && opts.omega > 0) throw new CbdmError(`guidance (${name('omega')} > 0) needs a class-conditional model; this one is unconditional`);
  const plan = resolveSampling(opts.sampler, opts.steps, opts.spacing, opts.eta, opts.omega, sched, name);
  const model = guidedUnetEpsModel(net, opts.omega);
  const part = opts.part ?? { index: 0, labelOffset: 0 };
  const rngX = new Rng(opts.seed, 2 * part.index);
  const rngZ = new Rng(opts.seed, 2 * part.index + 1);
  const x = new Float32Array(opts.n * D);
  const y = new Int32Array(opts.n);
  for (let start = 0; start < opts.n; start += opts.batch) {
    const B = Math.min(opts.batch, opts.n - start);
    const xT = rngX.fillNormal(new Float32Array(B * D)) as Float32Array;
    let labels: Int32Array | null;
    switch (opts.labels.kind) {
      case 'random': labels = C > 0 ? sampleEvalLabels(rngX, B, C, 'random') : null; break;
      case 'balanced': labels = C > 0 ? sampleEvalLabels(rngX, B, C, 'balanced', part.labelOffset + start) : null; break;
      case 'class': labels = new Int32Array(B).fill(opts.labels.cls); break;
      default: {
        const never: never = opts.labels;
        throw new Error(`unknown label mode ${JSON.stringify(never)}`);
      }
    }
    const out = await plan.sampler.run(model, xT, sched, samplerOptions({
      steps: opts.steps, spacing: plan.spacing ?? 'uniform', eta: opts.eta, variance: opts.variance, clip: opts.clip, y: labels, rng: rngZ, batch: B,
    }));
    for (let i = 0; i < B * D; i++) x[start * D + i] = (Math.min(1, Math.max(-1, out[i]!)) + 1) / 2;
    if (labels) y.set(labels, start);
    opts.onBatch?.(start + B, opts.n);
  }
  const protocol = samplingProtocol(opts, plan);
  return { x, y, protocol };
}

/** The protocol a generate() call with these options records (also written up front by sharded runs). */
export function samplingProtocol(opts: Omit<GenerateOptions, 'onBatch' | 'part'>, plan: ResolvedSampling): SampleProtocol {
  return {
    sampler: opts.sampler, steps: plan.points, nfe: plan.nfe, ...(plan.spacing ? { spacing: plan.spacing } : {}),
    ...(opts.clip === 'clamp' ? { clip: 'clamp' as const } : {}),
    omega: opts.omega, n: opts.n, seed: opts.seed,
    labels: opts.labels.kind === 'class' ? `class ${opts.labels.cls}` : opts.labels.kind === 'random' ? 'iid-uniform' : opts.labels.kind,
    ...(opts.sampler === 'ddim' ? { eta: opts.eta } : opts.sampler === 'ddpm' ? { variance: opts.variance } : {}),
    ...(currentPrecision() === 'bf16' ? { precision: 'bf16' as const } : {}),
  };
}
