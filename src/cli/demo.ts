/**
 * `cbdm demo` (= `npm run demo`): DDPM vs CBDM on the embedded long-tailed dataset, end to end,
 * into one HTML report.
 */
import { Command, Option } from 'commander';
import { runDemo, demoPreset, pretrainedDemoDir, pretrainedSteps, DEMO_DATASETS, type DemoDataset } from '../demo/demo.ts';
import { useBackend } from '../engine/backends.ts';
import { posInt as int, int as anyInt } from './parse.ts';


export function register(program: Command): void {
  program.command('demo')
    .description('DDPM vs CBDM on shapes10-lt (or fashion-mnist-lt): sample the shipped pretrained tiny models (or train them with --train), evaluate per class and group, write report.html')
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--train', 'train both models from scratch with the recipe of the shipped ones instead of loading them (long: see docs/RESULTS.md)')
    .option('--quick', 'train for 40 steps only: a ≤ 2-minute smoke run of the whole pipeline (under-trained)')
    .addOption(new Option('--dataset <name>', 'embedded shapes, or fashion-mnist-lt (Debian dataset-fashion-mnist; trained from scratch, 16 px)').choices([...DEMO_DATASETS]).default('shapes10-lt'))
    .option('--root <dir>', 'fashion-mnist-lt: folder of the IDX .gz files (default /usr/share/datasets/fashion-mnist)')
    .option('--steps <n>', 'train this many steps per model (implies --train)', int)
    .option('--seed <n>', 'seed of both runs', anyInt, 0)
    .option('--fresh', 'replace an earlier demo in --out (without it, an earlier demo is kept and this one goes to --out-<date-time>)')
    .option('--quiet', 'no progress bars')
    .action(async (o: { out: string; train?: boolean; quick?: boolean; dataset: DemoDataset; root?: string; steps?: number; seed: number; fresh?: boolean; quiet?: boolean }) => {
      const backend = useBackend();
      const p = demoPreset(o.quick === true);
      const shipped = pretrainedDemoDir(o.dataset, p.imageSize, o.seed);
      const train = o.train === true || o.quick === true || o.steps !== undefined || shipped === null;
      const steps = o.steps ?? (o.quick || !shipped ? p.steps : pretrainedSteps(shipped));
      const t0 = performance.now();
      console.error(`cbdm demo: backend ${backend.name}; ${train ? `training ${steps} steps per model${shipped || o.quick ? '' : ` (no pretrained runs shipped for ${o.dataset}, seed ${o.seed})`}` : 'pretrained models (train them yourself with --train)'}`);
      const r = await runDemo({ ...p, steps, seed: o.seed, out: o.out, dataset: o.dataset, root: o.root, fresh: o.fresh, progress: o.quiet ? false : undefined, pretrained: !train, stopOnSignals: true });
      console.log(`report: ${r.report}  (${((performance.now() - t0) / 60000).toFixed(1)} min)`);
      if (r.sampler) console.log(`sampler: ${r.sampler}  (open it in a browser: sample each class live)`);
      for (const line of r.summary) console.log(line);
    });
}
