/**
 * Load a UNet for sampling: from a cbdm run directory (its EMA weights) or from a weights file
 * under the published state-dict names (a PyTorch `ckpt.pt` of the published code, whose
 * `ema_model` entry is used, or a safetensors file). The architecture of a foreign checkpoint is
 * read off its tensor shapes; only the image size must be given (default 32).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { UNet, type UNetConfig } from './unet.ts';
import { loadStateDictFile } from '../io/torch.ts';
import { toFloat32, type NdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';
import { latestCheckpoint, loadCheckpoint } from '../train/checkpoint.ts';

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
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { model: UNetConfig; train?: { omegaEval?: number } };
  const net = new UNet(cfg.model);
  net.store.materialize(backend, 0);
  const ckpt = latestCheckpoint(runDir);
  let source: string;
  if (ckpt) {
    loadCheckpoint(ckpt, net.store, null, null, { emaInto: true });
    source = `${ckpt} (EMA)`;
  } else {
    const emaPath = join(runDir, 'ema.safetensors');
    if (!existsSync(emaPath)) throw new CbdmError(`${runDir} has no checkpoint and no ema.safetensors yet: train it first`);
    net.store.loadStateDict(toValues(loadStateDictFile(emaPath)));
    source = emaPath;
  }
  const dataPath = join(runDir, 'data.json');
  const data = existsSync(dataPath) ? (JSON.parse(readFileSync(dataPath, 'utf8')) as { classNames: string[]; counts: number[] }) : null;
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
  const cfg = inferUNetConfig(sd, opts.imageSize ?? 32);
  const net = new UNet(cfg);
  net.store.materialize(backend, 0);
  net.store.loadStateDict(toValues(sd));
  return { net, source: path, classNames: null, counts: null, omegaEval: null };
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
  return { T, ch, chMult, attn, numResBlocks, dropout: 0.1, numClasses, imageSize };
}
