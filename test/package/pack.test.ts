/**
 * The npm package as a consumer gets it: `npm pack` (which builds dist/ and copies the native
 * addon into prebuilt/), then a fresh project installs the tarball and its production
 * dependencies offline from the npm cache (`npm ci --offline`, with a lockfile made from ours),
 * imports 'cbdm', trains 2 steps, samples, and type-checks against the shipped declarations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..');
const npmOk = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;

interface LockEntry { dev?: boolean; link?: boolean; [k: string]: unknown }

/** A lockfile for a project depending on the tarball only: cbdm's production tree from our lock. */
function consumerLock(tgz: string): object {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { cbdm: `file:${tgz}` } },
    'node_modules/cbdm': {
      version: pkg.version, resolved: `file:${tgz}`, integrity, hasInstallScript: true, license: pkg.license,
      dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k !== '' && !v.dev && !v.link) packages[k] = v;
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

const USE = `
import { train, sample, loadModel, useBackend, CbdmError } from 'cbdm';
const notes = [];
const r = await train({ method: 'cbdm', dataset: 'shapes10-lt', imageSize: 16, steps: 2, batch: 4, logEvery: 1, ckptEvery: 1000,
  model: { ch: 32, chMult: [1], attn: [], numResBlocks: 1 } }, { out: 'run', signal: new AbortController().signal, log: (l) => notes.push(l) });
const s = await sample(loadModel('run'), { n: 2, steps: 2, classIndex: 3, seed: 1 });
let err = '';
try { await train({ emaDecay: 2 }, { out: 'bad' }); } catch (e) { err = e instanceof CbdmError ? e.message : String(e); }
console.log(JSON.stringify({ step: r.step, interrupted: r.interrupted, backend: useBackend().name, y: [...s.y], size: s.size, finite: s.x.every(Number.isFinite), err }));
`;

const TYPED = `
import { train, sample, type TrainConfig, type SampleResult } from 'cbdm';
const cfg: Partial<TrainConfig> = { method: 'cbdm', steps: 2 };
export async function run(): Promise<number> {
  const r = await train(cfg, { out: 'x' });
  const s: SampleResult = await sample(r.ema, { n: 1, omega: 1.6 });
  return s.size + r.step;
}
// @ts-expect-error emaDecay is a number: the declarations are typed, not any
export const bad: Partial<TrainConfig> = { emaDecay: 'high' };
`;

test('npm pack → offline install in a fresh project → import, train 2 steps, sample, type-check', { skip: npmOk ? false : 'npm is not on PATH' }, (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-pack-'));
  const pack = spawnSync('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  // The build scripts that `prepare` runs print to stdout before npm's JSON.
  const info = (JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as { filename: string; size: number; files: { path: string }[] }[])[0]!;
  const paths = info.files.map((f) => f.path);
  for (const must of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/bin.js', 'bin/cbdm.mjs', `prebuilt/${process.platform}-${process.arch}/cbdm_native.node`, 'binding.gyp', 'scripts/build-native.mjs', 'assets/demo/nfe-study.json', 'dist/sampler-page.js']) {
    assert.ok(paths.includes(must), `the tarball lacks ${must}`);
  }
  const stray = paths.filter((p) => /^(test|src|runs|docs|scripts\/(?!build-(native|cuda)\.mjs))\//.test(p) || p.endsWith('.tsbuildinfo'));
  assert.deepEqual(stray, [], 'tests, sources, runs or build state in the tarball');
  assert.ok(!existsSync(join(REPO, 'prebuilt')), 'postpack removed prebuilt/ from the checkout');

  const proj = join(tmp, 'consumer');
  mkdirSync(proj);
  const tgz = join(tmp, info.filename);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true, dependencies: { cbdm: `file:${tgz}` } }));
  writeFileSync(join(proj, 'package-lock.json'), JSON.stringify(consumerLock(tgz), null, 2));
  const install = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: proj, encoding: 'utf8' });
  if (install.status !== 0 && /ENOTCACHED|only-if-cached/.test(install.stderr)) {
    t.skip('the npm cache lacks a dependency of cbdm (run `npm install` online once)');
    return;
  }
  assert.equal(install.status, 0, install.stderr);
  const native = JSON.parse(readFileSync(join(proj, 'node_modules', 'cbdm', 'build', 'native-status.json'), 'utf8')) as { ok: boolean; message: string };
  assert.ok(native.ok && native.message.startsWith('prebuilt'), `the packaged addon was not used: ${native.message}`);
  for (const dev of ['typescript', 'tsx', '@types']) assert.ok(!existsSync(join(proj, 'node_modules', dev)), `${dev} was installed with the package`);

  writeFileSync(join(proj, 'use.mjs'), USE);
  const use = spawnSync(process.execPath, ['use.mjs'], { cwd: proj, encoding: 'utf8', env: { ...process.env, CBDM_THREADS: '1' } });
  assert.equal(use.status, 0, use.stderr);
  const r = JSON.parse(use.stdout.trim()) as { step: number; interrupted: boolean; backend: string; y: number[]; size: number; finite: boolean; err: string };
  assert.deepEqual(r, { step: 2, interrupted: false, backend: 'cpu', y: [3, 3], size: 16, finite: true, err: 'emaDecay must be in [0, 1), got 2' });

  const version = spawnSync(join(proj, 'node_modules', '.bin', 'cbdm'), ['--version'], { encoding: 'utf8' });
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);

  writeFileSync(join(proj, 'typed.ts'), TYPED);
  writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['typed.ts'] }));
  const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
