/**
 * What the sampler page embeds per model (the JSON of its `#cbdm-models` script element), shared
 * by the node side that writes it (src/report/sampler-html.ts) and the page that reads it.
 */
import type { ResolvedUNetConfig } from '../../models/unet.ts';
import type { ScheduleSettings } from '../../diffusion/schedule.ts';

/** The EMA weights: base64-inlined safetensors bytes (works from file://) or a URL of `cbdm serve`. */
export type SamplerWeights = { kind: 'inline'; base64: string } | { kind: 'url'; url: string };

export interface SamplerPageModel {
  /** Display name (the run's label in a report, else its directory name). */
  label: string;
  /** Where the weights came from (error messages). */
  source: string;
  config: ResolvedUNetConfig;
  /** The diffusion schedule the run trained with (its config.json). */
  schedule: ScheduleSettings;
  classNames: string[];
  /** Training images per class, when the run records them. */
  counts: number[] | null;
  /** The guidance scale the slider starts at: the run's `--omega-eval`, else 0. */
  omega: number;
  weights: SamplerWeights;
}
