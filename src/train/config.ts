/**
 * The training configuration: every field typed, defaulted, with one line of help. Defaults are
 * the published CBDM recipe (DESIGN §1.3) except where a preset says otherwise; the resolved
 * config is saved as `config.json` in every run directory and shown in the report.
 */
import { CbdmError } from '../util/errors.ts';
import { parsePreset, type PresetName } from '../models/presets.ts';
import type { LabelPrior, Method } from './loss.ts';

export interface TrainConfig {
  method: Method;
  preset: PresetName;
  dataset: string;
  root: string | null;
  imb: number;
  numpyCompat: boolean;
  imageSize: number | null;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  gradClip: number;
  emaDecay: number;
  tau: number;
  gamma: number;
  labelDropProb: number;
  prior: LabelPrior;
  cfg: boolean;
  dropout: number | null;
  seed: number;
  logEvery: number;
  ckptEvery: number;
  keepCkpts: number;
  omegaEval: number;
  finetuneFrom: string | null;
  /** Architecture overrides on top of the preset (ch, chMult, attn, numResBlocks). */
  model: ModelOverrides | null;
}

/** Architecture fields a run may override on top of its preset. */
export interface ModelOverrides {
  ch?: number;
  chMult?: number[];
  attn?: number[];
  numResBlocks?: number;
}

/** Help text for every field (used by the CLI and the report). */
export const TRAIN_HELP: Record<keyof TrainConfig, string> = {
  method: 'ddpm (label-dropout CFG training) or cbdm (adds the class-balancing regulariser)',
  preset: 'model size: tiny | small | cifar (the paper\'s 35.9M UNet)',
  dataset: 'shapes10-lt | shapes100-lt | cifar10[-lt] | cifar100[-lt] | folder:PATH',
  root: 'dataset directory or .tar.gz (CIFAR)',
  imb: 'imbalance factor of *-lt datasets (n_min / n_max)',
  numpyCompat: 'CIFAR-LT: select exactly the published subset (NumPy legacy MT19937 seeded 0)',
  imageSize: 'image size (default: the preset\'s; shapes 16 or 32, CIFAR 32)',
  steps: 'optimiser steps',
  batch: 'batch size (published: 64 DDPM, 48 CBDM)',
  lr: 'peak learning rate (Adam)',
  warmup: 'linear warm-up steps',
  gradClip: 'global grad-norm clip (0 = off)',
  emaDecay: 'EMA decay of the sampled model',
  tau: 'CBDM τ: regulariser weight w = τ·t/T',
  gamma: 'CBDM γ: weight of the commitment term L_com',
  labelDropProb: 'probability that a whole batch is trained unconditionally',
  prior: 'distribution of y′ in CBDM: train (class frequencies) | uniform',
  cfg: 'train with label dropout for classifier-free guidance (DDPM; always on for CBDM)',
  dropout: 'dropout in ResBlocks (default: the preset\'s, 0.1)',
  seed: 'seed of initialisation, data order and all training noise',
  logEvery: 'log metrics every N steps',
  ckptEvery: 'keep a checkpoint every N steps (the latest is always written at the end and on interrupt)',
  keepCkpts: 'how many periodic checkpoints to keep (0 = all)',
  omegaEval: 'guidance scale ω used when sampling for evaluation',
  finetuneFrom: 'start from this DDPM run/checkpoint (CBDM fine-tune: uniform y′)',
  model: 'architecture overrides on top of the preset: {ch, chMult, attn, numResBlocks}',
};

/** Defaults: the published CBDM recipe with a CPU-friendly preset. */
export function defaultTrainConfig(method: Method = 'cbdm'): TrainConfig {
  return {
    method, preset: 'tiny', dataset: 'shapes10-lt', root: null, imb: 0.01, numpyCompat: false, imageSize: null,
    steps: 300000, batch: method === 'cbdm' ? 48 : 64, lr: 2e-4, warmup: 5000, gradClip: 1.0, emaDecay: 0.9999,
    tau: 1.0, gamma: 0.25, labelDropProb: 0.1, prior: 'train', cfg: true, dropout: null, seed: 0,
    logEvery: 50, ckptEvery: 5000, keepCkpts: 3, omegaEval: method === 'cbdm' ? 1.6 : 0.8, finetuneFrom: null, model: null,
  };
}

/** Merge user values over defaults and validate; errors name the field and what is allowed. */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const method = partial.method ?? 'cbdm';
  if (method !== 'ddpm' && method !== 'cbdm') throw new CbdmError(`--method must be ddpm or cbdm, got '${String(method)}'`);
  const c: TrainConfig = { ...defaultTrainConfig(method), ...stripUndefined(partial) };
  c.preset = parsePreset(c.preset);
  const posInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v > 0)) throw new CbdmError(`--${kebab(k)} must be a positive integer, got ${v}`);
  };
  const nonNeg = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!(Number.isFinite(v) && v >= 0)) throw new CbdmError(`--${kebab(k)} must be a non-negative number, got ${v}`);
  };
  posInt('steps'); posInt('batch'); posInt('logEvery'); posInt('ckptEvery');
  nonNeg('lr'); nonNeg('warmup'); nonNeg('gradClip'); nonNeg('tau'); nonNeg('gamma'); nonNeg('omegaEval'); nonNeg('keepCkpts');
  if (!(c.emaDecay >= 0 && c.emaDecay < 1)) throw new CbdmError(`--ema-decay must be in [0, 1), got ${c.emaDecay}`);
  if (!(c.labelDropProb >= 0 && c.labelDropProb <= 1)) throw new CbdmError(`--label-drop must be in [0, 1], got ${c.labelDropProb}`);
  if (c.prior !== 'train' && c.prior !== 'uniform') throw new CbdmError(`--prior must be train or uniform, got '${String(c.prior)}'`);
  if (!(c.imb > 0 && c.imb <= 1)) throw new CbdmError(`--imb must be in (0, 1], got ${c.imb}`);
  if (!Number.isInteger(c.seed)) throw new CbdmError(`--seed must be an integer, got ${c.seed}`);
  if (c.finetuneFrom !== null) {
    // The fine-tune draws y′ uniformly (the published `--finetune`); config.json records that.
    if (partial.prior === 'train') throw new CbdmError('--prior train cannot be combined with --finetune-from: the CBDM fine-tune draws y′ uniformly');
    c.prior = 'uniform';
  }
  return c;
}

/** "(default: …)" for a field's help line; method-dependent defaults name both. */
export function trainDefaultText(k: keyof TrainConfig): string {
  const show = (v: unknown) => (v === null ? 'none' : Array.isArray(v) ? v.join(',') : String(v));
  if (TRAIN_HELP[k].includes('default:')) return '';
  if (k === 'method') return `(default: ${defaultTrainConfig().method})`;
  const a = defaultTrainConfig('cbdm')[k], b = defaultTrainConfig('ddpm')[k];
  return show(a) === show(b) ? `(default: ${show(a)})` : `(default: ${show(a)} for cbdm, ${show(b)} for ddpm)`;
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
