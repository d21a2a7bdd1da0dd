/**
 * Preview of the embedded shapes dataset: a PNG grid, one row per class, `--per` reference
 * samples per row, upscaled by `--zoom` (nearest neighbour) so 16×16 images are easy to inspect.
 *
 *   node --import tsx bench/shapes-preview.ts out.png [--classes 10|100] [--size 16|32]
 *        [--per 8] [--zoom 4] [--seed 0] [--rows 10] [--from 0]
 *
 * Rows show the classes from, from+1, … (wrapping), so 100-class previews can page through.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { sampleShapesReference, shapesClassNames } from '../src/data/shapes.ts';

/** Parsed command line. */
interface PreviewArgs { out: string; classes: 10 | 100; size: 16 | 32; per: number; zoom: number; seed: number; rows: number; from: number }

function parseArgs(argv: string[]): PreviewArgs {
  const a: PreviewArgs = { out: '', classes: 10, size: 32, per: 8, zoom: 4, seed: 0, rows: 10, from: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const num = (): number => { i++; const n = Number(v); if (!Number.isFinite(n)) throw new Error(`${k} needs a number`); return n; };
    switch (k) {
      case '--classes': { const n = num(); if (n !== 10 && n !== 100) throw new Error('--classes must be 10 or 100'); a.classes = n; break; }
      case '--size': { const n = num(); if (n !== 16 && n !== 32) throw new Error('--size must be 16 or 32'); a.size = n; break; }
      case '--per': a.per = num(); break;
      case '--zoom': a.zoom = num(); break;
      case '--seed': a.seed = num(); break;
      case '--rows': a.rows = num(); break;
      case '--from': a.from = num(); break;
      default: a.out = k;
    }
  }
  if (!a.out) throw new Error('usage: shapes-preview.ts OUT.png [--classes 10|100] [--size 16|32] [--per 8] [--zoom 4] [--seed 0] [--rows 10] [--from 0]');
  return a;
}

/** Render the grid and write it to `args.out`. */
function main(args: PreviewArgs): void {
  const { size, per, zoom } = args;
  const rows = Math.min(args.rows, args.classes);
  const cell = size * zoom + 2;
  const png = new PNG({ width: per * cell, height: rows * cell });
  png.data.fill(255);
  const names = shapesClassNames(args.classes);
  for (let c = 0; c < rows; c++) {
    const cls = (args.from + c) % args.classes;
    const { images } = sampleShapesReference({ classes: args.classes, size, classIndex: cls, n: per, seed: args.seed });
    console.log(`row ${c}: class ${cls} ${names[cls]}`);
    for (let k = 0; k < per; k++) {
      for (let y = 0; y < size * zoom; y++) {
        for (let x = 0; x < size * zoom; x++) {
          const src = k * 3 * size * size + Math.floor(y / zoom) * size + Math.floor(x / zoom);
          const dst = ((c * cell + 1 + y) * png.width + k * cell + 1 + x) * 4;
          for (let ch = 0; ch < 3; ch++) png.data[dst + ch] = images[src + ch * size * size]!;
          png.data[dst + 3] = 255;
        }
      }
    }
  }
  writeFileAtomic(args.out, PNG.sync.write(png));
  console.log(`wrote ${args.out} (${png.width}×${png.height})`);
}

main(parseArgs(process.argv.slice(2)));
