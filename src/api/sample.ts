/**
 * Sampling from code: a model from a run directory or a weights file, images from it under a
 * named protocol with any of its settings overridden (the options of `cbdm sample`, as fields).
 */
import { useBackend } from '../engine/backends.ts';
import { loadRunModel, loadWeightsFile, type LoadedModel } from '../models/load.ts';
import { generate, type SampleProtocol } from '../diffusion/generate.ts';
import { publishedScheduleFor, scheduleOf, type ScheduleSettings, type VarianceType } from '../diffusion/schedule.ts';
import { runSchedule } from '../train/config-file.ts';
import { PROTOCOL_NAMES, protocolSettings, type ProtocolName, type SamplerName } from '../diffusion/samplers.ts';
import type { Spacing } from '../diffusion/grid.ts';
import type { X0Clip } from '../diffusion/sampler.ts';
import { CbdmError } from '../util/errors.ts';

/** A model ready to sample: its weights and what it was trained with, the diffusion schedule included. */
export interface SamplingModel extends LoadedModel {
  /** The schedule it samples with: its run's (config.json), or the published one over its T for a weights file. */
  schedule: ScheduleSettings;
}

/**
 * Load a model for sampling: a cbdm run directory (its EMA weights, class names, ω and schedule)
 * or a weights file under the published state-dict names (the published code's ckpt.pt — its
 * `ema_model` entry —, a plain state dict .pt, or safetensors; `imageSize` for foreign files,
 * default 32; the published schedule over its T).
 */
export function loadModel(path: string, options: { imageSize?: number } = {}): SamplingModel {
  if (typeof path !== 'string' || path === '') throw new CbdmError('loadModel: path must name a run directory or a weights file');
  const backend = useBackend();
  if (/\.(pt|pth|ckpt|safetensors)$/.test(path)) {
    const m = loadWeightsFile(path, backend, { imageSize: options.imageSize });
    return { ...m, schedule: publishedScheduleFor(m.net.config.T) };
  }
  const m = loadRunModel(path, backend);
  return { ...m, schedule: runSchedule(path, m.net.config.T) };
}

export interface SampleOptions {
  /** Number of images. */
  n: number;
  /** Generate only this class (default: labels drawn per `labels`). */
  classIndex?: number;
  /** random: i.i.d. uniform labels (the published evaluation); balanced: cycling through the classes (default random). */
  labels?: 'random' | 'balanced';
  /** Named protocol whose settings apply where the fields below are not given (default 'fast'). */
  protocol?: ProtocolName;
  sampler?: SamplerName;
  steps?: number;
  spacing?: Spacing;
  eta?: number;
  /** Guidance scale ω (default: the protocol's, else the run's omegaEval, else 0). */
  omega?: number;
  variance?: VarianceType;
  clip?: X0Clip;
  /** Images per forward batch (default 64). */
  batch?: number;
  /** Seed of x_T, labels and sampler noise (default 0). */
  seed?: number;
  /** Called after each batch. */
  onBatch?: (done: number, total: number) => void;
}

export interface SampleResult {
  /** Images in [0, 1], N×C×S×S (C = the model's channels). */
  x: Float32Array;
  /** Class of each image. */
  y: Int32Array;
  size: number;
  channels: number;
  /** The protocol used (what `cbdm eval` and the report show next to every metric). */
  protocol: SampleProtocol;
}

/**
 * Generate images from a model: `loadModel`'s (with its run's schedule), or a bare UNet such as
 * `train`'s `ema`, sampled with the published schedule over its T (pass `loadModel(result.dir)`
 * for a run trained with another schedule). Errors name these option fields.
 */
export async function sample(model: SamplingModel | LoadedModel | LoadedModel['net'], options: SampleOptions): Promise<SampleResult> {
  const net = 'net' in model ? model.net : model;
  const runOmega = 'net' in model ? model.omegaEval : null;
  const schedule = 'schedule' in model ? model.schedule : publishedScheduleFor(net.config.T);
  const o = options;
  if (!(Number.isInteger(o?.n) && o.n >= 1)) throw new CbdmError(`n must be a positive integer, got ${o?.n}`);
  const batch = o.batch ?? 64;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new CbdmError(`batch must be a positive integer, got ${batch}`);
  const C = net.config.numClasses;
  if (o.classIndex !== undefined && !(Number.isInteger(o.classIndex) && o.classIndex >= 0 && o.classIndex < C)) {
    throw new CbdmError(`classIndex ${o.classIndex} is out of range: this model has ${C} classes (0..${C - 1})`);
  }
  const protocol = o.protocol ?? 'fast';
  if (!PROTOCOL_NAMES.includes(protocol)) throw new CbdmError(`protocol '${protocol}' is not one of ${PROTOCOL_NAMES.join(', ')}`);
  if (o.omega !== undefined && !(Number.isFinite(o.omega) && o.omega >= 0)) throw new CbdmError(`omega must be a number ≥ 0, got ${o.omega}`);
  if (o.omega !== undefined && o.omega > 0 && C === 0) throw new CbdmError('omega > 0 (guidance) needs a class-conditional model; this one is unconditional');
  const sched = scheduleOf(schedule);
  const s = protocolSettings(protocol, o, sched.T, runOmega);
  const r = await generate(net, sched, {
    n: o.n, labels: o.classIndex !== undefined ? { kind: 'class', cls: o.classIndex } : { kind: o.labels ?? 'random' },
    sampler: s.sampler, steps: s.steps, spacing: s.spacing, eta: s.eta, omega: s.omega, clip: s.clip,
    variance: o.variance ?? 'fixedlarge', batch, seed: o.seed ?? 0, onBatch: o.onBatch,
  });
  return { x: r.x, y: r.y, size: net.config.imageSize, channels: net.config.channels, protocol: r.protocol };
}
