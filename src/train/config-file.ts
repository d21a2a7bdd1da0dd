/**
 * Training settings from a file: `cbdm train --config FILE` (JSON or YAML object of TrainConfig
 * fields) and `cbdm train --flagfile FILE` (the absl flag file of the published PyTorch code,
 * qym7/CBDM-pytorch `main.py` flag definitions l. 25–82 and its `config/cifar100.txt`).
 * Every key and value is checked here, so a typo or a wrong type is an error naming the file and
 * the key instead of a silently ignored setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { CbdmError } from '../util/errors.ts';
import { checkSettingType, checkSettingValue, completeSavedTrainConfig, describe, scheduleSettingsOf, type ModelOverrides, type TrainConfig } from './config.ts';
import type { ScheduleSettings } from '../diffusion/schedule.ts';
import { flagName, SETTING_KEYS, type SettingKey } from './settings.ts';

/** Keys a config file may use: the field name (settings.ts), or the flag's name without dashes. */
const KEY_ALIASES = new Map<string, SettingKey>([
  ...SETTING_KEYS.map((f) => [f, f] as const),
  ...SETTING_KEYS.flatMap((f) => { const fl = flagName(f); return fl === null ? [] : [[fl, f] as const]; }),
]);

/** Top-level keys of a run's config.json besides `train`: such a file is accepted as --config. */
const RUN_CONFIG_KEYS = new Set(['train', 'model', 'backend', 'precision', 'commit', 'created', 'provenance', 'approximate']);

/** Settings read from a file, and the name the file gives each, for errors that name it. */
export interface SettingsFile {
  values: Partial<TrainConfig>;
  /** Each setting the file sets, as the file names it: `'label-drop'` (a --config key), `--total_steps` (a flag file's flag). */
  names: Partial<Record<SettingKey, string>>;
}

/** Read `cbdm train --config FILE`: a JSON (`.json`) or YAML object of TrainConfig fields. */
export function readTrainConfigFile(path: string): SettingsFile {
  const text = readText(path, '--config');
  const v = path.endsWith('.json') ? parseJson(path, text) : parseYaml(path, text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CbdmError(`--config ${path}: expected an object of training settings (e.g. {"steps": 1000, "batch": 32}), got ${describe(v)}`);
  }
  let obj = v as Record<string, unknown>;
  // A run's own config.json ({train, model, …}): its resolved training settings.
  const top = Object.keys(obj);
  if (typeof obj.train === 'object' && obj.train !== null && top.every((k) => RUN_CONFIG_KEYS.has(k))) obj = obj.train as Record<string, unknown>;
  return checkTrainValues(path, obj);
}

/**
 * Check the keys, value types and value ranges of a settings object; errors name the file and the
 * key as written (`FILE: 'lr' must be …`). Rules between settings are checked once all are merged
 * (resolveTrainConfig).
 */
export function checkTrainValues(path: string, obj: Record<string, unknown>): SettingsFile {
  const out: Partial<Record<SettingKey, unknown>> = {};
  const names: Partial<Record<SettingKey, string>> = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = KEY_ALIASES.get(key);
    if (field === undefined) {
      const near = closest(key, [...KEY_ALIASES.keys()]);
      throw new CbdmError(`${path}: unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; valid keys: ${SETTING_KEYS.join(', ')}`);
    }
    if (field in out) throw new CbdmError(`${path}: '${key}' sets ${field} a second time`);
    out[field] = checkSettingType(field, value, key, path);
    checkSettingValue(field, out[field], `${path}: '${key}'`);
    names[field] = `'${key}'`;
  }
  return { values: out as Partial<TrainConfig>, names };
}

/** The result of reading an absl flag file. */
export interface FlagfileSettings extends SettingsFile {
  /** `--logdir`: the run directory, when the file names one. */
  out?: string;
  /** Flags of the published code that change nothing in cbdm training (sampling, evaluation, workers). */
  ignored: string[];
}

/** Published flags with no effect on what cbdm trains. */
const IGNORED_FLAGS = new Set(['train', 'eval', 'num_workers', 'parallel', 'var_type', 'sample_size', 'sample_step', 'eval_step',
  'num_images', 'private_num_images', 'fid_use_torch', 'fid_cache', 'sample_name', 'sampled', 'sample_method', 'num_class']);

/** Published flags whose only supported value is the published default: [flag, value, why]. */
const FIXED_FLAGS: Record<string, [string, string]> = {
  improve: ['false', 'cbdm implements the DDPM UNet, not the improved-diffusion network'],
  weight: ['false', 'loss re-weighting is not implemented'],
  cotrain: ['false', 'classifier co-training is not implemented'],
  logit: ['false', 'logit adjustment is not implemented'],
  augm: ['false', 'ADA augmentation is not implemented'],
  conditional: ['true', 'cbdm trains class-conditional models only'],
};

const DATA_TYPES: Record<string, string> = { cifar10: 'cifar10', cifar100: 'cifar100', cifar10lt: 'cifar10-lt', cifar100lt: 'cifar100-lt' };

/**
 * Read `cbdm train --flagfile FILE`: one absl flag per line (`--batch_size=48`, `--cb`, `--nocb`,
 * repeated `--ch_mult=2` lines for list flags; `#` and `//` comments), as `flagfile.txt` of a
 * published run or `config/cifar100.txt`. Published names map onto TrainConfig fields; a flag
 * that cbdm cannot honour is an error naming the line.
 */
export function readAbslFlagfile(path: string): FlagfileSettings {
  const text = readText(path, '--flagfile');
  const flags = new Map<string, { value: string; line: number }[]>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('//')) return;
    const m = /^--?([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(line);
    if (!m) throw new CbdmError(`${path}:${i + 1}: expected one flag like --batch_size=48, got '${line}'`);
    let [, name, value] = m as unknown as [string, string, string | undefined];
    if (value === undefined) {
      // absl booleans: --flag and --noflag
      if (name.startsWith('no') && (KNOWN_BOOL.has(name.slice(2)))) { name = name.slice(2); value = 'false'; } else value = 'true';
    }
    if (name === 'flagfile') throw new CbdmError(`${path}:${i + 1}: nested --flagfile is not supported; merge the files`);
    const list = flags.get(name) ?? [];
    list.push({ value, line: i + 1 });
    flags.set(name, list);
  });

  const values: Partial<Record<keyof TrainConfig, unknown>> = {};
  const model: ModelOverrides = {};
  const ignored: string[] = [];
  let out: string | undefined;
  let finetunedLogdir = '';
  let ckptStep = 0;
  // Where each setting was set (`FILE:LINE: --total_steps`), so that a value out of range names its line.
  const setBy = new Map<SettingKey, { flag: string; where: string }>();
  for (const [name, occurrences] of flags) {
    const { value, line } = occurrences[occurrences.length - 1]!;
    const where = `${path}:${line}: --${name}`;
    const num = (): number => {
      const x = Number(value);
      if (value.trim() === '' || !Number.isFinite(x)) throw new CbdmError(`${where}: expected a number, got '${value}'`);
      return x;
    };
    const int = (): number => {
      const x = num();
      if (!Number.isSafeInteger(x)) throw new CbdmError(`${where}: expected an integer, got '${value}'`);
      return x;
    };
    const bool = (): boolean => {
      const v = value.toLowerCase();
      if (['true', '1', 't', 'yes'].includes(v)) return true;
      if (['false', '0', 'f', 'no'].includes(v)) return false;
      throw new CbdmError(`${where}: expected true or false, got '${value}'`);
    };
    const ints = (): number[] => occurrences.flatMap((o) => o.value.split(',')).map((s) => {
      const x = Number(s);
      if (s.trim() === '' || !Number.isSafeInteger(x)) throw new CbdmError(`${where}: expected integers, got '${s}'`);
      return x;
    });
    if (IGNORED_FLAGS.has(name)) { ignored.push(name); continue; }
    const fixed = FIXED_FLAGS[name];
    if (fixed) {
      const given = KNOWN_BOOL.has(name) ? String(bool()) : String(num());
      if (given !== String(KNOWN_BOOL.has(name) ? fixed[0] : Number(fixed[0]))) throw new CbdmError(`${where}=${value} cannot be honoured: ${fixed[1]} (only ${fixed[0]})`);
      continue;
    }
    const before = new Set(Object.keys(values));
    switch (name) {
      case 'ch': model.ch = int(); break;
      case 'ch_mult': model.chMult = ints(); break;
      case 'attn': model.attn = ints(); break;
      case 'num_res_blocks': model.numResBlocks = int(); break;
      case 'T': values.diffusionSteps = int(); break;
      case 'beta_1': values.betaStart = num(); break;
      case 'beta_T': values.betaEnd = num(); break;
      case 'dropout': values.dropout = num(); break;
      case 'lr': values.lr = num(); break;
      case 'grad_clip': values.gradClip = num(); break;
      case 'total_steps': values.steps = int(); break;
      case 'img_size': values.imageSize = int(); break;
      case 'warmup': values.warmup = int(); break;
      case 'batch_size': values.batch = int(); break;
      case 'ema_decay': values.emaDecay = num(); break;
      case 'cfg': values.cfg = bool(); break;
      case 'root': values.root = value; break;
      case 'data_type': {
        const ds = DATA_TYPES[value];
        if (!ds) throw new CbdmError(`${where}: unknown data type '${value}'; the published code knows ${Object.keys(DATA_TYPES).join(', ')}`);
        values.dataset = ds;
        // The published long-tailed subset (ImbalanceCIFAR*, rand_number=0) is NumPy's selection.
        if (ds.endsWith('-lt')) values.numpyCompat = true;
        break;
      }
      case 'imb_factor': values.imb = num(); break;
      case 'logdir': out = value; break;
      case 'save_step': { const s = int(); if (s > 0) values.ckptEvery = s; break; }
      case 'omega': values.omegaEval = num(); break;
      case 'cb': values.method = bool() ? 'cbdm' : 'ddpm'; break;
      case 'tau': values.tau = num(); break;
      case 'finetune': if (bool()) values.prior = 'uniform'; break;
      case 'finetuned_logdir': finetunedLogdir = value; break;
      case 'ckpt_step': ckptStep = int(); break;
      default:
        throw new CbdmError(`${where}: unknown flag (not one of the published main.py flags cbdm reads); remove the line`);
    }
    for (const k of Object.keys(values) as SettingKey[]) if (!before.has(k)) setBy.set(k, { flag: `--${name}`, where });
  }
  for (const [k, { where }] of setBy) checkSettingValue(k, values[k], where);
  // The published code loads FLAGS.finetuned_logdir/ckpt_{ckpt_step}.pt (main.py, train()).
  if (ckptStep !== 0) values.finetuneFrom = join(finetunedLogdir, `ckpt_${ckptStep}.pt`);
  if (Object.keys(model).length > 0) values.model = model;
  const train = checkTrainValues(path, values as Record<string, unknown>).values;
  const names = Object.fromEntries([...setBy].map(([k, { flag }]) => [k, flag])) as Partial<Record<SettingKey, string>>;
  return { values: train, names, out, ignored };
}

/** Boolean flags of the published main.py (for --noflag). */
const KNOWN_BOOL = new Set(['train', 'eval', 'improve', 'parallel', 'conditional', 'weight', 'cotrain', 'logit', 'augm', 'cfg',
  'fid_use_torch', 'sampled', 'cb', 'finetune']);

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CbdmError(`${flag} ${path}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : code ?? String(e)})`);
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : text.length;
    const { line, col } = lineCol(text, pos);
    throw new CbdmError(`--config ${path}: invalid JSON at line ${line}, column ${col}: ${msg.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

function parseYaml(path: string, text: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
    throw new CbdmError(`--config ${path}: invalid YAML at line ${line}, column ${col}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return doc.toJS();
}

function lineCol(text: string, pos: number): { line: number; col: number } {
  const before = text.slice(0, pos).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** The candidate nearest to `s` by edit distance, if it is a plausible typo. */
function closest(s: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Math.max(2, Math.floor(s.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(s.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The training settings of a run from its config.json's `train` object (`path` for errors):
 * keys and types checked as in a settings file, then completed with the defaults of its method
 * for settings added after the run was written (a run from before the schedule settings gets the
 * published schedule it was trained with).
 */
export function savedTrainConfig(path: string, train: Record<string, unknown>): TrainConfig {
  return completeSavedTrainConfig(path, checkTrainValues(path, train).values);
}

/**
 * The diffusion schedule a run trained with, from its config.json: what sampling and evaluation
 * of the run must use (a run from before the schedule settings: the published schedule).
 * `modelT`, the T of the run's UNet (its time-embedding rows), must agree with it.
 */
export function runSchedule(runDir: string, modelT: number): ScheduleSettings {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) throw new CbdmError(`${runDir} is not a cbdm run directory (no config.json)`);
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CbdmError(`${path} is not valid JSON (${(e as Error).message}); the file is corrupt — restore it from a copy of the run`);
  }
  const train = (saved as { train?: unknown } | null)?.train;
  if (typeof train !== 'object' || train === null || Array.isArray(train)) throw new CbdmError(`${path} lacks the "train" object (the run's settings); the file is corrupt — restore it from a copy of the run`);
  const s = scheduleSettingsOf(savedTrainConfig(path, train as Record<string, unknown>));
  if (s.T !== modelT) throw new CbdmError(`${path}: the run's schedule has T = ${s.T} steps but its UNet was built for T = ${modelT}; the file is corrupt — restore it from a copy of the run`);
  return s;
}
