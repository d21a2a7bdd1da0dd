/**
 * Run directories and model files from code: read a run (config, metrics, evaluation), save a
 * model's weights under the published state-dict names, save samples as `cbdm eval` reads them.
 */
import { saveEmaWeights } from '../models/weights-file.ts';
import { readRunDir } from '../report/run-dir.ts';
import { writeSamplesNpz } from '../diffusion/samples-file.ts';
import type { UNet } from '../models/unet.ts';
import type { SampleResult } from './sample.ts';
import type { RunData } from '../report/run-dir-types.ts';
import { CbdmError } from '../util/errors.ts';

/** A run directory's config.json, data.json, metrics.jsonl and eval.json, validated (docs/RUN_DIR.md). */
export async function readRun(dir: string): Promise<RunData> {
  if (typeof dir !== 'string' || dir === '') throw new CbdmError('readRun: dir must name a run directory');
  return readRunDir(dir);
}

/**
 * Save a UNet's weights as safetensors under the published state-dict names, with its config in
 * the metadata (what a run's ema.safetensors holds; `loadModel` and `cbdm sample --ckpt` read it).
 */
export function saveModel(net: UNet, path: string): void {
  if (!path.endsWith('.safetensors')) throw new CbdmError(`path ${path} must end in .safetensors`);
  saveEmaWeights(path, net.store, { config: JSON.stringify(net.config) });
}

/** Save samples as the .npz `cbdm eval --samples` and `evaluate` read (x, y and the protocol). */
export function saveSamples(path: string, s: SampleResult): void {
  if (!path.endsWith('.npz')) throw new CbdmError(`path ${path} must end in .npz`);
  writeSamplesNpz(path, s.x, s.y, s.size, s.protocol, s.channels);
}
