/**
 * `cbdm train`: train DDPM or CBDM on a dataset into a run directory; `--resume` continues one
 * exactly. `cbdm model info`: parameter count, state-dict entries and GMAC of a preset.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { resolveTrainConfig, TRAIN_HELP, type TrainConfig } from '../train/config.ts';
import { train } from '../train/trainer.ts';
import { PRESET_NAMES, presetConfig, parsePreset } from '../models/presets.ts';
import { UNet } from '../models/unet.ts';
import { CbdmError } from '../util/errors.ts';
import { int, num } from './parse.ts';


interface TrainCliOptions {
  config?: string;
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  method?: string;
  preset?: string;
  dataset?: string;
  root?: string;
  imb?: number;
  numpyCompat?: boolean;
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
}

/** Read a JSON or YAML config file of TrainConfig fields. */
function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CbdmError(`cannot read config file ${path}`);
  }
  const v = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  if (typeof v !== 'object' || v === null) throw new CbdmError(`${path} must hold an object of training settings`);
  return v as Partial<TrainConfig>;
}

export function register(program: Command): void {
  const t = program.command('train').description('train a class-conditional DDPM or CBDM model into a run directory');
  t.option('--config <file>', 'JSON or YAML file of settings (flags override it)')
    .requiredOption('--out <dir>', 'run directory (config.json, metrics.jsonl, checkpoints/, ema.safetensors)')
    .option('--resume', 'continue the run in --out exactly from its latest checkpoint (with --steps N: extend it to N steps)')
    .option('--quiet', 'no progress bar')
    .addOption(new Option('--method <m>', TRAIN_HELP.method).choices(['ddpm', 'cbdm']))
    .addOption(new Option('--preset <p>', TRAIN_HELP.preset).choices([...PRESET_NAMES]))
    .option('--dataset <name>', TRAIN_HELP.dataset)
    .option('--root <dir>', TRAIN_HELP.root)
    .option('--imb <f>', TRAIN_HELP.imb, num)
    .option('--numpy-compat', TRAIN_HELP.numpyCompat)
    .option('--image-size <n>', TRAIN_HELP.imageSize, int)
    .option('--steps <n>', TRAIN_HELP.steps, int)
    .option('--batch <n>', TRAIN_HELP.batch, int)
    .option('--lr <f>', TRAIN_HELP.lr, num)
    .option('--warmup <n>', TRAIN_HELP.warmup, int)
    .option('--grad-clip <f>', TRAIN_HELP.gradClip, num)
    .option('--ema-decay <f>', TRAIN_HELP.emaDecay, num)
    .option('--tau <f>', TRAIN_HELP.tau, num)
    .option('--gamma <f>', TRAIN_HELP.gamma, num)
    .option('--label-drop <p>', TRAIN_HELP.labelDropProb, num)
    .addOption(new Option('--prior <p>', TRAIN_HELP.prior).choices(['train', 'uniform']))
    .option('--no-cfg', 'DDPM without label dropout (no classifier-free guidance)')
    .option('--dropout <p>', TRAIN_HELP.dropout, num)
    .option('--seed <n>', TRAIN_HELP.seed, int)
    .option('--log-every <n>', TRAIN_HELP.logEvery, int)
    .option('--ckpt-every <n>', TRAIN_HELP.ckptEvery, int)
    .option('--keep-ckpts <n>', TRAIN_HELP.keepCkpts, int)
    .option('--omega-eval <f>', TRAIN_HELP.omegaEval, num)
    .option('--finetune-from <run>', TRAIN_HELP.finetuneFrom)
    .action(async (o: TrainCliOptions) => {
      const fromFile = o.config ? readConfigFile(o.config) : {};
      const cfg = resolveTrainConfig({
        ...fromFile,
        method: (o.method ?? fromFile.method) as TrainConfig['method'] | undefined,
        preset: (o.preset ?? fromFile.preset) as TrainConfig['preset'] | undefined,
        dataset: o.dataset, root: o.root, imb: o.imb, numpyCompat: o.numpyCompat, imageSize: o.imageSize, steps: o.steps, batch: o.batch,
        lr: o.lr, warmup: o.warmup, gradClip: o.gradClip, emaDecay: o.emaDecay, tau: o.tau, gamma: o.gamma,
        labelDropProb: o.labelDrop, prior: o.prior as TrainConfig['prior'] | undefined, cfg: o.cfg === false ? false : undefined,
        dropout: o.dropout, seed: o.seed, logEvery: o.logEvery, ckptEvery: o.ckptEvery, keepCkpts: o.keepCkpts,
        omegaEval: o.omegaEval, finetuneFrom: o.finetuneFrom,
      });
      if (o.resume) {
        // A resumed run keeps its saved config; only --steps (extend it) may be given with it.
        const given = Object.entries(o).filter(([k, v]) => v !== undefined && !['out', 'resume', 'quiet', 'steps', 'cfg'].includes(k)).map(([k]) => k);
        if (given.length > 0) throw new CbdmError(`--resume continues the run with its saved config; drop ${given.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} (only --steps, to extend it, may be given)`);
      }
      const r = await train(cfg, { out: o.out!, resume: o.resume, progress: o.quiet ? false : undefined, extendTo: o.resume ? o.steps : undefined });
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
