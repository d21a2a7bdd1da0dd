/**
 * scripts/device-check.sh (the one script for a lent GPU host) in its dry-run mode: every GPU step
 * is reported as skipped with the command it would run, the JSON lands under $OUT atomically, and
 * the script finishes at once. The GPU steps themselves only run on a GPU host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const python = spawnSync('python3', ['--version']).status === 0;

test('device-check.sh --dry-run lists every step, skips the GPU ones and writes device-check.json', { skip: python ? false : 'python3 not found' }, () => {
  const out = mkdtempSync(join(tmpdir(), 'cbdm-device-check-'));
  try {
    const t0 = Date.now();
    const r = spawnSync('bash', [join(root, 'scripts', 'device-check.sh'), '--dry-run'], { encoding: 'utf8', env: { ...process.env, OUT: out } });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.ok(Date.now() - t0 < 30_000, 'a dry run is quick');
    const doc = JSON.parse(readFileSync(join(out, 'device-check.json'), 'utf8')) as {
      dry_run: boolean; commit: string; steps: Array<{ name: string; status: string; detail: string }>;
    };
    assert.equal(doc.dry_run, true);
    assert.match(doc.commit, /^[0-9a-f]{40}$/);
    const byName = new Map(doc.steps.map((s) => [s.name, s]));
    assert.equal(byName.get('node')?.status, 'ok');
    for (const name of ['device', 'build', 'probe', 'parity', 'loss-cuda', 'loss-cpu', 'bench-ours-b48', 'bench-torch-eager-fp32-b48',
      'bench-torch-eager-bf16-b48', 'bench-torch-compile-fp32-b48', 'bench-ours-tf32-b48', 'bench-ours-b128', 'bench-torch-compile-fp32-b128', 'flops']) {
      const s = byName.get(name);
      assert.ok(s, `step ${name} listed`);
      assert.equal(s.status, 'skipped', name);
      assert.match(s.detail, /^dry run: /, name);
    }
    assert.match(byName.get('parity')!.detail, /test\/engine\/ops-core\.test\.ts/);
    assert.equal(existsSync(join(out, 'device-check.json.tmp')), false);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
