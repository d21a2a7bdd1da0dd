// `npm test`: type-check, then run every test/**/*.test.ts with node's test runner (via tsx).
// Tests write under one fresh temp folder (TMPDIR for the test processes), removed at the end, so
// a run leaves nothing behind in /tmp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const only = process.argv.slice(2);
const files = only.length ? only : find(join(root, 'test'));
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) { console.error('type-check failed'); process.exit(1); }
const scratch = mkdtempSync(join(tmpdir(), 'cbdm-test-'));
let r;
try {
  r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', cwd: root, env: { ...process.env, TMPDIR: scratch } });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(r.status ?? 1);
