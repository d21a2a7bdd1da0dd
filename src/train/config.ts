/**
 * The training configuration: every field typed, defaulted, with one line of help. Defaults are
 * the published CBDM recipe (docs/DESIGN.md §1.3) except where a preset says otherwise; the resolved
 * config is saved as `config.json` in every run directory and shown in the report.
 */
import { CbdmError } from '../util/errors.ts';
import { parsePreset, type PresetName } from '../models/presets.ts';
import type { LabelPrior, Method } from './loss.ts';
import { T2H_MODES, type T2hMode } from './t2h.ts';
import { CM_APPROXIMATE, DEFAULT_CM } from './cm.ts';
import { DEFAULT_CORAL } from './coral.ts';

export interface TrainConfig {
  method: Method;
  preset: PresetName;
  dataset: string;
  root: string | null;
  imb: number;
  numpyCompat: boolean;
  /** Head-class size of fashion-mnist-lt / shapes (null: the dataset's default, 500). */
  maxPerClass: number | null;
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
  /** T2H: transfer gate (method t2h only). */
  t2hMode: T2hMode;
  /** T2H: transfer only where t < this (null: always, the released default). */
  t2hCutTime: number | null;
  /** T2H prior variant: weights ∝ π^β·exp(…), no gate (null: the plain transfer). */
  t2hPriorExponent: number | null;
  /** CM (approximate): branch rank ⌈ratio·min(out, in·k·k)⌉ per conv/linear weight (method cm only). */
  cmRankRatio: number;
  /** CM (approximate): λ, weight of the consistency/diversity term (method cm only). */
  cmLambda: number;
  /** CORAL: add the supervised-contrastive term on the UNet bottleneck (ddpm or cbdm). */
  coral: boolean;
  /** CORAL w (the released --supcon_weight). */
  coralWeight: number;
  /** CORAL τ_sc, SupCon temperature (the released --supcon_temp). */
  coralTemp: number;
  /** CORAL τ_r of the time weight exp((1 − t/T)/τ_r) (the released --temperature_scaling). */
  coralTimeTemp: number;
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
  method: `ddpm (label-dropout CFG training), cbdm (adds the class-balancing regulariser), t2h (oriented-calibration target transfer, Zhang et al. ICLR 2024) or cm (capacity manipulation, Hong et al. ICLR 2026; ${CM_APPROXIMATE})`,
  preset: 'model size: tiny | small | cifar (the paper\'s 35.9M UNet)',
  dataset: 'shapes10-lt | shapes100-lt | cifar10[-lt] | cifar100[-lt] | fashion-mnist[-lt] | folder:PATH',
  root: 'dataset directory or .tar.gz (CIFAR); Fashion-MNIST: folder of the IDX .gz files (default /usr/share/datasets/fashion-mnist)',
  imb: 'imbalance factor of *-lt datasets (n_min / n_max)',
  numpyCompat: 'CIFAR-LT: select exactly the published subset (NumPy legacy MT19937 seeded 0)',
  maxPerClass: 'fashion-mnist-lt / shapes: images of the head class (default 500: 500 → 5 at --imb 0.01)',
  imageSize: 'image size (default: the preset\'s; shapes 16 or 32, CIFAR 32; Fashion-MNIST 32 = 28 padded with 2 black pixels per side, 16 = bilinear resize)',
  steps: 'optimiser steps',
  batch: 'batch size (published: 64 DDPM, 48 CBDM, 128 T2H)',
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
  t2hMode: 'T2H transfer gate: t2h (only towards classes at least as frequent; published) | h2t | full (no gate)',
  t2hCutTime: 'T2H: transfer only where t < N (default: always)',
  t2hPriorExponent: 'T2H prior variant β: transfer weights ∝ π_y^β·exp(−d/2σ̃²), no gate (default: off)',
  cmRankRatio: `CM (${CM_APPROXIMATE}): low-rank branch rank = ⌈ratio·min(out, in·k·k)⌉ per conv/linear weight, ratio in (0, 1]`,
  cmLambda: `CM (${CM_APPROXIMATE}): λ, weight of the class-weighted consistency/diversity term`,
  coral: 'CORAL (Rodriguez et al. NeurIPS 2025): supervised-contrastive term on a projection of the UNet bottleneck, with --method ddpm or cbdm (the head is trained, never sampled or exported) (default: off)',
  coralWeight: 'CORAL w: the term is τ_sc·w·mean_i exp((1 − t_i/T)/τ_r)·SupCon (released --supcon_weight)',
  coralTemp: 'CORAL τ_sc: SupCon temperature, also the released loop\'s extra factor (--supcon_temp)',
  coralTimeTemp: 'CORAL τ_r: temperature of the time weight exp((1 − t/T)/τ_r) (released --temperature_scaling)',
  model: 'architecture overrides on top of the preset: {ch, chMult, attn, numResBlocks}',
};

/** Defaults: the published CBDM recipe with a CPU-friendly preset. */
export function defaultTrainConfig(method: Method = 'cbdm'): TrainConfig {
  return {
    method, preset: 'tiny', dataset: 'shapes10-lt', root: null, imb: 0.01, numpyCompat: false, maxPerClass: null, imageSize: null,
    steps: 300000, batch: method === 'cbdm' ? 48 : method === 't2h' ? 128 : 64, lr: 2e-4, warmup: 5000, gradClip: 1.0, emaDecay: 0.9999,
    tau: 1.0, gamma: 0.25, labelDropProb: 0.1, prior: 'train', cfg: true, dropout: null, seed: 0,
    logEvery: 50, ckptEvery: 5000, keepCkpts: 3, omegaEval: method === 'cbdm' ? 1.6 : method === 't2h' ? 1.5 : 0.8, finetuneFrom: null,
    t2hMode: 't2h', t2hCutTime: null, t2hPriorExponent: null, cmRankRatio: DEFAULT_CM.rankRatio, cmLambda: DEFAULT_CM.lambda,
    coral: false, coralWeight: DEFAULT_CORAL.weight, coralTemp: DEFAULT_CORAL.temperature, coralTimeTemp: DEFAULT_CORAL.timeTemperature,
    model: null,
  };
}

/**
 * How validation errors name a setting: by its command-line flag (`--ema-decay`, the CLI) or by
 * its TrainConfig field (`emaDecay`, the library API).
 */
export type SettingNames = 'flags' | 'fields';

/** The name of setting `k` (a TrainConfig field, or the run directory / resume option) in errors. */
export function settingName(k: keyof TrainConfig | 'out' | 'resume', names: SettingNames): string {
  switch (names) {
    case 'flags': return k === 'labelDropProb' ? '--label-drop' : `--${kebab(k)}`;
    case 'fields': return k;
    default: {
      const never: never = names;
      throw new Error(`unknown setting names ${String(never)}`);
    }
  }
}

/**
 * Merge user values over defaults and validate; errors name the setting (as a flag, or as a
 * config field with `names` 'fields') and what is allowed.
 */
export function resolveTrainConfig(partial: Partial<TrainConfig>, names: SettingNames = 'flags'): TrainConfig {
  const n = (k: keyof TrainConfig) => settingName(k, names);
  const method = partial.method ?? 'cbdm';
  if (method !== 'ddpm' && method !== 'cbdm' && method !== 't2h' && method !== 'cm') throw new CbdmError(`${n('method')} must be ddpm, cbdm, t2h or cm, got '${String(method)}'`);
  const c: TrainConfig = { ...defaultTrainConfig(method), ...stripUndefined(partial) };
  c.preset = parsePreset(c.preset);
  const posInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v > 0)) throw new CbdmError(`${n(k)} must be a positive integer, got ${v}`);
  };
  const nonNeg = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!(Number.isFinite(v) && v >= 0)) throw new CbdmError(`${n(k)} must be a non-negative number, got ${v}`);
  };
  posInt('steps'); posInt('batch'); posInt('logEvery'); posInt('ckptEvery');
  nonNeg('lr'); nonNeg('warmup'); nonNeg('gradClip'); nonNeg('tau'); nonNeg('gamma'); nonNeg('omegaEval'); nonNeg('keepCkpts');
  if (!(c.emaDecay >= 0 && c.emaDecay < 1)) throw new CbdmError(`${n('emaDecay')} must be in [0, 1), got ${c.emaDecay}`);
  if (!(c.labelDropProb >= 0 && c.labelDropProb <= 1)) throw new CbdmError(`${n('labelDropProb')} must be in [0, 1], got ${c.labelDropProb}`);
  if (c.prior !== 'train' && c.prior !== 'uniform') throw new CbdmError(`${n('prior')} must be train or uniform, got '${String(c.prior)}'`);
  if (!(c.imb > 0 && c.imb <= 1)) throw new CbdmError(`${n('imb')} must be in (0, 1], got ${c.imb}`);
  if (!Number.isInteger(c.seed)) throw new CbdmError(`${n('seed')} must be an integer, got ${c.seed}`);
  if (!(T2H_MODES as readonly string[]).includes(c.t2hMode)) throw new CbdmError(`${n('t2hMode')} must be one of ${T2H_MODES.join(', ')}, got '${String(c.t2hMode)}'`);
  if (c.t2hCutTime !== null && !(Number.isInteger(c.t2hCutTime) && c.t2hCutTime > 0)) throw new CbdmError(`${n('t2hCutTime')} must be a positive integer (a timestep), got ${c.t2hCutTime}`);
  if (c.t2hPriorExponent !== null && !(Number.isFinite(c.t2hPriorExponent) && c.t2hPriorExponent >= 0)) throw new CbdmError(`${n('t2hPriorExponent')} must be a finite number ≥ 0, got ${c.t2hPriorExponent}`);
  if (method !== 't2h') {
    for (const k of ['t2hMode', 't2hCutTime', 't2hPriorExponent'] as const) {
      if (partial[k] !== undefined && partial[k] !== defaultTrainConfig(method)[k]) throw new CbdmError(`${n(k)} applies to ${n('method')} t2h only (this run is ${method})`);
    }
  }
  if (!(Number.isFinite(c.cmRankRatio) && c.cmRankRatio > 0 && c.cmRankRatio <= 1)) {
    throw new CbdmError(`${n('cmRankRatio')} must be in (0, 1] (each branch gets rank ⌈ratio·min(out, in·k·k)⌉; ≤ 0 would give rank 0), got ${c.cmRankRatio}`);
  }
  if (!(Number.isFinite(c.cmLambda) && c.cmLambda >= 0)) throw new CbdmError(`${n('cmLambda')} must be a finite number ≥ 0, got ${c.cmLambda}`);
  if (method !== 'cm') {
    for (const k of ['cmRankRatio', 'cmLambda'] as const) {
      if (partial[k] !== undefined && partial[k] !== defaultTrainConfig(method)[k]) throw new CbdmError(`${n(k)} applies to ${n('method')} cm only (this run is ${method})`);
    }
  }
  if (method === 'cm' && c.finetuneFrom !== null) throw new CbdmError(`${n('finetuneFrom')} is the CBDM fine-tune; it does not apply to ${n('method')} cm (train CM from scratch)`);
  if (c.coral && method !== 'ddpm' && method !== 'cbdm') throw new CbdmError(`${n('coral')} combines with ${n('method')} ddpm or cbdm, not ${method}`);
  if (!(Number.isFinite(c.coralWeight) && c.coralWeight >= 0)) throw new CbdmError(`${n('coralWeight')} must be a finite number ≥ 0, got ${c.coralWeight}`);
  if (!(Number.isFinite(c.coralTemp) && c.coralTemp > 0)) throw new CbdmError(`${n('coralTemp')} must be a positive number, got ${c.coralTemp}`);
  if (!(Number.isFinite(c.coralTimeTemp) && c.coralTimeTemp > 0)) throw new CbdmError(`${n('coralTimeTemp')} must be a positive number, got ${c.coralTimeTemp}`);
  if (!c.coral) {
    for (const k of ['coralWeight', 'coralTemp', 'coralTimeTemp'] as const) {
      if (partial[k] !== undefined && partial[k] !== defaultTrainConfig(method)[k]) throw new CbdmError(`${n(k)} applies with ${n('coral')} only; add ${n('coral')}`);
    }
  }
  if (c.finetuneFrom !== null) {
    // The fine-tune draws y′ uniformly (the published `--finetune`); config.json records that.
    if (partial.prior === 'train') throw new CbdmError(`${n('prior')} train cannot be combined with ${n('finetuneFrom')}: the CBDM fine-tune draws y′ uniformly`);
    c.prior = 'uniform';
  }
  return c;
}

/** "(default: …)" for a field's help line; method-dependent defaults name both. */
export function trainDefaultText(k: keyof TrainConfig): string {
  const show = (v: unknown) => (v === null ? 'none' : Array.isArray(v) ? v.join(',') : String(v));
  if (TRAIN_HELP[k].includes('default:')) return '';
  if (k === 'method') return `(default: ${defaultTrainConfig().method})`;
  const methods: Method[] = ['cbdm', 'ddpm', 't2h', 'cm'];
  const byValue = new Map<string, Method[]>();
  for (const m of methods) {
    const v = show(defaultTrainConfig(m)[k]);
    byValue.set(v, [...(byValue.get(v) ?? []), m]);
  }
  if (byValue.size === 1) return `(default: ${[...byValue.keys()][0]})`;
  return `(default: ${[...byValue].map(([v, ms]) => `${v} for ${ms.join(' and ')}`).join(', ')})`;
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
