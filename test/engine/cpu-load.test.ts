// Loading the native cpu backend: CBDM_ISA / CBDM_THREADS / CBDM_PRECISION / CBDM_CONV_GEMM / CBDM_GEMM_BLOCK / CBDM_THREAD_WAIT are honoured, bad values give a reason
// (never a throw), and the registry hands out the cpu backend. Each case runs in a child process
// because the addon reads the environment once, when it is first loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadCpuBackend, cpuInfo } from '../../src/engine/cpu/load.ts';

const loaded = loadCpuBackend();
const skip = loaded.ok ? false : `native cpu backend not built (${loaded.reason})`;

function probe(env: Record<string, string>): { ok: boolean; reason?: string; isa?: string; threads?: number; name?: string } {
  const code = `import { loadCpuBackend, cpuInfo } from './src/engine/cpu/load.ts';
const r = loadCpuBackend();
console.log(JSON.stringify(r.ok ? { ok: true, name: r.backend.name, ...cpuInfo() } : { ok: false, reason: r.reason }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, CBDM_ISA: '', CBDM_THREADS: '', CBDM_PRECISION: '', CBDM_CONV_GEMM: '', CBDM_GEMM_BLOCK: '', CBDM_THREAD_WAIT: '', ...env }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('cpu backend: defaults to the best ISA and all cores', { skip }, () => {
  const info = cpuInfo()!;
  assert.equal(loaded.ok && loaded.backend.name, 'cpu');
  assert.ok(['avx512', 'avx2', 'scalar'].includes(info.isa));
  assert.ok(info.threads >= 1);
});

test('cpu backend: CBDM_ISA forces a lower ISA and CBDM_THREADS sets the thread count', { skip }, () => {
  const r = probe({ CBDM_ISA: 'scalar', CBDM_THREADS: '3' });
  assert.deepEqual([r.ok, r.name, r.isa, r.threads], [true, 'cpu', 'scalar', 3]);
});

test('cpu backend: bad CBDM_ISA / CBDM_THREADS give a reason instead of throwing', { skip }, () => {
  const a = probe({ CBDM_ISA: 'sse9' });
  assert.equal(a.ok, false);
  assert.match(a.reason!, /CBDM_ISA='sse9' is not one of avx512, avx2, scalar/);
  const b = probe({ CBDM_THREADS: 'two' });
  assert.equal(b.ok, false);
  assert.match(b.reason!, /CBDM_THREADS='two' is not a positive integer/);
  const c = probe({ CBDM_PRECISION: 'fp16' });
  assert.equal(c.ok, false);
  assert.match(c.reason!, /CBDM_PRECISION='fp16' is not fp32 or bf16/);
  assert.match(probe({ CBDM_CONV_GEMM: 'yes' }).reason!, /CBDM_CONV_GEMM='yes' is not 1 \(gemm only\) or 0/);
  assert.match(probe({ CBDM_GEMM_BLOCK: '64,256' }).reason!, /CBDM_GEMM_BLOCK='64,256' is not three positive integers mc,kc,nc/);
  assert.match(probe({ CBDM_THREAD_WAIT: 'yield' }).reason!, /CBDM_THREAD_WAIT='yield' is not sleep or spin/);
});

// libgomp prints the wait policy it took (its spin count) at start-up when OMP_DISPLAY_ENV=VERBOSE.
function libgompSpinCount(env: Record<string, string>): { spin: string; after: string } {
  const code = `import { loadCpuBackend } from './src/engine/cpu/load.ts';
const r = loadCpuBackend();
if (!r.ok) throw new Error(r.reason);
console.log(JSON.stringify({ after: process.env.OMP_WAIT_POLICY ?? 'unset' }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, CBDM_THREAD_WAIT: '', OMP_WAIT_POLICY: '', GOMP_SPINCOUNT: '', OMP_DISPLAY_ENV: 'VERBOSE', ...env }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const m = /GOMP_SPINCOUNT = '(\d+)'/.exec(r.stderr);
  assert.ok(m, `libgomp printed no GOMP_SPINCOUNT:\n${r.stderr}`);
  return { spin: m[1]!, after: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { after: string }).after };
}

test('cpu backend: idle kernel threads sleep at once by default; CBDM_THREAD_WAIT=spin keeps libgomp\'s spin; the environment is restored', { skip }, () => {
  assert.deepEqual(libgompSpinCount({}), { spin: '0', after: '' });
  assert.deepEqual(libgompSpinCount({ CBDM_THREAD_WAIT: 'sleep', OMP_WAIT_POLICY: 'active' }), { spin: '0', after: 'active' });
  const spin = libgompSpinCount({ CBDM_THREAD_WAIT: 'spin' });
  assert.ok(Number(spin.spin) > 0, `spin count ${spin.spin}`);
});

test('cpu backend: CBDM_CONV_GEMM=1 reaches the addon as the convKernels setting', { skip }, () => {
  assert.equal((probe({ CBDM_CONV_GEMM: '1' }) as { convKernels?: string }).convKernels, 'gemm');
  assert.equal((probe({}) as { convKernels?: string }).convKernels, 'auto');
});

test('cpu backend: CBDM_PRECISION=bf16 is reported where the CPU can (and ignored below avx512)', { skip }, () => {
  const r = probe({ CBDM_PRECISION: 'bf16' }) as { ok: boolean; bf16?: boolean; precision?: string };
  assert.equal(r.ok, true);
  assert.equal(r.bf16, cpuInfo()!.bf16);
  assert.equal(r.precision, cpuInfo()!.bf16 ? 'bf16' : 'fp32');
  const s = probe({ CBDM_PRECISION: 'bf16', CBDM_ISA: 'avx2' }) as { bf16?: boolean; precision?: string };
  assert.equal(s.bf16, false);
  assert.equal(s.precision, 'fp32');
});
