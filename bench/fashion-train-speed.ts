/**
 * Training speed of DDPM and CBDM on fashion-mnist-lt (tiny preset, batch 32, one thread), at
 * 16 px (bilinear) and 32 px (zero-padded): what a study on this dataset costs per step.
 *
 *   CBDM_THREADS=1 node --import tsx bench/fashion-train-speed.ts [--steps 40] [--warm 5] [--json]
 *
 * Each case trains a fresh run (the real trainer: loader, loss, backward, Adam, EMA) for `steps`
 * steps in a temporary folder; steps `warm`+1 … `steps` are timed on the wall clock and on the
 * process CPU clock (user + system; with one thread the CPU clock does not count the time
 * slices other processes take on a shared machine). Needs the Debian dataset-fashion-mnist.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { train } from '../src/train/trainer.ts';
import { resolveTrainConfig } from '../src/train/config.ts';
import type { Method } from '../src/train/loss.ts';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '40' }, warm: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
const steps = Number(values.steps);
const warm = Number(values.warm);
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const rows: Array<{ method: Method; size: number; steps: number; wall_steps_per_s: number; cpu_steps_per_s: number }> = [];
for (const size of [16, 32]) {
  for (const method of ['ddpm', 'cbdm'] as const) {
    const out = mkdtempSync(join(tmpdir(), 'cbdm-fm-speed-'));
    try {
      const cfg = resolveTrainConfig({ method, preset: 'tiny', dataset: 'fashion-mnist-lt', imageSize: size, steps, batch: 32, lr: 1e-3, warmup: 100, logEvery: steps, ckptEvery: steps, seed: 0 });
      let t0 = 0;
      let c0 = 0;
      let t1 = 0;
      let c1 = 0;
      await train(cfg, {
        out, progress: false,
        onStep: (step) => {
          if (step === warm) { t0 = performance.now() / 1000; c0 = cpuSeconds(); }
          if (step === steps) { t1 = performance.now() / 1000; c1 = cpuSeconds(); }
        },
      });
      const n = steps - warm;
      const row = { method, size, steps: n, wall_steps_per_s: n / (t1 - t0), cpu_steps_per_s: n / (c1 - c0) };
      rows.push(row);
      if (!values.json) console.log(`${method} ${size}px: ${row.wall_steps_per_s.toFixed(2)} steps/s wall, ${row.cpu_steps_per_s.toFixed(2)} steps/s per CPU-second (${n} steps of 32)`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
}
if (values.json) console.log(JSON.stringify(rows));
