/**
 * Citations of the design document point into this repository: every "DESIGN.md §N" or
 * "§N.M" in src/, test/, bench/, scripts/, docs/ and README.md names a section that
 * docs/DESIGN.md has, and no "DESIGN §…" cites a document outside the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : files(p);
    return /\.(ts|mjs|md|py|cpp|inc|h|cu)$/.test(name) ? [p] : [];
  });
}

test('every DESIGN citation names a section of docs/DESIGN.md', () => {
  const design = readFileSync(join(ROOT, 'docs', 'DESIGN.md'), 'utf8');
  const sections = new Set([...design.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!));
  assert.ok(sections.has('1.2') && sections.has('3'), 'DESIGN.md has numbered sections');
  const bad: string[] = [];
  let cited = 0;
  for (const f of [...['src', 'test', 'bench', 'scripts', 'docs', 'native'].flatMap((d) => files(join(ROOT, d))), join(ROOT, 'README.md')]) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/DESIGN(\.md)? §(\d+(?:\.\d+)?)/g)) {
      cited++;
      if (m[1] === undefined) bad.push(`${relative(ROOT, f)}: "${m[0]}" (cite docs/DESIGN.md)`);
      else if (!sections.has(m[2]!)) bad.push(`${relative(ROOT, f)}: "${m[0]}" (no such section)`);
    }
  }
  assert.ok(cited > 10, `found only ${cited} citations: the scanner is broken`);
  assert.deepEqual(bad, []);
});
