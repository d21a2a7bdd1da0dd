/**
 * CIFAR python-version decoding (pickled dicts). Needs the pickle reader in src/io/pickle.ts.
 */
import { CbdmError } from '../util/errors.ts';
import type { CifarVariant } from './cifar.ts';

/** Decode one pickled batch dict into CHW uint8 images and labels. */
export function decodePythonBatch(buf: Uint8Array, variant: CifarVariant, file: string, numClasses: number): { images: Uint8Array; labels: Int32Array } {
  void buf; void numClasses;
  throw new CbdmError(`${file}: reading the ${variant} python version needs the pickle reader (src/io/pickle.ts), which is not available yet; use the binary version`);
}

/** Class names from a pickled meta dict. */
export function decodePythonMeta(buf: Uint8Array, variant: CifarVariant, file: string): string[] {
  void buf;
  throw new CbdmError(`${file}: reading the ${variant} python meta needs src/io/pickle.ts`);
}
