// conv2d benchmark at the UNet's shapes: ours (native cpu backend) vs PyTorch CPU, same run.
// Usage: node --import tsx bench/conv.ts [--json] [--cpu-clock]   (same as `cbdm bench conv`)
import { benchConv, formatBenchTable } from '../src/engine/cpu/bench.ts';

const json = process.argv.includes('--json');
const clock = process.argv.includes('--cpu-clock') ? 'cpu' as const : 'wall' as const;
const rows = benchConv(undefined, { clock, note: (m) => console.error(`note: ${m}`) });
console.log(json ? JSON.stringify(rows, null, 2) : formatBenchTable(rows));
