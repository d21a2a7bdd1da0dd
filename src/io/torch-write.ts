/**
 * Writing PyTorch state dicts: the zip format of `torch.save` (PyTorch ≥ 1.6), readable by
 * `torch.load` (also with weights_only=True) and by `loadTorch` in ./torch.ts.
 *
 * The archive holds `archive/data.pkl` (a protocol-2 pickle of an OrderedDict of name → tensor),
 * `archive/data/<k>` (each tensor's storage: raw little-endian float32), `archive/byteorder` and
 * `archive/version`. A tensor pickles as `torch._utils._rebuild_tensor_v2(storage, offset, size,
 * stride, requires_grad, backward_hooks)`, its storage as the persistent id
 * `('storage', torch.FloatStorage, key, 'cpu', numel)` — the layout `torch.save` writes
 * (pytorch/pytorch, torch/serialization.py `_save` and torch/_tensor.py `__reduce_ex__`).
 */
import { encodeZip } from './zip.ts';
import { CbdmError } from '../util/errors.ts';

/** A float32 tensor to save: row-major values of `shape`. */
export interface TorchTensorInput {
  shape: readonly number[];
  data: Float32Array;
}

// Pickle opcodes (Python's Lib/pickle.py).
const PROTO = 0x80, STOP = 0x2e, MARK = 0x28, TUPLE = 0x74, EMPTY_TUPLE = 0x29, REDUCE = 0x52;
const GLOBAL = 0x63, BINUNICODE = 0x58, BININT = 0x4a, NEWFALSE = 0x89, BINPERSID = 0x51, SETITEMS = 0x75;

/** A growable byte buffer with the pickle primitives a state dict needs. */
class PickleWriter {
  private bytes: number[] = [];

  op(code: number): this {
    this.bytes.push(code);
    return this;
  }

  global(module: string, name: string): this {
    this.op(GLOBAL);
    for (const b of Buffer.from(`${module}\n${name}\n`, 'ascii')) this.bytes.push(b);
    return this;
  }

  str(s: string): this {
    const utf8 = Buffer.from(s, 'utf8');
    this.op(BINUNICODE).u32(utf8.length);
    for (const b of utf8) this.bytes.push(b);
    return this;
  }

  int(v: number): this {
    if (!(Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff)) throw new CbdmError(`torch export: ${v} does not fit a 32-bit pickle integer`);
    this.op(BININT);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v, 0);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  tuple(values: readonly number[]): this {
    this.op(MARK);
    for (const v of values) this.int(v);
    return this.op(TUPLE);
  }

  /** An empty `collections.OrderedDict()`. */
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').op(EMPTY_TUPLE).op(REDUCE);
  }

  private u32(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Row-major strides of `shape`. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** `torch.save(state_dict)` bytes of float32 tensors, in the map's order. */
export function encodeTorchStateDict(tensors: ReadonlyMap<string, TorchTensorInput>, archive = 'archive'): Uint8Array {
  const p = new PickleWriter().op(PROTO).op(2).orderedDict().op(MARK);
  const storages: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new CbdmError(`torch export: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const key = String(storages.length);
    storages.push(new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)));
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(MARK);
    p.op(MARK).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(numel).op(TUPLE).op(BINPERSID);
    p.int(0).tuple(t.shape).tuple(contiguousStrides(t.shape)).op(NEWFALSE).orderedDict();
    p.op(TUPLE).op(REDUCE);
  }
  p.op(SETITEMS).op(STOP);
  if (new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) throw new CbdmError('torch export: this machine is big-endian; the storages would be written in the wrong byte order');
  return encodeZip([
    { name: `${archive}/data.pkl`, data: p.done() },
    { name: `${archive}/byteorder`, data: new Uint8Array(Buffer.from('little', 'ascii')) },
    ...storages.map((data, k) => ({ name: `${archive}/data/${k}`, data })),
    { name: `${archive}/version`, data: new Uint8Array(Buffer.from('3\n', 'ascii')) },
  ], { compress: false });
}
