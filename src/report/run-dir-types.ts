/**
 * The run-directory contract (docs/RUN_DIR.md) as types: what the trainer and evaluator write
 * and what `cbdm report` reads. Files are open records — extra fields are kept and shown in the
 * report's config section — but the fields typed here are the ones the report relies on.
 */
import type { ClassGroup } from '../data/groups.ts';

/** Training method of a run. */
export type RunMethod = 'ddpm' | 'cbdm';

/** `config.json` → `train`: the resolved training config (src/train/config.ts TrainConfig). */
export interface RunTrainConfig {
  method: RunMethod;
  preset?: string;
  dataset?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  tau?: number;
  gamma?: number;
  omegaEval?: number;
  seed?: number;
  [field: string]: unknown;
}

/** `config.json`: `{ train, model, backend, created, ... }` as the trainer writes it. */
export interface RunConfig {
  train: RunTrainConfig;
  /** UNet architecture (ch, chMult, attn, numResBlocks, dropout, numClasses, imageSize, T). */
  model?: Record<string, unknown>;
  backend?: string;
  /** ISO time the run was created. */
  created?: string;
  [field: string]: unknown;
}

/** `data.json`: the training set the run saw. */
export interface RunDataInfo {
  /** Canonical dataset name, e.g. `shapes10-lt`. */
  name: string;
  classNames: string[];
  /** Training images per class (length = classNames.length). */
  counts: number[];
  /** Image height = width in pixels. */
  size?: number;
  [field: string]: unknown;
}

/** One line of `metrics.jsonl` (src/train/trainer.ts MetricsRecord); only step and loss are required. */
export interface RunMetricsRecord {
  step: number;
  /** Total loss L_ddpm + L_reg + γ·L_com. */
  loss: number;
  l_ddpm?: number;
  l_reg?: number;
  l_com?: number;
  grad_norm?: number;
  lr?: number;
  /** Training images per second over the logging window. */
  img_per_s?: number;
  /** Seconds since the start of this training call. */
  wall_s?: number;
  [field: string]: number | undefined;
}

import type { SamplerName } from '../diffusion/samplers.ts';

/** Sampler used for evaluation. */
export type EvalSampler = SamplerName;

/** `eval.json` → `protocol`: exactly how the samples behind the numbers were made and measured. */
export interface EvalProtocol {
  sampler: EvalSampler;
  /** Sampling grid points (1000 for ancestral DDPM, e.g. 50 for DDIM). */
  steps: number;
  /** Model evaluations per image (Heun: 2·steps − 1); absent in older files = steps. */
  nfe?: number;
  /** Timestep spacing of the grid (absent for ancestral DDPM and older files). */
  spacing?: string;
  /** Classifier-free guidance scale ω. */
  omega: number;
  /** DDIM η (DDIM only). */
  eta?: number;
  /** x̂0 clamped to [−1, 1] at every step ('clip' in older files, 'clamp'), or not (the published sampler); absent = not. */
  clipX0?: 'none' | 'clip' | 'clamp';
  /** Generated samples per class. */
  nPerClass: number;
  /** Feature network of FID / precision / recall, e.g. `inception-v3-fid` or `shapes-classifier`. */
  featureExtractor: string;
  [field: string]: unknown;
}

/**
 * Metric values by key. Known keys (see METRIC_INFO in metrics.ts): fid, kid, is, precision,
 * recall, accuracy; others are shown as they are. `null` means "not computed".
 */
export interface MetricValues {
  [metric: string]: number | null | undefined;
}

/** One class in `eval.json` → `perClass`; metric keys sit beside the identity fields. */
export interface PerClassEval {
  class: number;
  name: string;
  /** Training images of the class. */
  count: number;
  group: ClassGroup;
  [metric: string]: number | string | null | undefined;
}

/** `eval.json`. */
export interface EvalResult {
  protocol: EvalProtocol;
  overall: MetricValues;
  perClass: PerClassEval[];
  groups: Record<ClassGroup, MetricValues>;
  /** ISO time of the evaluation. */
  created?: string;
  [field: string]: unknown;
}

/** A PNG read from the run directory. */
export interface RunImage {
  path: string;
  png: Uint8Array;
  width: number;
  height: number;
}

/** Everything the report needs from one run directory. */
export interface RunData {
  /** The directory as given. */
  dir: string;
  config: RunConfig;
  data: RunDataInfo;
  /** metrics.jsonl in file order ([] when absent). */
  metrics: RunMetricsRecord[];
  /** eval.json, or null when the run has not been evaluated. */
  eval: EvalResult | null;
  /** Per class index: its sample grid, or null. */
  samples: (RunImage | null)[];
  /** Per class index: its nearest-training-image panel, or null. */
  nearest: (RunImage | null)[];
  /** Non-fatal problems found while reading (e.g. a truncated last metrics line). */
  warnings: string[];
}
