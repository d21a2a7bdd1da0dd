/**
 * The training loop: data → loss (DDPM, CBDM or T2H, optionally + CORAL) → backward → clip → Adam → EMA, with metrics,
 * checkpoints and exact resume. One run directory per run (docs/RUN_DIR.md):
 *   config.json   resolved TrainConfig + model config + backend + precision
 *   data.json     dataset name, class names, training counts
 *   metrics.jsonl one line per logged step (and the same scalars in events.out.tfevents.*)
 *   checkpoints/  step-N.safetensors (net, EMA, Adam moments + JSON state; with --coral also the
 *                 projection head and its moments under proj_head*), latest.json
 *   ema.safetensors  the EMA weights under the published state-dict names (what `sample` uses)
 */
import { existsSync, readFileSync, appendFileSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { useBackend, currentPrecision } from '../engine/backends.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { Backend } from '../engine/backend.ts';
import { UNet, type ResolvedUNetConfig } from '../models/unet.ts';
import { presetConfig } from '../models/presets.ts';
import { loadDataset } from '../data/registry.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { BatchLoader } from '../data/loader.ts';
import { Rng } from '../util/rng.ts';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { Adam } from './optimizer.ts';
import { resumedWatch, type DivergenceReport } from './divergence.ts';
import { optimiserStep } from './step.ts';
import { ProjectionHead } from '../models/projection-head.ts';
import { trainingLoss, type LossConfig } from './loss.ts';
import { CapacityBranches, twoPassNet } from './cm-branches.ts';
import { CM_APPROXIMATE } from './cm.ts';
import { lossConfigOf, scheduleSettingsOf, settingName, trainConfigJson, type SettingNames, type TrainConfig } from './config.ts';
import { savedTrainConfig } from './config-file.ts';
import { scheduleOf, type ScheduleSettings } from '../diffusion/schedule.ts';
import { saveCheckpoint, loadCheckpoint, type AuxParams, type CheckpointState } from './checkpoint.ts';
import { latestCheckpoint, saveEmaWeights, isTrainingCheckpoint } from '../models/weights-file.ts';
import { loadWeightsFile } from '../models/load.ts';
import { Progress } from '../util/progress.ts';
import { TensorBoardWriter, trimEventFiles } from '../io/tfevents.ts';
import { acquireRunLock, removeOrphanTemps, clearUnfinishedStart } from './run-folder.ts';

/** One line of metrics.jsonl. */
export interface MetricsRecord {
  step: number;
  loss: number;
  l_ddpm: number;
  l_reg: number;
  l_com: number;
  /** CM: λ·L_CM (cm runs only). */
  l_cm?: number;
  /** CORAL's SupCon value (runs with --coral only; 0 on label-dropped batches). */
  l_con?: number;
  grad_norm: number;
  lr: number;
  img_per_s: number;
  wall_s: number;
}

export interface TrainOptions {
  /** Run directory (created). */
  out: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  /** Show a progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  /** Stop early after this many steps in this call (tests: interrupt and resume). */
  stopAfter?: number;
  /**
   * With `resume`: train on to this total step count instead of the run's own (extend a finished
   * run). Nothing before the old end changes: the schedule, data order and noise draws do not
   * depend on the total.
   */
  extendTo?: number;
  /** Called after every optimiser step. */
  onStep?: (step: number, rec: { loss: number }) => void;
  /**
   * Stops the run after the step in progress; its checkpoint and EMA weights are written and the
   * result says `interrupted` (a resume continues it exactly). The CLI aborts it on Ctrl-C.
   */
  signal?: AbortSignal;
  /** Notes and warnings (a resumed run trimmed its metrics, …), one line each (default: none). */
  log?: (line: string) => void;
  /** How errors name settings: as flags (the CLI, default) or as config fields (the library). */
  names?: SettingNames;
}

export interface TrainResult {
  dir: string;
  step: number;
  net: UNet;
  ema: UNet;
  dataset: ImageDataset;
  modelConfig: ResolvedUNetConfig;
  /** CORAL's projection head (trained, not exported), or null without --coral. */
  projHead: ProjectionHead | null;
  /** The diffusion schedule the run trained with (what sampling it must use). */
  schedule: ScheduleSettings;
  /** Whether `signal` stopped the run before its last step (its checkpoint is written). */
  interrupted: boolean;
}

/** Build the model config for a training config and dataset: the preset, the run's T (rows of the time embedding) and overrides. */
export function modelConfigFor(cfg: TrainConfig, ds: ImageDataset): ResolvedUNetConfig {
  const m = presetConfig(cfg.preset, ds.numClasses, ds.size, ds.channels);
  m.T = cfg.diffusionSteps;
  if (cfg.dropout !== null) m.dropout = cfg.dropout;
  if (cfg.model) Object.assign(m, Object.fromEntries(Object.entries(cfg.model).filter(([, v]) => v !== undefined)));
  return m;
}

/**
 * Drop the metrics.jsonl lines past `step`: a run killed or crashed after its last checkpoint
 * logged steps that the resumed run logs again. Rewritten atomically; returns how many went.
 */
export function trimMetrics(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const keep = lines.filter((l) => {
    try {
      return !((JSON.parse(l) as { step?: number }).step! > step);
    } catch {
      return true;  // not ours to judge: keep it
    }
  });
  if (keep.length < lines.length) writeFileAtomic(path, keep.map((l) => l + '\n').join(''));
  return lines.length - keep.length;
}

/**
 * Train (or resume) a run, holding the run directory's lock (docs/RUN_DIR.md): a second writer
 * is refused, temp files of a killed writer are removed.
 */
export async function train(cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const dir = opts.out;
  const flag = (k: keyof TrainConfig | 'out' | 'resume') => settingName(k, opts.names ?? 'flags');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CbdmError(`${flag('out')} ${dir} is a file, not a directory; give the run directory's path`);
  const created = !existsSync(dir);
  // Non-recursive when the parent exists: a recursive mkdir reports a read-only disk as ENOENT.
  if (created) mkdirSync(dir, { recursive: !existsSync(dirname(dir)) });
  const release = acquireRunLock(dir);
  try {
    const temps = removeOrphanTemps(dir);
    if (temps > 0) opts.log?.(`cbdm: note: removed ${temps} temp file(s) left in ${dir} by a writer that was killed`);
    return await trainLocked(cfg, opts);
  } finally {
    release();
    if (created) try { rmdirSync(dir); } catch { /* not empty: the run wrote into it */ }
  }
}

async function trainLocked(cfgIn: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const run = await openRun(cfgIn, opts);
  const state = initWeights(run, opts);
  return await trainLoop(run, state, opts);
}

/** A run directory opened for training: what every later stage reads. */
interface OpenedRun {
  dir: string;
  /** The run's config: the caller's, or for --resume the one saved in config.json (extended). */
  cfg: TrainConfig;
  /** The latest checkpoint to continue from (--resume), or null for a new start. */
  resumeFrom: string | null;
  backend: Backend;
  ds: ImageDataset;
  mcfg: ResolvedUNetConfig;
  lossCfg: LossConfig;
}

/**
 * Open the run: resolve the config (a new start, or --resume with the saved config and an
 * optional extension), refuse a folder that holds another run, pick the backend and load the
 * dataset. Writes nothing but an extended config.json.
 */
async function openRun(cfgIn: TrainConfig, opts: TrainOptions): Promise<OpenedRun> {
  const dir = opts.out;
  const flag = (k: keyof TrainConfig | 'out' | 'resume') => settingName(k, opts.names ?? 'flags');
  let cfg = cfgIn;
  let resumeFrom: string | null = null;
  let savedPrecision: string | null = null;
  if (opts.resume) {
    const cfgPath = join(dir, 'config.json');
    if (!existsSync(cfgPath)) throw new CbdmError(`${flag('resume')}: ${dir} has no config.json; is it a cbdm run directory?`);
    let saved: { train: Record<string, unknown> } & Record<string, unknown>;
    try {
      saved = JSON.parse(readFileSync(cfgPath, 'utf8')) as typeof saved;
      if (typeof saved?.train !== 'object' || saved.train === null || Array.isArray(saved.train)) throw new Error('no "train" object');
    } catch (e) {
      throw new CbdmError(`${flag('resume')}: ${cfgPath} is not a valid run config (${(e as Error).message}); restore it from a copy or start a new run`);
    }
    // Settings added since the run was written take their defaults (an older run: the published schedule).
    cfg = savedTrainConfig(cfgPath, saved.train);
    resumeFrom = latestCheckpoint(dir);
    savedPrecision = typeof saved.precision === 'string' ? saved.precision : 'fp32';
    if (opts.extendTo !== undefined && opts.extendTo !== cfg.steps) {
      if (!(Number.isInteger(opts.extendTo) && opts.extendTo > cfg.steps)) {
        throw new CbdmError(`${flag('resume')} ${flag('steps')} ${opts.extendTo}: a run can only be extended (it is set to ${cfg.steps} steps)`);
      }
      cfg = { ...cfg, steps: opts.extendTo };
      writeFileAtomic(cfgPath, JSON.stringify({ ...saved, train: trainConfigJson(cfg) }, null, 2) + '\n');
    }
    if (resumeFrom === null) throw new CbdmError(`${flag('resume')}: ${dir} has no checkpoint yet (checkpoints/latest.json missing); start it again without ${flag('resume')}`);
  } else if (existsSync(join(dir, 'checkpoints', 'latest.json'))) {
    throw new CbdmError(`${dir} already holds a run; use ${flag('resume')} to continue it or choose another ${flag('out')}`);
  }
  const backend = useBackend();
  if (savedPrecision !== null && savedPrecision !== currentPrecision()) {
    opts.log?.(`cbdm: warning: ${dir} was trained with ${savedPrecision} convolutions and continues with ${currentPrecision()} (CBDM_PRECISION); the resumed run is not the bit-exact continuation`);
  }
  const ds = await loadDataset({ name: cfg.dataset, root: cfg.root ?? undefined, imb: cfg.imb, numpyCompat: cfg.numpyCompat, nMax: cfg.maxPerClass ?? undefined, size: cfg.imageSize ?? defaultImageSize(cfg), seed: 0 });
  if (cfg.batch > ds.labels.length) throw new CbdmError(`${flag('batch')} ${cfg.batch} is larger than the dataset (${ds.labels.length} images in ${ds.name}); use ${flag('batch')} ${ds.labels.length} or less`);
  const mcfg = modelConfigFor(cfg, ds);
  const lossCfg = lossConfigOf(cfg);
  return { dir, cfg, resumeFrom, backend, ds, mcfg, lossCfg };
}

/** Everything a training step changes, and what a checkpoint saves. */
interface TrainingState {
  net: UNet;
  ema: UNet;
  opt: Adam;
  /** CORAL's projection head (--coral), and its parameters with their optimiser; null without. */
  head: ProjectionHead | null;
  projHead: AuxParams | null;
  loader: BatchLoader;
  /** Draws of t, ε, the label-drop coin and y′. */
  rng: Rng;
  /** Dropout masks. */
  dropRng: Rng;
  step: number;
  /** CM's low-rank branches on `net` (method cm), else null. */
  branches: CapacityBranches | null;
}

/**
 * Build the network, its EMA and the optimiser, and give them their weights: from the latest
 * checkpoint (--resume, with the RNG and loader state; metrics logged after it are dropped), or
 * fresh from the seed, or from a DDPM run for --finetune-from; a new start writes config.json and
 * data.json.
 */
function initWeights(run: OpenedRun, opts: TrainOptions): TrainingState {
  const { dir, cfg, resumeFrom, backend, ds, mcfg } = run;
  const net = new UNet(mcfg);
  const ema = new UNet(mcfg);
  // CM: low-rank branches on the training network only; the EMA follows the merged weights.
  const branches = cfg.method === 'cm' ? new CapacityBranches(net, cfg.cmRankRatio) : null;
  const emaSource = () => (branches ? branches.merged() : net.store);
  net.store.materialize(backend, cfg.seed);
  ema.store.materialize(backend, cfg.seed);
  ema.store.writeArena(emaSource().readArena());
  const adamCfg = { lr: cfg.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: cfg.warmup, gradClip: cfg.gradClip };
  const opt = new Adam(net.store, adamCfg);
  // CORAL's head: trained with the UNet under one clip, never part of the EMA or the export.
  // Its own init stream (another seed than the UNet's arena).
  const head = cfg.coral ? new ProjectionHead(net.bottleneckChannels) : null;
  head?.store.materialize(backend, cfg.seed + PROJ_HEAD_SEED_OFFSET);
  const projHead = head ? { store: head.store, opt: new Adam(head.store, adamCfg) } : null;
  let loader = new BatchLoader(ds, { batchSize: cfg.batch, seed: cfg.seed, flip: true });
  let rng = new Rng(cfg.seed, 1);
  let dropRng = new Rng(cfg.seed, 2);
  let step = 0;
  if (resumeFrom) {
    const st = loadCheckpoint(resumeFrom, net.store, ema.store, opt, { projHead });
    step = st.step;
    rng = Rng.fromState(st.rng);
    dropRng = Rng.fromState(st.dropRng);
    loader = BatchLoader.restore(ds, { batchSize: cfg.batch, seed: cfg.seed, flip: true }, st.loader);
    const dropped = trimMetrics(join(dir, 'metrics.jsonl'), step);
    if (dropped > 0) opts.log?.(`cbdm: resuming ${dir} at step ${step}: dropped ${dropped} metrics line(s) logged after that checkpoint (the run stopped without saving them); they are logged again`);
    const events = trimEventFiles(dir, step);
    if (events > 0) opts.log?.(`cbdm: resuming ${dir} at step ${step}: dropped ${events} TensorBoard event(s) logged after that checkpoint`);
  } else {
    const cleared = clearUnfinishedStart(dir);
    if (cleared.length > 0) opts.log?.(`cbdm: note: ${dir} held an earlier start that never reached a checkpoint; removed its ${cleared.join(', ')}`);
    mkdirSync(dir, { recursive: true });
    if (cfg.finetuneFrom) {
      loadFinetuneWeights(cfg.finetuneFrom, ema, mcfg, backend, opts.names ?? 'flags');
      net.store.writeArena(ema.store.readArena());
    }
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ train: trainConfigJson(cfg), ...(branches ? { approximate: `method cm: ${CM_APPROXIMATE}` } : {}), model: mcfg, backend: backend.name, precision: currentPrecision(), commit: sourceCommit(), created: new Date().toISOString() }, null, 2) + '\n');
    writeFileAtomic(join(dir, 'data.json'), JSON.stringify({ name: ds.name, classNames: ds.classNames, counts: ds.counts, size: ds.size, channels: ds.channels }, null, 2) + '\n');
  }
  return { net, ema, opt, head, projHead, loader, rng, dropRng, step, branches };
}

/**
 * --finetune-from: the EMA weights of a DDPM run (its latest checkpoint), of a checkpoint file, or
 * of a weights file under the published names, written into `ema` (the caller copies them to the
 * network).
 */
function loadFinetuneWeights(from: string, ema: UNet, mcfg: ResolvedUNetConfig, backend: Backend, names: SettingNames): void {
  const src = latestCheckpoint(from) ?? from;
  if (isTrainingCheckpoint(src)) {
    loadCheckpoint(src, ema.store, null, null, { emaInto: true });
  } else {
    // A weights file under the published names (ema.safetensors of a run, a shipped model,
    // or the published code's ckpt.pt, whose ema_model entry is used).
    const w = loadWeightsFile(src, backend, { imageSize: mcfg.imageSize });
    const a = w.net.store.layout, b = ema.store.layout;
    if (a.length !== b.length || a.some((l, i) => l.name !== b[i]!.name || l.shape.join('x') !== b[i]!.shape.join('x'))) {
      throw new CbdmError(`${settingName('finetuneFrom', names)} ${src}: its UNet (ch ${w.net.config.ch}, ${w.net.config.numClasses} classes) differs from this run's (ch ${mcfg.ch}, ${mcfg.numClasses} classes); use the same ${settingName('preset', names)} and dataset`);
    }
    ema.store.writeArena(w.net.store.readArena());
  }
}

/**
 * The loop (docs/DESIGN.md §1.3): batch → loss → backward → clip → Adam → EMA, logging metrics,
 * writing checkpoints, stopping cleanly at the end, on `stopAfter` or when `signal` aborts, and
 * writing ema.safetensors last.
 */
async function trainLoop(run: OpenedRun, s: TrainingState, opts: TrainOptions): Promise<TrainResult> {
  const { dir, cfg, ds, mcfg, lossCfg } = run;
  const flag = (k: keyof TrainConfig | 'out' | 'resume') => settingName(k, opts.names ?? 'flags');
  const { net, ema, opt, head, projHead, loader, rng, dropRng, branches } = s;
  let step = s.step;
  const sched = scheduleOf(scheduleSettingsOf(cfg));
  const S = ds.size;
  const shape = [cfg.batch, ds.channels, S, S];
  const netFn = (xt: Tensor, t: Int32Array, y: Int32Array | null, onBottleneck?: (h: Tensor) => void) =>
    net.forward(xt, t, y, { training: true, rng: dropRng, onBottleneck });
  const lossNet = branches ? twoPassNet(net, branches, dropRng) : netFn;
  // CM: the EMA follows the merged weights W_g + B·A (a plain UNet), not the branched network.
  const emaSource = branches ? () => branches.merged() : undefined;
  const metricsPath = join(dir, 'metrics.jsonl');
  const tb = new TensorBoardWriter(dir);
  const state = (): CheckpointState => ({ step, rng: rng.state(), dropRng: dropRng.state(), loader: loader.state() });
  const checkpoint = (keep: boolean) => {
    try {
      saveCheckpoint(dir, state(), net.store, ema.store, opt, { keep, keepLast: cfg.keepCkpts, projHead });
    } catch (e) {
      if (!(e instanceof CbdmError)) throw e;
      throw new CbdmError(`${e.message}. Checkpoint of step ${step} not saved; the last complete one is ${latestCheckpoint(dir) ?? 'none'}; free space, then continue with ${flag('resume')}`);
    }
  };

  // An abort is seen between steps (the loop yields each step): training stops and a checkpoint
  // is written.
  const aborted = () => opts.signal?.aborted === true;
  const bar = new Progress(cfg.steps, { label: `${cfg.method} ${cfg.preset}`, unit: 'step', enabled: opts.progress, start: step });
  const t0 = performance.now();
  // A resumed run's watch has seen what it logged before (a new run's metrics.jsonl is empty).
  const { watch: divergence, report: divergedBefore } = resumedWatch(metricsPath);
  const warnDiverging = (d: DivergenceReport) => {
    const cm = cfg.method === 'cm' ? `, a smaller ${flag('cmLambda')} (now ${cfg.cmLambda}; CM is approximate and its capacity term is unbounded below, docs/METHODS.md)` : '';
    opts.log?.(`cbdm: warning: ${dir} is diverging: L_ddpm rose from ${d.before.toPrecision(3)} (median of the logged steps before) to ${d.now.toPrecision(3)} at step ${d.step}; `
      + `later checkpoints may sample noise. Try a lower ${flag('lr')} (now ${cfg.lr})${cm}, and start again or resume from an earlier checkpoint`);
  };
  if (divergedBefore) warnDiverging(divergedBefore);
  let windowStart = performance.now();
  let windowImages = 0;
  let stepsThisCall = 0;
  try {
    while (step < cfg.steps && !aborted() && (opts.stopAfter === undefined || stepsThisCall < opts.stopAfter)) {
      const { x, y } = loader.next();
      const { parts, stats: st } = optimiserStep({ net: net.store, ema: ema.store, opt, emaSource, projHead }, cfg.emaDecay,
        () => trainingLoss({ net: lossNet, x0: x, y0: y, shape, sched, cfg: lossCfg, counts: ds.counts, rng, head }));
      if (st === null) {
        const last = latestCheckpoint(dir);
        throw new CbdmError(`loss became ${parts.loss} at step ${step + 1} (L_ddpm ${parts.lDdpm}, L_reg ${parts.lReg}${head ? `, L_con ${parts.lCon}` : ''}); `
          + `last finite checkpoint: ${last ?? 'none'}. Try a lower ${flag('lr')}, a longer ${flag('warmup')} or ${flag('gradClip')} 1, then ${flag('resume')}.`);
      }
      step++;
      stepsThisCall++;
      windowImages += cfg.batch;
      opts.onStep?.(step, { loss: parts.loss });
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const now = performance.now();
        const rec: MetricsRecord = {
          step, loss: parts.loss, l_ddpm: parts.lDdpm, l_reg: parts.lReg, l_com: parts.lCom, ...(parts.lCm !== undefined ? { l_cm: parts.lCm } : {}),
          ...(head ? { l_con: parts.lCon } : {}), grad_norm: st.gradNorm, lr: st.lr,
          img_per_s: windowImages / ((now - windowStart) / 1000), wall_s: (now - t0) / 1000,
        };
        appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
        const d = divergence.observe(step, parts.lDdpm);
        if (d) warnDiverging(d);
        const { step: _s, wall_s: _w, ...scalars } = rec;
        tb.scalars(step, scalars);
        windowStart = now;
        windowImages = 0;
        bar.update(step, { loss: parts.loss.toFixed(4), 'img/s': rec.img_per_s.toFixed(1) });
      }
      if (step % cfg.ckptEvery === 0) checkpoint(true);
      // Let signal handlers and abort callers run (the step itself never yields to the event loop).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Kept: every --ckpt-every step and the run's last step (so extending a finished run never
    // deletes its end), counted together by --keep-ckpts. Not kept: a stop before the end
    // (interrupt, stopAfter), which the next save of the resumed run replaces.
    checkpoint(step % cfg.ckptEvery === 0 || step === cfg.steps);
    saveEmaWeights(join(dir, 'ema.safetensors'), ema.store, { step, config: JSON.stringify(mcfg) });
  } finally {
    bar.stop();
  }
  return { dir, step, net, ema, dataset: ds, modelConfig: mcfg, projHead: head, schedule: scheduleSettingsOf(cfg), interrupted: step < cfg.steps && aborted() };
}

/** Seed offset of the projection head's initialisation (a stream apart from the UNet's). */
const PROJ_HEAD_SEED_OFFSET = 0x636f72;

/** Image size when --image-size is not given: CIFAR's own 32, else the preset's. */
function defaultImageSize(cfg: TrainConfig): number {
  return cfg.dataset.startsWith('cifar') ? 32 : presetConfig(cfg.preset, 1).imageSize;
}

/** The git commit of the cbdm sources (provenance in config.json), or null outside a checkout. */
function sourceCommit(): string | null {
  try {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 5000 });
    return r.status === 0 ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}
