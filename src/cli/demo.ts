/**
 * `cbdm demo` (= `npm run demo`): DDPM vs CBDM on the embedded long-tailed dataset, end to end,
 * into one HTML report.
 */
import { Command, Option } from 'commander';
import { runDemo, demoPreset } from '../demo/demo.ts';
import { useBackend } from '../engine/backends.ts';
import { posInt as int, int as anyInt } from './parse.ts';


export function register(program: Command): void {
  program.command('demo')
    .description('train tiny DDPM and CBDM on shapes10-lt, sample, evaluate per class and group, write report.html')
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--quick', 'a ≤ 2-minute smoke run (under-trained: for checking the pipeline)')
    .addOption(new Option('--dataset <name>', 'embedded dataset').choices(['shapes10-lt', 'shapes100-lt']).default('shapes10-lt'))
    .option('--steps <n>', 'training steps per model (overrides the budget)', int)
    .option('--seed <n>', 'seed of both runs', anyInt, 0)
    .option('--fresh', 'replace an existing demo in --out')
    .option('--quiet', 'no progress bars')
    .action(async (o: { out: string; quick?: boolean; dataset: 'shapes10-lt' | 'shapes100-lt'; steps?: number; seed: number; fresh?: boolean; quiet?: boolean }) => {
      const backend = useBackend();
      const p = demoPreset(o.quick === true);
      const t0 = performance.now();
      console.error(`cbdm demo: backend ${backend.name}; ${o.quick ? 'quick' : 'default'} budget`);
      const r = await runDemo({ ...p, steps: o.steps ?? p.steps, seed: o.seed, out: o.out, dataset: o.dataset, fresh: o.fresh, progress: o.quiet ? false : undefined });
      console.log(`report: ${r.report}  (${((performance.now() - t0) / 60000).toFixed(1)} min)`);
      for (const line of r.summary) console.log(line);
    });
}
