/**
 * Evaluation from code: `cbdm eval --samples … --ref …` as a function returning the report
 * (overall FID/KID/IS/precision/recall, per class and per Many/Medium/Few group with `perClass`).
 */
import { evaluateSamples, type ExtractorKind } from '../metrics/evaluate-files.ts';
import type { EvalReport } from '../metrics/evaluate.ts';
import { writeEvalJson } from '../report/run-dir.ts';
import { CbdmError } from '../util/errors.ts';

export type { EvalReport, ExtractorKind };

export interface EvaluateOptions {
  /** Samples: a `.npz` (x N×C×S×S in [0, 1] or uint8 and y; or `arr_0` N×S×S×C uint8 with labels), or a sharded `cbdm sample` folder. */
  samples: string;
  /** Reference statistics `.npz` (`cbdm eval stats`, or pytorch-fid's mu/sigma). */
  ref: string;
  /** Also every class and the Many/Medium/Few groups (needs features in `ref`). */
  perClass?: boolean;
  /** Per-class training counts: a JSON file (array, or {counts, classNames}). */
  counts?: string;
  /** A run directory: counts from its data.json, and the result written to its eval.json. */
  run?: string;
  /** Feature network (default 'inception', the FID Inception; 'domain' for the embedded shapes and Fashion-MNIST classifiers). */
  extractor?: ExtractorKind;
  /** FID Inception weights file (default: CBDM_INCEPTION, ~/.cache/cbdm, then the torch hub cache). */
  inception?: string;
  /** Images per forward pass (default 50). */
  batch?: number;
  /** A progress bar on stderr (default: off). */
  progress?: boolean;
}

/** Measure samples against reference statistics. */
export async function evaluate(options: EvaluateOptions): Promise<EvalReport> {
  for (const k of ['samples', 'ref'] as const) {
    if (typeof options?.[k] !== 'string' || options[k] === '') throw new CbdmError(`${k} must name a file`);
  }
  const batch = options.batch ?? 50;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new CbdmError(`batch must be a positive integer, got ${batch}`);
  const report = await evaluateSamples({
    samples: options.samples, ref: options.ref, perClass: options.perClass, counts: options.counts, run: options.run,
    extractor: options.extractor ?? 'inception', inception: options.inception, batch, quiet: options.progress !== true,
  });
  if (options.run !== undefined) {
    const { notes: _notes, ...result } = report;
    writeEvalJson(options.run, result);
  }
  return report;
}
