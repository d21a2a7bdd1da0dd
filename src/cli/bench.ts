/**
 * `cbdm bench gemm|conv`: the native cpu backend against a peer measured in the same run
 * (NumPy/OpenBLAS for sgemm, PyTorch CPU for conv2d). `--json` prints an array of
 * {case, unit, ours, peer, peer_name, ratio}; ratio = ours / peer, higher is better.
 */
import { Command, Option } from 'commander';
import { benchConv, benchGemm, formatBenchTable, type BenchCase, type BenchClock } from '../engine/cpu/bench.ts';
import { CbdmError } from '../util/errors.ts';

export type BenchTarget = 'gemm' | 'conv';

interface BenchCliOptions { json?: boolean; threads: string; reps: string; peer: boolean; clock: BenchClock }

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CbdmError(`--${what} must be a positive integer, got '${v}'`);
  return n;
}

/** Run one benchmark target and return its rows. */
export function runBench(target: BenchTarget,
  opts: { threads: number; reps: number; noPeer: boolean; clock: BenchClock; note: (m: string) => void }): BenchCase[] {
  switch (target) {
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
    .description('benchmark the native cpu backend against a peer measured in the same run')
    .addOption(new Option('-t, --threads <n>', 'threads for us and the peer').default('2'))
    .addOption(new Option('--reps <n>', 'timed repetitions per case (median reported)').default('5'))
    .addOption(new Option('--clock <clock>', 'wall: elapsed time (GFLOP/s); cpu: process CPU time of all threads (GFLOP/cpu-s, robust on a shared machine)')
      .choices(['wall', 'cpu']).default('wall'))
    .option('--no-peer', 'skip the peer (Python) measurements')
    .option('--json', 'print a JSON array of {case, unit, ours, peer, peer_name, ratio}')
    .argument('<target>', 'what to benchmark: gemm | conv')
    .action((target: string, o: BenchCliOptions) => {
      if (target !== 'gemm' && target !== 'conv') throw new CbdmError(`unknown benchmark '${target}': choose gemm or conv`);
      const rows = runBench(target, {
        threads: positiveInt(o.threads, 'threads'),
        reps: positiveInt(o.reps, 'reps'),
        noPeer: !o.peer,
        clock: o.clock,
        note: (m) => console.error(`note: ${m}`),
      });
      console.log(o.json ? JSON.stringify(rows, null, 2) : formatBenchTable(rows));
    });
}
