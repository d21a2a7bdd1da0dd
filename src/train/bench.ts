/**
 * `cbdm bench train`: img/s of a full CBDM training step (2 forward + 2 backward + clip + Adam +
 * EMA, label drop off so every step takes both passes) and of DDPM sampling (image·steps/s: one
 * ε-network forward per image per denoising step), ours vs PyTorch CPU on the same UNet config
 * in the same run (`bench/peers/train.py`, Debian's python3-torch), and for sampling also vs
 * onnxruntime-node running the PyTorch peer's model exported with torch.onnx.export
 * (./onnxruntime-peer.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tidy, noGrad } from '../engine/context.ts';
import { backward } from '../engine/autograd.ts';
import { currentBackend } from '../engine/context.ts';
import { tensor } from '../engine/ops/create.ts';
import { UNet } from '../models/unet.ts';
import { presetConfig, type PresetName } from '../models/presets.ts';
import { trainingLoss } from './loss.ts';
import { DEFAULT_LOSS } from './config.ts';
import { Adam, emaUpdate, DEFAULT_ADAM } from './optimizer.ts';
import { defaultSchedule } from '../diffusion/schedule.ts';
import { Rng } from '../util/rng.ts';
import { setCpuThreads, computePrecision, threadWait } from '../engine/cpu/load.ts';
import { peerEnv } from '../util/peer-env.ts';
import { onnxruntimePeer } from './onnxruntime-peer.ts';
import { CbdmError } from '../util/errors.ts';
import { upperMedian } from '../util/median.ts';

/** Which peers `cbdm bench train` measures: PyTorch (training and sampling), onnxruntime-node (sampling), or both. */
export type TrainBenchPeer = 'torch' | 'onnxruntime' | 'both';
export const TRAIN_BENCH_PEERS: readonly TrainBenchPeer[] = ['torch', 'onnxruntime', 'both'];

/** One row of the bench JSON schema shared by every `cbdm bench` target. */
export interface TrainBenchCase {
  case: string;
  unit: string;
  ours: number;
  peer: number | null;
  peer_name: string;
  ratio: number | null;
}

/** Which parts of the benchmark run: both, the training step only, or the sampling forward only. */
export type TrainBenchPass = 'both' | 'train' | 'sample';
export const TRAIN_BENCH_PASSES: readonly TrainBenchPass[] = ['both', 'train', 'sample'];

/** Default batch per preset: large enough to be representative, small enough to finish. */
export const BENCH_BATCH: Record<PresetName, number> = { tiny: 64, small: 16, cifar: 4 };

/**
 * The passes to time: as asked, by default both, but only sampling against onnxruntime alone,
 * which runs inference and has no training step to pair ours with.
 */
export function benchTrainPass(pass: TrainBenchPass | undefined, peer: TrainBenchPeer | undefined, noPeer: boolean): TrainBenchPass {
  const onnxruntimeOnly = peer === 'onnxruntime' && !noPeer;
  if (!onnxruntimeOnly) return pass ?? 'both';
  if (pass !== undefined && pass !== 'sample') {
    throw new CbdmError(`--peer onnxruntime times sampling only (onnxruntime-node runs inference, not training): use --pass sample (its default with this peer), or --peer both to time the training step against PyTorch too`);
  }
  return 'sample';
}

/**
 * Measure ours and (if available) the peers on one preset. `pass` defaults to both, and to sample
 * with `peer` onnxruntime (benchTrainPass).
 */
export function benchTrain(preset: PresetName, opts: { batch?: number; reps?: number; threads: number; noPeer?: boolean; peer?: TrainBenchPeer; clock?: 'wall' | 'cpu'; pass?: TrainBenchPass; note?: (m: string) => void }): TrainBenchCase[] {
  const pass = benchTrainPass(opts.pass, opts.peer, opts.noPeer === true);
  const cpu = opts.clock === 'cpu';
  // wall: elapsed seconds; cpu: process CPU seconds of all threads (robust on a shared machine).
  const now = () => {
    if (!cpu) return performance.now() / 1000;
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const classes = 10;
  const cfg = presetConfig(preset, classes);
  const B = opts.batch ?? BENCH_BATCH[preset];
  const reps = opts.reps ?? 3;
  const doTrain = pass !== 'sample', doSample = pass !== 'train';
  const S = cfg.imageSize;
  const be = currentBackend();
  if (be.name === 'cpu') setCpuThreads(opts.threads);
  const net = new UNet(cfg);
  const ema = new UNet(cfg);
  net.store.materialize(be, 0);
  ema.store.materialize(be, 0);
  const opt = new Adam(net.store, { ...DEFAULT_ADAM, warmup: 0 });
  const sched = defaultSchedule();
  const rng = new Rng(1);
  const dropRng = new Rng(2);
  const x0 = rng.fillNormal(new Float32Array(B * 3 * S * S)) as Float32Array;
  const y = Int32Array.from({ length: B }, (_, i) => i % classes);
  const counts = Array.from({ length: classes }, (_, i) => 500 - 45 * i);
  const lossCfg = { ...DEFAULT_LOSS, labelDropProb: 0 };
  const step = () => {
    tidy(() => {
      net.store.zeroGrad();
      const p = trainingLoss({ net: (xt, t, yy) => net.forward(xt, t, yy, { training: true, rng: dropRng }), x0, y0: y, shape: [B, 3, S, S], sched, cfg: lossCfg, counts, rng });
      backward(p.loss);
    });
    opt.update();
    emaUpdate(ema.store, net.store, 0.9999);
    be.synchronize?.(); // a device backend's queued kernels belong to this step's time
  };
  if (doTrain) step();
  const trainTimes: number[] = [];
  for (let r = 0; r < (doTrain ? reps : 0); r++) {
    const t0 = now();
    step();
    trainTimes.push(now() - t0);
  }
  const xT = tensor(x0, [B, 3, S, S]);
  const t = new Int32Array(B).fill(500);
  const fwd = () => noGrad(() => tidy(() => { net.forward(xT, t, y, { training: false }).toArray(); }));
  if (doSample) fwd();
  const fwdTimes: number[] = [];
  for (let r = 0; r < (doSample ? reps : 0); r++) {
    const t0 = now();
    fwd();
    fwdTimes.push(now() - t0);
  }
  xT.dispose();
  const ours = { train: doTrain ? B / upperMedian(trainTimes) : 0, sample: doSample ? B / upperMedian(fwdTimes) : 0 };
  const which = opts.peer ?? 'torch';
  // The peers' idle threads do what ours do (src/engine/cpu/load.ts threadWait): sleep at once
  // (our default; onnxruntime allow_spinning 0, PyTorch's libgomp OMP_WAIT_POLICY=passive) or spin
  // (CBDM_THREAD_WAIT=spin; both peers' default). The policy alone moves each engine by ~10 %.
  const spin = be.name !== 'cpu' || threadWait() === 'spin';
  const arch = { ch: cfg.ch, mult: cfg.chMult, attn: cfg.attn, nres: cfg.numResBlocks, ncls: classes, size: S, batch: B, threads: opts.threads, reps, clock: cpu ? 'cpu' as const : 'wall' as const, spin };
  // The torch peer runs the passes asked for; the onnxruntime peer measures only the sampling forward.
  const peer = opts.noPeer || which === 'onnxruntime' ? null : torchPeer({ ...arch, pass }, opts.note);
  const ort = opts.noPeer || which === 'torch' || !doSample ? null : onnxruntimePeer(arch, opts.note);
  const per = cpu ? '/cpu-s' : '/s';
  const bf = be.name === 'cpu' && computePrecision() === 'bf16' ? ', bf16 compute' : '';
  const row = (name: string, unit: string, o: number, p: number | null, peerName: string): TrainBenchCase => ({ case: name, unit: unit + per, ours: o, peer: p, peer_name: peerName, ratio: p ? o / p : null });
  const torchName = `pytorch-cpu ${peer?.torch ?? ''}`.trim();
  const setting = `${preset} B=${B} ${S}px (${be.name}, ${opts.threads} threads${bf}, idle threads ${spin ? 'spin' : 'sleep'})`;
  const rows: TrainBenchCase[] = [];
  if (doTrain) rows.push(row(`train cbdm step ${setting}`, 'img', ours.train, peer?.train_img_s ?? null, torchName));
  if (doSample && (which !== 'onnxruntime' || opts.noPeer)) rows.push(row(`sample ddpm ${setting}`, 'img·steps', ours.sample, peer?.sample_img_steps_s ?? null, torchName));
  if (doSample && which !== 'torch' && !opts.noPeer) {
    const name = ort ? `onnxruntime-node ${ort.onnxruntime} (cpu EP, model from torch ${ort.torch} torch.onnx.export)` : 'onnxruntime-node';
    rows.push(row(`sample ddpm ${setting} vs onnxruntime`, 'img·steps', ours.sample, ort?.sample_img_steps_s ?? null, name));
  }
  return rows;
}

function torchPeer(c: Record<string, unknown>, note?: (m: string) => void): { train_img_s: number | null; sample_img_steps_s: number | null; torch: string } | null {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'peers', 'train.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const wait: Record<string, string> = c.spin ? {} : { OMP_WAIT_POLICY: 'passive' };
  const r = spawnSync(python, [script, JSON.stringify(c)], { encoding: 'utf8', env: peerEnv({ OMP_NUM_THREADS: String(c.threads), ...wait }) });
  if (r.status !== 0) {
    note?.(`PyTorch peer unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()}); install it with: apt-get install python3-torch`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { train_img_s: number | null; sample_img_steps_s: number | null; torch: string };
}
