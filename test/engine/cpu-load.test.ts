// Loading the native cpu backend: CBDM_ISA / CBDM_THREADS / CBDM_PRECISION / CBDM_CONV_GEMM / CBDM_GEMM_BLOCK are honoured, bad values give a reason
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
    env: { ...process.env, CBDM_ISA: '', CBDM_THREADS: '', CBDM_PRECISION: '', CBDM_CONV_GEMM: '', CBDM_GEMM_BLOCK: '', ...env }, encoding: 'utf8',
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
