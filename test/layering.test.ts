/**
 * Dependencies point down. The folders of src/ form one order, and a file may import (types
 * included, re-exports and dynamic imports too) only from its own folder or from folders before it:
 *
 *   util < io < data < engine < nn < models < diffusion < train < metrics < report < demo < api < cli
 *
 * util (errors, RNG, progress) and io (file formats, atomic writes, PNG) know nothing of the
 * method. data (datasets and the loader) reads files and builds host arrays, so it needs only io
 * and util, and the trainer needs it: it sits below the engine rather than beside metrics.
 * metrics may use the trainer (the domain classifier is trained by train/classifier-train.ts);
 * report shows what training and evaluation wrote; demo drives everything; api (the library's
 * functions, where present) wraps them for programs; cli parses flags and prints. Files directly in src/ (the library entry) may import anything, and bench/ anything but
 * src/cli (benchmarks call the library, not the command line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const LAYERS = ['util', 'io', 'data', 'engine', 'nn', 'models', 'diffusion', 'train', 'metrics', 'report', 'demo', 'api', 'cli'] as const;

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative import specifiers of a TypeScript source: `from '…'` (imports, re-exports) and `import('…')`. */
function relativeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push((m[1] ?? m[2] ?? m[3])!);
  }
  return out;
}

/** The src/ folder a path lies in ('' for files directly in src/), or null outside src/. */
function layerOf(path: string): string | null {
  const rel = relative(join(ROOT, 'src'), path);
  if (rel.startsWith('..')) return null;
  return rel.includes(sep) ? rel.split(sep)[0]! : '';
}

/** Every import that breaks the rule above, as `file → target (why)`. */
function violations(): string[] {
  const bad: string[] = [];
  for (const file of [...tsFiles(join(ROOT, 'src')), ...tsFiles(join(ROOT, 'bench'))]) {
    const from = layerOf(file);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const to = layerOf(resolve(dirname(file), spec));
      const where = `${relative(ROOT, file)} → ${spec}`;
      if (from === null) {
        if (to === 'cli') bad.push(`${where} (bench/ must not import src/cli)`);
        continue;
      }
      if (from === '' || to === null || to === from) continue;
      const i = (LAYERS as readonly string[]).indexOf(from);
      const j = (LAYERS as readonly string[]).indexOf(to);
      if (i < 0) bad.push(`${where} (src/${from} has no place in the layer order: add it to LAYERS)`);
      else if (j < 0) bad.push(`${where} (src/${to} has no place in the layer order)`);
      else if (j > i) bad.push(`${where} (${from} may not import ${to}, which sits above it)`);
    }
  }
  return bad;
}

test('imports point down the layer order util < io < data < engine < nn < models < diffusion < train < metrics < report < demo < api < cli', () => {
  const bad = violations();
  assert.deepEqual(bad, [], `${bad.length} import(s) point up:\n  ${bad.join('\n  ')}`);
});

test('the import scanner sees imports, type imports, re-exports and dynamic imports', () => {
  const src = [
    "import { a } from '../train/trainer.ts';",
    "import type { B } from './b.ts';",
    "export { c } from '../report/c.ts';",
    "export type * from '../x/y.ts';",
    "const m = await import('../cli/eval.ts');",
    "import '../side/effect.ts';",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(relativeImports(src), ['../train/trainer.ts', './b.ts', '../report/c.ts', '../x/y.ts', '../cli/eval.ts', '../side/effect.ts']);
});

test('every src/ folder has a place in the layer order', () => {
  const folders = readdirSync(join(ROOT, 'src')).filter((n) => statSync(join(ROOT, 'src', n)).isDirectory());
  assert.deepEqual(folders.filter((f) => !(LAYERS as readonly string[]).includes(f)), []);
});
