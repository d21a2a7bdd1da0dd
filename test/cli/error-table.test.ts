// Bad input across the CLI: every case exits 2 with one `cbdm: error:` line naming the flag or
// file, and no stack trace. The cases (test/cli/error-cases.ts) run in one child process through
// the CLI's run(argv); the disk faults use a 200 KB tmpfs and a read-only bind mount (root only,
// skipped with a note otherwise).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const RUNNER = join(import.meta.dirname, 'error-cases.ts');
const tmp = mkdtempSync(join(tmpdir(), 'cbdm-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result { name: string; code: number; err: string; names: string; expected: number }

function runCases(dir: string, disk: boolean): Result[] {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'results.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, dir, out, ...(disk ? ['--disk'] : [])], { encoding: 'utf8', env: { ...process.env, CBDM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as Result[];
}

function problems(results: Result[]): string[] {
  const failures: string[] = [];
  for (const r of results) {
    const p: string[] = [];
    if (r.code !== r.expected) p.push(`exit ${r.code}`);
    if (/^\s+at .+:\d+:\d+\)?$/m.test(r.err)) p.push('stack trace');
    if (!/^cbdm: error: /m.test(r.err)) p.push('no "cbdm: error:" line');
    if (!new RegExp(r.names).test(r.err)) p.push(`does not match /${r.names}/`);
    if (p.length > 0) failures.push(`${r.name}: ${p.join(', ')}\n    ${r.err.trim().split('\n').slice(0, 3).join('\n    ')}`);
  }
  return failures;
}

test('bad inputs: exit 2, one cbdm: error line naming the flag or file, no stack trace', () => {
  const results = runCases(join(tmp, 'table'), false);
  assert.ok(results.length >= 60, `${results.length} cases`);
  const failures = problems(results);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
});

const notRoot = process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs and a read-only bind' : false;

test('disk faults: a full disk keeps the last good state and says how much was written; a read-only disk is named', { skip: notRoot }, (t) => {
  const dir = join(tmp, 'disk');
  const full = join(dir, 'full'), ro = join(dir, 'ro'), roSrc = join(dir, 'ro-src');
  for (const d of [full, ro, roSrc]) mkdirSync(d, { recursive: true });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', full]).status !== 0) { t.skip('mount -t tmpfs is not permitted here'); return; }
  try {
    if (spawnSync('mount', ['--bind', '-o', 'ro', roSrc, ro]).status !== 0) { t.skip('a read-only bind mount is not permitted here'); return; }
    try {
      const failures = problems(runCases(dir, true));
      assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
      // nothing half-written on the full disk: no temp files, and what is there is complete
      assert.equal(spawnSync('find', [full, '-name', '*.tmp'], { encoding: 'utf8' }).stdout.trim(), '');
      assert.ok(JSON.parse(readFileSync(join(full, 'run', 'config.json'), 'utf8')).train);
    } finally {
      spawnSync('umount', [ro]);
    }
  } finally {
    spawnSync('umount', [full]);
  }
});
