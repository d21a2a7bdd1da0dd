/**
 * Training from code: the CLI's `cbdm train` without its process handlers and console output. The
 * caller stops a run with its own AbortSignal and receives notes through `log`; settings are
 * TrainConfig fields and errors name them (`emaDecay must be in [0, 1)`, not `--ema-decay …`).
 */
import { existsSync, statSync } from 'node:fs';
import { resolveTrainConfig, type TrainConfig } from '../train/config.ts';
import { train as trainLoop, type TrainResult } from '../train/trainer.ts';
import { CbdmError } from '../util/errors.ts';

export interface TrainRunOptions {
  /** Run directory (created; docs/RUN_DIR.md). */
  out: string;
  /** Continue the run in `out` from its latest checkpoint, with its saved settings. */
  resume?: boolean;
  /** Stops the run after the step in progress; a checkpoint is written (result.interrupted). */
  signal?: AbortSignal;
  /** Notes and warnings, one line each (default: none are printed). */
  log?: (line: string) => void;
  /** Called after every optimiser step. */
  onStep?: (step: number, rec: { loss: number }) => void;
  /** A progress bar on stderr (default: off). */
  progress?: boolean;
}

/**
 * Train DDPM, CBDM or T2H into a run directory. `config` holds the settings that differ from the
 * defaults (`defaultTrainConfig(method)`: the published recipe on the tiny preset and shapes10-lt).
 *
 * ```ts
 * const ac = new AbortController();
 * const r = await train({ method: 'cbdm', dataset: 'shapes10-lt', steps: 2000 }, { out: 'runs/cbdm', signal: ac.signal });
 * ```
 */
export async function train(config: Partial<TrainConfig>, options: TrainRunOptions): Promise<TrainResult> {
  if (typeof options?.out !== 'string' || options.out === '') throw new CbdmError('out must name the run directory (a path)');
  if (existsSync(options.out) && !statSync(options.out).isDirectory()) throw new CbdmError(`out: ${options.out} is a file, not a directory; give the run directory's path`);
  const cfg = options.resume ? resolveTrainConfig({}, 'fields') : resolveTrainConfig(config, 'fields');
  return trainLoop(cfg, {
    out: options.out,
    resume: options.resume,
    extendTo: options.resume ? config.steps : undefined,
    progress: options.progress ?? false,
    signal: options.signal,
    log: options.log,
    onStep: options.onStep,
    names: 'fields',
  });
}
