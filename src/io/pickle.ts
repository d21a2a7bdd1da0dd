/**
 * A minimal, safe unpickler (protocols 0–5) for the data cbdm exchanges with Python: CIFAR's
 * python-version batches, NumPy arrays, PyTorch checkpoints (via `torch.ts`).
 *
 * Safety: a pickle can name any Python callable. This unpickler resolves GLOBAL/STACK_GLOBAL/INST
 * only through an allow-list (`pickle_globals.ts`, plus `opts.globals` from the caller), each
 * entry a TypeScript function written for it; every other global throws a CbdmError. Nothing in
 * a pickle is ever executed.
 *
 * How Python values come out (PickleValue):
 *   None → null; bool → boolean; int → number when |v| ≤ 2^53−1, else bigint; float → number;
 *   str → string; bytes/bytearray → Uint8Array; Python 2 str (STRING opcodes, as written by
 *   Python 2 cPickle, e.g. CIFAR's python batches) → Uint8Array with encoding 'bytes' (default)
 *   or a latin1-decoded string with encoding 'latin1'; list and tuple → array; set/frozenset →
 *   Set; dict and OrderedDict → Map (insertion order kept).
 *   Dict keys are converted values: a str key is found with `map.get('data')`, but a bytes key is
 *   a Uint8Array (compared by identity), so use `dictGet(d, 'data')`, which accepts either.
 *   numpy.ndarray → NdArray (C order); numpy scalar → number/bigint/boolean; numpy.dtype →
 *   NpDType; allow-listed globals used as values (e.g. `numpy.ndarray`) → PyGlobal.
 */
import { CbdmError } from '../util/errors.ts';
import { type NdArray, isNdArray } from './ndarray.ts';
import {
  PyGlobal, PyObject, type PickleCallable, type PickleDict, type PickleValue, type PySettable,
  bytesToLatin1, decodeLong, describe, normInt,
} from './pickle_types.ts';
import { BUILTIN_GLOBALS, NpDType, numpySetState, pendingArrays } from './pickle_globals.ts';

export { PyGlobal, PyObject, NpDType, type PickleCallable, type PickleDict, type PickleValue, type PySettable };

/** Options for `unpickle`. */
export interface UnpickleOptions {
  /** Resolves persistent ids (PERSID/BINPERSID), e.g. PyTorch storages. Without it they throw. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** How Python 2 str objects come out: raw bytes (default) or latin1-decoded strings. */
  encoding?: 'bytes' | 'latin1';
  /** Extra allow-listed globals, keyed 'module.name' (torch.ts passes PyTorch's). */
  globals?: Record<string, PickleCallable | null>;
  /** Names the file in error messages. */
  source?: string;
}

/** Look up a dict entry by a str key or by the bytes key with the same latin1 text. */
export function dictGet(d: PickleValue | undefined, key: string): PickleValue | undefined {
  if (!(d instanceof Map)) return undefined;
  if (d.has(key)) return d.get(key);
  for (const [k, v] of d) if (k instanceof Uint8Array && bytesToLatin1(k) === key) return v;
  return undefined;
}

/** A dict's keys as text (bytes keys decoded as latin1), for listings and error messages. */
export function dictKeyNames(d: PickleDict): string[] {
  return [...d.keys()].map((k) => (k instanceof Uint8Array ? bytesToLatin1(k) : String(k)));
}

/** Python attributes that BUILD set on dicts (e.g. the `_metadata` of a torch state_dict). */
export const pyAttributes = new WeakMap<object, PickleDict>();

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

/** Unpickle `buf` safely (see the module comment). Throws CbdmError for anything it refuses. */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions = {}): PickleValue {
  return new Unpickler(buf, opts, 0).run();
}

/** Unpickle one pickle that starts at `offset`; `end` is the offset just past its STOP. */
export function unpickleAt(buf: Uint8Array, offset: number, opts: UnpickleOptions = {}): { value: PickleValue; end: number } {
  const u = new Unpickler(buf, opts, offset);
  const value = u.run();
  return { value, end: u.offset };
}

class Unpickler {
  private pos = 0;
  private stack: Slot[] = [];
  private memo = new Map<number, PickleValue>();
  private readonly src: string;
  private readonly dv: DataView;

  constructor(private readonly buf: Uint8Array, private readonly opts: UnpickleOptions, start: number) {
    this.pos = start;
    this.src = opts.source ?? 'pickle';
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Current read position. */
  get offset(): number { return this.pos; }

  private fail(msg: string): never {
    throw new CbdmError(`${this.src}: ${msg}`);
  }

  private need(n: number, what: string): number {
    if (this.pos + n > this.buf.length) this.fail(`truncated: needed ${n} more bytes for ${what} at offset ${this.pos} of ${this.buf.length}`);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  private u8(): number { return this.buf[this.need(1, 'an argument')]!; }
  private u16(): number { return this.dv.getUint16(this.need(2, 'an argument'), true); }
  private i32(): number { return this.dv.getInt32(this.need(4, 'an argument'), true); }
  private u32(): number { return this.dv.getUint32(this.need(4, 'an argument'), true); }
  private u64(): number {
    const p = this.need(8, 'a length');
    const v = this.dv.getBigUint64(p, true);
    if (v > BigInt(this.buf.length)) this.fail(`truncated: length ${v} at offset ${p} exceeds the data`);
    return Number(v);
  }
  private bytes(n: number): Uint8Array {
    const p = this.need(n, 'a string/bytes body');
    return new Uint8Array(this.buf.subarray(p, p + n)); // a plain copy, even when buf is a Buffer
  }
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`truncated: unterminated text argument at offset ${this.pos}`);
    const s = bytesToLatin1(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private utf8(n: number): string {
    return Buffer.from(this.bytes(n)).toString('utf8');
  }

  private push(v: PickleValue): void { this.stack.push(v); }
  private pop(): PickleValue {
    const v = this.stack.pop();
    if (v === undefined || v === MARK) this.fail('malformed: stack underflow');
    return v;
  }
  private top(): PickleValue {
    const v = this.stack[this.stack.length - 1];
    if (v === undefined || v === MARK) this.fail('malformed: empty stack');
    return v;
  }
  private popMark(): PickleValue[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) this.fail('malformed: no MARK on the stack');
    const items = this.stack.slice(i + 1) as PickleValue[];
    this.stack.length = i;
    return items;
  }
  private py2str(b: Uint8Array): PickleValue {
    return this.opts.encoding === 'latin1' ? bytesToLatin1(b) : b;
  }

  private resolveGlobal(module: string, name: string): PyGlobal {
    const key = `${module}.${name}`;
    const extra = this.opts.globals;
    if (extra && Object.hasOwn(extra, key)) return new PyGlobal(module, name, extra[key]!);
    if (Object.hasOwn(BUILTIN_GLOBALS, key)) return new PyGlobal(module, name, BUILTIN_GLOBALS[key]!);
    const hint = module.startsWith('torch') && !Object.keys(extra ?? {}).some((k) => k.startsWith('torch')) ? ' (load PyTorch files with loadTorch)' : '';
    this.fail(`pickle refers to global ${key} which cbdm does not load; only plain data, NumPy arrays and PyTorch tensors are read, because unpickling arbitrary objects can run arbitrary code${hint}`);
  }

  private call(fn: PickleValue, args: PickleValue, op: string): PickleValue {
    if (!(fn instanceof PyGlobal)) this.fail(`malformed: ${op} on ${describe(fn)}, not a callable`);
    if (!fn.call) this.fail(`${op} of ${fn.pyClass} is not supported`);
    if (!Array.isArray(args)) this.fail(`malformed: ${op} arguments are ${describe(args)}, not a tuple`);
    return fn.call(args);
  }

  private build(obj: PickleValue, state: PickleValue): void {
    if (typeof obj === 'object' && obj !== null && pendingArrays.has(obj)) {
      numpySetState(obj as NdArray, state);
    } else if (obj instanceof PyObject && typeof (obj as Partial<PySettable>).setState === 'function') {
      (obj as unknown as PySettable).setState(state);
    } else if (obj instanceof Map) {
      // OrderedDict state: (instance dict or None[, slots]); torch keeps `_metadata` here.
      const attrs = Array.isArray(state) ? state[0] : state;
      if (attrs instanceof Map) pyAttributes.set(obj, attrs);
    } else if (!isNdArray(obj) || state !== null) {
      this.fail(`BUILD (setstate) on ${describe(obj)} is not supported`);
    }
  }

  private setItems(d: PickleValue, kv: PickleValue[]): void {
    if (!(d instanceof Map)) this.fail(`malformed: SETITEM(S) on ${describe(d)}`);
    if (kv.length % 2) this.fail('malformed: odd number of items for SETITEMS');
    for (let i = 0; i < kv.length; i += 2) d.set(kv[i]!, kv[i + 1]!);
  }

  private memoGet(i: number): PickleValue {
    if (!this.memo.has(i)) this.fail(`malformed: memo entry ${i} read before it was written`);
    return this.memo.get(i)!;
  }

  private persistent(pid: PickleValue): PickleValue {
    if (!this.opts.persistentLoad) this.fail('pickle uses persistent ids (is it a PyTorch checkpoint? load it with loadTorch)');
    return this.opts.persistentLoad(pid);
  }

  run(): PickleValue {
    for (;;) {
      if (this.pos >= this.buf.length) this.fail(`truncated: reached the end (${this.buf.length} bytes) without a STOP opcode`);
      const at = this.pos;
      const op = this.buf[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`pickle protocol ${v} is newer than 5, the newest cbdm reads`);
          break;
        }
        case 0x95: this.u64(); break; // FRAME: length only, data follows inline
        case 0x2e: return this.pop(); // STOP
        case 0x28: this.stack.push(MARK); break;
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break;
        case 0x88: this.push(true); break;
        case 0x89: this.push(false); break;
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(decodeLong(this.bytes(this.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('malformed: negative LONG4 length');
          this.push(decodeLong(this.bytes(n)));
          break;
        }
        case 0x49: { // INT (text); I01/I00 are True/False
          const s = this.line();
          if (s === '01') this.push(true);
          else if (s === '00') this.push(false);
          else this.push(parseIntText(s, () => this.fail(`malformed INT '${s}'`)));
          break;
        }
        case 0x4c: { // LONG (text)
          const s = this.line().replace(/L$/, '');
          this.push(parseIntText(s, () => this.fail(`malformed LONG '${s}'`)));
          break;
        }
        case 0x46: this.push(parseFloatText(this.line())); break; // FLOAT (text)
        case 0x47: this.push(this.dv.getFloat64(this.need(8, 'BINFLOAT'), false)); break; // big-endian
        case 0x53: this.push(this.py2str(decodeStringEscape(this.line(), () => this.fail('malformed STRING')))); break;
        case 0x54: { // BINSTRING
          const n = this.i32();
          if (n < 0) this.fail('malformed: negative BINSTRING length');
          this.push(this.py2str(this.bytes(n)));
          break;
        }
        case 0x55: this.push(this.py2str(this.bytes(this.u8()))); break; // SHORT_BINSTRING
        case 0x42: this.push(this.bytes(this.u32())); break; // BINBYTES
        case 0x43: this.push(this.bytes(this.u8())); break; // SHORT_BINBYTES
        case 0x8e: this.push(this.bytes(this.u64())); break; // BINBYTES8
        case 0x96: this.push(this.bytes(this.u64())); break; // BYTEARRAY8
        case 0x56: this.push(decodeRawUnicodeEscape(this.line())); break; // UNICODE (text)
        case 0x58: this.push(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x97: case 0x98:
          this.fail('pickle uses out-of-band buffers (protocol 5 buffer_callback), which cbdm does not read; pickle without buffer_callback');
        // falls through (fail never returns)
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x74: this.push(this.popMark()); break; // TUPLE
        case 0x85: this.push([this.pop()]); break;
        case 0x86: { const b = this.pop(); const a = this.pop(); this.push([a, b]); break; }
        case 0x87: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.push([a, b, c]); break; }
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x61: { // APPEND
          const v = this.pop();
          const l = this.top();
          if (!Array.isArray(l)) this.fail(`malformed: APPEND to ${describe(l)}`);
          l.push(v);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          const l = this.top();
          if (!Array.isArray(l)) this.fail(`malformed: APPENDS to ${describe(l)}`);
          for (const v of items) l.push(v);
          break;
        }
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x64: { // DICT
          const d: PickleDict = new Map();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: { const v = this.pop(); const k = this.pop(); this.setItems(this.top(), [k, v]); break; }
        case 0x75: { const kv = this.popMark(); this.setItems(this.top(), kv); break; }
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.fail(`malformed: ADDITEMS to ${describe(s)}`);
          for (const v of items) s.add(v);
          break;
        }
        case 0x91: this.push(new Set(this.popMark())); break; // FROZENSET
        case 0x67: this.push(this.memoGet(Number.parseInt(this.line(), 10))); break; // GET
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x70: this.memo.set(Number.parseInt(this.line(), 10), this.top()); break; // PUT
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x63: { // GLOBAL
          const module = this.line();
          this.push(this.resolveGlobal(module, this.line()));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('malformed: STACK_GLOBAL needs two strings');
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x69: { // INST: module\nname\n, args after MARK
          const module = this.line();
          const g = this.resolveGlobal(module, this.line());
          this.push(this.call(g, this.popMark(), 'INST'));
          break;
        }
        case 0x6f: { // OBJ: MARK cls args...
          const items = this.popMark();
          if (items.length === 0) this.fail('malformed: OBJ without a class');
          this.push(this.call(items[0]!, items.slice(1), 'OBJ'));
          break;
        }
        case 0x52: { const args = this.pop(); const fn = this.pop(); this.push(this.call(fn, args, 'REDUCE')); break; }
        case 0x81: { const args = this.pop(); const cls = this.pop(); this.push(this.call(cls, args, 'NEWOBJ')); break; }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (kwargs instanceof Map && kwargs.size > 0) this.fail(`NEWOBJ_EX with keyword arguments for ${describe(cls)} is not supported`);
          this.push(this.call(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x62: { const state = this.pop(); this.build(this.top(), state); break; } // BUILD
        case 0x50: this.push(this.persistent(this.line())); break; // PERSID
        case 0x51: this.push(this.persistent(this.pop())); break; // BINPERSID
        case 0x82: case 0x83: case 0x84:
          this.fail('pickle uses the copyreg extension registry (EXT1/2/4), which cbdm does not read');
        // falls through (fail never returns)
        default:
          this.fail(`unknown or unsupported opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at} (not a pickle, or corrupt)`);
      }
    }
  }
}

function parseIntText(s: string, bad: () => never): number | bigint {
  if (!/^[+-]?\d+$/.test(s.trim())) bad();
  return normInt(BigInt(s.trim()));
}

function parseFloatText(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  return Number.parseFloat(t);
}

/** Python 2 STRING argument: a quoted repr with backslash escapes → raw bytes. */
function decodeStringEscape(s: string, bad: () => never): Uint8Array {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) bad();
  const body = s.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { out.push(c.charCodeAt(0) & 0xff); continue; }
    const e = body[++i];
    if (e === undefined) bad();
    if (e in simple) out.push(simple[e]!);
    else if (e === 'x') { out.push(Number.parseInt(body.slice(i + 1, i + 3), 16)); i += 2; }
    else if (/[0-7]/.test(e)) {
      let j = i;
      while (j < i + 3 && /[0-7]/.test(body[j] ?? '')) j++;
      out.push(Number.parseInt(body.slice(i, j), 8) & 0xff);
      i = j - 1;
    } else out.push(92, e.charCodeAt(0));
  }
  return new Uint8Array(out);
}

/** Python's raw-unicode-escape (UNICODE argument): \uXXXX and \UXXXXXXXX, other bytes latin1. */
function decodeRawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) =>
    String.fromCodePoint(Number.parseInt(u4 ?? u8!, 16)));
}
