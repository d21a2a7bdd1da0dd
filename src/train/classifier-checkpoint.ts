/**
 * Checkpoints of a classifier run (`cbdm classify --out DIR`, src/cli/classify-run.ts) and the
 * loop that writes them. One safetensors file holds the network's arena (`net`: weights and
 * batch-norm running statistics) and the optimiser's buffers (`sgd_momentum`, or `adam_m` and
 * `adam_v`); the rest of the ClassifierTrainState, the parameter layout and the caller's settings
 * are JSON in the metadata key `cbdm_classifier_state`. The file is written atomically
 * (src/io/atomic.ts): a kill leaves the previous checkpoint or the new one, never part of one.
 * Restoring the arena and the state continues the run bit for bit (ClassifierTrainState).
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.ts';
import { encodeSafetensors, readSafetensors } from '../io/safetensors.ts';
import type { NdArray } from '../io/ndarray.ts';
import type { ParamStore } from '../nn/params.ts';
import type { ClassifierTrainer, ClassifierTrainState, ClassifierOptimizerState } from './classifier-train.ts';
import { CbdmError } from '../util/errors.ts';

/** The `format` of the stored JSON. */
export const CLASSIFIER_CHECKPOINT_FORMAT = 'cbdm-classifier-checkpoint-1';

/** Metadata key of the JSON state. */
const META_KEY = 'cbdm_classifier_state';

/** A classifier checkpoint read back. */
export interface ClassifierCheckpoint {
  /** The network's arena in layout order. */
  net: Float32Array;
  layout: Array<{ name: string; shape: number[] }>;
  state: ClassifierTrainState;
  /** The caller's record of the run's settings (what a resume compares). */
  settings: Record<string, unknown>;
  /** The caller's record of where it ran (backend, precision): a difference is worth a note, not an error. */
  provenance: Record<string, unknown>;
}

interface StoredJson extends Omit<ClassifierTrainState, 'optimizer'> {
  format: typeof CLASSIFIER_CHECKPOINT_FORMAT;
  layout: Array<{ name: string; shape: number[] }>;
  settings: object;
  provenance: object;
  optimizer: { kind: 'sgd' } | { kind: 'adam'; step: number };
}

function f32(a: Float32Array | Float64Array): NdArray {
  return { dtype: 'float32', shape: [a.length], data: a instanceof Float32Array ? a : Float32Array.from(a) };
}

/** Write the trainer's state and its network's arena to `path` (atomically). */
export function saveClassifierCheckpoint(path: string, trainer: ClassifierTrainer, settings: object, provenance: object): void {
  const st = trainer.state();
  const store = trainer.net.store;
  const tensors = new Map<string, NdArray>([['net', f32(store.readArena())]]);
  const o = st.optimizer;
  let optimizer: StoredJson['optimizer'];
  switch (o.kind) {
    case 'sgd':
      tensors.set('sgd_momentum', f32(o.momentum));
      optimizer = { kind: 'sgd' };
      break;
    case 'adam':
      tensors.set('adam_m', f32(o.m));
      tensors.set('adam_v', f32(o.v));
      optimizer = { kind: 'adam', step: o.step };
      break;
    default: {
      const never: never = o;
      throw new Error(`unknown optimiser state ${String((never as { kind: unknown }).kind)}`);
    }
  }
  const json: StoredJson = {
    format: CLASSIFIER_CHECKPOINT_FORMAT, ...st, optimizer,
    layout: store.layout.map((l) => ({ name: l.name, shape: [...l.shape] })), settings, provenance,
  };
  writeFileAtomic(path, encodeSafetensors(tensors, { [META_KEY]: JSON.stringify(json) }));
}

/** Read a checkpoint written by saveClassifierCheckpoint; anything else is an error naming `path`. */
export function readClassifierCheckpoint(path: string): ClassifierCheckpoint {
  if (!existsSync(path)) throw new CbdmError(`${path} does not exist`);
  const { tensors, metadata } = readSafetensors(readFileSync(path), path);
  const raw = metadata?.[META_KEY];
  if (raw === undefined) throw new CbdmError(`${path} is not a cbdm classify checkpoint (no ${META_KEY} metadata)`);
  let json: StoredJson;
  try {
    json = JSON.parse(raw) as StoredJson;
  } catch (e) {
    throw new CbdmError(`${path}: its ${META_KEY} metadata is not JSON (${(e as Error).message})`);
  }
  if (json?.format !== CLASSIFIER_CHECKPOINT_FORMAT) throw new CbdmError(`${path} has checkpoint format ${JSON.stringify(json?.format)}, not ${CLASSIFIER_CHECKPOINT_FORMAT}`);
  const get = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new CbdmError(`${path} lacks the float32 tensor '${name}' (corrupt or foreign checkpoint)`);
    return t.data;
  };
  const net = get('net');
  const numel = json.layout.reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);
  if (numel !== net.length) throw new CbdmError(`${path}: 'net' holds ${net.length} values but its layout ${numel} (corrupt checkpoint)`);
  let optimizer: ClassifierOptimizerState;
  switch (json.optimizer?.kind) {
    case 'sgd': optimizer = { kind: 'sgd', momentum: get('sgd_momentum') }; break;
    case 'adam': optimizer = { kind: 'adam', step: json.optimizer.step, m: get('adam_m'), v: get('adam_v') }; break;
    default: throw new CbdmError(`${path}: unknown optimiser ${JSON.stringify((json.optimizer as { kind?: unknown } | undefined)?.kind)} (corrupt checkpoint)`);
  }
  const { format: _f, layout, settings, provenance, optimizer: _o, ...rest } = json;
  return { net, layout, settings: settings as Record<string, unknown>, provenance: provenance as Record<string, unknown>, state: { ...rest, optimizer } };
}

/** Load a checkpoint's arena into `store`, whose parameter layout must be the checkpoint's. */
export function restoreClassifierWeights(ck: ClassifierCheckpoint, store: ParamStore, path: string): void {
  const want = store.layout;
  const same = ck.layout.length === want.length && want.every((l, i) => l.name === ck.layout[i]!.name && l.shape.join('x') === ck.layout[i]!.shape.join('x'));
  if (!same) throw new CbdmError(`${path} was written for another network (its parameter layout differs from this run's)`);
  store.writeArena(ck.net);
}

/** How a checkpointed run went: whether it stopped (signal or `stopAfter`) before its last step. */
export interface CheckpointedRun {
  interrupted: boolean;
}

export interface CheckpointLoopOptions {
  /** Write a checkpoint after every this many steps (and always when stopping and at the end). */
  every: number;
  /** Write the checkpoint (the trainer is between steps). */
  save: () => void;
  /** Stops the run after the step in progress. */
  signal?: AbortSignal;
  /** Stop after this many steps in this call (tests: interrupt and resume). */
  stopAfter?: number;
}

/**
 * Run the trainer to its end, writing checkpoints: every `every` steps, at the end, and when
 * stopped. The loop yields to the event loop after each step, so signal handlers run between
 * steps (a step itself never yields).
 */
export async function trainWithCheckpoints(trainer: ClassifierTrainer, opts: CheckpointLoopOptions): Promise<CheckpointedRun> {
  if (!(Number.isInteger(opts.every) && opts.every >= 1)) throw new Error(`checkpoint interval must be a positive integer of steps, got ${opts.every}`);
  const aborted = () => opts.signal?.aborted === true;
  let thisCall = 0;
  let savedAt = -1;
  while (!trainer.done && !aborted() && (opts.stopAfter === undefined || thisCall < opts.stopAfter)) {
    trainer.runStep();
    thisCall++;
    if (trainer.step % opts.every === 0) {
      opts.save();
      savedAt = trainer.step;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (savedAt !== trainer.step) opts.save();
  return { interrupted: !trainer.done };
}
