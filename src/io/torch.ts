/**
 * PyTorch checkpoints (`torch.save`) read without Python, through the safe unpickler.
 *
 * Two layouts exist:
 *  - zip (torch ≥ 1.6): `<prefix>/data.pkl` is the object pickle; each storage is the raw file
 *    `<prefix>/data/<key>`; `<prefix>/byteorder` ('little' | 'big', absent = little) on newer
 *    versions. Persistent ids are ('storage', StorageType, key, location, numel).
 *  - legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`): consecutive pickles —
 *    magic number 0x1950a86a20f9469cfc6c, protocol version 1001, sys_info dict, the object
 *    pickle (persistent ids ('storage', StorageType, key, location, numel, view_metadata)),
 *    the list of storage keys — then per key an int64 LE element count and the raw elements.
 *
 * Tensors come out as NdArray copies in C order (storage offset and strides applied), so views
 * sharing one storage become independent arrays. Parameters come out as their data.
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import { type NdArray, type NdData, type NdDType, dataFromBytes, gatherStrided, isNdArray, itemSize, numel } from './ndarray.ts';
import {
  PyGlobal, PyObject, dictKeyNames, unpickle, unpickleAt, type PickleCallable, type PickleDict, type PickleValue,
} from './pickle.ts';
import { readZip } from './zip.ts';
import { readSafetensors } from './safetensors.ts';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

const STORAGE_DTYPES: Record<string, NdDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** A torch storage: a typed buffer that tensors view. Legacy files fill `data` after the object pickle. */
export class TorchStorage extends PyObject {
  /** `view` marks a legacy storage view: elements [offset, offset+size) of `root`. */
  constructor(
    readonly dtype: NdDType,
    readonly key: string,
    readonly numel: number,
    public data: NdData | null,
    readonly view: { root: TorchStorage; offset: number; size: number } | null = null,
  ) {
    super('torch.storage');
  }
  /** The elements, once loaded. */
  elements(source: string): NdData {
    if (this.view) {
      const root = this.view.root.elements(source);
      return root.subarray(this.view.offset, this.view.offset + this.view.size) as NdData;
    }
    if (!this.data) throw new CbdmError(`${source}: storage '${this.key}' has no data (file truncated or corrupt)`);
    return this.data;
  }
}

/** Options for `loadTorch`. */
export interface LoadTorchOptions {
  /** Names the file in error messages. */
  source?: string;
}

/** Tensors whose data is copied from their storage once all storages are read. */
interface PendingTensor {
  target: NdArray;
  storage: TorchStorage;
  offset: number;
  shape: number[];
  stride: number[];
}

function intList(v: PickleValue, what: string, source: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isInteger(d))) {
    throw new CbdmError(`${source}: tensor ${what} is not a tuple of ints`);
  }
  return v as number[];
}

/** The allow-listed PyTorch globals, building into `pending`. */
function torchGlobals(pending: PendingTensor[], source: string): Record<string, PickleCallable | null> {
  const rebuild: PickleCallable = (args) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof TorchStorage)) throw new CbdmError(`${source}: tensor built from ${String(storage)} instead of a storage`);
    if (typeof offset !== 'number') throw new CbdmError(`${source}: tensor storage offset is not an int`);
    const shape = intList(size ?? null, 'size', source);
    const strides = intList(stride ?? null, 'stride', source);
    if (strides.length !== shape.length) throw new CbdmError(`${source}: tensor size and stride differ in length`);
    const target: NdArray = { dtype: storage.dtype, shape, data: new Uint8Array(0) };
    pending.push({ target, storage, offset, shape, stride: strides });
    return target;
  };
  const parameter: PickleCallable = (args) => {
    if (!isNdArray(args[0])) throw new CbdmError(`${source}: parameter wraps something other than a tensor`);
    return args[0];
  };
  const g: Record<string, PickleCallable | null> = {
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_parameter': parameter,
    'torch._utils._rebuild_parameter_with_state': parameter,
    'torch.storage._load_from_bytes': (args) => {
      const b = args[0];
      if (!(b instanceof Uint8Array)) throw new CbdmError(`${source}: _load_from_bytes without bytes`);
      const s = loadTorch(b, { source: `${source} (embedded storage)` });
      if (!(s instanceof TorchStorage)) throw new CbdmError(`${source}: embedded storage did not hold a storage`);
      return s;
    },
  };
  for (const name of Object.keys(STORAGE_DTYPES)) g[`torch.${name}`] = null;
  return g;
}

function storageDType(t: PickleValue, source: string): NdDType {
  const dtype = t instanceof PyGlobal && t.module === 'torch' ? STORAGE_DTYPES[t.name] : undefined;
  if (!dtype) {
    throw new CbdmError(`${source}: storage type ${t instanceof PyObject ? t.pyClass : String(t)} is not supported (cbdm reads ${Object.keys(STORAGE_DTYPES).join(', ')})`);
  }
  return dtype;
}

function finish(pending: PendingTensor[], source: string): void {
  for (const p of pending) {
    const data = p.storage.elements(source);
    p.target.data = gatherStrided(data, p.offset, p.shape, p.stride);
    if (p.target.data.length !== numel(p.shape)) throw new CbdmError(`${source}: tensor data size mismatch`);
  }
}

/** Load a `torch.save` file's bytes (zip or legacy format); tensors come out as NdArray. */
export function loadTorch(bytes: Uint8Array, opts: LoadTorchOptions = {}): PickleValue {
  const source = opts.source ?? 'PyTorch file';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return loadZipFormat(bytes, source);
  }
  if (bytes.length >= 2 && bytes[0] === 0x80) return loadLegacyFormat(bytes, source);
  if (bytes.length > 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new CbdmError(`${source}: this is PyTorch's pre-0.4 tar checkpoint format, which cbdm does not read; re-save it with a newer torch (torch.save(torch.load(f), f))`);
  }
  throw new CbdmError(`${source}: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream)`);
}

function loadZipFormat(bytes: Uint8Array, source: string): PickleValue {
  const files = readZip(bytes, source);
  const pkl = [...files.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    throw new CbdmError(`${source}: zip archive is not a PyTorch checkpoint (expected one '<name>/data.pkl', found ${pkl.length ? pkl.join(', ') : 'none'})`);
  }
  const prefix = pkl[0]!.slice(0, -'data.pkl'.length);
  const order = files.get(`${prefix}byteorder`);
  const orderText = order ? Buffer.from(order).toString('latin1').trim() : 'little';
  if (orderText !== 'little' && orderText !== 'big') throw new CbdmError(`${source}: unknown byteorder '${orderText}'`);
  const storages = new Map<string, TorchStorage>();
  const pending: PendingTensor[] = [];
  const value = unpickle(files.get(pkl[0]!)!, {
    source: `${source} (${pkl[0]})`,
    globals: torchGlobals(pending, source),
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new CbdmError(`${source}: unknown persistent id ${String(pid)}`);
      const key = String(pid[2]);
      const cached = storages.get(key);
      if (cached) return cached;
      const dtype = storageDType(pid[1]!, source);
      const raw = files.get(`${prefix}data/${key}`);
      if (!raw) throw new CbdmError(`${source}: storage file '${prefix}data/${key}' is missing from the archive`);
      const n = Number(pid[4]);
      if (raw.length < n * itemSize(dtype)) {
        throw new CbdmError(`${source}: storage '${key}' has ${raw.length} bytes, ${n} ${dtype} elements need ${n * itemSize(dtype)}`);
      }
      const s = new TorchStorage(dtype, key, n, dataFromBytes(dtype, raw.subarray(0, n * itemSize(dtype)), orderText === 'little'));
      storages.set(key, s);
      return s;
    },
  });
  finish(pending, source);
  return value;
}

function loadLegacyFormat(bytes: Uint8Array, source: string): PickleValue {
  const at = (offset: number, what: string, extra: Parameters<typeof unpickleAt>[2] = {}): { value: PickleValue; end: number } => {
    try {
      return unpickleAt(bytes, offset, { source: `${source} (${what})`, ...extra });
    } catch (e) {
      if (offset === 0) throw new CbdmError(`${source}: not a PyTorch checkpoint (${(e as Error).message})`);
      throw e;
    }
  };
  const magic = at(0, 'magic number');
  if (magic.value !== LEGACY_MAGIC) throw new CbdmError(`${source}: not a PyTorch checkpoint (a pickle, but without torch's magic number)`);
  const proto = at(magic.end, 'protocol version');
  if (proto.value !== LEGACY_PROTOCOL) throw new CbdmError(`${source}: unsupported legacy PyTorch protocol ${String(proto.value)} (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = at(proto.end, 'sys_info');
  const storages = new Map<string, TorchStorage>();
  const pending: PendingTensor[] = [];
  const main = at(sysInfo.end, 'object pickle', {
    globals: torchGlobals(pending, source),
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid.length < 5) throw new CbdmError(`${source}: unknown persistent id ${String(pid)}`);
      if (pid[0] === 'module') throw new CbdmError(`${source}: the checkpoint pickles a whole nn.Module; cbdm reads state dicts (save model.state_dict())`);
      if (pid[0] !== 'storage') throw new CbdmError(`${source}: unknown persistent id type ${String(pid[0])}`);
      const dtype = storageDType(pid[1]!, source);
      const key = String(pid[2]);
      let root = storages.get(key);
      if (!root) {
        root = new TorchStorage(dtype, key, Number(pid[4]), null);
        storages.set(key, root);
      }
      const view = pid[5];
      if (Array.isArray(view) && view.length === 3) {
        const viewKey = `${String(view[0])}`;
        let v = storages.get(`view:${viewKey}`);
        if (!v) {
          v = new TorchStorage(dtype, viewKey, Number(view[2]), null, { root, offset: Number(view[1]), size: Number(view[2]) });
          storages.set(`view:${viewKey}`, v);
        }
        return v;
      }
      return root;
    },
  });
  const keys = at(main.end, 'storage keys');
  if (!Array.isArray(keys.value)) throw new CbdmError(`${source}: legacy checkpoint's storage key list is missing`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const k of keys.value) {
    const key = String(k);
    const s = storages.get(key);
    if (!s) throw new CbdmError(`${source}: storage '${key}' is listed but never used`);
    if (pos + 8 > bytes.length) throw new CbdmError(`${source}: file truncated before storage '${key}'`);
    const count = Number(dv.getBigInt64(pos, true));
    const nbytes = count * itemSize(s.dtype);
    pos += 8;
    if (count < 0 || pos + nbytes > bytes.length) {
      throw new CbdmError(`${source}: file truncated inside storage '${key}' (${count} ${s.dtype} elements need ${nbytes} bytes, ${bytes.length - pos} remain)`);
    }
    s.data = dataFromBytes(s.dtype, bytes.subarray(pos, pos + nbytes), true);
    pos += nbytes;
  }
  finish(pending, source);
  return main.value;
}

/**
 * Flatten nested dicts / OrderedDicts (and lists) of tensors into "a.b.c" names, in order.
 * Values that are not tensors (ints, floats, strings, None) are skipped.
 */
export function stateDict(obj: PickleValue, prefix = ''): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  const seen = new Set<object>(); // pickles can hold cycles (a list containing itself)
  const walk = (v: PickleValue, name: string): void => {
    if (isNdArray(v)) out.set(name, v);
    else if ((v instanceof Map || Array.isArray(v)) && seen.has(v)) return;
    else if (v instanceof Map) {
      seen.add(v);
      for (const [k, child] of v) walk(child, name ? `${name}.${keyText(k)}` : keyText(k));
    } else if (Array.isArray(v)) {
      seen.add(v);
      v.forEach((child, i) => walk(child, name ? `${name}.${i}` : String(i)));
    }
  };
  walk(obj, prefix);
  return out;
}

function keyText(k: PickleValue): string {
  return k instanceof Uint8Array ? Buffer.from(k).toString('latin1') : String(k);
}

/** True when the bytes start like a safetensors file (u64 header length, then '{'). */
function looksLikeSafetensors(b: Uint8Array): boolean {
  if (b.length < 9 || b[8] !== 0x7b) return false;
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(b.length - 8);
}

/**
 * Load a state dict from a PyTorch checkpoint file (zip or legacy) or a safetensors file. With
 * `entry` (e.g. 'ema_model' or 'net_model' of a CBDM checkpoint) that entry is taken (for
 * safetensors: the tensors named '<entry>.*'); without it the file must itself be a state dict
 * (a dict with tensor values). Errors list the entries that exist.
 */
export function loadStateDictFile(path: string, entry?: string): Map<string, NdArray> {
  return stripDataParallelPrefix(readStateDictFile(path, entry));
}

/**
 * A model saved while wrapped in `torch.nn.DataParallel` (or DistributedDataParallel) has every
 * name prefixed `module.` (torch/nn/parallel/data_parallel.py keeps the wrapped model as
 * `self.module`); the prefix goes when every name has it, as with
 * `consume_prefix_in_state_dict_if_present(sd, 'module.')` in torch/nn/modules/utils.py.
 */
export function stripDataParallelPrefix(sd: Map<string, NdArray>): Map<string, NdArray> {
  const keys = [...sd.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith('module.'))) return sd;
  return new Map([...sd].map(([k, v]) => [k.slice('module.'.length), v]));
}

function readStateDictFile(path: string, entry?: string): Map<string, NdArray> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new CbdmError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  // By name too: a .safetensors file with a broken header is reported as a safetensors problem.
  if (path.endsWith('.safetensors') || looksLikeSafetensors(bytes)) {
    const all = readSafetensors(bytes, path).tensors;
    if (entry === undefined) return all;
    const picked = new Map([...all].filter(([k]) => k.startsWith(`${entry}.`)).map(([k, v]) => [k.slice(entry.length + 1), v]));
    if (picked.size === 0) {
      const tops = [...new Set([...all.keys()].map((k) => k.split('.')[0]))];
      throw new CbdmError(`${path}: no tensors named '${entry}.*'; top-level names: ${tops.join(', ')}`);
    }
    return picked;
  }
  const obj = loadTorch(bytes, { source: path });
  if (!(obj instanceof Map)) throw new CbdmError(`${path}: checkpoint holds ${describeTop(obj)}, not a dict of tensors`);
  const entries = describeEntries(obj);
  if (entry !== undefined) {
    const names = dictKeyNames(obj);
    const i = names.indexOf(entry);
    if (i < 0) throw new CbdmError(`${path}: checkpoint has no entry '${entry}'; available: ${entries}`);
    const chosen = [...obj.values()][i]!;
    if (!(chosen instanceof Map)) throw new CbdmError(`${path}: entry '${entry}' is ${describeTop(chosen)}, not a state dict; available: ${entries}`);
    return stateDict(chosen);
  }
  const direct = obj.size > 0 && [...obj.values()].every((v) => isNdArray(v));
  if (!direct) {
    throw new CbdmError(`${path}: checkpoint is not a plain state dict; choose an entry (available: ${entries}), e.g. 'ema_model' for sampling`);
  }
  return stateDict(obj);
}

function describeTop(v: PickleValue): string {
  if (isNdArray(v)) return 'a single tensor';
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return 'a list';
  return v === null ? 'None' : typeof v;
}

function describeEntries(d: PickleDict): string {
  const names = dictKeyNames(d);
  return [...d.values()].map((v, i) => {
    const n = v instanceof Map ? stateDict(v).size : 0;
    return n > 0 ? `${names[i]} (${n} tensors)` : `${names[i]} (${describeTop(v)})`;
  }).join(', ');
}
