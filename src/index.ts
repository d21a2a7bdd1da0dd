/**
 * cbdm as a library: `import { train, sample, evaluate } from 'cbdm'`.
 *
 * The curated API of the toolkit (the CLI is built on the same modules):
 * - training: `train(config, { out, signal, log })` — DDPM, CBDM (Qin et al., CVPR 2023) or T2H
 *   into a run directory; an AbortSignal stops it after the step in progress with a checkpoint;
 * - sampling: `loadModel(runDirOrWeights)`, `sample(model, { n, classIndex, omega, protocol, … })`;
 * - evaluation: `evaluate({ samples, ref, perClass })` — FID/KID/IS/precision/recall, per class and
 *   per Many/Medium/Few group; `evaluateRun({ run, protocol, ref })` — a run under one protocol;
 * - runs and files: `readRun`, `saveModel`, `saveSamples`, `exportTorchStateDict` (a `.pt` that
 *   loads with strict=True into the published PyTorch UNet), `exportOnnx` (the ε-network as an
 *   ONNX model for onnxruntime);
 * - datasets and models: `loadDataset`, `UNet`, `presetConfig`;
 * - the engine basics: tensors, ops, autograd and the compute backends (`js`, native `cpu`).
 *
 * Errors a caller can fix are `CbdmError`s whose message names the config field or file.
 */

// ---- training, sampling, evaluation, runs ------------------------------------------------------
export { train, type TrainRunOptions } from './api/train.ts';
export type { TrainResult, MetricsRecord } from './train/trainer.ts';
export { defaultTrainConfig, TRAIN_HELP, type TrainConfig, type ModelOverrides } from './train/config.ts';
export { loadModel, sample, type SampleOptions, type SampleResult, type SamplingModel } from './api/sample.ts';
export type { LoadedModel } from './models/load.ts';
export { PROTOCOLS, PROTOCOL_NAMES, SAMPLERS, SAMPLER_NAMES, type ProtocolName, type SamplerName } from './diffusion/samplers.ts';
export type { SampleProtocol } from './diffusion/generate.ts';
export { evaluate, evaluateRun, type EvaluateOptions, type EvaluateRunOptions, type EvalReport, type ExtractorKind, type ProtocolSpec } from './api/evaluate.ts';
export { BUILTIN_PROTOCOLS, describeProtocol } from './metrics/protocol.ts';
export { readRun, saveModel, saveSamples } from './api/runs.ts';
export type { RunData, EvalResult } from './report/run-dir-types.ts';
export { exportOnnx, exportTorchStateDict } from './api/export.ts';

// ---- datasets and models -----------------------------------------------------------------------
export { loadDataset, DATASET_NAMES, type DatasetSpec } from './data/registry.ts';
export type { ImageDataset } from './data/dataset.ts';
export { UNet, type UNetConfig, type ResolvedUNetConfig } from './models/unet.ts';
export { presetConfig, PRESET_NAMES, type PresetName } from './models/presets.ts';
export { makeSchedule, linearBetas, cosineBetas, scheduleOf, PUBLISHED_SCHEDULE, type Schedule, type ScheduleSettings, type BetaScheduleKind } from './diffusion/schedule.ts';

// ---- engine basics -----------------------------------------------------------------------------
export {
  Tensor, tidy, keep, noGrad, backward, useBackend, backendAvailable, BACKEND_NAMES,
  tensor, zeros, full, randn, rand, add, sub, mul, scale, sum, mean, mse, matmul, linear, conv2d, relu, swish, softmax,
} from './engine/index.ts';
export type { Backend, BackendName, DType } from './engine/index.ts';

// ---- errors and seeded randomness ----------------------------------------------------------
export { CbdmError } from './util/errors.ts';
export { Rng } from './util/rng.ts';
