/**
 * The training settings, each written once: its type, default, help line, the check of its value
 * and its command-line flag. Everything else is derived from this table (train/config.ts): the
 * TrainConfig type, the defaults, validation (errors name the flag or the config field),
 * `cbdm train`'s options and help text (cli/train.ts), the keys a `--config` file may use
 * (train/config-file.ts) and the `train` object of a run's config.json.
 *
 * Defaults are the published CBDM recipe (Qin et al., CVPR 2023; qym7/CBDM-pytorch `main.py` flag
 * definitions l. 25–82 and `config/cifar100.txt`) on a CPU-sized preset and dataset; where a
 * setting's default differs by method it lists one per method.
 */
import { PRESET_NAMES } from '../models/presets.ts';
import { BETA_SCHEDULE_KINDS, PUBLISHED_SCHEDULE, type BetaScheduleKind } from '../diffusion/schedule.ts';
import type { LabelPrior } from '../diffusion/training.ts';
import { T2H_MODES } from './t2h.ts';
import { CM_APPROXIMATE } from './cm.ts';

/** The training methods, in the order the CLI lists them. */
export const METHODS = ['ddpm', 'cbdm', 't2h', 'cm'] as const;
export type Method = (typeof METHODS)[number];

/** Architecture fields a run may override on top of its preset. */
export interface ModelOverrides {
  ch?: number;
  chMult?: number[];
  attn?: number[];
  numResBlocks?: number;
}

/** How a value is read from a flag or a settings file, and what it may be. */
export type SettingKind = 'int' | 'number' | 'boolean' | 'string' | 'enum' | 'model';

/** A default that depends on the method. */
export interface ByMethod<V> {
  byMethod: Record<Method, V>;
}

/**
 * When a setting applies: always, when another setting has one value (`--t2h-mode` with
 * `--method t2h`), or with a switch on (`--coral-weight` with `--coral`). Given elsewhere (and not
 * its default) it is an error, so a setting is never silently ignored.
 */
export type SettingScope =
  | { kind: 'always' }
  | { kind: 'when'; setting: 'method'; value: Method }
  | { kind: 'when'; setting: 'betaSchedule'; value: BetaScheduleKind }
  | { kind: 'switch'; setting: 'coral' };

/** One training setting. `V` is its value's type, which TrainConfig takes from here. */
export interface Setting<V> {
  kind: SettingKind;
  /** The allowed values of an enum. */
  values?: readonly string[];
  /** Whether null (unset: the help says what happens then) is a value. */
  nullable: boolean;
  default: V | ByMethod<V>;
  help: string;
  /** What is wrong with a (non-null, well-typed) value, e.g. 'must be in [0, 1)', or null. */
  check?: (v: number) => string | null;
  /** The flag: its name without dashes (default: the field in kebab case) and value name; null: file only. */
  flag?: { name?: string; value?: string } | null;
  scope: SettingScope;
}

// ---- constructors: each fixes the value type V of its setting -----------------------------------

type Spec<V> = Omit<Setting<V>, 'kind' | 'nullable' | 'values' | 'scope'> & { scope?: SettingScope };
const ALWAYS: SettingScope = { kind: 'always' };

function integer(s: Spec<number>): Setting<number> {
  return { kind: 'int', nullable: false, ...s, scope: s.scope ?? ALWAYS };
}
function integerOrNull(s: Spec<number | null>): Setting<number | null> {
  return { kind: 'int', nullable: true, ...s, scope: s.scope ?? ALWAYS };
}
function number(s: Spec<number>): Setting<number> {
  return { kind: 'number', nullable: false, ...s, scope: s.scope ?? ALWAYS };
}
function numberOrNull(s: Spec<number | null>): Setting<number | null> {
  return { kind: 'number', nullable: true, ...s, scope: s.scope ?? ALWAYS };
}
function boolean(s: Spec<boolean>): Setting<boolean> {
  return { kind: 'boolean', nullable: false, ...s, scope: s.scope ?? ALWAYS };
}
function text(s: Spec<string>): Setting<string> {
  return { kind: 'string', nullable: false, ...s, scope: s.scope ?? ALWAYS };
}
function textOrNull(s: Spec<string | null>): Setting<string | null> {
  return { kind: 'string', nullable: true, ...s, scope: s.scope ?? ALWAYS };
}
function oneOf<const V extends string>(values: readonly V[], s: Spec<V>): Setting<V> {
  return { kind: 'enum', values, nullable: false, ...s, scope: s.scope ?? ALWAYS };
}
function modelOverrides(s: Spec<ModelOverrides | null>): Setting<ModelOverrides | null> {
  return { kind: 'model', nullable: true, ...s, scope: s.scope ?? ALWAYS };
}

// ---- value checks: the phrase after the setting's name ------------------------------------------

const positiveInt = (v: number) => (Number.isInteger(v) && v > 0 ? null : 'must be a positive integer');
const nonNegative = (v: number) => (Number.isFinite(v) && v >= 0 ? null : 'must be a non-negative number');
const finiteNonNegative = (v: number) => (Number.isFinite(v) && v >= 0 ? null : 'must be a finite number ≥ 0');
const positive = (v: number) => (Number.isFinite(v) && v > 0 ? null : 'must be a positive number');
const probability = (v: number) => (v >= 0 && v <= 1 ? null : 'must be in [0, 1]');
const openUnit = (v: number) => (v > 0 && v < 1 ? null : 'must be in (0, 1)');

const T2H_ONLY: SettingScope = { kind: 'when', setting: 'method', value: 't2h' };
const CM_ONLY: SettingScope = { kind: 'when', setting: 'method', value: 'cm' };
const WITH_CORAL: SettingScope = { kind: 'switch', setting: 'coral' };
const LINEAR_ONLY: SettingScope = { kind: 'when', setting: 'betaSchedule', value: 'linear' };

/** Every training setting, in the order of help text and config.json. */
export const TRAIN_SETTINGS = {
  method: oneOf(METHODS, {
    default: 'cbdm', flag: { value: 'm' },
    help: `ddpm (label-dropout CFG training), cbdm (adds the class-balancing regulariser), t2h (oriented-calibration target transfer, Zhang et al. ICLR 2024) or cm (capacity manipulation, Hong et al. ICLR 2026; ${CM_APPROXIMATE})`,
  }),
  preset: oneOf(PRESET_NAMES, { default: 'tiny', flag: { value: 'p' }, help: 'model size: tiny | small | cifar (the paper\'s 35.9M UNet)' }),
  dataset: text({ default: 'shapes10-lt', flag: { value: 'name' }, help: 'shapes10-lt | shapes100-lt | cifar10[-lt] | cifar100[-lt] | fashion-mnist[-lt] | folder:PATH' }),
  root: textOrNull({ default: null, flag: { value: 'dir' }, help: 'dataset directory or .tar.gz (CIFAR); Fashion-MNIST: folder of the IDX .gz files (default /usr/share/datasets/fashion-mnist)' }),
  imb: number({ default: 0.01, flag: { value: 'f' }, help: 'imbalance factor of *-lt datasets (n_min / n_max)', check: (v) => (v > 0 && v <= 1 ? null : 'must be in (0, 1]') }),
  numpyCompat: boolean({ default: false, help: 'CIFAR-LT: select exactly the published subset (NumPy legacy MT19937 seeded 0)' }),
  maxPerClass: integerOrNull({ default: null, flag: { value: 'n' }, check: positiveInt, help: 'fashion-mnist-lt / shapes: images of the head class (default 500: 500 → 5 at --imb 0.01)' }),
  imageSize: integerOrNull({ default: null, flag: { value: 'n' }, check: positiveInt, help: 'image size (default: the preset\'s; shapes 16 or 32, CIFAR 32; Fashion-MNIST 32 = 28 padded with 2 black pixels per side, 16 = bilinear resize)' }),
  steps: integer({ default: 300000, flag: { value: 'n' }, check: positiveInt, help: 'optimiser steps' }),
  batch: integer({ default: { byMethod: { ddpm: 64, cbdm: 48, t2h: 128, cm: 64 } }, flag: { value: 'n' }, check: positiveInt, help: 'batch size (published: 64 DDPM, 48 CBDM, 128 T2H)' }),
  lr: number({ default: 2e-4, flag: { value: 'f' }, check: nonNegative, help: 'peak learning rate (Adam)' }),
  warmup: integer({ default: 5000, flag: { value: 'n' }, check: nonNegative, help: 'linear warm-up steps' }),
  gradClip: number({ default: 1.0, flag: { value: 'f' }, check: nonNegative, help: 'global grad-norm clip (0 = off)' }),
  emaDecay: number({ default: 0.9999, flag: { value: 'f' }, check: (v) => (v >= 0 && v < 1 ? null : 'must be in [0, 1)'), help: 'EMA decay of the sampled model' }),
  tau: number({ default: 1.0, flag: { value: 'f' }, check: nonNegative, help: 'CBDM τ: regulariser weight w = τ·t/T' }),
  gamma: number({ default: 0.25, flag: { value: 'f' }, check: nonNegative, help: 'CBDM γ: weight of the commitment term L_com' }),
  labelDropProb: number({ default: 0.1, flag: { name: 'label-drop', value: 'p' }, check: probability, help: 'probability that a whole batch is trained unconditionally' }),
  prior: oneOf(['train', 'uniform'] as const satisfies readonly LabelPrior[], { default: 'train', flag: { value: 'p' }, help: 'distribution of y′ in CBDM: train (class frequencies) | uniform' }),
  cfg: boolean({ default: true, help: 'label dropout for classifier-free guidance (DDPM; always on for CBDM)' }),
  dropout: numberOrNull({ default: null, flag: { value: 'p' }, check: (v) => (v >= 0 && v < 1 ? null : 'must be in [0, 1)'), help: 'dropout in ResBlocks (default: the preset\'s, 0.1)' }),
  seed: integer({ default: 0, flag: { value: 'n' }, help: 'seed of initialisation, data order and all training noise' }),
  logEvery: integer({ default: 50, flag: { value: 'n' }, check: positiveInt, help: 'log metrics every N steps' }),
  ckptEvery: integer({ default: 5000, flag: { value: 'n' }, check: positiveInt, help: 'keep a checkpoint every N steps and at the last step (one written on interrupt is replaced by the next save)' }),
  keepCkpts: integer({ default: 3, flag: { value: 'n' }, check: nonNegative, help: 'how many kept checkpoints (--ckpt-every and last step) to retain, the newest (0 = all)' }),
  omegaEval: number({ default: { byMethod: { ddpm: 0.8, cbdm: 1.6, t2h: 1.5, cm: 0.8 } }, flag: { value: 'f' }, check: nonNegative, help: 'guidance scale ω used when sampling for evaluation' }),
  finetuneFrom: textOrNull({ default: null, flag: { value: 'run' }, help: 'start from this DDPM run/checkpoint (CBDM fine-tune: uniform y′)' }),
  diffusionSteps: integer({ default: PUBLISHED_SCHEDULE.T, flag: { value: 'T' }, check: (v) => (v >= 2 ? null : 'must be an integer ≥ 2'), help: 'T, the number of diffusion steps (timesteps 0..T−1; the UNet\'s time embedding has T rows)' }),
  betaSchedule: oneOf(BETA_SCHEDULE_KINDS, { default: PUBLISHED_SCHEDULE.kind, flag: { value: 'kind' }, help: 'β schedule: linear (β from --beta-start to --beta-end, Ho et al. 2020) | cosine (Nichol & Dhariwal 2021, eq. 17)' }),
  betaStart: number({ default: PUBLISHED_SCHEDULE.betaStart, flag: { value: 'f' }, scope: LINEAR_ONLY, check: openUnit, help: 'β_1 of the linear schedule' }),
  betaEnd: number({ default: PUBLISHED_SCHEDULE.betaEnd, flag: { value: 'f' }, scope: LINEAR_ONLY, check: openUnit, help: 'β_T of the linear schedule' }),
  t2hMode: oneOf(T2H_MODES, { default: 't2h', flag: { value: 'm' }, scope: T2H_ONLY, help: 'T2H transfer gate: t2h (only towards classes at least as frequent; published) | h2t | full (no gate)' }),
  t2hCutTime: integerOrNull({
    default: null, flag: { value: 't' }, scope: T2H_ONLY,
    check: (v) => (Number.isInteger(v) && v > 0 ? null : 'must be a positive integer (a timestep)'), help: 'T2H: transfer only where t < N (default: always)',
  }),
  t2hPriorExponent: numberOrNull({ default: null, flag: { value: 'b' }, scope: T2H_ONLY, check: finiteNonNegative, help: 'T2H prior variant β: transfer weights ∝ π_y^β·exp(−d/2σ̃²), no gate (default: off)' }),
  cmRankRatio: number({
    default: 0.1, flag: { value: 'r' }, scope: CM_ONLY,
    check: (v) => (Number.isFinite(v) && v > 0 && v <= 1 ? null : 'must be in (0, 1] (each branch gets rank ⌈ratio·min(out, in·k·k)⌉; ≤ 0 would give rank 0)'),
    help: `CM (${CM_APPROXIMATE}): low-rank branch rank = ⌈ratio·min(out, in·k·k)⌉ per conv/linear weight, ratio in (0, 1]`,
  }),
  cmLambda: number({ default: 1, flag: { value: 'l' }, scope: CM_ONLY, check: finiteNonNegative, help: `CM (${CM_APPROXIMATE}): λ, weight of the class-weighted consistency/diversity term; at --lr 1e-3 the paper's 1 diverged before 2,000 steps in every shapes10-lt seed and 0.1 before 2,100 in every fashion-mnist-lt seed (it trained 2,000 steps on shapes10-lt); the trainer warns when a run diverges (docs/RESULTS.md §8)` }),
  // CORAL: the released flag defaults (SankarLab/coral-lt-diffusion @62c9dfa `main.py` L90–93).
  coral: boolean({ default: false, help: 'CORAL (Rodriguez et al. NeurIPS 2025): supervised-contrastive term on a projection of the UNet bottleneck, with --method ddpm or cbdm (the head is trained, never sampled or exported)' }),
  coralWeight: number({ default: 0.5, flag: { value: 'w' }, scope: WITH_CORAL, check: finiteNonNegative, help: 'CORAL w: the term is τ_sc·w·mean_i exp((1 − t_i/T)/τ_r)·SupCon (released --supcon_weight)' }),
  coralTemp: number({ default: 0.1, flag: { value: 't' }, scope: WITH_CORAL, check: positive, help: 'CORAL τ_sc: SupCon temperature, also the released loop\'s extra factor (--supcon_temp)' }),
  coralTimeTemp: number({ default: 0.3, flag: { value: 't' }, scope: WITH_CORAL, check: positive, help: 'CORAL τ_r: temperature of the time weight exp((1 − t/T)/τ_r) (released --temperature_scaling)' }),
  model: modelOverrides({ default: null, flag: null, help: 'architecture overrides on top of the preset: {ch, chMult, attn, numResBlocks}' }),
};

/** The value type of a setting. */
export type SettingValue<S> = S extends Setting<infer V> ? V : never;

/** The names of the training settings (TrainConfig's fields). */
export type SettingKey = keyof typeof TRAIN_SETTINGS;

/** The training configuration: one field per setting, typed by the table. */
export type TrainConfig = { -readonly [K in SettingKey]: SettingValue<(typeof TRAIN_SETTINGS)[K]> };

/** The settings in table order. */
export const SETTING_KEYS = Object.keys(TRAIN_SETTINGS) as SettingKey[];

/** The table entry of a setting, typed loosely (for code that walks all of them). */
export function settingOf(k: SettingKey): Setting<unknown> {
  return TRAIN_SETTINGS[k] as Setting<unknown>;
}

/** A setting's default for a method. */
export function defaultOf<K extends SettingKey>(k: K, method: Method): TrainConfig[K] {
  const d = settingOf(k).default;
  const v = typeof d === 'object' && d !== null && 'byMethod' in d ? (d as ByMethod<unknown>).byMethod[method] : d;
  return v as TrainConfig[K];
}

/** The flag of a setting without its dashes (`ema-decay`, `label-drop`), or null for a file-only setting. */
export function flagName(k: SettingKey): string | null {
  const f = settingOf(k).flag;
  if (f === null) return null;
  return f?.name ?? k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
