/**
 * The sampler registry: every sampler by name, with what it is, its order, its default spacing and
 * how many model evaluations (NFE) an N-point grid costs. With classifier-free guidance one
 * "evaluation" is one guided ε̃ = (1+ω)ε_c − ωε_u (a conditional and an unconditional pass).
 */
import { CbdmError } from '../util/errors.ts';
import { fieldName, type SettingNamer } from '../util/setting-names.ts';
import { ddim } from './ddim.ts';
import { ddpmAncestral } from './ddpm.ts';
import { dpmSolverPP2M, dpmSolverPP2MSde, dpmSolverPP3M } from './dpm-solver.ts';
import { euler, heun } from './euler.ts';
import { SPACINGS, makeGrid, type Spacing } from './grid.ts';
import type { Schedule } from './schedule.ts';
import type { SamplerFn, SamplerOptions, X0Clip } from './sampler.ts';
import { X0_CLIPS } from './sampler.ts';
import type { Rng } from '../util/rng.ts';
import { unipc, unipc3 } from './unipc.ts';

export type SamplerName = 'ddpm' | 'ddim' | 'euler' | 'heun' | 'dpmpp-2m' | 'dpmpp-3m' | 'dpmpp-2m-sde' | 'unipc' | 'unipc-3';

export interface SamplerInfo {
  name: SamplerName;
  /** One line: the algorithm and where it is from. */
  title: string;
  /** Order of accuracy of the deterministic solvers (1 for the stochastic ones); the fewest grid points allowed. */
  order: number;
  /** Spacing used when none is asked for (null: ancestral DDPM visits every timestep). */
  defaultSpacing: Spacing | null;
  /** Model evaluations of an N-point grid. */
  nfe(points: number): number;
  run: SamplerFn;
}

const same = (n: number): number => n;

export const SAMPLERS: Readonly<Record<SamplerName, SamplerInfo>> = {
  ddpm: { name: 'ddpm', title: 'ancestral DDPM, all T steps (Ho et al. 2020, Algorithm 2; the published CBDM protocol)', order: 1, defaultSpacing: null, nfe: same, run: ddpmAncestral },
  ddim: { name: 'ddim', title: 'DDIM (Song et al. 2021, eq. 12; η = 0 deterministic, η = 1 DDPM-like noise)', order: 1, defaultSpacing: 'uniform', nfe: same, run: ddim },
  euler: { name: 'euler', title: 'Euler on the probability-flow ODE (Karras et al. 2022, Alg. 1 without correction)', order: 1, defaultSpacing: 'karras', nfe: same, run: euler },
  heun: { name: 'heun', title: 'Heun (Karras et al. 2022, Algorithm 1): 2N − 1 evaluations', order: 2, defaultSpacing: 'karras', nfe: (n) => 2 * n - 1, run: heun },
  'dpmpp-2m': { name: 'dpmpp-2m', title: 'DPM-Solver++(2M) (Lu et al. 2022b, Algorithm 2)', order: 2, defaultSpacing: 'trailing', nfe: same, run: dpmSolverPP2M },
  'dpmpp-3m': { name: 'dpmpp-3m', title: 'DPM-Solver++(3M) (Lu et al. 2022b, multistep order 3)', order: 3, defaultSpacing: 'trailing', nfe: same, run: dpmSolverPP3M },
  'dpmpp-2m-sde': { name: 'dpmpp-2m-sde', title: 'SDE-DPM-Solver++(2M) (Lu et al. 2022b; stochastic, as diffusers\' sde-dpmsolver++)', order: 2, defaultSpacing: 'trailing', nfe: same, run: dpmSolverPP2MSde },
  unipc: { name: 'unipc', title: 'UniPC-2, bh2 (Zhao et al. 2023, Algorithms 1–2; diffusers default)', order: 2, defaultSpacing: 'trailing', nfe: same, run: unipc },
  'unipc-3': { name: 'unipc-3', title: 'UniPC-3, bh2 (Zhao et al. 2023)', order: 3, defaultSpacing: 'trailing', nfe: same, run: unipc3 },
};

export const SAMPLER_NAMES = Object.keys(SAMPLERS) as SamplerName[];

/**
 * The `fast` protocol (see PROTOCOLS): DDIM with η = 1 — ancestral sampling on a 50-step
 * sub-sequence — the smallest setting whose group metrics on the demo runs stay within the
 * seed-to-seed spread of 1000-step DDPM (docs/RESULTS.md §6; every deterministic solver converges
 * to a far worse probability-flow limit on those models).
 */
const FAST_SAMPLER: SamplerName = 'ddim';
const FAST_STEPS = 50;

/** The sampler of a name, or a one-line error listing the names. */
export function samplerByName(name: string, flag = 'sampler'): SamplerInfo {
  const s = (SAMPLERS as Record<string, SamplerInfo | undefined>)[name];
  if (!s) throw new CbdmError(`${flag} '${name}' is not a sampler; choose one of ${SAMPLER_NAMES.join(', ')}`);
  return s;
}

export function parseSpacing(v: string, flag = 'spacing'): Spacing {
  if (!(SPACINGS as readonly string[]).includes(v)) throw new CbdmError(`${flag} '${v}' is not a spacing; choose one of ${SPACINGS.join(', ')}`);
  return v as Spacing;
}

/** Clip modes by name; the earlier names `published` and `clip` are read as `preview-only` and `clamp`. */
export function parseX0Clip(v: string, flag = 'clip'): X0Clip {
  const legacy: Record<string, X0Clip> = { published: 'preview-only', clip: 'clamp' };
  const m = legacy[v] ?? v;
  if (!(X0_CLIPS as readonly string[]).includes(m)) throw new CbdmError(`${flag} '${v}' is not a clip mode; choose one of ${X0_CLIPS.join(', ')}`);
  return m as X0Clip;
}

/** What a sampling request resolves to: the grid points actually visited and the NFE. */
export interface ResolvedSampling {
  sampler: SamplerInfo;
  spacing: Spacing | null;
  /** Grid points visited (for `uniform`/`quadratic` spacing this can differ from the request). */
  points: number;
  nfe: number;
}

/**
 * Check a sampling request and say what it will do; every failure is one line naming the setting
 * (`names`: the option fields by default, the CLI's flags from the CLI). `steps` is the number of
 * grid points (for Heun the NFE is 2·steps − 1).
 */
export function resolveSampling(name: string, steps: number, spacing: Spacing | undefined, eta: number, omega: number, sched: Schedule, names: SettingNamer = fieldName): ResolvedSampling {
  const s = samplerByName(name, names('sampler'));
  const T = sched.T;
  if (!Number.isFinite(omega) || omega < 0) throw new CbdmError(`${names('omega')} must be a finite number ≥ 0, got ${omega}`);
  if (!Number.isFinite(eta) || eta < 0) throw new CbdmError(`${names('eta')} must be a finite number ≥ 0, got ${eta}`);
  if (eta > 1) throw new CbdmError(`${names('eta')} ${eta} is above 1: DDIM's noise would exceed the posterior's (use 0 ≤ η ≤ 1)`);
  if (eta !== 0 && s.name !== 'ddim') throw new CbdmError(`${names('eta')} applies to the ddim sampler only (${s.name} is ${s.name === 'ddpm' ? 'ancestral' : 'deterministic'})`);
  if (!Number.isInteger(steps) || steps < 1) throw new CbdmError(`${names('steps')} must be a positive integer, got ${steps}`);
  if (s.name === 'ddpm') {
    if (steps !== T) throw new CbdmError(`${names('steps')} ${steps}: the ancestral DDPM sampler runs all ${T} steps; use ${names('sampler')} ddim, dpmpp-2m, unipc, … for fewer`);
    if (spacing !== undefined) throw new CbdmError(`${names('spacing')} does not apply to the ancestral DDPM sampler (it visits every timestep)`);
    return { sampler: s, spacing: null, points: T, nfe: T };
  }
  if (steps > T) throw new CbdmError(`${names('steps')} ${steps} is more than the model's ${T} timesteps`);
  if (steps < s.order) throw new CbdmError(`${names('steps')} ${steps} is below the order of ${s.name} (${s.order}); give at least ${s.order}`);
  const sp = spacing ?? s.defaultSpacing!;
  const points = makeGrid(sched, steps, sp).t.length;
  return { sampler: s, spacing: sp, points, nfe: s.nfe(points) };
}

/** SamplerOptions with every field at its neutral default (published DDPM settings). */
export function samplerOptions(o: Partial<SamplerOptions> & { steps: number; y: Int32Array | null; rng: Rng }): SamplerOptions {
  return { spacing: 'uniform', eta: 0, variance: 'fixedlarge', clip: 'none', ...o };
}

/**
 * Named sampling protocols for `cbdm sample --protocol`. Flags given with it override its fields.
 * - `cbdm`: the CBDM paper's protocol A — ancestral DDPM over all 1000 steps, fixedlarge variance,
 *   the published x̂_0 handling, labels i.i.d. uniform, the run's ω.
 * - `ddim50`: later work's protocol B — DDIM 50 steps (uniform spacing), η = 0, ω = 1.5.
 * - `fast`: the default for evaluation-sized runs, chosen by the sampler study (docs/RESULTS.md §6):
 *   the fewest model evaluations whose group metrics on the demo runs match 1000-step DDPM within
 *   the seed-to-seed spread.
 */
export type ProtocolName = 'cbdm' | 'ddim50' | 'fast';
export const PROTOCOL_NAMES: readonly ProtocolName[] = ['fast', 'cbdm', 'ddim50'];

export interface ProtocolPreset {
  sampler: SamplerName;
  steps: number | 'all';
  spacing?: Spacing;
  eta: number;
  clip: X0Clip;
  /** Fixed ω of the protocol (absent: the run's own --omega-eval). */
  omega?: number;
  title: string;
}

export const PROTOCOLS: Readonly<Record<ProtocolName, ProtocolPreset>> = {
  cbdm: { sampler: 'ddpm', steps: 'all', eta: 0, clip: 'preview-only', title: 'protocol A (CBDM paper): ancestral DDPM, all 1000 steps' },
  ddim50: { sampler: 'ddim', steps: 50, spacing: 'uniform', eta: 0, clip: 'none', omega: 1.5, title: 'protocol B (later work): DDIM 50 steps, η = 0, ω = 1.5' },
  fast: { sampler: FAST_SAMPLER, steps: FAST_STEPS, spacing: 'uniform', eta: 1, clip: 'none', title: `fast (default): ${FAST_SAMPLER} ${FAST_STEPS} steps, η = 1, the run's ω (docs/RESULTS.md §6)` },
};

export function parseProtocol(v: string, names: SettingNamer = fieldName): ProtocolName {
  if (!(PROTOCOL_NAMES as readonly string[]).includes(v)) throw new CbdmError(`${names('protocol')} '${v}' is not a protocol; choose one of ${PROTOCOL_NAMES.join(', ')}`);
  return v as ProtocolName;
}

/** Sampler settings a user gave (undefined = not given). */
export interface SamplingOverrides { sampler?: string; steps?: number; spacing?: string; eta?: number; clip?: string; omega?: number }

/**
 * Resolve a protocol and the flags given with it: given flags win; the protocol's grid, η and clip
 * apply while its own sampler is used (another sampler starts from plain defaults: 50 steps, its own
 * spacing, the published x̂_0 handling); ω falls back to the protocol's, then to the run's.
 */
export function protocolSettings(name: ProtocolName, o: SamplingOverrides, T: number, runOmega: number | null, names: SettingNamer = fieldName):
  { sampler: SamplerName; steps: number; spacing?: Spacing; eta: number; clip: X0Clip; omega: number } {
  const p = PROTOCOLS[name];
  const sampler = o.sampler === undefined ? p.sampler : samplerByName(o.sampler, names('sampler')).name;
  const same = sampler === p.sampler;
  const spacing = o.spacing === undefined ? (same ? p.spacing : undefined) : parseSpacing(o.spacing, names('spacing'));
  return {
    sampler,
    steps: o.steps ?? (same ? (p.steps === 'all' ? T : p.steps) : sampler === 'ddpm' ? T : 50),
    ...(spacing !== undefined ? { spacing } : {}),
    eta: o.eta ?? (same ? p.eta : 0),
    clip: o.clip === undefined ? (same ? p.clip : 'preview-only') : parseX0Clip(o.clip, names('clip')),
    omega: o.omega ?? p.omega ?? runOmega ?? 0,
  };
}
