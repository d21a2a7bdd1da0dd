/**
 * The evaluation protocol, written once: how samples are drawn from a run (sampler, grid, η, x̂0
 * handling, the ω policy, labels, how many, seed) and how they are measured (feature network,
 * which split the reference statistics hold). `cbdm eval --run DIR --protocol NAME|FILE.json`
 * evaluates a run under it and stores it verbatim in eval.json (`protocol.spec`); the report
 * compares runs only when their protocols agree (`protocolDifferences`) and describes every
 * evaluation with the one `describeProtocol` below, as `cbdm eval` and the demo do.
 *
 * ω policies (docs/SAMPLING.md "Evaluation protocols"):
 *   fixed      one value for every run (protocol B of later work: 1.5);
 *   run        the run's own `omegaEval` (config.json);
 *   published  the value the method's authors evaluated with (PUBLISHED_OMEGA);
 *   tuned      the grid value with the lowest FID of a few samples per class against statistics
 *              of the *training* split (never the test split); grid, criterion values and the
 *              choice are stored in eval.json (`protocol.omegaTuning`).
 */
import { readFileSync } from 'node:fs';
import { CbdmError } from '../util/errors.ts';
import { PROTOCOLS, PROTOCOL_NAMES, SAMPLER_NAMES, parseSpacing, parseX0Clip, type ProtocolName, type SamplerName } from '../diffusion/samplers.ts';
import type { Spacing } from '../diffusion/grid.ts';
import type { X0Clip } from '../diffusion/sampler.ts';
import type { EvalProtocol, ReferenceInfo } from './eval-result.ts';

/** How each run's guidance scale ω is chosen (see the module comment). */
export type OmegaPolicy =
  | { kind: 'fixed'; value: number }
  | { kind: 'run' }
  | { kind: 'published' }
  | { kind: 'tuned'; grid: number[]; nPerClass: number; seed: number };

/** Labels of the evaluation samples: i.i.d. uniform (the published evaluation) or balanced (equal counts). */
export type LabelPolicy = 'iid-uniform' | 'balanced';

/** Which split the reference statistics (`--ref`) were computed from. */
export type ReferenceSplit = 'train' | 'test';

/** Feature network of every metric: the FID Inception, or the dataset's own classifier. */
export type ExtractorKind = 'inception' | 'domain';

/** The whole evaluation protocol (stored verbatim in eval.json → protocol.spec). */
export interface ProtocolSpec {
  /** Its name: a built-in (`cbdm`, `fast`, `ddim50`) or the file's `name`. */
  name: string;
  sampler: SamplerName;
  /** Grid points; 'all' = every timestep of the model (ancestral DDPM). */
  steps: number | 'all';
  /** Grid spacing (absent: the sampler's own). */
  spacing?: Spacing;
  eta: number;
  clip: X0Clip;
  omega: OmegaPolicy;
  labels: LabelPolicy;
  /** Samples per class (balanced labels: exactly; i.i.d. labels: the total is perClass × classes). */
  perClass: number;
  /** Seed of x_T, labels and sampler noise. */
  seed: number;
  /** The split the reference statistics must hold (checked against the file's meta). */
  reference: ReferenceSplit;
  extractor: ExtractorKind;
}

/**
 * ω the authors evaluated each method with, in the convention ε_c + ω(ε_c − ε_u): DDPM 0.8, CBDM
 * 1.6 and CBDM fine-tuned from a DDPM 2.0 (Qin et al. 2023; qym7/CBDM-pytorch @94e201e README.md
 * L81, L93, L117), T2H 1.5 (MediaBrain-SJTU/OC_LT @ced1843 main.py L77, the --omega default of its
 * evaluation). CM publishes no code and CORAL no value (SankarLab/coral-lt-diffusion @62c9dfa
 * main.py L78 defaults --omega to 0; its README gives none), so `published` refuses them.
 */
export const PUBLISHED_OMEGA = { ddpm: 0.8, cbdm: 1.6, cbdmFinetune: 2.0, t2h: 1.5 } as const;

/** What the ω policies need to know about a run (from its config.json → train). */
export interface RunOmegaInfo {
  method: string;
  coral: boolean;
  finetune: boolean;
  omegaEval: number | null;
}

/** The published ω of a run's method, or a one-line error saying there is none. */
export function publishedOmega(r: RunOmegaInfo): { omega: number; source: string } {
  if (r.coral) throw new CbdmError('ω policy \'published\': CORAL publishes no ω for this protocol (its code defaults to 0); use a fixed ω or \'tuned\' in the protocol');
  switch (r.method) {
    case 'ddpm': return { omega: PUBLISHED_OMEGA.ddpm, source: 'published for DDPM (CBDM paper)' };
    case 'cbdm': return r.finetune ? { omega: PUBLISHED_OMEGA.cbdmFinetune, source: 'published for CBDM fine-tuning (CBDM paper)' } : { omega: PUBLISHED_OMEGA.cbdm, source: 'published for CBDM (CBDM paper)' };
    case 't2h': return { omega: PUBLISHED_OMEGA.t2h, source: 'published for T2H (OC_LT evaluation)' };
    default: throw new CbdmError(`ω policy 'published': method '${r.method}' has no published ω for this protocol; use a fixed ω or 'tuned' in the protocol`);
  }
}

/**
 * The tuned ω: the grid value whose criterion (lower is better) is smallest; on a tie the smaller
 * ω (less guidance). Non-finite criterion values never win; all non-finite is an error.
 */
export function argminOmega(grid: readonly number[], values: readonly number[]): number {
  if (grid.length === 0 || grid.length !== values.length) throw new Error(`argminOmega: ${grid.length} grid values, ${values.length} criterion values`);
  let best = -1;
  for (let i = 0; i < grid.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (best < 0 || v < values[best]! || (v === values[best]! && grid[i]! < grid[best]!)) best = i;
  }
  if (best < 0) throw new CbdmError(`ω tuning: the criterion is not finite for any ω of the grid ${grid.join(', ')}`);
  return grid[best]!;
}

/** A built-in protocol: the sampling preset of `cbdm sample --protocol` plus how it is measured. */
function builtin(name: ProtocolName): ProtocolSpec {
  const p = PROTOCOLS[name];
  const common = { name, sampler: p.sampler, steps: p.steps, ...(p.spacing ? { spacing: p.spacing } : {}), eta: p.eta, clip: p.clip, seed: 0, reference: 'train' as const, extractor: 'inception' as const };
  switch (name) {
    // the CBDM paper: 50k samples (500/class on CIFAR-100), labels i.i.d. uniform, each method's own ω, train-split statistics
    case 'cbdm': return { ...common, omega: { kind: 'published' }, labels: 'iid-uniform', perClass: 500 };
    case 'ddim50': return { ...common, omega: { kind: 'fixed', value: p.omega! }, labels: 'iid-uniform', perClass: 500 };
    case 'fast': return { ...common, omega: { kind: 'run' }, labels: 'balanced', perClass: 100 };
    default: {
      const never: never = name;
      throw new CbdmError(`unknown protocol ${String(never)}`);
    }
  }
}

export const BUILTIN_PROTOCOLS: Readonly<Record<ProtocolName, ProtocolSpec>> = Object.fromEntries(PROTOCOL_NAMES.map((n) => [n, builtin(n)])) as Record<ProtocolName, ProtocolSpec>;

const SPEC_KEYS = ['name', 'base', 'sampler', 'steps', 'spacing', 'eta', 'clip', 'omega', 'labels', 'perClass', 'seed', 'reference', 'extractor'] as const;

/**
 * A protocol by name (`cbdm`, `fast`, `ddim50`) or from a JSON file. A file gives every field, or
 * `"base": "<built-in>"` and the fields it changes; `omega` is a number (fixed), "run",
 * "published", or `{"kind": "tuned", "grid": [ω…], "nPerClass": k, "seed": s}` (the form eval.json
 * stores, so a stored `protocol.spec` reads back as a protocol file). Errors name the file and field.
 */
export function loadProtocol(v: string): ProtocolSpec {
  if ((PROTOCOL_NAMES as readonly string[]).includes(v)) return structuredClone(BUILTIN_PROTOCOLS[v as ProtocolName]);
  if (!v.endsWith('.json')) throw new CbdmError(`--protocol '${v}' is neither a protocol (${PROTOCOL_NAMES.join(', ')}) nor a .json protocol file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(v, 'utf8'));
  } catch (e) {
    throw new CbdmError(`--protocol ${v}: cannot read it as JSON (${(e as Error).message})`);
  }
  return parseProtocolSpec(raw, v);
}

/** Validate a protocol object (from a file named `where`) into a ProtocolSpec. */
export function parseProtocolSpec(raw: unknown, where: string): ProtocolSpec {
  const bad = (field: string, what: string): never => { throw new CbdmError(`${where}: '${field}' ${what}`); };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('(top level)', 'must be a JSON object of protocol fields');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(SPEC_KEYS as readonly string[]).includes(k)) bad(k, `is not a protocol field; the fields are ${SPEC_KEYS.join(', ')}`);
  let base: Partial<ProtocolSpec> = {};
  if (o.base !== undefined) {
    if (typeof o.base !== 'string' || !(PROTOCOL_NAMES as readonly string[]).includes(o.base)) bad('base', `must be one of ${PROTOCOL_NAMES.join(', ')}`);
    base = structuredClone(BUILTIN_PROTOCOLS[o.base as ProtocolName]);
  }
  const get = (k: (typeof SPEC_KEYS)[number]): unknown => (o[k] !== undefined ? o[k] : (base as Record<string, unknown>)[k]);
  const need = (k: (typeof SPEC_KEYS)[number]): unknown => get(k) ?? bad(k, `is missing (give it, or "base": one of ${PROTOCOL_NAMES.join(', ')})`);
  const posInt = (k: 'perClass' | 'seed', min: number): number => {
    const x = need(k);
    return typeof x === 'number' && Number.isInteger(x) && x >= min ? x : bad(k, `must be an integer ≥ ${min}, got ${JSON.stringify(x)}`);
  };
  const sampler = need('sampler');
  if (typeof sampler !== 'string' || !(SAMPLER_NAMES as string[]).includes(sampler)) bad('sampler', `must be one of ${SAMPLER_NAMES.join(', ')}, got ${JSON.stringify(sampler)}`);
  const steps = need('steps');
  if (!(steps === 'all' || (typeof steps === 'number' && Number.isInteger(steps) && steps >= 1))) bad('steps', `must be a positive integer or "all", got ${JSON.stringify(steps)}`);
  const spacingRaw = get('spacing');
  const spacing = spacingRaw === undefined ? undefined : typeof spacingRaw === 'string' ? parseSpacing(spacingRaw, `${where}: 'spacing'`) : bad('spacing', 'must be a string');
  const eta = need('eta');
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1)) bad('eta', `must be a number in [0, 1], got ${JSON.stringify(eta)}`);
  const clipRaw = need('clip');
  const clip = typeof clipRaw === 'string' ? parseX0Clip(clipRaw, `${where}: 'clip'`) : bad('clip', 'must be a string');
  const labels = need('labels');
  if (labels !== 'iid-uniform' && labels !== 'balanced') bad('labels', `must be "iid-uniform" or "balanced", got ${JSON.stringify(labels)}`);
  const reference = need('reference');
  if (reference !== 'train' && reference !== 'test') bad('reference', `must be "train" or "test" (the split the --ref statistics hold), got ${JSON.stringify(reference)}`);
  const extractor = need('extractor');
  if (extractor !== 'inception' && extractor !== 'domain') bad('extractor', `must be "inception" or "domain", got ${JSON.stringify(extractor)}`);
  // a file's protocol is named by its own 'name', else by the file (never by its base)
  const name = o.name ?? where.replace(/^.*\//, '').replace(/\.json$/, '');
  if (typeof name !== 'string' || name === '') bad('name', 'must be a non-empty string');
  return {
    name: name as string, sampler: sampler as SamplerName, steps: steps as number | 'all', ...(spacing !== undefined ? { spacing } : {}), eta: eta as number, clip,
    omega: parseOmegaPolicy(need('omega'), where), labels: labels as LabelPolicy, perClass: posInt('perClass', 1), seed: posInt('seed', 0),
    reference: reference as ReferenceSplit, extractor: extractor as ExtractorKind,
  };
}

function parseOmegaPolicy(v: unknown, where: string): OmegaPolicy {
  const bad = (what: string): never => { throw new CbdmError(`${where}: 'omega' ${what}`); };
  const form = 'must be a number (fixed ω), "run", "published", or {"kind": "tuned", "grid": [ω…], "nPerClass": k, "seed": s}';
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? { kind: 'fixed', value: v } : bad(`must be ≥ 0, got ${v}`);
  if (v === 'run' || v === 'published') return { kind: v };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`${form}; got ${JSON.stringify(v)}`);
  // the stored form (eval.json → protocol.spec.omega) reads back as it was written
  const t = v as Record<string, unknown>;
  const allowed: Record<string, string[]> = { fixed: ['kind', 'value'], run: ['kind'], published: ['kind'], tuned: ['kind', 'grid', 'nPerClass', 'seed'] };
  const keys = typeof t.kind === 'string' ? allowed[t.kind] : undefined;
  if (!keys) return bad(`${form}; got ${JSON.stringify(v)}`);
  for (const k of Object.keys(t)) if (!keys.includes(k)) bad(`→ '${k}' is not a field of the ${String(t.kind)} policy (${keys.join(', ')})`);
  switch (t.kind) {
    case 'fixed': return typeof t.value === 'number' ? parseOmegaPolicy(t.value, where) : bad('→ value must be a number');
    case 'run':
    case 'published': return { kind: t.kind };
    default: {
      const grid = t.grid;
      if (!Array.isArray(grid) || grid.length < 2 || !grid.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) bad('→ grid must be a list of at least two numbers ≥ 0');
      const nPerClass = t.nPerClass ?? 10;
      if (!(typeof nPerClass === 'number' && Number.isInteger(nPerClass) && nPerClass >= 1)) bad(`→ nPerClass must be a positive integer, got ${JSON.stringify(nPerClass)}`);
      const seed = t.seed ?? 1;
      if (!(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0)) bad(`→ seed must be an integer ≥ 0, got ${JSON.stringify(seed)}`);
      return { kind: 'tuned', grid: [...new Set(grid as number[])].sort((a, b) => a - b), nPerClass: nPerClass as number, seed: seed as number };
    }
  }
}

/** Short names of the samplers for one-line descriptions. */
const SAMPLER_LABEL: Readonly<Record<SamplerName, string>> = {
  ddpm: 'ancestral DDPM', ddim: 'DDIM', euler: 'Euler', heun: 'Heun', 'dpmpp-2m': 'DPM-Solver++(2M)', 'dpmpp-3m': 'DPM-Solver++(3M)',
  'dpmpp-2m-sde': 'SDE-DPM-Solver++(2M)', unipc: 'UniPC-2', 'unipc-3': 'UniPC-3',
};

/** How an ω policy reads in a description. */
export function describeOmegaPolicy(p: OmegaPolicy): string {
  switch (p.kind) {
    case 'fixed': return `fixed ω ${p.value}`;
    case 'run': return 'the run\'s own ω';
    case 'published': return 'each method\'s published ω';
    case 'tuned': return `ω tuned over {${p.grid.join(', ')}} by FID against train-split statistics (${p.nPerClass}/class)`;
    default: {
      const never: never = p;
      throw new CbdmError(`unknown ω policy ${JSON.stringify(never)}`);
    }
  }
}

/**
 * One line naming everything about an evaluation's protocol, and the published protocol it is
 * when it matches one: A (the CBDM paper: 1000-step ancestral DDPM) or B (later work: DDIM 50
 * steps, η = 0, ω = 1.5). Used by `cbdm eval`, the report and the demo.
 */
export function describeProtocol(p: EvalProtocol): string {
  const features = `features: ${p.featureExtractor}`;
  if (p.known === false) return `protocol: unknown (samples file has no sampler/steps/omega metadata; pass --sampler/--steps/--omega) · ${typeof p.n === 'number' ? `n = ${p.n} · ` : ''}${features}`;
  const spec = p.spec as ProtocolSpec | undefined;
  const eta = p.eta ?? 0;
  const tag = p.sampler === 'ddpm' && p.steps === 1000 ? 'protocol A (CBDM paper): '
    : p.sampler === 'ddim' && p.steps === 50 && p.omega === 1.5 && eta === 0 ? 'protocol B (later work: DDIM 50, ω 1.5): ' : '';
  const grid = [
    ...(p.spacing !== undefined ? [`${p.spacing} spacing`] : []),
    ...(p.nfe !== undefined && p.nfe !== p.steps ? [`${p.nfe} evaluations`] : []),
  ];
  const sampler = `${SAMPLER_LABEL[p.sampler] ?? p.sampler}, ${p.steps} steps${grid.length ? ` (${grid.join(', ')})` : ''}${p.sampler === 'ddim' ? `, η = ${eta}` : ''}`
    + (p.clipX0 === 'clip' || p.clipX0 === 'clamp' ? ', x̂0 clamped to [−1, 1] each step' : '') + (p.precision === 'bf16' ? ', bf16 sampling' : '');
  const omegaWhy = typeof p.omegaSource === 'string' ? ` (${p.omegaSource})` : '';
  const count = `${p.nPerClass} samples/class${spec ? ` (${spec.labels === 'balanced' ? 'balanced' : 'i.i.d. uniform'} labels)` : ''}`;
  const ref = p.reference ? `, reference: ${describeReference(p.reference)}` : '';
  const named = spec ? ` [protocol '${spec.name}']` : '';
  return `${tag}${sampler}, ω = ${p.omega}${omegaWhy}, ${count}, ${features}${ref}${named}`;
}

function describeReference(r: ReferenceInfo): string {
  return `${r.dataset ?? r.file} ${r.split !== null ? `${r.split} split` : '(split not stated)'}, ${r.n} images`;
}

/**
 * The part of a recorded protocol that must agree for two evaluations to be compared: with a
 * protocol spec, the spec (its ω policy, not each run's resolved ω; sampling seeds excluded),
 * the feature network and precision, and the reference's dataset, split and size; without one
 * (evaluations of sample files), every recorded field except ω and seeds.
 */
export function comparableProtocol(p: EvalProtocol): Record<string, unknown> {
  const spec = p.spec as ProtocolSpec | undefined;
  if (spec) {
    const { seed: _s, name: _n, ...sampling } = spec;
    const omega = spec.omega.kind === 'tuned' ? { kind: 'tuned', grid: spec.omega.grid, nPerClass: spec.omega.nPerClass } : spec.omega;
    const ref = p.reference;
    return { spec: { ...sampling, omega }, featureExtractor: p.featureExtractor, featurePrecision: p.featurePrecision ?? 'fp32', reference: { dataset: ref?.dataset ?? null, split: ref?.split ?? null, n: ref?.n ?? null } };
  }
  const drop = new Set(['omega', 'seed', 'omegaSource', 'omegaTuning', 'created']);
  return Object.fromEntries(Object.entries(p).filter(([k]) => !drop.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Fields of `comparableProtocol` whose values differ between two protocols, as `field: a ≠ b`. */
export function protocolDifferences(a: EvalProtocol, b: EvalProtocol): string[] {
  const flat = (v: unknown, prefix: string, out: Map<string, string>): Map<string, string> => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, out);
    else out.set(prefix, JSON.stringify(v));
    return out;
  };
  const sa = a.spec as ProtocolSpec | undefined;
  const sb = b.spec as ProtocolSpec | undefined;
  if ((sa === undefined) !== (sb === undefined)) return [`protocol: ${sa ? `'${sa.name}'` : 'none (samples-file metadata)'} ≠ ${sb ? `'${sb.name}'` : 'none (samples-file metadata)'}`];
  const fa = flat(comparableProtocol(a), '', new Map());
  const fb = flat(comparableProtocol(b), '', new Map());
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  return keys.filter((k) => fa.get(k) !== fb.get(k)).map((k) => `${k}: ${fa.get(k) ?? '—'} ≠ ${fb.get(k) ?? '—'}`);
}
