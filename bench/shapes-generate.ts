/**
 * How long generating the full long-tailed shapes sets takes (the spec's budgets are < 1 s for
 * shapes10-lt and < 3 s for shapes100-lt at 32×32). A benchmark, not a test: wall time depends
 * on the machine and its load.
 *
 *   node --import tsx bench/shapes-generate.ts [--rounds 3]
 */
import { makeShapesLT } from '../src/data/shapes.ts';

const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 3;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('bench/shapes-generate.ts: --rounds must be a positive integer');
  process.exit(2);
}
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const a = makeShapesLT({ classes: 10, size: 32 });
  const t1 = performance.now();
  const b = makeShapesLT({ classes: 100, size: 32 });
  const t2 = performance.now();
  console.log(`round ${r + 1}: shapes10-lt ${a.labels.length} images ${(t1 - t0).toFixed(0)} ms; ` +
    `shapes100-lt ${b.labels.length} images ${(t2 - t1).toFixed(0)} ms`);
}
