/**
 * `cbdm bench gemm|conv`: the native cpu backend against a peer measured in the same run
 * (NumPy/OpenBLAS for sgemm, PyTorch CPU for conv2d). `--json` prints an array of
 * {case, unit, ours, peer, peer_name, ratio}; ratio = ours / peer, higher is better.
 */
import { Command, Option } from 'commander';
import { benchConv, benchGemm, formatBenchTable, type BenchCase, type BenchClock } from '../engine/cpu/bench.ts';
import { CbdmError } from '../util/errors.ts';
import { benchTrain } from '../train/bench.ts';
import { parsePreset, PRESET_NAMES } from '../models/presets.ts';
import { useBackend } from '../engine/backends.ts';

export type BenchTarget = 'gemm' | 'conv' | 'train';

interface BenchCliOptions { json?: boolean; threads: string; reps: string; peer: boolean; clock: BenchClock; preset: string; batch?: string }

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CbdmError(`--${what} must be a positive integer, got '${v}'`);
  return n;
}

/** Run one benchmark target and return its rows. */
export function runBench(target: BenchTarget,
  opts: { threads: number; reps: number; noPeer: boolean; clock: BenchClock; note: (m: string) => void; preset?: string; batch?: number }): BenchCase[] {
  switch (target) {
    case 'train':
      useBackend();
      return benchTrain(parsePreset(opts.preset ?? 'tiny'), { threads: opts.threads, reps: opts.reps, batch: opts.batch, noPeer: opts.noPeer, clock: opts.clock, note: opts.note });
    case 'gemm': return benchGemm([256, 1024, 2048], opts);
    case 'conv': return benchConv(undefined, opts);
    default: {
      const never: never = target;
      throw new CbdmError(`unknown benchmark ${String(never)}`);
    }
  }
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark kernels (gemm, conv) and the training step (train) against a peer measured in the same run')
    .addOption(new Option('-t, --threads <n>', 'threads for us and the peer').default('2'))
    .addOption(new Option('--reps <n>', 'timed repetitions per case (median reported)').default('5'))
    .addOption(new Option('--clock <clock>', 'wall: elapsed time (GFLOP/s); cpu: process CPU time of all threads (GFLOP/cpu-s, robust on a shared machine)')
      .choices(['wall', 'cpu']).default('wall'))
    .option('--no-peer', 'skip the peer (Python) measurements')
    .addOption(new Option('--preset <p>', 'train: model preset').choices([...PRESET_NAMES]).default('tiny'))
    .option('--batch <n>', 'train: batch size (default per preset: tiny 64, small 16, cifar 4)')
    .option('--json', 'print a JSON array of {case, unit, ours, peer, peer_name, ratio}')
    .argument('<target>', 'what to benchmark: gemm | conv | train (CBDM step and DDPM sampling vs PyTorch)')
    .action((target: string, o: BenchCliOptions) => {
      if (target !== 'gemm' && target !== 'conv' && target !== 'train') throw new CbdmError(`unknown benchmark '${target}': choose gemm, conv or train`);
      const rows = runBench(target, {
        threads: positiveInt(o.threads, 'threads'),
        reps: positiveInt(o.reps, 'reps'),
        noPeer: !o.peer,
        clock: o.clock,
        preset: o.preset,
        batch: o.batch !== undefined ? positiveInt(o.batch, 'batch') : undefined,
        note: (m) => console.error(`note: ${m}`),
      });
      console.log(o.json ? JSON.stringify(rows, null, 2) : formatBenchTable(rows));
    });
}
