/**
 * `eval.json` (docs/RUN_DIR.md) as types: what an evaluation measured and exactly how the samples
 * behind the numbers were made. Written by the evaluator (src/metrics/evaluate*.ts), read by the
 * report (src/report/run-dir.ts re-exports these types).
 */
import type { ClassGroup } from '../data/groups.ts';
import type { SamplerName } from '../diffusion/samplers.ts';
import type { ProtocolSpec, ReferenceSplit } from './protocol.ts';

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
  /** The protocol the run was evaluated under (`cbdm eval --run --protocol`), verbatim; absent for evaluations of sample files. */
  spec?: ProtocolSpec;
  /** Where `spec` came from: `built-in NAME` or the protocol file's path. */
  specSource?: string;
  /** Why ω has its value under the spec's ω policy (e.g. `published for CBDM (CBDM paper)`). */
  omegaSource?: string;
  /** The ω search of a `tuned` policy. */
  omegaTuning?: OmegaTuning;
  /** The reference statistics the metrics compare with. */
  reference?: ReferenceInfo;
  /** Total samples. */
  n?: number;
  /** false when the samples file did not say how it was sampled. */
  known?: boolean;
  [field: string]: unknown;
}

/** `protocol.omegaTuning`: the grid, the criterion value of each ω (lower is better) and the choice. */
export interface OmegaTuning {
  grid: number[];
  /** What was minimised, in words (which statistics, which features, how many samples). */
  criterion: string;
  values: (number | null)[];
  chosen: number;
  nPerClass: number;
  seed: number;
}

/** `protocol.reference`: what the reference statistics file says about itself. */
export interface ReferenceInfo {
  /** The file as given. */
  file: string;
  dataset: string | null;
  split: ReferenceSplit | null;
  /** Images behind the statistics. */
  n: number;
}

/**
 * Metric values by key. Known keys (see METRIC_INFO in src/report/metric-info.ts): fid, kid, is, precision,
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
