/**
 * What machine a benchmark ran on: CPU model, family and the SIMD flags that decide our kernels
 * (read from /proc/cpuinfo on Linux; elsewhere what Node's os module knows).
 */
import { readFileSync } from 'node:fs';
import { cpus, platform } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** x86 "cpu family" (25 = AMD Zen 3/4, 26 = Zen 5; 6 = most Intel cores), null when unknown. */
  cpuFamily: number | null;
  /** Logical CPUs Node sees. */
  cpus: number;
  /** The SIMD flags our kernels dispatch on, those present. */
  flags: string[];
  platform: string;
}

const FLAGS_OF_INTEREST = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16', 'avx512_vnni', 'amx_bf16'];

export function machineInfo(): MachineInfo {
  const list = cpus();
  let family: number | null = null;
  let flags: string[] = [];
  let model = list[0]?.model.trim() ?? 'unknown';
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const first = text.split('\n\n')[0] ?? '';
    const field = (k: string) => first.split('\n').find((l) => l.startsWith(k))?.split(':')[1]?.trim();
    family = field('cpu family') !== undefined ? Number(field('cpu family')) : null;
    model = field('model name') ?? model;
    const have = new Set((field('flags') ?? '').split(/\s+/));
    flags = FLAGS_OF_INTEREST.filter((f) => have.has(f));
  } catch {
    // not Linux: model and count from os.cpus() only
  }
  return { cpuModel: model, cpuFamily: family, cpus: list.length, flags, platform: platform() };
}
