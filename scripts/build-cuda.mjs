// Builds the `cuda` backend's addons from native/cuda/ (see native/cuda/README.md).
//
//   node scripts/build-cuda.mjs          the GPU addon build/Release/cbdm_cuda.node: nvcc (sm_90,
//                                        static cudart) when nvcc is found, else skipped with one
//                                        line; run by `npm install`, never fails it.
//   node scripts/build-cuda.mjs --check  nvcc -cubin of the kernels (cached by source hash; tests)
//   node scripts/build-cuda.mjs --shim   the CPU test build: the same core and kernels through g++
//                                        and native/cuda/shim.h, plus the cuBLAS stand-in library,
//                                        cached under build/cuda-shim/ by a hash of the sources.
//
// CBDM_NVCC=/path/to/nvcc picks the compiler; CBDM_CUDA_ARCH=sm_90 (default) the target;
// --out DIR writes under DIR instead of build/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'cuda');
// `--out DIR` puts the addon and status under DIR instead of build/ (tests).
const outArg = process.argv.indexOf('--out');
const buildDir = outArg > 0 && process.argv[outArg + 1] ? process.argv[outArg + 1] : join(root, 'build');
export const CUDA_ADDON_PATH = join(buildDir, 'Release', 'cbdm_cuda.node');
const statusFile = join(buildDir, 'cuda-status.json');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/**
 * Node's C headers (node_api.h): npm's nodedir, else the installed node's include/node, else the
 * copy scripts/device-pack.sh puts in .device/include/node for a GPU host with a bare node binary.
 */
function nodeInclude() {
  const dirs = [process.env.npm_config_nodedir ? join(process.env.npm_config_nodedir, 'include', 'node') : '',
    join(dirname(process.execPath), '..', 'include', 'node'), join(root, '.device', 'include', 'node')];
  return dirs.find((d) => d && existsSync(join(d, 'node_api.h'))) ?? null;
}

/** nvcc: CBDM_NVCC when set (only that one), else on PATH, else CUDA_HOME or /usr/local/cuda; null when absent. */
export function findNvcc() {
  const explicit = process.env.CBDM_NVCC;
  const candidates = explicit ? [explicit] : ['nvcc', process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc'].filter(Boolean);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) {
      const where = spawnSync('sh', ['-c', `command -v "${c}"`], { encoding: 'utf8' }).stdout.trim() || c;
      return realpathSync(where);
    }
  }
  return null;
}

function sourcesHash(extra) {
  const h = createHash('sha256');
  for (const f of readdirSync(src).sort()) h.update(f).update(readFileSync(join(src, f)));
  h.update(extra);
  return h.digest('hex').slice(0, 16);
}

/** Build the GPU addon; returns { ok, message }. */
export function buildCudaAddon() {
  const nvcc = findNvcc();
  if (!nvcc) {
    const why = process.env.CBDM_NVCC ? `CBDM_NVCC=${process.env.CBDM_NVCC} does not run` : 'set CBDM_NVCC or put CUDA on PATH';
    return { ok: false, skipped: true, message: `nvcc not found (${why})` };
  }
  const inc = nodeInclude();
  if (!inc) return { ok: false, message: 'node headers (node_api.h) not found' };
  const arch = process.env.CBDM_CUDA_ARCH || 'sm_90';
  const obj = join(buildDir, 'cuda');
  mkdirSync(obj, { recursive: true });
  mkdirSync(dirname(CUDA_ADDON_PATH), { recursive: true });
  const steps = [
    [nvcc, ['-gencode', `arch=compute_${arch.slice(3)},code=[${arch},compute_${arch.slice(3)}]`, '-O3', '-std=c++17',
      '-Xcompiler', '-fPIC', '-c', join(src, 'core.cu'), '-o', join(obj, 'core.o')]],
    ['g++', ['-O2', '-std=c++17', '-fPIC', '-c', join(src, 'cublas.cpp'), '-o', join(obj, 'cublas.o')]],
    ['g++', ['-O2', '-std=c++17', '-fPIC', `-I${inc}`, '-DNODE_GYP_MODULE_NAME=cbdm_cuda', '-c', join(src, 'napi.cpp'), '-o', join(obj, 'napi.o')]],
    // nvcc links too: it knows where its static cudart lives (nvcc may be a wrapper script).
    [nvcc, ['-shared', '-cudart', 'static', '-o', `${CUDA_ADDON_PATH}.tmp`, join(obj, 'core.o'), join(obj, 'cublas.o'), join(obj, 'napi.o'),
      '-ldl', '-lpthread', '-lrt']],
  ];
  for (const [cmd, args] of steps) {
    const r = run(cmd, args);
    if (!r.ok) return { ok: false, message: `${cmd} → ${args[args.indexOf('-o') + 1]} failed: ${r.out.trim().split('\n').slice(-3).join(' | ')}` };
  }
  renameSync(`${CUDA_ADDON_PATH}.tmp`, CUDA_ADDON_PATH);
  return { ok: true, message: `built with ${nvcc} for ${arch}` };
}

/**
 * Build (or reuse) the CPU shim addon and the cuBLAS stand-in; returns their paths, or
 * { error } when g++ or the node headers are missing or a compile failed.
 */
export function buildCudaShim() {
  const inc = nodeInclude();
  if (!inc) return { error: 'node headers (node_api.h) not found' };
  const flags = ['-O1', '-std=c++20', '-fPIC'];
  const tag = sourcesHash(flags.join(' '));
  const dir = join(root, 'build', 'cuda-shim');
  const addon = join(dir, `cbdm_cuda_shim-${tag}.node`);
  const standin = join(dir, `libcublas_standin-${tag}.so`);
  if (existsSync(addon) && existsSync(standin)) return { addon, standin };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const a = run('g++', [...flags, '-shared', '-DCBDM_CUDA_SHIM', `-I${inc}`, '-DNODE_GYP_MODULE_NAME=cbdm_cuda_shim', '-x', 'c++',
    join(src, 'core.cu'), join(src, 'cublas.cpp'), join(src, 'napi.cpp'), '-o', `${addon}.tmp`, '-ldl', '-lpthread']);
  if (!a.ok) return { error: `g++ of the cuda shim failed: ${a.out.trim().split('\n').slice(0, 5).join(' | ')}` };
  const s = run('g++', [...flags, '-shared', join(src, 'cublas_standin.cpp'), '-o', `${standin}.tmp`]);
  if (!s.ok) return { error: `g++ of the cuBLAS stand-in failed: ${s.out.trim().split('\n').slice(0, 5).join(' | ')}` };
  renameSync(`${addon}.tmp`, addon);
  renameSync(`${standin}.tmp`, standin);
  return { addon, standin };
}

/**
 * Check that the current kernel text compiles with nvcc for the target (device code only:
 * `-cubin`, a few seconds), cached by a hash of the sources; { ok, message } or null without nvcc.
 */
export function checkNvccCompile() {
  const nvcc = findNvcc();
  if (!nvcc) return null;
  const arch = process.env.CBDM_CUDA_ARCH || 'sm_90';
  const tag = sourcesHash(`cubin ${arch}`);
  const dir = join(root, 'build', 'cuda-check');
  const okFile = join(dir, `${tag}.ok`);
  if (existsSync(okFile)) return { ok: true, message: readFileSync(okFile, 'utf8') };
  mkdirSync(dir, { recursive: true });
  const r = run(nvcc, [`-arch=${arch}`, '-O3', '-std=c++17', '-Xptxas', '-v', '-cubin', join(src, 'core.cu'), '-o', join(dir, `${tag}.cubin`)]);
  if (!r.ok) return { ok: false, message: r.out.trim() };
  const spills = r.out.split('\n').filter((l) => /[1-9]\d* bytes spill/.test(l));
  const msg = `nvcc ${arch}: core.cu compiles; ${spills.length} kernels spill registers`;
  writeFileSync(okFile, msg);
  return { ok: true, message: msg };
}

function record(ok, message) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ok, message, date: new Date().toISOString() }, null, 2) + '\n');
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const r = checkNvccCompile();
    console.log(JSON.stringify(r));
  } else if (process.argv.includes('--shim')) {
    const r = buildCudaShim();
    if ('error' in r) { console.error(`cbdm: error: ${r.error}`); process.exit(1); }
    console.log(JSON.stringify(r));
  } else {
    let r;
    try {
      r = buildCudaAddon();
    } catch (e) {
      r = { ok: false, message: `build crashed: ${e.message}` };
    }
    record(r.ok, r.skipped ? `skipped: ${r.message}` : r.message);
    if (r.skipped) console.log(`cbdm: cuda backend not built: ${r.message}.`);
    else if (!r.ok) console.warn(`cbdm: WARNING: the cuda backend did not build: ${r.message}. The cpu backend is unaffected.`);
    else console.log(`cbdm: cuda backend ${r.message}.`);
  }
  process.exit(0);
}
