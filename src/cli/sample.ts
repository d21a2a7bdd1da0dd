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
import { generate, type LabelMode } from '../diffusion/generate.ts';
import { publishedScheduleFor, scheduleOf, type VarianceType } from '../diffusion/schedule.ts';
import { runSchedule } from '../train/config-file.ts';
import { PROTOCOLS, PROTOCOL_NAMES, SAMPLERS, SAMPLER_NAMES, parseProtocol, protocolSettings } from '../diffusion/samplers.ts';
import { SPACINGS } from '../diffusion/grid.ts';
import { X0_CLIPS } from '../diffusion/sampler.ts';
import { writeSamplesNpz, writeClassGrids } from '../diffusion/samples-file.ts';
import { sampleToShards } from '../diffusion/shards.ts';
import { Progress } from '../util/progress.ts';
import { CbdmError } from '../util/errors.ts';
import { flagName } from '../util/setting-names.ts';
import { int, num } from './parse.ts';

interface SampleCliOptions {
  run?: string;
  ckpt?: string;
  imageSize?: number;
  n: number;
  class?: number;
  labels: string;
  shardSize?: number;
  protocol: string;
  sampler?: string;
  steps?: number;
  spacing?: string;
  eta?: number;
  omega?: number;
  variance: VarianceType;
  clip?: string;
  batch: number;
  seed: number;
  out: string;
  quiet?: boolean;
}


/** Above this many images, `cbdm sample` writes shards unless --shard-size says otherwise. */
const SHARD_ABOVE = 10000;

export function register(program: Command): void {
  program.command('sample')
    .description('generate images with DDPM/DDIM and classifier-free guidance from a run or a checkpoint')
    .option('--run <dir>', 'run directory (uses its EMA model and its --omega-eval as default ω)')
    .option('--ckpt <file>', 'weights file: published ckpt.pt (ema_model entry) or safetensors with the published names')
    .option('--image-size <n>', 'image size for --ckpt (default 32)', int)
    .option('--n <n>', 'number of images', int, 64)
    .option('--class <c>', 'generate only this class', int)
    .addOption(new Option('--labels <mode>', 'labels when no --class: iid-uniform (y ~ U{0..C−1} per image, the published eval; alias random) or balanced (equal counts, cycling)').choices(['iid-uniform', 'random', 'balanced']).default('iid-uniform'))
    .option('--protocol <p>', `sampling protocol, its fields overridden by the flags below: ${PROTOCOL_NAMES.map((n) => `${n} = ${PROTOCOLS[n].title}`).join('; ')}`, 'fast')
    .option('--sampler <s>', `sampler (default: the protocol's): ${SAMPLER_NAMES.map((n) => `${n} = ${SAMPLERS[n].title}`).join('; ')}`)
    .option('--steps <n>', 'grid points (default: the protocol\'s; ddpm: all T of the model (its run\'s schedule; 1000 published); others e.g. 20–50; heun costs 2·steps − 1 evaluations)', int)
    .option('--spacing <s>', `timestep spacing: ${SPACINGS.join(' | ')} (default: the sampler's own — ddim uniform, euler/heun karras, dpmpp/unipc trailing)`)
    .option('--eta <f>', 'DDIM η (0 = deterministic; ddim only)', num)
    .option('--omega <w>', 'guidance scale ω (default: the protocol\'s, else the run\'s --omega-eval; published: DDPM 0.8, CBDM 1.6)', num)
    .addOption(new Option('--variance <v>', 'DDPM reverse variance').choices(['fixedlarge', 'fixedsmall']).default('fixedlarge'))
    .option('--clip <mode>', `x̂0 handling (default: the protocol's): ${X0_CLIPS.join(' | ')} (preview-only = the published sampler: clipped only in previews, samples unaffected; clamp = clamp x̂0 to [−1, 1] every step)`)
    .option('--batch <n>', 'images per batch', int, 64)
    .option('--seed <n>', 'seed of x_T, labels and sampler noise', int, 0)
    .requiredOption('--out <path>', 'samples.npz, or a directory (gets samples.npz and class_XXX.png grids; with --shard-size: samples.json and shard-NNNNN.npz)')
    .option('--shard-size <k>', `write the images as shards of k into the --out directory, each written atomically; a killed run resumes with the same command, generating only the missing shards (default for --n > ${SHARD_ABOVE}: 1000)`, int)
    .option('--quiet', 'no progress bar')
    .action(async (o: SampleCliOptions) => {
      if ((o.run === undefined) === (o.ckpt === undefined)) throw new CbdmError('give exactly one of --run RUN_DIR or --ckpt FILE');
      const backend = useBackend();
      const m: LoadedModel = o.run ? loadRunModel(o.run, backend) : loadWeightsFile(o.ckpt!, backend, { imageSize: o.imageSize });
      // A run samples with the schedule it trained with; a weights file with the published one over its T.
      const sched = scheduleOf(o.run ? runSchedule(o.run, m.net.config.T) : publishedScheduleFor(m.net.config.T));
      const { sampler, steps, spacing, eta, clip, omega } = protocolSettings(parseProtocol(o.protocol, flagName), o, sched.T, m.omegaEval ?? null, flagName);
      const labels: LabelMode = o.class !== undefined ? { kind: 'class', cls: o.class } : { kind: o.labels === 'balanced' ? 'balanced' : 'random' };
      const shardSize = o.shardSize ?? (o.n > SHARD_ABOVE ? 1000 : undefined);
      const bar = new Progress(o.n, { label: `sample ${sampler}`, unit: 'image', enabled: o.quiet ? false : undefined });
      const request = { n: o.n, labels, sampler, steps, spacing, eta, omega, variance: o.variance, clip, batch: o.batch, seed: o.seed, names: flagName };
      if (shardSize !== undefined) {
        if (o.out.endsWith('.npz')) throw new CbdmError(`--out ${o.out}: ${o.n} images are written as shards into a directory (give a folder name; --shard-size ${shardSize})`);
        const r = await sampleToShards(o.out, m.net, sched, { ...request, shardSize, model: o.run ?? o.ckpt!, onProgress: (done) => bar.update(done) });
        bar.stop();
        console.log(`${o.n} samples in ${r.manifest.shards} shards → ${o.out} (${r.written} written now, ${r.skipped} already there; ${JSON.stringify(r.manifest.protocol)})`);
        return;
      }
      const r = await generate(m.net, sched, { ...request, onBatch: (done) => bar.update(done) });
      bar.stop();
      const S = m.net.config.imageSize;
      if (o.out.endsWith('.npz')) {
        writeSamplesNpz(o.out, r.x, r.y, S, r.protocol, m.net.config.channels);
        console.log(`${o.n} samples → ${o.out} (${JSON.stringify(r.protocol)})`);
      } else {
        mkdirSync(o.out, { recursive: true });
        writeSamplesNpz(join(o.out, 'samples.npz'), r.x, r.y, S, r.protocol, m.net.config.channels);
        const grids = writeClassGrids(o.out, r.x, r.y, S, m.net.config.numClasses, 64, m.net.config.channels);
        console.log(`${o.n} samples → ${join(o.out, 'samples.npz')} and ${grids} class grids (${JSON.stringify(r.protocol)})`);
      }
    });
}
