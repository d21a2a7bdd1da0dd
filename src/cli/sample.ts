/**
 * `cbdm sample`: generate images from a run (its EMA model) or a published checkpoint, with the
 * ancestral DDPM or DDIM sampler and classifier-free guidance; writes a float .npz (x in [0, 1],
 * y, protocol metadata) and/or per-class PNG grids.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { useBackend } from '../engine/backends.ts';
import { loadRunModel, loadWeightsFile, type LoadedModel } from '../models/load.ts';
import { generate, type LabelMode, type SamplerName } from '../diffusion/generate.ts';
import { makeSchedule, linearBetas, type VarianceType } from '../diffusion/schedule.ts';
import type { ClipX0 } from '../diffusion/ddpm.ts';
import { writeSamplesNpz, writeClassGrids } from '../diffusion/samples-file.ts';
import { Progress } from '../util/progress.ts';
import { CbdmError } from '../util/errors.ts';
import { int, num } from './parse.ts';

interface SampleCliOptions {
  run?: string;
  ckpt?: string;
  imageSize?: number;
  n: number;
  class?: number;
  labels: 'random' | 'balanced';
  sampler: SamplerName;
  steps?: number;
  eta: number;
  omega?: number;
  variance: VarianceType;
  clip: ClipX0;
  batch: number;
  seed: number;
  out: string;
  quiet?: boolean;
}


export function register(program: Command): void {
  program.command('sample')
    .description('generate images with DDPM/DDIM and classifier-free guidance from a run or a checkpoint')
    .option('--run <dir>', 'run directory (uses its EMA model and its --omega-eval as default ω)')
    .option('--ckpt <file>', 'weights file: published ckpt.pt (ema_model entry) or safetensors with the published names')
    .option('--image-size <n>', 'image size for --ckpt (default 32)', int)
    .option('--n <n>', 'number of images', int, 64)
    .option('--class <c>', 'generate only this class', int)
    .addOption(new Option('--labels <mode>', 'labels when no --class: random (published eval) or balanced').choices(['random', 'balanced']).default('random'))
    .addOption(new Option('--sampler <s>', 'ddpm (ancestral, 1000 steps, published) or ddim').choices(['ddpm', 'ddim']).default('ddpm'))
    .option('--steps <n>', 'sampling steps (DDPM: 1000; DDIM: e.g. 50)', int)
    .option('--eta <f>', 'DDIM η (0 = deterministic)', num, 0)
    .option('--omega <w>', 'guidance scale ω (published: DDPM 0.8, CBDM 1.6)', num)
    .addOption(new Option('--variance <v>', 'DDPM reverse variance').choices(['fixedlarge', 'fixedsmall']).default('fixedlarge'))
    .addOption(new Option('--clip <mode>', 'x̂0 clipping: published (no effect, as the published sampler), none, clip').choices(['published', 'none', 'clip']).default('published'))
    .option('--batch <n>', 'images per batch', int, 64)
    .option('--seed <n>', 'seed of x_T, labels and sampler noise', int, 0)
    .requiredOption('--out <path>', 'samples.npz, or a directory (gets samples.npz and class_XXX.png grids)')
    .option('--quiet', 'no progress bar')
    .action(async (o: SampleCliOptions) => {
      if ((o.run === undefined) === (o.ckpt === undefined)) throw new CbdmError('give exactly one of --run RUN_DIR or --ckpt FILE');
      const backend = useBackend();
      const m: LoadedModel = o.run ? loadRunModel(o.run, backend) : loadWeightsFile(o.ckpt!, backend, { imageSize: o.imageSize });
      // The published schedule (β 1e-4 → 0.02) over the model's own T (1000 for every published model).
      const sched = makeSchedule(linearBetas(m.net.config.T, 1e-4, 0.02));
      const omega = o.omega ?? m.omegaEval ?? 0;
      const labels: LabelMode = o.class !== undefined ? { kind: 'class', cls: o.class } : { kind: o.labels };
      const steps = o.steps ?? (o.sampler === 'ddpm' ? sched.T : 50);
      const bar = new Progress(o.n, { label: `sample ${o.sampler}`, unit: 'image', enabled: o.quiet ? false : undefined });
      const r = await generate(m.net, sched, {
        n: o.n, labels, sampler: o.sampler, steps, eta: o.eta, omega, variance: o.variance, clipX0: o.clip,
        batch: o.batch, seed: o.seed, onBatch: (done) => bar.update(done),
      });
      bar.stop();
      const S = m.net.config.imageSize;
      if (o.out.endsWith('.npz')) {
        writeSamplesNpz(o.out, r.x, r.y, S, r.protocol);
        console.log(`${o.n} samples → ${o.out} (${JSON.stringify(r.protocol)})`);
      } else {
        mkdirSync(o.out, { recursive: true });
        writeSamplesNpz(join(o.out, 'samples.npz'), r.x, r.y, S, r.protocol);
        const grids = writeClassGrids(o.out, r.x, r.y, S, m.net.config.numClasses);
        console.log(`${o.n} samples → ${join(o.out, 'samples.npz')} and ${grids} class grids (${JSON.stringify(r.protocol)})`);
      }
    });
}
