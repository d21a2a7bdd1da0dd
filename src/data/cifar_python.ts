/**
 * CIFAR python version: each file is a pickled dict (written by Python 2's cPickle, so its keys
 * and strings are Python 2 str = bytes) holding
 *   data         numpy uint8 N × 3072, rows CHW like the binary version
 *   labels       list of N ints (CIFAR-10)   | fine_labels, coarse_labels (CIFAR-100)
 *   batch_label, filenames                  (unused)
 * and the meta files `batches.meta` (label_names) / `meta` (fine_label_names, coarse_label_names).
 */
import { unpickle, dictGet, type PickleValue } from '../io/pickle.ts';
import { isNdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';
import { CIFAR_URL, CIFAR_PIXELS, type CifarVariant } from './cifar.ts';

function load(buf: Uint8Array, file: string, what: string): PickleValue {
  let v: PickleValue;
  try {
    v = unpickle(buf, { source: file });
  } catch (e) {
    throw new CbdmError(`${file}: cannot read it as a pickled CIFAR ${what} (${(e as Error).message}); the file is truncated or not from the CIFAR python version — download it again from ${CIFAR_URL}`);
  }
  if (!(v instanceof Map)) throw new CbdmError(`${file}: expected a pickled dict (CIFAR python ${what}), found something else; download it again from ${CIFAR_URL}`);
  return v;
}

function keysOf(v: PickleValue): string {
  if (!(v instanceof Map)) return '';
  return [...v.keys()].map((k) => (k instanceof Uint8Array ? Buffer.from(k).toString('latin1') : String(k))).join(', ');
}

/** Decode one pickled batch dict into CHW uint8 images and labels. */
export function decodePythonBatch(buf: Uint8Array, variant: CifarVariant, file: string, numClasses: number): { images: Uint8Array; labels: Int32Array } {
  const d = load(buf, file, 'batch');
  const labelKey = variant === 'cifar10' ? 'labels' : 'fine_labels';
  const data = dictGet(d, 'data');
  const labelsV = dictGet(d, labelKey);
  if (data === undefined || labelsV === undefined) throw new CbdmError(`${file}: a ${variant} python batch needs keys "data" and "${labelKey}", found: ${keysOf(d)}`);
  if (!isNdArray(data) || data.dtype !== 'uint8' || data.shape.length !== 2 || data.shape[1] !== CIFAR_PIXELS) {
    const got = isNdArray(data) ? `${data.dtype} array of shape [${data.shape.join(', ')}]` : typeof data;
    throw new CbdmError(`${file}: "data" must be a uint8 array of shape [N, ${CIFAR_PIXELS}], got ${got}`);
  }
  const n = data.shape[0]!;
  let raw: ArrayLike<unknown>;
  if (Array.isArray(labelsV)) raw = labelsV;
  else if (isNdArray(labelsV) && labelsV.shape.length === 1 && labelsV.dtype !== 'int64') raw = labelsV.data as ArrayLike<number>;
  else if (isNdArray(labelsV) && labelsV.dtype === 'int64') raw = Array.from(labelsV.data as BigInt64Array, Number);
  else throw new CbdmError(`${file}: "${labelKey}" must be a list of ints`);
  if (raw.length !== n) throw new CbdmError(`${file}: ${n} images but ${raw.length} ${labelKey}; the file is damaged — download it again from ${CIFAR_URL}`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = raw[i];
    if (typeof y !== 'number' || !Number.isInteger(y) || y < 0 || y >= numClasses) throw new CbdmError(`${file}: ${labelKey}[${i}] = ${String(y)} is not a class of ${variant} (0..${numClasses - 1})`);
    labels[i] = y;
  }
  return { images: new Uint8Array(data.data as Uint8Array), labels };
}

/** Class names from a pickled meta dict (`label_names` / `fine_label_names`). */
export function decodePythonMeta(buf: Uint8Array, variant: CifarVariant, file: string): string[] {
  const d = load(buf, file, 'meta file');
  const key = variant === 'cifar10' ? 'label_names' : 'fine_label_names';
  const v = dictGet(d, key);
  if (!Array.isArray(v)) throw new CbdmError(`${file}: expected a list "${key}", found keys: ${keysOf(d)}`);
  return v.map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('latin1') : String(x)));
}
