/**
 * Weight files of a run: the EMA weights under the published state-dict names
 * (ema.safetensors) and the weights inside a training checkpoint (checkpoints/step-N.safetensors:
 * flat `net`, `ema`, `adam_m`, `adam_v` arenas, the JSON training state in the metadata key
 * `cbdm_state`, whose `layout` names every parameter's shape; docs/RUN_DIR.md). Reading them
 * needs only the model's parameter layout, so sampling loads weights without the trainer
 * (src/train/checkpoint.ts writes checkpoints and restores the optimiser and RNG state).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, basename, isAbsolute } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { encodeSafetensors, readSafetensors } from '../io/safetensors.ts';
import type { NdArray } from '../io/ndarray.ts';
import type { ParamLayout, ParamStore } from '../nn/params.ts';
import { CbdmError } from '../util/errors.ts';

/** The arenas a checkpoint holds, each the concatenation of the parameters in layout order. */
/** Arenas of a training checkpoint; proj_head* only in runs trained with --coral (CORAL's projection head). */
export type CheckpointArena = 'net' | 'ema' | 'adam_m' | 'adam_v' | 'proj_head' | 'proj_head_adam_m' | 'proj_head_adam_v';

/** A training checkpoint opened for reading. */
export interface CheckpointFile {
  /** One arena's values (float32). */
  arena(name: CheckpointArena): Float32Array;
  /** The JSON training state (`cbdm_state`; its fields are the trainer's). */
  state: Record<string, unknown>;
}

/** Path of the latest checkpoint of a run directory, or null. Accepts a checkpoint file path too. */
export function latestCheckpoint(runOrFile: string): string | null {
  if (runOrFile.endsWith('.safetensors') && existsSync(runOrFile)) return runOrFile;
  const latest = join(runOrFile, 'checkpoints', 'latest.json');
  if (!existsSync(latest)) return null;
  let file: unknown;
  try {
    file = (JSON.parse(readFileSync(latest, 'utf8')) as { file?: unknown }).file;
  } catch (e) {
    throw new CbdmError(`${latest} is corrupt (${(e as Error).message}); point it at the newest checkpoints/step-N.safetensors: {"file": "step-N.safetensors", "step": N}`);
  }
  if (typeof file !== 'string') throw new CbdmError(`${latest} lacks "file"; point it at the newest checkpoints/step-N.safetensors: {"file": "step-N.safetensors", "step": N}`);
  const p = isAbsolute(file) ? file : join(runOrFile, 'checkpoints', basename(file));
  if (!existsSync(p)) throw new CbdmError(`${latest} points at ${file}, which is missing; the run directory was modified by hand`);
  return p;
}

/** Is this file a cbdm training checkpoint (safetensors with cbdm_state), rather than plain weights? */
export function isTrainingCheckpoint(path: string): boolean {
  if (!path.endsWith('.safetensors') || !existsSync(path)) return false;
  return readSafetensors(readFileSync(path), path).metadata?.cbdm_state !== undefined;
}

/** Parameters of the training network that the EMA (a plain UNet) does not have: CM's low-rank branches. */
const TRAINING_ONLY_PREFIX = 'cm_branch.';

/**
 * Open a training checkpoint written for a model of `layout` (same names and shapes in the same
 * order); anything else is a clear error. With `emaOnly` (the caller reads the `ema` arena alone),
 * the trained network may have more parameters after the UNet's: a `--method cm` run's
 * checkpoint stores its low-rank branches there, while its EMA follows the merged weights and
 * has the plain UNet's layout (src/train/trainer.ts initWeights).
 */
export function readCheckpointFile(path: string, layout: readonly ParamLayout[], opts: { emaOnly?: boolean } = {}): CheckpointFile {
  if (!existsSync(path)) throw new CbdmError(`checkpoint ${path} does not exist`);
  const { tensors, metadata } = readSafetensors(readFileSync(path), path);
  const raw = metadata?.cbdm_state;
  if (!raw) throw new CbdmError(`${path} is not a cbdm training checkpoint (no cbdm_state metadata); to sample from weights use cbdm sample --ckpt`);
  const state = JSON.parse(raw) as Record<string, unknown> & { layout: Array<{ name: string; shape: number[] }> };
  const extra = state.layout.slice(layout.length);
  const extraAllowed = opts.emaOnly === true && extra.every((l) => l.name.startsWith(TRAINING_ONLY_PREFIX));
  const mismatch = (state.layout.length !== layout.length && !extraAllowed) || state.layout.length < layout.length
    || layout.some((l, i) => l.name !== state.layout[i]!.name || l.shape.join('x') !== state.layout[i]!.shape.join('x'));
  if (mismatch) throw new CbdmError(`${path} was written for a different model (parameter layout differs); check --preset and the dataset's class count`);
  return {
    state,
    arena(name) {
      const t = tensors.get(name);
      if (!t) throw new CbdmError(`${path} lacks tensor '${name}' (corrupt or foreign checkpoint)`);
      return t.data as Float32Array;
    },
  };
}

/** Write the EMA weights under the published state-dict names (a sampling/export artifact). */
export function saveEmaWeights(path: string, ema: ParamStore, meta: Record<string, string | number>): void {
  const arena = ema.readArena();
  const tensors = new Map<string, NdArray>();
  for (const l of ema.layout) {
    tensors.set(l.name, { dtype: 'float32', shape: [...l.shape], data: Float32Array.from(arena.subarray(l.offset, l.offset + l.size)) });
  }
  writeFileAtomic(path, encodeSafetensors(tensors, Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)]))));
}
