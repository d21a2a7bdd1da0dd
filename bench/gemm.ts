// sgemm benchmark: ours (native cpu backend) vs NumPy/OpenBLAS, same run, 2 threads.
// Usage: node --import tsx bench/gemm.ts [--json] [--cpu-clock]   (same as `cbdm bench gemm`)
import { benchGemm, formatBenchTable } from '../src/engine/cpu/bench.ts';

const json = process.argv.includes('--json');
const clock = process.argv.includes('--cpu-clock') ? 'cpu' as const : 'wall' as const;
const rows = benchGemm([256, 1024, 2048], { clock, note: (m) => console.error(`note: ${m}`) });
console.log(json ? JSON.stringify(rows, null, 2) : formatBenchTable(rows));
