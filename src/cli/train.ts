/**
 * `cbdm train`: train DDPM or CBDM on a dataset into a run directory; `--resume` continues one
 * exactly. `cbdm model info`: parameter count, state-dict entries and GMAC of a preset.
 */
import { Command, Option } from 'commander';
import { resolveTrainConfig, settingName, trainDefaultText, type TrainConfig } from '../train/config.ts';
import { defaultOf, flagName, settingOf, SETTING_KEYS, type SettingKey } from '../train/settings.ts';
import { readTrainConfigFile, readAbslFlagfile, type SettingsFile } from '../train/config-file.ts';
import { train } from '../train/trainer.ts';
import { PRESET_NAMES, presetConfig, parsePreset } from '../models/presets.ts';
import { UNet } from '../models/unet.ts';
import { CbdmError, Interrupted } from '../util/errors.ts';
import { stopOnSignals, stopSignalOf } from '../util/signals.ts';
import { int, num } from './parse.ts';

/** What commander hands the action: the run options and one value per setting flag (by attribute name). */
export interface TrainCliOptions {
  config?: string;
  flagfile?: string;
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  [setting: string]: unknown;
}

/**
 * The `cbdm train` option of a setting, from the settings table: `--ema-decay <f>` with its help
 * line and default, parsed as its kind (integers and numbers by parse.ts, enums as choices); an
 * on-by-default switch is offered as `--no-NAME`. Null for a setting without a flag (`model`).
 */
function settingOption(k: SettingKey): Option | null {
  const s = settingOf(k);
  const name = flagName(k);
  if (name === null) return null;
  const help = `${s.help} ${trainDefaultText(k)}`.trim();
  const valued = (metavar: string) => new Option(`--${name} <${s.flag?.value ?? metavar}>`, help);
  switch (s.kind) {
    case 'boolean': return defaultOf(k, 'cbdm') === true ? new Option(`--no-${name}`, `turn off ${s.help} (default: on)`) : new Option(`--${name}`, help);
    case 'int': return valued('n').argParser(int);
    case 'number': return valued('f').argParser(num);
    case 'string': return valued('value');
    case 'enum': return valued('value').choices(s.values!);
    case 'model': return null;
    default: {
      const never: never = s.kind;
      throw new Error(`unhandled setting kind ${String(never)}`);
    }
  }
}

/** Every setting that has a flag, with a new option for it (commander's attribute name is `option.attributeName()`). */
function settingOptions(): Array<{ key: SettingKey; option: Option }> {
  return SETTING_KEYS.flatMap((key) => {
    const option = settingOption(key);
    return option === null ? [] : [{ key, option }];
  });
}

/**
 * The settings given as flags (unset flags are absent, so they do not override the file). An
 * on-by-default switch counts only when turned off: commander sets `--no-cfg`'s value to true when
 * it is absent.
 */
function flagValues(o: TrainCliOptions): Partial<TrainConfig> {
  const v: Partial<Record<SettingKey, unknown>> = {};
  for (const { key, option } of settingOptions()) {
    const x = o[option.attributeName()];
    if (x === undefined || (option.negate && x === true)) continue;
    v[key] = x;
  }
  return v as Partial<TrainConfig>;
}

/**
 * The effective config: defaults < file (--config or --flagfile) < flags. An error that a value
 * from the file takes part in names the file and its key (`FILE: 'lr' must be …`); one the flags
 * make alone names the flags only.
 */
export function effectiveTrainConfig(o: TrainCliOptions): { cfg: TrainConfig; out: string } {
  if (o.config !== undefined && o.flagfile !== undefined) throw new CbdmError('give --config or --flagfile, not both');
  let fromFile: SettingsFile = { values: {}, names: {} };
  let fileOut: string | undefined;
  const file = o.config ?? o.flagfile;
  if (o.config !== undefined) fromFile = readTrainConfigFile(o.config);
  if (o.flagfile !== undefined) {
    const f = readAbslFlagfile(o.flagfile);
    fromFile = f;
    fileOut = f.out;
    if (f.ignored.length > 0) console.error(`cbdm: note: ${o.flagfile}: published flags with no effect on training ignored: ${f.ignored.join(', ')}`);
  }
  const flags = flagValues(o);
  const name = (k: SettingKey) => (k in flags ? undefined : fromFile.names[k]) ?? settingName(k, 'flags');
  let cfg: TrainConfig;
  try {
    cfg = resolveTrainConfig({ ...fromFile.values, ...flags }, name);
  } catch (e) {
    if (file === undefined || !(e instanceof CbdmError)) throw e;
    try {
      resolveTrainConfig(flags);
    } catch (alone) {
      if (alone instanceof CbdmError && alone.message === e.message) throw alone;  // the flags alone are wrong
    }
    throw new CbdmError(`${file}: ${e.message}`);
  }
  const out = o.out ?? fileOut;
  if (out === undefined) throw new CbdmError(`--out <dir> is required${o.flagfile !== undefined ? ` (${o.flagfile} has no --logdir)` : ''}`);
  return { cfg, out };
}

export function register(program: Command): void {
  const t = program.command('train').description('train a class-conditional DDPM, CBDM, T2H or CM (approximate) model (DDPM/CBDM optionally with CORAL) into a run directory');
  t.option('--config <file>', 'JSON (.json) or YAML file of settings, keys as in config.json\'s "train" (e.g. {"steps": 1000, "labelDropProb": 0.1}) or flag names (label-drop); flags override it; a run\'s config.json works too')
    .option('--flagfile <file>', 'absl flag file of the published PyTorch code (--batch_size=48 lines, its flagfile.txt or config/cifar100.txt); flags override it')
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, checkpoints/, ema.safetensors); required unless --flagfile gives --logdir')
    .option('--resume', 'continue the run in --out exactly from its latest checkpoint (with --steps N: extend it to N steps)')
    .option('--quiet', 'no progress bar or progress lines');
  for (const { option } of settingOptions()) t.addOption(option);
  t.action(async (o: TrainCliOptions) => {
    if (o.resume) {
      // A resumed run keeps its saved config; only --steps (extend it) may be given with it.
      const given = [
        ...(['config', 'flagfile'] as const).filter((k) => o[k] !== undefined).map((k) => `--${k}`),
        ...settingOptions().filter(({ key }) => key !== 'steps' && flagValues(o)[key] !== undefined).map(({ option }) => option.long!),
      ];
      if (given.length > 0) throw new CbdmError(`--resume continues the run with its saved config; drop ${given.join(', ')} (only --steps, to extend it, may be given)`);
      if (o.out === undefined) throw new CbdmError('--resume needs --out <dir>, the run directory to continue');
    }
    const { cfg, out } = o.resume ? { cfg: resolveTrainConfig({}), out: o.out! } : effectiveTrainConfig(o);
    const steps = o.steps as number | undefined;
    const stop = stopOnSignals((sig) => `cbdm: ${sig}: stopping after this step, writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)`);
    let r;
    try {
      r = await train(cfg, {
        out, resume: o.resume, progress: o.quiet ? false : undefined, extendTo: o.resume ? steps : undefined,
        signal: stop.signal, log: (line) => console.error(line),
      });
    } finally {
      stop.dispose();
    }
    if (r.interrupted) throw new Interrupted(stopSignalOf(stop.signal), `interrupted at step ${r.step}; checkpoint written. Continue with: cbdm train --resume --out ${r.dir}`);
    console.log(`trained ${r.step} steps → ${r.dir} (EMA weights: ${r.dir}/ema.safetensors)`);
  });

  const m = program.command('model').description('inspect model presets');
  m.command('info')
    .description('parameter count, state-dict entries and GMAC per image of a preset')
    .addOption(new Option('--preset <p>', 'tiny | small | cifar').choices([...PRESET_NAMES]).default('cifar'))
    .option('--classes <n>', 'number of classes (0 = unconditional)', int, 100)
    .option('--image-size <n>', 'image size (default: the preset\'s)', int)
    .option('--json', 'print JSON')
    .action((o: { preset: string; classes: number; imageSize?: number; json?: boolean }) => {
      const info = modelInfo(parsePreset(o.preset), o.classes, o.imageSize);
      if (o.json) console.log(JSON.stringify(info));
      else console.log(`preset ${o.preset}, ${o.classes} classes: ${info.params.toLocaleString('en-US')} parameters in ${info.state_dict_entries} state-dict entries, ${info.gmac_per_image.toFixed(3)} GMAC per image`);
    });
}

/** Size of a preset's network, without allocating it. */
export function modelInfo(preset: ReturnType<typeof parsePreset>, classes: number, imageSize?: number): { params: number; state_dict_entries: number; gmac_per_image: number } {
  const net = new UNet(presetConfig(preset, classes, imageSize));
  return { params: net.store.numel, state_dict_entries: net.store.params.length, gmac_per_image: net.macsPerImage() / 1e9 };
}
