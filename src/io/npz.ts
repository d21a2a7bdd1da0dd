/**
 * NumPy .npz archives: a zip of `<key>.npy` files (np.savez / np.savez_compressed). This is the
 * format of FID reference statistics (`mu`, `sigma`, float64) exchanged with pytorch-fid users.
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import type { NdArray } from './ndarray.ts';
import { encodeNpy, parseNpy } from './npy.ts';
import { encodeZip, readZip } from './zip.ts';

/** Options for writing .npz files. */
export interface NpzOptions {
  /** Deflate entries like np.savez_compressed (default false, like np.savez). */
  compressed?: boolean;
}

/**
 * Read an .npz file (path) or its bytes: key (entry name without `.npy`) → array.
 * Entries that are not .npy files are skipped, as np.load does for its key listing.
 */
export function readNpz(pathOrBytes: string | Uint8Array): Record<string, NdArray> {
  const source = typeof pathOrBytes === 'string' ? pathOrBytes : '.npz data';
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') {
    try {
      bytes = new Uint8Array(readFileSync(pathOrBytes));
    } catch (e) {
      throw new CbdmError(`cannot read ${pathOrBytes}: ${(e as Error).message}`);
    }
  } else bytes = pathOrBytes;
  const files = readZip(bytes, source);
  const out: Record<string, NdArray> = {};
  for (const [name, data] of files) {
    if (!name.endsWith('.npy')) continue;
    out[name.slice(0, -4)] = parseNpy(data, `${source} entry '${name}'`);
  }
  return out;
}

/** Encode arrays as .npz bytes that np.load reads (entries in key order given). */
export function encodeNpz(arrays: Record<string, NdArray>, opts: NpzOptions = {}): Uint8Array {
  const entries = Object.entries(arrays).map(([key, a]) => {
    if (key.length === 0 || key.includes('/')) throw new CbdmError(`npz key '${key}' is not a valid entry name`);
    return { name: `${key}.npy`, data: encodeNpy(a) };
  });
  return encodeZip(entries, { compress: opts.compressed === true });
}

/** Write arrays to an .npz file atomically. */
export function writeNpz(path: string, arrays: Record<string, NdArray>, opts: NpzOptions = {}): void {
  writeFileAtomic(path, encodeNpz(arrays, opts));
}

/** Look up one array of an .npz, with an error listing the keys that exist. */
export function npzGet(npz: Record<string, NdArray>, key: string, source = '.npz file'): NdArray {
  const a = npz[key];
  if (!a) throw new CbdmError(`${source} has no array '${key}' (it holds: ${Object.keys(npz).join(', ') || 'nothing'})`);
  return a;
}
