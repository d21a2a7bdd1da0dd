/**
 * `cbdm export`: hand a model or samples to other tools.
 *   cbdm export torch --run DIR --out model.pt    the EMA weights as a PyTorch state dict under the
 *                                                 published names (loads with strict=True into the
 *                                                 published UNet)
 *   cbdm export onnx --run DIR --out model.onnx   the EMA ε-network as an ONNX model (opset 17):
 *                                                 eps = f(x, t, y), y = −1 for no label
 *   cbdm export png --samples S.npz --out DIR     one PNG per sample in class folders + index.json
 */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../engine/backends.ts';
import { loadRunModel, loadWeightsFile } from '../models/load.ts';
import { exportOnnx, exportTorchStateDict } from '../api/export.ts';
import { readSamples } from '../metrics/features.ts';
import { floatToUint8 } from '../io/png-grid.ts';
import { exportDataset } from '../data/export.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { CbdmError } from '../util/errors.ts';
import { posInt } from './parse.ts';

/** Class names from a run's data.json, or class_<k> for each label seen. */
function classNamesFor(run: string | undefined, labels: Int32Array): string[] {
  if (run !== undefined) {
    const path = join(run, 'data.json');
    if (!existsSync(path)) throw new CbdmError(`--run ${run} has no data.json; is it a cbdm run directory?`);
    const names = (JSON.parse(readFileSync(path, 'utf8')) as { classNames?: unknown }).classNames;
    if (Array.isArray(names) && names.every((n) => typeof n === 'string')) return names as string[];
    throw new CbdmError(`${path} lacks classNames; the file is corrupt — restore it from a copy of the run`);
  }
  let max = -1;
  for (const c of labels) max = Math.max(max, c);
  return Array.from({ length: max + 1 }, (_, k) => `class_${k}`);
}

/** `--run` / `--ckpt` / `--image-size`: where an exported model comes from (torch and onnx alike). */
interface ModelSourceOptions { run?: string; ckpt?: string; imageSize?: number }

function modelSource(cmd: Command): Command {
  return cmd
    .option('--run <dir>', 'run directory (its EMA model)')
    .option('--ckpt <file>', 'weights file instead: published ckpt.pt (ema_model entry) or safetensors with the published names')
    .option('--image-size <n>', 'image size for --ckpt (default 32)', posInt);
}

function checkSource(o: ModelSourceOptions): void {
  if ((o.run === undefined) === (o.ckpt === undefined)) throw new CbdmError('give exactly one of --run RUN_DIR or --ckpt FILE');
}

function loadSourceModel(o: ModelSourceOptions): ReturnType<typeof loadRunModel> {
  const backend = useBackend();
  return o.run !== undefined ? loadRunModel(o.run, backend) : loadWeightsFile(o.ckpt!, backend, { imageSize: o.imageSize });
}

export function register(program: Command): void {
  const ex = program.command('export').description('export a model as a PyTorch state dict or an ONNX model, or samples as PNG files');
  modelSource(ex.command('torch').description('the EMA weights of a run (or a weights file) as a PyTorch .pt state dict under the published names: net.load_state_dict(torch.load(FILE), strict=True)'))
    .requiredOption('--out <file>', 'output .pt file (written atomically)')
    .action((o: ModelSourceOptions & { out: string }) => {
      checkSource(o);
      if (!/\.(pt|pth)$/.test(o.out)) throw new CbdmError(`--out ${o.out}: a PyTorch state dict file ends in .pt or .pth`);
      const m = loadSourceModel(o);
      exportTorchStateDict(m.net, o.out);
      const c = m.net.config;
      console.log(`${m.net.store.params.length} tensors (${m.net.store.numel.toLocaleString('en-US')} parameters) from ${m.source} → ${o.out}; `
        + `the published UNet(T=${c.T}, ch=${c.ch}, ch_mult=[${c.chMult.join(', ')}], attn=[${c.attn.join(', ')}], num_res_blocks=${c.numResBlocks}, num_class=${c.numClasses}) loads it with strict=True`);
    });
  modelSource(ex.command('onnx').description('the EMA model of a run (or a weights file) as an ONNX model (opset 17) for onnxruntime and other runtimes: inputs x [B,C,S,S] float32, t [B] int64, y [B] int64 (a class, or -1 for no label), output eps'))
    .requiredOption('--out <file>', 'output .onnx file (written atomically)')
    .action((o: ModelSourceOptions & { out: string }) => {
      checkSource(o);
      if (!o.out.endsWith('.onnx')) throw new CbdmError(`--out ${o.out}: an ONNX model file ends in .onnx`);
      const m = loadSourceModel(o);
      exportOnnx(m.net, o.out, m.source);
      const c = m.net.config;
      const inputs = c.numClasses > 0 ? `x [B,${c.channels},${c.imageSize},${c.imageSize}], t [B] in [0, ${c.T}), y [B] in [0, ${c.numClasses}) or -1 (no label)` : `x [B,${c.channels},${c.imageSize},${c.imageSize}], t [B] in [0, ${c.T})`;
      console.log(`${m.net.store.numel.toLocaleString('en-US')} parameters from ${m.source} → ${o.out} (ONNX opset 17; inputs ${inputs}; output eps)`);
    });
  ex.command('png')
    .description('samples (.npz of cbdm sample, guided-diffusion\'s arr_0 .npz or the published .npy pair) as one PNG per image in class folders, with index.json')
    .requiredOption('--samples <file>', 'samples file')
    .requiredOption('--out <dir>', 'output folder (<NNN>_<class>/<index>.png; `--dataset folder:DIR` reads it back)')
    .option('--run <dir>', 'run directory whose data.json names the classes (default class_<k>)')
    .action((o: { samples: string; out: string; run?: string }) => {
      const s = readSamples(o.samples);
      const classNames = classNamesFor(o.run, s.labels);
      for (const c of s.labels) if (c >= classNames.length) throw new CbdmError(`${o.samples}: label ${c} is outside the ${classNames.length} classes of --run ${o.run}`);
      const counts = classNames.map(() => 0);
      for (const c of s.labels) counts[c]!++;
      const ds: ImageDataset = {
        name: `samples:${o.samples}`, numClasses: classNames.length, classNames, size: s.size, channels: s.channels === 1 ? 1 : 3,
        images: s.images instanceof Uint8Array ? s.images : floatToUint8(s.images), labels: s.labels, counts,
      };
      const index = exportDataset(ds, o.out);
      console.log(`${index.images.length} PNG files (${classNames.length} classes) → ${o.out} (index.json lists each file's label)`);
    });
}
