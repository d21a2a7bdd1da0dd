/**
 * `cbdm serve --run DIR [--port N]`: the in-browser sampler of a run on http://127.0.0.1:N/
 * (src/report/sampler-server.ts); runs until interrupted.
 */
import type { Command } from 'commander';
import { CbdmError } from '../util/errors.ts';
import { startSamplerServer } from '../report/sampler-server.ts';

function parsePort(v: string): number {
  const p = Number(v);
  if (!(v.trim() !== '' && Number.isInteger(p) && p >= 0 && p <= 65535)) throw new CbdmError(`--port must be an integer in 0..65535, got "${v}"`);
  return p;
}

/** Register `cbdm serve`. */
export function register(program: Command): void {
  program.command('serve')
    .description('open a run in the browser sampler: pick class, ω, solver, steps and seed and watch the denoising (WebGPU, else js), on 127.0.0.1 only')
    .requiredOption('--run <dirs...>', 'run directories with ema.safetensors, e.g. runs/cbdm (several: a model picker)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0: any free port)', parsePort, 8177)
    .option('--labels <a,b,...>', 'display names of the runs, comma-separated (default: directory names)')
    .action(async (o: { run: string[]; port: number; labels?: string }) => {
      const labels = o.labels?.split(',').map((s) => s.trim());
      if (labels && labels.length !== o.run.length) throw new CbdmError(`--labels has ${labels.length} names for ${o.run.length} runs; give one per run, comma-separated`);
      const s = await startSamplerServer(o.run, o.port, labels);
      console.log(`cbdm sampler on ${s.url} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => s.server.on('close', () => resolve()));
    });
}
