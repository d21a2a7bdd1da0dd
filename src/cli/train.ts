/**
 * `cbdm train`: train DDPM or CBDM on a dataset into a run directory; `--resume` continues one
 * exactly. `cbdm model info`: parameter count, state-dict entries and GMAC of a preset.
 */
import { Command, Option } from 'commander';
import { T2H_MODES } from '../train/t2h.ts';
import { resolveTrainConfig, trainDefaultText, TRAIN_HELP, type TrainConfig } from '../train/config.ts';
import { readTrainConfigFile, readAbslFlagfile } from '../train/config-file.ts';
import { train } from '../train/trainer.ts';
import { PRESET_NAMES, presetConfig, parsePreset } from '../models/presets.ts';
import { UNet } from '../models/unet.ts';
import { CbdmError, Interrupted } from '../util/errors.ts';
import { stopOnSignals, stopSignalOf } from '../util/signals.ts';
import { int, num } from './parse.ts';


export interface TrainCliOptions {
  config?: string;
  flagfile?: string;
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  method?: string;
  preset?: string;
  dataset?: string;
  root?: string;
  imb?: number;
  numpyCompat?: boolean;
  maxPerClass?: number;
  imageSize?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  warmup?: number;
  gradClip?: number;
  emaDecay?: number;
  tau?: number;
  gamma?: number;
  labelDrop?: number;
  prior?: string;
  cfg?: boolean;
  dropout?: number;
  seed?: number;
  logEvery?: number;
  ckptEvery?: number;
  keepCkpts?: number;
  omegaEval?: number;
  finetuneFrom?: string;
  t2hMode?: string;
  t2hCutTime?: number;
  t2hPriorExponent?: number;
  cmRankRatio?: number;
  cmLambda?: number;
  coral?: boolean;
  coralWeight?: number;
  coralTemp?: number;
  coralTimeTemp?: number;
}

/** TrainConfig field of each training flag (commander's camel-cased option name). */
const FLAG_FIELDS: Array<[keyof TrainCliOptions, keyof TrainConfig]> = [
  ['method', 'method'], ['preset', 'preset'], ['dataset', 'dataset'], ['root', 'root'], ['imb', 'imb'], ['numpyCompat', 'numpyCompat'], ['maxPerClass', 'maxPerClass'],
  ['imageSize', 'imageSize'], ['steps', 'steps'], ['batch', 'batch'], ['lr', 'lr'], ['warmup', 'warmup'], ['gradClip', 'gradClip'],
  ['emaDecay', 'emaDecay'], ['tau', 'tau'], ['gamma', 'gamma'], ['labelDrop', 'labelDropProb'], ['prior', 'prior'], ['dropout', 'dropout'],
  ['seed', 'seed'], ['logEvery', 'logEvery'], ['ckptEvery', 'ckptEvery'], ['keepCkpts', 'keepCkpts'], ['omegaEval', 'omegaEval'],
  ['finetuneFrom', 'finetuneFrom'], ['t2hMode', 't2hMode'], ['t2hCutTime', 't2hCutTime'], ['t2hPriorExponent', 't2hPriorExponent'],
  ['cmRankRatio', 'cmRankRatio'], ['cmLambda', 'cmLambda'],
  ['coral', 'coral'], ['coralWeight', 'coralWeight'], ['coralTemp', 'coralTemp'], ['coralTimeTemp', 'coralTimeTemp'],
];

/** The settings given as flags (unset flags are absent, so they do not override the file). */
function flagValues(o: TrainCliOptions): Partial<TrainConfig> {
  const v: Partial<Record<keyof TrainConfig, unknown>> = {};
  for (const [opt, field] of FLAG_FIELDS) if (o[opt] !== undefined) v[field] = o[opt];
  if (o.cfg === false) v.cfg = false;
  return v as Partial<TrainConfig>;
}

/**
 * The effective config: defaults < file (--config or --flagfile) < flags. A bad value that came
 * from the file is reported with the file's name.
 */
export function effectiveTrainConfig(o: TrainCliOptions): { cfg: TrainConfig; out: string } {
  if (o.config !== undefined && o.flagfile !== undefined) throw new CbdmError('give --config or --flagfile, not both');
  let fromFile: Partial<TrainConfig> = {};
  let fileOut: string | undefined;
  const file = o.config ?? o.flagfile;
  if (o.config !== undefined) fromFile = readTrainConfigFile(o.config);
  if (o.flagfile !== undefined) {
    const f = readAbslFlagfile(o.flagfile);
    fromFile = f.values;
    fileOut = f.out;
    if (f.ignored.length > 0) console.error(`cbdm: note: ${o.flagfile}: published flags with no effect on training ignored: ${f.ignored.join(', ')}`);
  }
  const flags = flagValues(o);
  let cfg: TrainConfig;
  try {
    cfg = resolveTrainConfig({ ...fromFile, ...flags });
  } catch (e) {
    if (file === undefined || !(e instanceof CbdmError)) throw e;
    try {
      resolveTrainConfig(flags);
    } catch {
      throw e;  // the flags alone are wrong
    }
    throw new CbdmError(`${file}: ${e.message}`);
  }
  const out = o.out ?? fileOut;
  if (out === undefined) throw new CbdmError(`--out <dir> is required${o.flagfile !== undefined ? ` (${o.flagfile} has no --logdir)` : ''}`);
  return { cfg, out };
}

/** Help line of a training flag: what it does and its default. */
const help = (k: keyof TrainConfig) => `${TRAIN_HELP[k]} ${trainDefaultText(k)}`.trim();

export function register(program: Command): void {
  const t = program.command('train').description('train a class-conditional DDPM, CBDM, T2H or CM (approximate) model (DDPM/CBDM optionally with CORAL) into a run directory');
  t.option('--config <file>', 'JSON (.json) or YAML file of settings, keys as in config.json\'s "train" (e.g. {"steps": 1000, "labelDropProb": 0.1}) or flag names (label-drop); flags override it; a run\'s config.json works too')
    .option('--flagfile <file>', 'absl flag file of the published PyTorch code (--batch_size=48 lines, its flagfile.txt or config/cifar100.txt); flags override it')
    .option('--out <dir>', 'run directory (config.json, metrics.jsonl, checkpoints/, ema.safetensors); required unless --flagfile gives --logdir')
    .option('--resume', 'continue the run in --out exactly from its latest checkpoint (with --steps N: extend it to N steps)')
    .option('--quiet', 'no progress bar or progress lines')
    .addOption(new Option('--method <m>', help('method')).choices(['ddpm', 'cbdm', 't2h', 'cm']))
    .addOption(new Option('--preset <p>', help('preset')).choices([...PRESET_NAMES]))
    .option('--dataset <name>', help('dataset'))
    .option('--root <dir>', help('root'))
    .option('--imb <f>', help('imb'), num)
    .option('--numpy-compat', help('numpyCompat'))
    .option('--max-per-class <n>', help('maxPerClass'), int)
    .option('--image-size <n>', help('imageSize'), int)
    .option('--steps <n>', help('steps'), int)
    .option('--batch <n>', help('batch'), int)
    .option('--lr <f>', help('lr'), num)
    .option('--warmup <n>', help('warmup'), int)
    .option('--grad-clip <f>', help('gradClip'), num)
    .option('--ema-decay <f>', help('emaDecay'), num)
    .option('--tau <f>', help('tau'), num)
    .option('--gamma <f>', help('gamma'), num)
    .option('--label-drop <p>', help('labelDropProb'), num)
    .addOption(new Option('--prior <p>', help('prior')).choices(['train', 'uniform']))
    .option('--no-cfg', 'DDPM without label dropout (no classifier-free guidance) (default: with it)')
    .option('--dropout <p>', help('dropout'), num)
    .option('--seed <n>', help('seed'), int)
    .option('--log-every <n>', help('logEvery'), int)
    .option('--ckpt-every <n>', help('ckptEvery'), int)
    .option('--keep-ckpts <n>', help('keepCkpts'), int)
    .option('--omega-eval <f>', help('omegaEval'), num)
    .option('--finetune-from <run>', help('finetuneFrom'))
    .addOption(new Option('--t2h-mode <m>', help('t2hMode')).choices([...T2H_MODES]))
    .option('--t2h-cut-time <t>', help('t2hCutTime'), int)
    .option('--t2h-prior-exponent <b>', help('t2hPriorExponent'), num)
    .option('--cm-rank-ratio <r>', help('cmRankRatio'), num)
    .option('--cm-lambda <l>', help('cmLambda'), num)
    .option('--coral', help('coral'))
    .option('--coral-weight <w>', help('coralWeight'), num)
    .option('--coral-temp <t>', help('coralTemp'), num)
    .option('--coral-time-temp <t>', help('coralTimeTemp'), num)
    .action(async (o: TrainCliOptions) => {
      if (o.resume) {
        // A resumed run keeps its saved config; only --steps (extend it) may be given with it.
        const given = Object.entries(o).filter(([k, v]) => v !== undefined && !['out', 'resume', 'quiet', 'steps', 'cfg'].includes(k)).map(([k]) => k);
        if (o.cfg === false) given.push('noCfg');
        if (given.length > 0) throw new CbdmError(`--resume continues the run with its saved config; drop ${given.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} (only --steps, to extend it, may be given)`);
        if (o.out === undefined) throw new CbdmError('--resume needs --out <dir>, the run directory to continue');
      }
      const { cfg, out } = o.resume ? { cfg: resolveTrainConfig({}), out: o.out! } : effectiveTrainConfig(o);
      const stop = stopOnSignals((sig) => `cbdm: ${sig}: stopping after this step, writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)`);
      let r;
      try {
        r = await train(cfg, {
          out, resume: o.resume, progress: o.quiet ? false : undefined, extendTo: o.resume ? o.steps : undefined,
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
