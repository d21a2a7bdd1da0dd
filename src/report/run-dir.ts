/**
 * Read and write run directories (docs/RUN_DIR.md). The reader validates every file it uses and
 * throws CbdmError naming the file, the field and the fix; the writers are what the trainer,
 * sampler and evaluator call, all atomic (temp file + rename) except the append-only JSONL.
 */
import { METHODS } from '../train/loss.ts';
import { SAMPLER_NAMES } from '../diffusion/samplers.ts';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readNpz, npzGet } from '../io/npz.ts';
import { toFloat32 } from '../io/ndarray.ts';
import { CLASS_GROUPS, classGroup } from '../data/groups.ts';
import { floatToUint8, gridPng } from '../io/png-grid.ts';
import { classFileName } from '../diffusion/samples-file.ts';
import type { EvalResult, MetricValues, PerClassEval, RunConfig, RunData, RunDataInfo, RunImage, RunMetricsRecord } from './run-dir-types.ts';

export type * from './run-dir-types.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new CbdmError(`${path} is missing: ${what}. Is this a cbdm run directory (see docs/RUN_DIR.md)?`);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CbdmError(`${path} is not valid JSON (${(e as Error).message}); the file is corrupt — rewrite it (re-run the step that made it)`);
  }
}

function bad(path: string, msg: string): CbdmError {
  return new CbdmError(`${path}: ${msg} (format: docs/RUN_DIR.md)`);
}

/** Validate a parsed config.json. */
export function parseRunConfig(v: unknown, path = 'config.json'): RunConfig {
  if (!isObj(v)) throw bad(path, 'expected a JSON object');
  const train = v.train;
  if (!isObj(train)) throw bad(path, "missing object 'train' (the resolved training config)");
  if (!(METHODS as readonly unknown[]).includes(train.method)) throw bad(path, `train.method must be one of ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(train.method)}`);
  for (const k of ['steps', 'batch', 'lr', 'tau', 'gamma', 'omegaEval', 'seed']) {
    if (train[k] !== undefined && typeof train[k] !== 'number') throw bad(path, `train.${k} must be a number, got ${JSON.stringify(train[k])}`);
  }
  if (v.model !== undefined && !isObj(v.model)) throw bad(path, "'model' must be an object");
  return v as RunConfig;
}

/** Validate a parsed data.json. */
export function parseRunData(v: unknown, path = 'data.json'): RunDataInfo {
  if (!isObj(v)) throw bad(path, 'expected a JSON object');
  if (typeof v.name !== 'string') throw bad(path, "'name' must be the dataset name (a string)");
  const names = v.classNames;
  const counts = v.counts;
  if (!Array.isArray(names) || !names.every((s) => typeof s === 'string')) throw bad(path, "'classNames' must be an array of strings");
  if (!Array.isArray(counts) || !counts.every((c) => Number.isInteger(c) && c >= 0)) throw bad(path, "'counts' must be an array of non-negative integers");
  if (names.length !== counts.length) throw bad(path, `${names.length} classNames but ${counts.length} counts`);
  if (names.length === 0) throw bad(path, 'no classes');
  return v as RunDataInfo;
}

function parseMetricValues(v: unknown, path: string, where: string): MetricValues {
  if (!isObj(v)) throw bad(path, `${where} must be an object of metric values`);
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x !== 'number') throw bad(path, `${where}.${k} must be a number or null, got ${JSON.stringify(x)}`);
  }
  return v as MetricValues;
}

/** Validate a parsed eval.json against the run's `numClasses`. */
export function parseEvalResult(v: unknown, numClasses: number, path = 'eval.json'): EvalResult {
  if (!isObj(v)) throw bad(path, 'expected a JSON object');
  const p = v.protocol;
  if (!isObj(p)) throw bad(path, "missing object 'protocol' (sampler, steps, omega, nPerClass, featureExtractor)");
  if (typeof p.sampler !== 'string' || !(SAMPLER_NAMES as string[]).includes(p.sampler)) throw bad(path, `protocol.sampler must be one of ${SAMPLER_NAMES.join(', ')}, got ${JSON.stringify(p.sampler)}`);
  for (const k of ['steps', 'omega', 'nPerClass']) if (typeof p[k] !== 'number') throw bad(path, `protocol.${k} must be a number`);
  if (p.eta !== undefined && typeof p.eta !== 'number') throw bad(path, 'protocol.eta must be a number');
  if (typeof p.featureExtractor !== 'string') throw bad(path, 'protocol.featureExtractor must name the feature network');
  parseMetricValues(v.overall, path, 'overall');
  if (!Array.isArray(v.perClass)) throw bad(path, "'perClass' must be an array");
  const seen = new Set<number>();
  v.perClass.forEach((row: unknown, i: number) => {
    if (!isObj(row)) throw bad(path, `perClass[${i}] must be an object`);
    const c = row.class;
    if (!(Number.isInteger(c) && (c as number) >= 0 && (c as number) < numClasses)) throw bad(path, `perClass[${i}].class must be a class index 0..${numClasses - 1}, got ${JSON.stringify(c)}`);
    if (seen.has(c as number)) throw bad(path, `class ${String(c)} appears twice in perClass`);
    seen.add(c as number);
    if (typeof row.name !== 'string') throw bad(path, `perClass[${i}].name must be a string`);
    if (!Number.isInteger(row.count)) throw bad(path, `perClass[${i}].count must be the class's training-image count`);
    if (!(CLASS_GROUPS as readonly unknown[]).includes(row.group)) throw bad(path, `perClass[${i}].group must be many, medium or few`);
    const { class: _c, name: _n, count: _k, group: _g, ...metrics } = row;
    parseMetricValues(metrics, path, `perClass[${i}]`);
  });
  if (!isObj(v.groups)) throw bad(path, "'groups' must be an object with many, medium, few");
  for (const g of CLASS_GROUPS) parseMetricValues(v.groups[g] ?? {}, path, `groups.${g}`);
  return v as EvalResult;
}

/**
 * Parse metrics.jsonl text. A last line without its newline that does not parse is a write cut
 * short by a crash: it is skipped with a warning. Any other bad line, and a step that does not
 * increase, is an error.
 */
export function parseMetricsJsonl(text: string, path = 'metrics.jsonl', warnings: string[] = []): RunMetricsRecord[] {
  const lines = text.split('\n');
  const out: RunMetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const last = i === lines.length - 1;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      if (last) {
        warnings.push(`${path}: skipped an incomplete last line (a write cut short)`);
        return;
      }
      throw bad(path, `line ${i + 1} is not valid JSON; remove or fix that line`);
    }
    if (!isObj(rec)) throw bad(path, `line ${i + 1} must be a JSON object`);
    if (typeof rec.step !== 'number' || typeof rec.loss !== 'number') throw bad(path, `line ${i + 1} needs numeric 'step' and 'loss'`);
    // Steps only increase: a repeated or earlier step means two runs wrote into one file (or a
    // resume that did not trim it), and the curves would be misread.
    const prev = out[out.length - 1];
    if (prev !== undefined && !(rec.step > prev.step)) throw bad(path, `line ${i + 1} has step ${rec.step} after step ${prev.step}; steps must increase (two runs wrote into this file?) — remove the stray lines or re-train into a new --out`);
    const clean: RunMetricsRecord = { step: rec.step, loss: rec.loss };
    for (const [k, x] of Object.entries(rec)) if (typeof x === 'number') clean[k] = x;
    out.push(clean);
  });
  return out;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Read a PNG file, checking its signature and reading its size from the IHDR chunk. */
export function readPngFile(path: string): RunImage {
  const png = new Uint8Array(readFileSync(path));
  const ok = png.length >= 24 && PNG_SIGNATURE.every((b, i) => png[i] === b) && String.fromCharCode(...png.subarray(12, 16)) === 'IHDR';
  if (!ok) throw new CbdmError(`${path} is not a PNG file; regenerate it (cbdm sample / eval)`);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { path, png, width: dv.getUint32(16), height: dv.getUint32(20) };
}

function readClassPngs(folder: string, numClasses: number, warnings: string[]): (RunImage | null)[] {
  const out: (RunImage | null)[] = new Array(numClasses).fill(null);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return out;
  for (const name of readdirSync(folder).sort()) {
    const m = /^class_(\d+)\.png$/.exec(name);
    if (!m) continue;
    const cls = Number(m[1]);
    if (cls >= numClasses) {
      warnings.push(`${join(folder, name)}: class ${cls} does not exist (${numClasses} classes); ignored`);
      continue;
    }
    out[cls] = readPngFile(join(folder, name));
  }
  return out;
}

/** Per-class grids (at most `perClass` images each) built from samples.npz (x: N×C×H×W in [0,1], y: N). */
export function gridsFromSamplesNpz(path: string, numClasses: number, perClass = 64): (RunImage | null)[] {
  const npz = readNpz(path);
  const x = npzGet(npz, 'x', path);
  const y = npzGet(npz, 'y', path);
  if (x.shape.length !== 4 || !(x.shape[1] === 1 || x.shape[1] === 3)) throw new CbdmError(`${path}: x must be N×C×H×W with C = 1 or 3, got shape [${x.shape.join(', ')}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new CbdmError(`${path}: y must hold ${n} labels, got shape [${y.shape.join(', ')}]`);
  const xs = toFloat32(x);
  const ys = toFloat32(y);
  const D = c * h * w;
  const out: (RunImage | null)[] = new Array(numClasses).fill(null);
  for (let cls = 0; cls < numClasses; cls++) {
    const idx: number[] = [];
    for (let i = 0; i < n && idx.length < perClass; i++) if (ys[i] === cls) idx.push(i);
    if (idx.length === 0) continue;
    const u8 = new Uint8Array(idx.length * D);
    idx.forEach((i, j) => u8.set(floatToUint8(xs.subarray(i * D, (i + 1) * D)), j * D));
    const cols = Math.ceil(Math.sqrt(idx.length));
    const png = gridPng(u8, { c, h, w }, { cols, scale: h <= 32 ? 2 : 1 });
    const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
    out[cls] = { path: `${path}#class_${cls}`, png: new Uint8Array(png), width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  return out;
}

/** Read a run directory: config.json and data.json are required; everything else is optional. */
export async function readRunDir(dir: string): Promise<RunData> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CbdmError(`run directory ${dir} does not exist; pass the --out folder of a 'cbdm train' run`);
  const warnings: string[] = [];
  const config = parseRunConfig(readJson(join(dir, 'config.json'), 'the resolved training config, written by cbdm train'), join(dir, 'config.json'));
  const data = parseRunData(readJson(join(dir, 'data.json'), 'the dataset summary, written by cbdm train'), join(dir, 'data.json'));
  const C = data.classNames.length;
  const metricsPath = join(dir, 'metrics.jsonl');
  const metrics = existsSync(metricsPath) ? parseMetricsJsonl(readFileSync(metricsPath, 'utf8'), metricsPath, warnings) : [];
  const evalPath = join(dir, 'eval.json');
  const ev = existsSync(evalPath) ? parseEvalResult(readJson(evalPath, 'evaluation results'), C, evalPath) : null;
  let samples = readClassPngs(join(dir, 'samples'), C, warnings);
  const npzPath = join(dir, 'samples.npz');
  if (samples.every((s) => s === null) && existsSync(npzPath)) samples = gridsFromSamplesNpz(npzPath, C);
  const nearest = readClassPngs(join(dir, 'nn'), C, warnings);
  return { dir, config, data, metrics, eval: ev, samples, nearest, warnings };
}

/** Write config.json (atomic). */
export function writeConfigJson(dir: string, config: RunConfig): void {
  parseRunConfig(config, join(dir, 'config.json'));
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

/** Write data.json (atomic). */
export function writeDataJson(dir: string, data: RunDataInfo): void {
  parseRunData(data, join(dir, 'data.json'));
  writeFileAtomic(join(dir, 'data.json'), JSON.stringify(data, null, 2) + '\n');
}

/** Append records to metrics.jsonl, one JSON object per line (non-finite numbers become null). */
export function appendMetrics(dir: string, recs: RunMetricsRecord | readonly RunMetricsRecord[]): void {
  const list = Array.isArray(recs) ? recs : [recs as RunMetricsRecord];
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'metrics.jsonl'), list.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Validate and write eval.json (atomic); non-finite metric values are stored as null. */
export function writeEvalJson(dir: string, ev: EvalResult): void {
  const path = join(dir, 'eval.json');
  const text = JSON.stringify(ev, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
  parseEvalResult(JSON.parse(text), Math.max(0, ...ev.perClass.map((r) => r.class + 1)), path);
  writeFileAtomic(path, text);
}

/** Per-class eval rows with identity fields filled from the dataset (count, group, name). */
export function perClassRow(cls: number, data: RunDataInfo, metrics: MetricValues): PerClassEval {
  const count = data.counts[cls];
  if (count === undefined) throw new CbdmError(`class ${cls} does not exist (${data.counts.length} classes)`);
  return { ...metrics, class: cls, name: data.classNames[cls]!, count, group: classGroup(count) };
}

/** Write samples/class_XXX.png (atomic). */
export function writeSampleGrid(dir: string, cls: number, png: Uint8Array): void {
  writeFileAtomic(join(dir, 'samples', classFileName(cls)), png);
}

/** Write nn/class_XXX.png, a nearest-training-image panel (atomic). */
export function writeNearestPanel(dir: string, cls: number, png: Uint8Array): void {
  writeFileAtomic(join(dir, 'nn', classFileName(cls)), png);
}
