/** Writers of tiny CIFAR files in the official binary layout, for tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Deterministic pixel value of image `g` (global index), plane c, offset p. */
export function pixel(g: number, c: number, p: number): number {
  return (g * 31 + c * 85 + p * 7) % 256;
}

/** Deterministic label of image `g`. */
export function labelOf(g: number, numClasses: number): number {
  return (g * 7 + 3) % numClasses;
}

/** One binary batch of `n` images starting at global index `first`. */
export function binaryBatch(variant: 'cifar10' | 'cifar100', first: number, n: number): Uint8Array {
  const lab = variant === 'cifar10' ? 1 : 2;
  const rec = 3072 + lab;
  const buf = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    const g = first + i;
    const o = i * rec;
    if (variant === 'cifar10') buf[o] = labelOf(g, 10);
    else { buf[o] = labelOf(g, 100) % 20; buf[o + 1] = labelOf(g, 100); }
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[o + lab + c * 1024 + p] = pixel(g, c, p);
  }
  return buf;
}

/** Files of a tiny binary distribution: CIFAR-10 5 train batches of `perBatch` + test; CIFAR-100 train + test. */
export function binaryFiles(variant: 'cifar10' | 'cifar100', perBatch = 4): { name: string; data: Uint8Array }[] {
  if (variant === 'cifar10') {
    const out = [1, 2, 3, 4, 5].map((b) => ({ name: `data_batch_${b}.bin`, data: binaryBatch('cifar10', (b - 1) * perBatch, perBatch) }));
    out.push({ name: 'test_batch.bin', data: binaryBatch('cifar10', 1000, perBatch) });
    out.push({ name: 'batches.meta.txt', data: Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n') });
    return out;
  }
  return [
    { name: 'train.bin', data: binaryBatch('cifar100', 0, perBatch * 5) },
    { name: 'test.bin', data: binaryBatch('cifar100', 1000, perBatch) },
  ];
}

/** Write files into `dir` (created). */
export function writeFiles(dir: string, files: { name: string; data: Uint8Array }[]): void {
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.name), f.data);
}

/** A value for `py2Pickle`: Python 2 str (bytes), int, list, dict, or a uint8 N×3072 array. */
export type Py2Value = { str: string } | number | Py2Value[] | { dict: [string, Py2Value][] } | { u8: Uint8Array; shape: [number, number] };

/**
 * Pickle `v` the way Python 2's cPickle (protocol 2) writes the official CIFAR python files:
 * str as SHORT_BINSTRING/BINSTRING, numpy arrays via numpy.core.multiarray._reconstruct + BUILD.
 */
export function py2Pickle(v: Py2Value): Uint8Array {
  const out: number[] = [0x80, 2];
  const bytes = (b: ArrayLike<number>) => { for (let i = 0; i < b.length; i++) out.push(b[i]!); };
  const u32 = (n: number) => out.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
  const str = (s: string | Uint8Array) => {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    if (b.length < 256) { out.push(0x55, b.length); } else { out.push(0x54); u32(b.length); }
    bytes(b);
  };
  const int = (n: number) => {
    if (n >= 0 && n < 256) out.push(0x4b, n);
    else if (n >= 0 && n < 65536) out.push(0x4d, n & 255, n >> 8);
    else { out.push(0x4a); u32(n >>> 0); }
  };
  const global = (mod: string, name: string) => { out.push(0x63); bytes(Buffer.from(`${mod}\n${name}\n`)); };
  const emit = (x: Py2Value): void => {
    if (typeof x === 'number') return int(x);
    if (Array.isArray(x)) { out.push(0x5d, 0x28); x.forEach(emit); out.push(0x65); return; }
    if ('str' in x) return str(x.str);
    if ('dict' in x) { out.push(0x7d, 0x28); for (const [k, val] of x.dict) { str(k); emit(val); } out.push(0x75); return; }
    global('numpy.core.multiarray', '_reconstruct');
    global('numpy', 'ndarray');
    int(0); out.push(0x85); str('b'); out.push(0x87, 0x52);
    out.push(0x28); int(1); int(x.shape[0]); int(x.shape[1]); out.push(0x86);
    global('numpy', 'dtype'); str('u1'); int(0); int(1); out.push(0x87, 0x52);
    out.push(0x28); int(3); str('|'); out.push(0x4e, 0x4e, 0x4e); int(-1); int(-1); int(0); out.push(0x74, 0x62);
    out.push(0x89); str(x.u8); out.push(0x74, 0x62);
  };
  emit(v);
  out.push(0x2e);
  return Uint8Array.from(out);
}

/** Official-layout python-version files of a tiny CIFAR-10 or CIFAR-100 (same pixels as binaryFiles). */
export function pythonFiles(variant: 'cifar10' | 'cifar100', perBatch = 4): { name: string; data: Uint8Array }[] {
  const batch = (first: number, n: number, name: string): { name: string; data: Uint8Array } => {
    const u8 = new Uint8Array(n * 3072);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const g = first + i;
      for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) u8[i * 3072 + c * 1024 + p] = pixel(g, c, p);
      labels.push(labelOf(g, variant === 'cifar10' ? 10 : 100));
    }
    const labelEntries: [string, Py2Value][] = variant === 'cifar10' ? [['labels', labels]] : [['fine_labels', labels], ['coarse_labels', labels.map((y) => y % 20)]];
    return { name, data: py2Pickle({ dict: [['batch_label', { str: name }], ['data', { u8, shape: [n, 3072] }], ...labelEntries, ['filenames', labels.map((_, i) => ({ str: `img_${first + i}.png` }))]] }) };
  };
  if (variant === 'cifar10') {
    const out = [1, 2, 3, 4, 5].map((b) => batch((b - 1) * perBatch, perBatch, `data_batch_${b}`));
    out.push(batch(1000, perBatch, 'test_batch'));
    const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    out.push({ name: 'batches.meta', data: py2Pickle({ dict: [['num_cases_per_batch', perBatch], ['label_names', names.map((s) => ({ str: s }))], ['num_vis', 3072]] }) });
    return out;
  }
  return [
    batch(0, perBatch * 5, 'train'),
    batch(1000, perBatch, 'test'),
    { name: 'meta', data: py2Pickle({ dict: [['fine_label_names', Array.from({ length: 100 }, (_, i) => ({ str: `fine${i}` }))], ['coarse_label_names', Array.from({ length: 20 }, (_, i) => ({ str: `coarse${i}` }))]] }) },
  ];
}
