/**
 * The training configuration, derived from the settings table (settings.ts): defaults, help,
 * validation with errors that name the flag (`--ema-decay`, the CLI) or the config field
 * (`emaDecay`, the library), the loss and schedule settings a run trains with, and the reading of a
 * run's saved config.json. The resolved config is saved as `config.json` in every run directory
 * and shown in the report.
 */
import { CbdmError } from '../util/errors.ts';
import type { ScheduleSettings } from '../diffusion/schedule.ts';
import type { LossConfig } from './loss.ts';
import type { CoralOptions } from './coral.ts';
import {
  defaultOf, flagName, settingOf, SETTING_KEYS, TRAIN_SETTINGS, type Method, type ModelOverrides, type SettingKey, type TrainConfig,
} from './settings.ts';

export type { Method, ModelOverrides, TrainConfig } from './settings.ts';

/** Help text of every setting (the CLI's option help and the report). */
export const TRAIN_HELP = Object.fromEntries(SETTING_KEYS.map((k) => [k, settingOf(k).help])) as Record<SettingKey, string>;

/** Defaults: the published CBDM recipe with a CPU-friendly preset. */
export function defaultTrainConfig(method: Method = defaultOf('method', 'cbdm')): TrainConfig {
  const c = Object.fromEntries(SETTING_KEYS.map((k) => [k, defaultOf(k, method)])) as TrainConfig;
  c.method = method;
  return c;
}

/**
 * How validation errors name a setting: by its command-line flag (`--ema-decay`, the CLI) or by
 * its TrainConfig field (`emaDecay`, the library API).
 */
export type SettingNames = 'flags' | 'fields';

/** The name of setting `k` (a TrainConfig field, or the run directory / resume option) in errors. */
export function settingName(k: SettingKey | 'out' | 'resume', names: SettingNames): string {
  switch (names) {
    case 'flags': return k === 'out' || k === 'resume' ? `--${k}` : `--${flagName(k) ?? k}`;
    case 'fields': return k;
    default: {
      const never: never = names;
      throw new Error(`unknown setting names ${String(never)}`);
    }
  }
}

/**
 * Check that `v` has the type of setting `k` (an integer, one of the enum's values, …). `name` is
 * the setting as the user wrote it (`--steps`, `steps`, a file's key); with `file`, errors read
 * `FILE: 'name' must be …`. Returns the value.
 */
export function checkSettingType(k: SettingKey, v: unknown, name: string, file?: string): unknown {
  const s = settingOf(k);
  const label = (key: string) => (file === undefined ? key : `${file}: '${key}'`);
  const bad = (want: string): never => {
    throw new CbdmError(`${label(name)} must be ${want}${s.nullable ? ' or null' : ''}, got ${describe(v)}`);
  };
  if (v === null && s.nullable) return null;
  switch (s.kind) {
    case 'int': return Number.isSafeInteger(v) ? v : bad('an integer');
    case 'number': return typeof v === 'number' && Number.isFinite(v) ? v : bad('a finite number');
    case 'boolean': return typeof v === 'boolean' ? v : bad('true or false');
    case 'string': return typeof v === 'string' && v !== '' ? v : bad('a non-empty string');
    case 'enum': return typeof v === 'string' && s.values!.includes(v) ? v : bad(`one of ${s.values!.join(', ')}`);
    case 'model': return checkModelOverrides(v, name, label, file === undefined ? '' : `${file}: `);
    default: {
      const never: never = s.kind;
      throw new Error(`unhandled setting kind ${String(never)}`);
    }
  }
}

/** The value check of setting `k` (a range, …) on a well-typed value; throws `${label} must …, got v`. */
export function checkSettingValue(k: SettingKey, v: unknown, label: string): void {
  const check = settingOf(k).check;
  if (check === undefined || v === null) return;
  const problem = check(v as number);
  if (problem !== null) throw new CbdmError(`${label} ${problem}, got ${String(v)}`);
}

/**
 * Merge user values over defaults and validate: types, ranges, settings that apply to one method or
 * with one switch only, and combinations. Errors name the setting as a flag (`names` 'flags'), as
 * a config field ('fields') or as `names(k)` says (the CLI: a settings file's key for a value
 * from the file) and say what is allowed.
 */
export function resolveTrainConfig(partial: Partial<TrainConfig>, names: SettingNames | ((k: SettingKey) => string) = 'flags'): TrainConfig {
  const n = typeof names === 'function' ? names : (k: SettingKey) => settingName(k, names);
  for (const k of Object.keys(partial)) {
    if (!(k in TRAIN_SETTINGS)) throw new CbdmError(`unknown setting '${k}'; the settings are ${SETTING_KEYS.join(', ')}`);
  }
  const given = stripUndefined(partial);
  const method = checkSettingType('method', given.method ?? defaultOf('method', 'cbdm'), n('method')) as Method;
  const c = { ...defaultTrainConfig(method), ...given } as TrainConfig;
  for (const k of SETTING_KEYS) {
    checkSettingType(k, c[k], n(k));
    checkSettingValue(k, c[k], n(k));
  }
  const defaults = defaultTrainConfig(method);
  for (const k of SETTING_KEYS) {
    const scope = settingOf(k).scope;
    if (scope.kind === 'always' || given[k] === undefined || given[k] === defaults[k]) continue;
    switch (scope.kind) {
      case 'when':
        if (c[scope.setting] !== scope.value) throw new CbdmError(`${n(k)} applies to ${n(scope.setting)} ${scope.value} only (this run is ${c[scope.setting]})`);
        break;
      case 'switch':
        if (!c[scope.setting]) throw new CbdmError(`${n(k)} applies with ${n(scope.setting)} only; add ${n(scope.setting)}`);
        break;
      default: {
        const never: never = scope;
        throw new Error(`unhandled scope ${JSON.stringify(never)}`);
      }
    }
  }
  checkCombinations(c, n);
  if (c.finetuneFrom !== null) {
    // The fine-tune draws y′ uniformly (the published `--finetune`); config.json records that.
    if (given.prior === 'train') throw new CbdmError(`${n('prior')} train cannot be combined with ${n('finetuneFrom')}: the CBDM fine-tune draws y′ uniformly`);
    c.prior = 'uniform';
  }
  return c;
}

/** Rules between settings, checked for new runs and saved configs alike. */
function checkCombinations(c: TrainConfig, n: (k: SettingKey) => string): void {
  if (c.method === 'cm' && c.finetuneFrom !== null) throw new CbdmError(`${n('finetuneFrom')} is the CBDM fine-tune; it does not apply to ${n('method')} cm (train CM from scratch)`);
  if (c.coral && c.method !== 'ddpm' && c.method !== 'cbdm') throw new CbdmError(`${n('coral')} combines with ${n('method')} ddpm or cbdm, not ${c.method}`);
  if (c.betaSchedule === 'linear' && !(c.betaStart <= c.betaEnd)) {
    throw new CbdmError(`${n('betaStart')} ${c.betaStart} is above ${n('betaEnd')} ${c.betaEnd}: the linear schedule's β rises from β_1 to β_T`);
  }
}

/**
 * The training config saved in a run's config.json (`path`, for errors): checked like a settings
 * file (keys and types, `checkTrainValues` of config-file.ts, done by the caller) and completed with
 * the defaults of its method for settings added after it was written (the schedule fields of
 * older runs: the published schedule they were trained with).
 */
export function completeSavedTrainConfig(path: string, values: Partial<TrainConfig>): TrainConfig {
  const method = values.method ?? defaultOf('method', 'cbdm');
  const c = { ...defaultTrainConfig(method), ...stripUndefined(values) } as TrainConfig;
  for (const k of SETTING_KEYS) checkSettingValue(k, c[k], `${path}: '${k}'`);
  checkCombinations(c, (k) => `${path}: '${k}'`);
  return c;
}

/** A config as config.json's `train` object: every setting, in table order. */
export function trainConfigJson(c: TrainConfig): TrainConfig {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, c[k]])) as TrainConfig;
}

/** The diffusion schedule a run trains and samples with. */
export function scheduleSettingsOf(c: TrainConfig): ScheduleSettings {
  return { kind: c.betaSchedule, T: c.diffusionSteps, betaStart: c.betaStart, betaEnd: c.betaEnd };
}

/** CORAL's weights of a config (whether or not the switch is on). */
export function coralOptionsOf(c: TrainConfig): CoralOptions {
  return { weight: c.coralWeight, temperature: c.coralTemp, timeTemperature: c.coralTimeTemp };
}

/** The loss settings of a config. */
export function lossConfigOf(c: TrainConfig): LossConfig {
  return {
    method: c.method, cfg: c.cfg, labelDropProb: c.labelDropProb, tau: c.tau, gamma: c.gamma,
    prior: c.finetuneFrom !== null ? 'uniform' : c.prior,
    t2h: { mode: c.t2hMode, cutTime: c.t2hCutTime, priorExponent: c.t2hPriorExponent },
    cm: { rankRatio: c.cmRankRatio, lambda: c.cmLambda },
    coral: c.coral ? coralOptionsOf(c) : null,
  };
}

/** The loss settings of the default (CBDM) config: what tests and benchmarks start from. */
export const DEFAULT_LOSS: Readonly<LossConfig> = lossConfigOf(defaultTrainConfig());

/** CORAL's released weights (the defaults of the table). */
export const DEFAULT_CORAL: Readonly<CoralOptions> = coralOptionsOf(defaultTrainConfig());

/** "(default: …)" for a setting's help line; method-dependent defaults name each. */
export function trainDefaultText(k: SettingKey): string {
  const show = (v: unknown) => (v === null ? 'none' : v === true ? 'on' : v === false ? 'off' : Array.isArray(v) ? v.join(',') : String(v));
  if (TRAIN_HELP[k].includes('default:')) return '';
  if (k === 'method') return `(default: ${defaultOf('method', 'cbdm')})`;
  const methods: Method[] = ['cbdm', 'ddpm', 't2h', 'cm'];
  const byValue = new Map<string, Method[]>();
  for (const m of methods) {
    const v = show(defaultOf(k, m));
    byValue.set(v, [...(byValue.get(v) ?? []), m]);
  }
  if (byValue.size === 1) return `(default: ${[...byValue.keys()][0]})`;
  return `(default: ${[...byValue].map(([v, ms]) => `${v} for ${ms.join(' and ')}`).join(', ')})`;
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A value as errors show it: its type and a short rendering. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list ${JSON.stringify(v).slice(0, 40)}`;
  if (typeof v === 'string') return `the string "${v.slice(0, 40)}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** The `model` setting: {ch, chMult, attn, numResBlocks}, each checked; errors name `name.key`. */
function checkModelOverrides(v: unknown, name: string, label: (key: string) => string, prefix: string): ModelOverrides {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CbdmError(`${label(name)} must be an object {ch, chMult, attn, numResBlocks}, got ${describe(v)}`);
  const m: ModelOverrides = {};
  const posInt = (x: unknown) => Number.isSafeInteger(x) && (x as number) > 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const where = label(`${name}.${k}`);
    switch (k) {
      case 'ch': case 'numResBlocks':
        if (!posInt(x)) throw new CbdmError(`${where} must be a positive integer, got ${describe(x)}`);
        m[k] = x as number;
        break;
      case 'chMult': case 'attn':
        if (!Array.isArray(x) || !x.every((e) => Number.isSafeInteger(e) && e >= (k === 'attn' ? 0 : 1))) {
          throw new CbdmError(`${where} must be a list of ${k === 'attn' ? 'level indices' : 'positive integers'}, got ${describe(x)}`);
        }
        m[k] = x as number[];
        break;
      default:
        throw new CbdmError(`${prefix}unknown key '${name}.${k}'; valid keys: ch, chMult, attn, numResBlocks`);
    }
  }
  return m;
}
