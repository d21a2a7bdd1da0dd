/**
 * Evaluation from code: `cbdm eval --samples … --ref …` as a function returning the report
 * (overall FID/KID/IS/precision/recall, per class and per Many/Medium/Few group with `perClass`),
 * and `cbdm eval --run … --protocol …` (`evaluateRun`): a run sampled and measured under one
 * protocol, recorded in its eval.json.
 */
import { evaluateSamples, type ExtractorKind } from '../metrics/evaluate-files.ts';
import { evaluateRunUnderProtocol } from '../metrics/evaluate-run.ts';
import { loadProtocol, parseProtocolSpec, type ProtocolSpec } from '../metrics/protocol.ts';
import type { EvalReport } from '../metrics/evaluate.ts';
import { writeEvalJson } from '../report/run-dir.ts';
import { CbdmError } from '../util/errors.ts';

export type { EvalReport, ExtractorKind, ProtocolSpec };

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
  /** Images per feature-network forward pass (default 50). */
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

/** `evaluateRun`: a run and its protocol; `perClass`, `inception` and `batch` as in EvaluateOptions. */
export interface EvaluateRunOptions extends Pick<EvaluateOptions, 'perClass' | 'inception' | 'batch'> {
  /** The run directory: its EMA model is sampled, and eval.json written into it. */
  run: string;
  /** A built-in protocol (`fast`, `cbdm`, `ddim50`), a protocol file (.json), or a protocol object (docs/SAMPLING.md). */
  protocol: string | ProtocolSpec;
  /** Reference statistics `.npz` of the split the protocol names. */
  ref: string;
  /** Training-split statistics for a tuned ω (default: `ref` when it holds the training split). */
  tuneRef?: string;
  /** Images per sampling batch (default 64). */
  sampleBatch?: number;
}

/** Sample and measure a run under a protocol; eval.json records the protocol verbatim. Errors name these fields. */
export async function evaluateRun(options: EvaluateRunOptions): Promise<EvalReport> {
  for (const k of ['run', 'ref'] as const) {
    if (typeof options?.[k] !== 'string' || options[k] === '') throw new CbdmError(`${k} must name a ${k === 'run' ? 'run directory' : 'file'}`);
  }
  const p = options.protocol;
  const spec = typeof p === 'string' ? loadProtocol(p) : parseProtocolSpec(p, 'protocol');
  const batch = options.batch ?? 50;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new CbdmError(`batch must be a positive integer, got ${batch}`);
  const sampleBatch = options.sampleBatch ?? 64;
  if (!(Number.isInteger(sampleBatch) && sampleBatch >= 1)) throw new CbdmError(`sampleBatch must be a positive integer, got ${sampleBatch}`);
  const report = await evaluateRunUnderProtocol({
    run: options.run, spec, specSource: typeof p === 'string' ? (p === spec.name ? `built-in ${p}` : p) : 'protocol object', ref: options.ref, tuneRef: options.tuneRef,
    perClass: options.perClass, inception: options.inception, batch, sampleBatch, quiet: true,
  });
  const { notes: _notes, ...result } = report;
  writeEvalJson(options.run, result);
  return report;
}
