// Builds the native `cpu` backend (native/) with node-gyp during `npm install`.
// A failed build never fails the install: cbdm then runs on the `js` backend and says so once.
// An installed npm package that carries a prebuilt addon for this platform (prebuilt/, see
// scripts/pack-prebuilt.mjs) keeps it when it loads, and builds nothing.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

function record(ok, message) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ok, message, date: new Date().toISOString() }, null, 2) + '\n');
}

const prebuilt = join(root, 'prebuilt', `${process.platform}-${process.arch}`, 'cbdm_native.node');
if (existsSync(prebuilt)) {
  try {
    const addon = createRequire(import.meta.url)(prebuilt);
    if (typeof addon.info !== 'function') throw new Error('not the cbdm addon');
    record(true, `prebuilt ${prebuilt}`);
    process.exit(0);
  } catch (e) {
    console.warn(`cbdm: the prebuilt addon ${prebuilt} does not load here (${e.message}); building from source.`);
  }
}
if (!existsSync(join(root, 'binding.gyp'))) {
  record(false, 'no binding.gyp in this checkout');
  process.exit(0);
}
if (process.env.CBDM_SKIP_NATIVE === '1') {
  record(false, 'skipped: CBDM_SKIP_NATIVE=1');
  console.warn('cbdm: native build skipped (CBDM_SKIP_NATIVE=1); the js backend will be used.');
  process.exit(0);
}
// npm puts its bundled node-gyp on PATH for install scripts; for manual runs use the node-gyp that
// ships inside npm. Offline machines: point node-gyp at the installed node headers (nodedir) when
// npm did not pass one, so it never tries to download them.
function nodeGypCommand() {
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' });
  if (onPath.status === 0) return { cmd: 'node-gyp', pre: [] };
  const npmCli = process.env.npm_execpath;
  const candidates = [
    npmCli ? join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : '',
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return { cmd: process.execPath, pre: [c] };
  return null;
}
const gyp = nodeGypCommand();
if (!gyp) {
  record(false, 'node-gyp not found (neither on PATH nor inside npm)');
  console.warn('cbdm: WARNING: node-gyp not found; the native cpu backend was not built. cbdm will run on the slower js backend.');
  process.exit(0);
}
const args = [...gyp.pre, 'rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(gyp.cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status === 0) {
  record(true, 'built');
} else {
  const msg = `node-gyp rebuild failed (${r.error ? r.error.message : 'exit ' + r.status})`;
  record(false, msg);
  console.warn(`cbdm: WARNING: the native cpu backend did not build: ${msg}. cbdm will run on the slower js backend.`);
}
process.exit(0);
