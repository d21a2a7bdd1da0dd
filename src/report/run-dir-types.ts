/**
 * The run-directory contract (docs/RUN_DIR.md) as types: what the trainer and evaluator write
 * and what `cbdm report` reads. Files are open records — extra fields are kept and shown in the
 * report's config section — but the fields typed here are the ones the report relies on.
 */

import type { Method } from '../train/loss.ts';

/** Training method of a run. */
export type RunMethod = Method;

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
  /** CORAL's SupCon value (runs with --coral; 0 on label-dropped batches); loss adds τ_sc·w·λ·l_con. */
  l_con?: number;
  grad_norm?: number;
  lr?: number;
  /** Training images per second over the logging window. */
  img_per_s?: number;
  /** Seconds since the start of this training call. */
  wall_s?: number;
  [field: string]: number | undefined;
}

// eval.json's types belong to the evaluator (src/metrics), which writes them; the report reads them.
export type { EvalSampler, EvalProtocol, MetricValues, PerClassEval, EvalResult } from '../metrics/eval-result.ts';
import type { EvalResult } from '../metrics/eval-result.ts';

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
