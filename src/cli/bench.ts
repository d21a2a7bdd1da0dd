/**
 * `cbdm bench gemm|conv|train`: the native cpu backend against a peer measured in the same run
 * (NumPy/OpenBLAS for sgemm, PyTorch CPU for conv2d, PyTorch CPU for the training step and
 * sampling, and with `--peer onnxruntime|both` onnxruntime-node for sampling). `--json` prints an
 * array of {case, unit, ours, peer, peer_name, ratio}; ratio = ours / peer, higher is better.
 */
import { Command, Option } from 'commander';
import { benchConv, benchGemm, formatBenchTable, type BenchCase, type BenchClock } from '../engine/cpu/bench.ts';
import { CbdmError } from '../util/errors.ts';
import { loadavg } from 'node:os';
import { benchTrain, TRAIN_BENCH_PASSES, TRAIN_BENCH_PEERS, type TrainBenchPass, type TrainBenchPeer } from '../train/bench.ts';
import { parsePreset, PRESET_NAMES } from '../models/presets.ts';
import { useBackend } from '../engine/backends.ts';
import { machineInfo } from '../util/machine.ts';
import { median } from '../util/median.ts';

export type BenchTarget = 'gemm' | 'conv' | 'train';

/** `--peer <which>` gives a name, `--no-peer` false. */
interface BenchCliOptions { json?: boolean; threads: string; reps: string; rounds: string; peer: TrainBenchPeer | false; clock: BenchClock; preset: string; batch?: string; pass?: TrainBenchPass }

/** One case over interleaved rounds (ours, peer, ours, peer, …): medians and the ratio's range. */
export interface RoundsCase {
  case: string;
  unit: string;
  peer_name: string | null;
  ours_median: number;
  peer_median: number | null;
  ratio_median: number | null;
  ratio_min: number | null;
  ratio_max: number | null;
  ratios: number[];
}

/**
 * Run a target `rounds` times; each round measures ours and then the peer, so a machine whose speed
 * drifts between minutes affects both sides alike (A/B/A/B…). Ratios are per round, then summarised.
 */
export function runBenchRounds(target: BenchTarget, rounds: number, opts: Parameters<typeof runBench>[1]): RoundsCase[] {
  const all: BenchCase[][] = [];
  for (let r = 0; r < rounds; r++) {
    all.push(runBench(target, opts));
    opts.note(`round ${r + 1}/${rounds} done`);
  }
  return summariseRounds(all);
}

/** Per case: medians of ours and the peer over the rounds, and the median / min / max of the per-round ratios. */
export function summariseRounds(rounds: BenchCase[][]): RoundsCase[] {
  const byCase = new Map<string, BenchCase[]>();
  for (const rows of rounds) for (const row of rows) byCase.set(row.case, [...(byCase.get(row.case) ?? []), row]);
  return [...byCase.entries()].map(([name, rows]) => {
    const ratios = rows.map((x) => x.ratio).filter((x): x is number => x !== null);
    const peers = rows.map((x) => x.peer).filter((x): x is number => x !== null);
    return {
      case: name, unit: rows[0]!.unit, peer_name: rows[0]!.peer_name,
      ours_median: median(rows.map((x) => x.ours)), peer_median: peers.length ? median(peers) : null,
      ratio_median: ratios.length ? median(ratios) : null, ratio_min: ratios.length ? Math.min(...ratios) : null,
      ratio_max: ratios.length ? Math.max(...ratios) : null, ratios,
    };
  });
}

export function formatRoundsTable(rows: RoundsCase[], rounds: number): string {
  const head = ['case', 'unit', 'ours (median)', 'peer (median)', `ratio (median of ${rounds})`, 'range'];
  const f = (v: number | null, d = 1) => (v === null ? '—' : v.toFixed(d));
  const body = rows.map((r) => [r.case, r.unit, f(r.ours_median), f(r.peer_median), r.ratio_median === null ? '—' : `${r.ratio_median.toFixed(2)}×`,
    r.ratio_min === null ? '—' : `${r.ratio_min.toFixed(2)}–${r.ratio_max!.toFixed(2)}`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CbdmError(`--${what} must be a positive integer, got '${v}'`);
  return n;
}

/** Run one benchmark target and return its rows. */
export function runBench(target: BenchTarget,
  opts: { threads: number; reps: number; noPeer: boolean; peer?: TrainBenchPeer; clock: BenchClock; note: (m: string) => void; preset?: string; batch?: number; pass?: TrainBenchPass }): BenchCase[] {
  switch (target) {
    case 'train':
      useBackend();
      return benchTrain(parsePreset(opts.preset ?? 'tiny'), { threads: opts.threads, reps: opts.reps, batch: opts.batch, noPeer: opts.noPeer, peer: opts.peer, clock: opts.clock, pass: opts.pass, note: opts.note });
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
    .addOption(new Option('--rounds <n>', 'interleaved rounds: ours then the peer, N times (A/B/A/B…); reports the median ratio and its range, with the CPU model, family and flags').default('1'))
    .addOption(new Option('--clock <clock>', 'wall: elapsed time (GFLOP/s); cpu: process CPU time of all threads (GFLOP/cpu-s, robust on a shared machine)')
      .choices(['wall', 'cpu']).default('wall'))
    .addOption(new Option('--peer <which>', 'train: torch (PyTorch CPU: training step and sampling), onnxruntime (onnxruntime-node on the PyTorch peer\'s model exported with torch.onnx.export, same weights: sampling only, so --pass sample; needs python3-torch and the onnxruntime-node devDependency) or both (training step vs PyTorch, sampling vs both); gemm and conv have one peer each')
      .choices([...TRAIN_BENCH_PEERS]).default('torch'))
    .option('--no-peer', 'skip the peer measurements')
    .addOption(new Option('--preset <p>', 'train: model preset').choices([...PRESET_NAMES]).default('tiny'))
    .option('--batch <n>', 'train: batch size (default per preset: tiny 64, small 16, cifar 4)')
    .addOption(new Option('--pass <p>', 'train: which part to measure — both, the training step only (train) or the sampling forward only (sample) (default: both; sample with --peer onnxruntime, which has no training step: train or both with it is an error)').choices([...TRAIN_BENCH_PASSES]))
    .option('--json', 'print JSON: an array of {case, unit, ours, peer, peer_name, ratio}; with --rounds > 1 {machine, load_average: {start, end} (1/5/15-minute), rounds, cases: [{case, unit, peer_name, ours_median, peer_median, ratio_median, ratio_min, ratio_max, ratios}]}')
    .argument('<target>', 'what to benchmark: gemm | conv | train (CBDM step and DDPM sampling vs PyTorch; sampling vs onnxruntime-node with --peer)')
    .action((target: string, o: BenchCliOptions) => {
      if (target !== 'gemm' && target !== 'conv' && target !== 'train') throw new CbdmError(`unknown benchmark '${target}': choose gemm, conv or train`);
      if (target !== 'train' && o.peer !== false && o.peer !== 'torch') throw new CbdmError(`--peer ${o.peer} applies to bench train (sampling); ${target} has one peer (leave --peer out)`);
      const opts = {
        threads: positiveInt(o.threads, 'threads'),
        reps: positiveInt(o.reps, 'reps'),
        noPeer: o.peer === false,
        peer: o.peer === false ? undefined : o.peer,
        clock: o.clock,
        preset: o.preset,
        batch: o.batch !== undefined ? positiveInt(o.batch, 'batch') : undefined,
        pass: o.pass,
        note: (m: string) => console.error(`note: ${m}`),
      };
      const rounds = positiveInt(o.rounds, 'rounds');
      if (rounds === 1) {
        const rows = runBench(target, opts);
        console.log(o.json ? JSON.stringify(rows, null, 2) : formatBenchTable(rows));
        return;
      }
      const loadStart = loadavg();
      const cases = runBenchRounds(target, rounds, opts);
      const machine = machineInfo();
      const load_average = { start: loadStart, end: loadavg() };
      if (o.json) console.log(JSON.stringify({ machine, load_average, rounds, threads: opts.threads, clock: opts.clock, date: new Date().toISOString(), cases }, null, 2));
      else {
        const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
        console.log(`${machine.cpuModel} (family ${machine.cpuFamily ?? '?'}, ${machine.cpus} CPUs, ${machine.flags.join(' ')}); load average ${la(load_average.start)} at the start, ${la(load_average.end)} at the end\n${formatRoundsTable(cases, rounds)}`);
      }
    });
}
