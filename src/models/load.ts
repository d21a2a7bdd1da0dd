/**
 * Load a UNet for sampling: from a cbdm run directory (its EMA weights) or from a weights file
 * under the published state-dict names (a PyTorch `ckpt.pt` of the published code, whose
 * `ema_model` entry is used, or a safetensors file). The architecture of a foreign checkpoint is
 * read off its tensor shapes; only the image size must be given (default 32).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { UNet, type UNetConfig } from './unet.ts';
import { loadStateDictFile } from '../io/torch.ts';
import { toFloat32, type NdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';
import { latestCheckpoint, readCheckpointFile } from './weights-file.ts';

export interface LoadedModel {
  net: UNet;
  /** Where the weights came from. */
  source: string;
  /** Class names and training counts when known (run directories). */
  classNames: string[] | null;
  counts: number[] | null;
  /** The run's evaluation guidance scale (`--omega-eval`), when loaded from a run directory. */
  omegaEval: number | null;
}

/** Load the EMA model of a run directory. */
export function loadRunModel(runDir: string, backend: Backend): LoadedModel {
  const cfgPath = join(runDir, 'config.json');
  if (!existsSync(cfgPath)) throw new CbdmError(`${runDir} is not a cbdm run directory (no config.json)`);
  const cfg = readJson(cfgPath) as { model?: UNetConfig; train?: { omegaEval?: number } };
  if (typeof cfg.model !== 'object' || cfg.model === null) throw new CbdmError(`${cfgPath} lacks the "model" object (UNet config); the file is corrupt — restore it from a copy of the run`);
  const net = new UNet(cfg.model);
  net.store.materialize(backend, 0);
  const ckpt = latestCheckpoint(runDir);
  let source: string;
  if (ckpt) {
    net.store.writeArena(readCheckpointFile(ckpt, net.store.layout, { emaOnly: true }).arena('ema'));
    source = `${ckpt} (EMA)`;
  } else {
    const emaPath = join(runDir, 'ema.safetensors');
    if (!existsSync(emaPath)) throw new CbdmError(`${runDir} has no checkpoint and no ema.safetensors yet: train it first`);
    net.store.loadStateDict(toValues(loadStateDictFile(emaPath)));
    source = emaPath;
  }
  checkFinite(net, source);
  const dataPath = join(runDir, 'data.json');
  const data = existsSync(dataPath) ? (readJson(dataPath) as { classNames?: string[]; counts?: number[] }) : null;
  return { net, source, classNames: data?.classNames ?? null, counts: data?.counts ?? null, omegaEval: cfg.train?.omegaEval ?? null };
}

/** Load a published-format checkpoint (.pt with net_model/ema_model, or safetensors). */
export function loadWeightsFile(path: string, backend: Backend, opts: { imageSize?: number; entry?: string } = {}): LoadedModel {
  if (!existsSync(path)) throw new CbdmError(`checkpoint ${path} does not exist`);
  let sd: Map<string, NdArray>;
  try {
    sd = loadStateDictFile(path, opts.entry ?? (path.endsWith('.safetensors') ? undefined : 'ema_model'));
  } catch (e) {
    if (opts.entry === undefined && !path.endsWith('.safetensors')) sd = loadStateDictFile(path);
    else throw e;
  }
  // A cbdm safetensors file records its UNet config (ema.safetensors: metadata 'config'); the
  // image size comes from there, and a different --image-size is a mistake, not a request.
  const saved = path.endsWith('.safetensors') ? savedModelConfig(path) : null;
  if (opts.imageSize !== undefined && saved?.imageSize !== undefined && opts.imageSize !== saved.imageSize) {
    throw new CbdmError(`--image-size ${opts.imageSize} conflicts with ${path}, a ${saved.imageSize}×${saved.imageSize} model (its metadata); drop --image-size`);
  }
  const cfg = inferUNetConfig(sd, opts.imageSize ?? saved?.imageSize ?? 32);
  if (saved?.numClasses !== undefined && saved.numClasses !== cfg.numClasses) {
    throw new CbdmError(`${path}: its metadata says ${saved.numClasses} classes but its label embedding has ${cfg.numClasses}; the file is corrupt`);
  }
  const net = new UNet(cfg);
  net.store.materialize(backend, 0);
  net.store.loadStateDict(toValues(sd));
  checkFinite(net, path);
  return { net, source: path, classNames: null, counts: null, omegaEval: null };
}

/** The UNet config a cbdm safetensors file records in its metadata ('config'), read from the header only. */
function savedModelConfig(path: string): Partial<UNetConfig> | null {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) return null;
    const n = Number(len.readBigUInt64LE(0));
    if (n > 100_000_000) return null;  // readSafetensors has reported it already
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    const meta = (JSON.parse(header.toString('utf8')) as { __metadata__?: { config?: string } }).__metadata__;
    const cfg = meta?.config !== undefined ? (JSON.parse(meta.config) as Partial<UNetConfig>) : null;
    return cfg !== null && typeof cfg === 'object' ? cfg : null;
  } catch {
    return null;  // no usable metadata: the shapes decide, as for a foreign file
  } finally {
    closeSync(fd);
  }
}

/** Refuse weights holding NaN or ±Inf: every sample from them would be garbage. */
export function checkFinite(net: UNet, source: string): void {
  const arena = net.store.readArena();
  for (const l of net.store.layout) {
    let bad = 0;
    for (let i = l.offset; i < l.offset + l.size; i++) if (!Number.isFinite(arena[i]!)) bad++;
    if (bad > 0) {
      throw new CbdmError(`${source}: weights are not finite: '${l.name}' holds ${bad} NaN/Inf value(s) of ${l.size} (a diverged or corrupt model); refusing to sample — use an earlier checkpoint`);
    }
  }
}

function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CbdmError(`${path} is not valid JSON (${(e as Error).message}); the file is corrupt — restore it from a copy of the run`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CbdmError(`${path} must hold a JSON object; the file is corrupt — restore it from a copy of the run`);
  return v as Record<string, unknown>;
}

/** A state dict as the float32 values ParamStore.loadStateDict takes. */
export function toValues(sd: Map<string, NdArray>): Map<string, { shape: readonly number[]; data: Float32Array }> {
  return new Map([...sd].map(([k, v]) => [k, { shape: v.shape, data: toFloat32(v) }]));
}

/** Read the UNet architecture off a state dict's names and shapes. */
export function inferUNetConfig(sd: Map<string, NdArray>, imageSize: number): UNetConfig {
  const shape = (k: string) => {
    const v = sd.get(k);
    if (!v) throw new CbdmError(`checkpoint lacks '${k}': not a DDPM/CBDM UNet state dict (keys like head.weight, downblocks.0.block1.2.weight expected)`);
    return v.shape;
  };
  const [T, ch] = shape('time_embedding.timembedding.0.weight') as [number, number];
  const numClasses = sd.has('label_embedding.weight') ? shape('label_embedding.weight')[0]! : 0;
  const channels = shape('head.weight')[1]!; // head: Conv(C → ch), weight [ch, C, 3, 3]
  const down: Array<'res' | 'down'> = [];
  for (let i = 0; sd.has(`downblocks.${i}.main.weight`) || sd.has(`downblocks.${i}.block1.2.weight`); i++) {
    down.push(sd.has(`downblocks.${i}.main.weight`) ? 'down' : 'res');
  }
  const levels = down.filter((d) => d === 'down').length + 1;
  const numResBlocks = (down.length - (levels - 1)) / levels;
  if (!Number.isInteger(numResBlocks) || numResBlocks < 1) throw new CbdmError('cannot infer num_res_blocks from the checkpoint\'s downblocks');
  const chMult: number[] = [];
  const attn: number[] = [];
  let i = 0;
  for (let level = 0; level < levels; level++) {
    chMult.push(shape(`downblocks.${i}.block1.2.weight`)[0]! / ch);
    if (sd.has(`downblocks.${i}.attn.proj.weight`)) attn.push(level);
    i += numResBlocks + (level < levels - 1 ? 1 : 0);
  }
  return { T, ch, chMult, attn, numResBlocks, dropout: 0.1, numClasses, imageSize, channels };
}
