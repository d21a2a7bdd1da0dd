/**
 * Checkpoints: one safetensors file per checkpoint holding the network, the EMA and Adam's
 * moments as flat arena tensors, with the JSON training state (step, RNG states, loader
 * position, arena layout) in the safetensors metadata. Written atomically (temp + rename), so a
 * crash or full disk never leaves a half-written checkpoint; `latest.json` is switched only
 * after the file is complete. Reading the weights back (and the EMA weights file) is
 * src/models/weights-file.ts.
 */
import { existsSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { encodeSafetensors } from '../io/safetensors.ts';
import { readCheckpointFile, type CheckpointArena } from '../models/weights-file.ts';
import type { NdArray } from '../io/ndarray.ts';
import type { ParamStore } from '../nn/params.ts';
import type { Adam } from './optimizer.ts';
import type { RngState } from '../util/rng.ts';
import type { LoaderState } from '../data/loader.ts';
import { CbdmError } from '../util/errors.ts';

export interface CheckpointState {
  step: number;
  rng: RngState;
  dropRng: RngState;
  loader: LoaderState;
}

interface StoredState extends CheckpointState {
  format: 'cbdm-checkpoint-1';
  layout: Array<{ name: string; shape: number[] }>;
  adamStep: number;
  /** Trained parameters outside the UNet (CORAL's projection head), stored under their own keys. */
  projHead?: { layout: Array<{ name: string; shape: number[] }>; adamStep: number };
}

/**
 * Parameters trained with the UNet but not part of it (CORAL's projection head): saved as the
 * tensors `proj_head`, `proj_head_adam_m`, `proj_head_adam_v`, apart from `net`/`ema`, so the
 * UNet's arena, its EMA and ema.safetensors keep the published layout.
 */
export interface AuxParams {
  store: ParamStore;
  opt: Adam;
}

function f32(a: ArrayLike<number>): NdArray {
  return { dtype: 'float32', shape: [a.length], data: a instanceof Float32Array ? a : Float32Array.from(a as ArrayLike<number>) };
}

/**
 * Write checkpoints/step-N.safetensors and point latest.json at it. `keep`: a checkpoint to retain
 * (the caller keeps every --ckpt-every step and the run's last step); the newest `keepLast` kept ones
 * stay (0 = all), and a previous latest that was not kept is dropped.
 */
export function saveCheckpoint(dir: string, state: CheckpointState, net: ParamStore, ema: ParamStore, opt: Adam,
  opts: { keep: boolean; keepLast: number; projHead?: AuxParams | null }): string {
  const ckDir = join(dir, 'checkpoints');
  const name = `step-${String(state.step).padStart(8, '0')}.safetensors`;
  const path = join(ckDir, name);
  const o = opt.state();
  const stored: StoredState = {
    ...state, format: 'cbdm-checkpoint-1', adamStep: o.step,
    layout: net.layout.map((l) => ({ name: l.name, shape: l.shape })),
  };
  const tensors = new Map<string, NdArray>([
    ['net', f32(net.readArena())], ['ema', f32(ema.readArena())], ['adam_m', f32(o.m)], ['adam_v', f32(o.v)],
  ]);
  if (opts.projHead) {
    const h = opts.projHead.opt.state();
    stored.projHead = { layout: opts.projHead.store.layout.map((l) => ({ name: l.name, shape: l.shape })), adamStep: h.step };
    tensors.set('proj_head', f32(opts.projHead.store.readArena()));
    tensors.set('proj_head_adam_m', f32(h.m));
    tensors.set('proj_head_adam_v', f32(h.v));
  }
  writeFileAtomic(path, encodeSafetensors(tensors, { cbdm_state: JSON.stringify(stored) }));
  const latestPath = join(ckDir, 'latest.json');
  let prev: { file: string; kept?: boolean } | null = null;
  try {
    if (existsSync(latestPath)) prev = JSON.parse(readFileSync(latestPath, 'utf8')) as { file: string; kept?: boolean };
  } catch { /* a corrupt pointer is replaced below; its file is left for keepLast pruning */ }
  writeFileAtomic(latestPath, JSON.stringify({ file: name, step: state.step, kept: opts.keep }) + '\n');
  // The previous "latest" is dropped unless it was a kept checkpoint.
  if (prev && prev.file !== name && prev.kept === false) tryUnlink(join(ckDir, prev.file));
  if (opts.keep && opts.keepLast > 0) {
    const kept = readdirSync(ckDir).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort();
    const excess = kept.length - opts.keepLast;
    for (const f of kept.slice(0, Math.max(0, excess))) if (f !== name) tryUnlink(join(ckDir, f));
  }
  return path;
}

function tryUnlink(p: string): void {
  try { unlinkSync(p); } catch { /* already gone */ }
}

/**
 * Restore a checkpoint into the network/EMA stores and the optimiser. With `emaInto`, the
 * checkpoint's EMA weights are loaded into `net` (fine-tuning from a DDPM run).
 */
export function loadCheckpoint(path: string, net: ParamStore, ema: ParamStore | null, opt: Adam | null, opts: { emaInto?: boolean; projHead?: AuxParams | null } = {}): CheckpointState {
  const file = readCheckpointFile(path, net.layout, { emaOnly: opts.emaInto === true });
  const st = file.state as unknown as StoredState;
  const get = (k: CheckpointArena) => file.arena(k);
  if (opts.emaInto) {
    net.writeArena(get('ema'));
  } else {
    net.writeArena(get('net'));
    ema?.writeArena(get('ema'));
    opt?.load({ step: st.adamStep, m: get('adam_m'), v: get('adam_v') });
  }
  if (opts.projHead) {
    const want = opts.projHead.store.layout;
    const have = st.projHead?.layout;
    if (!have) throw new CbdmError(`${path} holds no CORAL projection head (proj_head), but this run trains one; was it written by a run with coral off?`);
    if (have.length !== want.length || have.some((l, i) => l.name !== want[i]!.name || l.shape.join('x') !== want[i]!.shape.join('x'))) {
      throw new CbdmError(`${path}: its CORAL projection head has another shape than this run's; check that its preset is this run's`);
    }
    opts.projHead.store.writeArena(get('proj_head'));
    opts.projHead.opt.load({ step: st.projHead!.adamStep, m: get('proj_head_adam_m'), v: get('proj_head_adam_v') });
  }
  return { step: st.step, rng: st.rng, dropRng: st.dropRng, loader: st.loader };
}
