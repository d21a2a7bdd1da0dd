/**
 * Exports of a model for other tools: the EMA weights as a PyTorch `.pt` state dict under the
 * published names, which loads with `strict=True` into the published UNet (the DDPM/CBDM
 * `model.UNet` of the reference code; bench/peers/ddpm_unet.py re-implements it for the tests),
 * and the whole ε-network as an ONNX model (src/models/onnx-export.ts) for onnxruntime and the
 * other ONNX runtimes.
 */
import type { UNet } from '../models/unet.ts';
import { encodeTorchStateDict, type TorchTensorInput } from '../io/torch-write.ts';
import { encodeUNetOnnx } from '../models/onnx-export.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { CbdmError } from '../util/errors.ts';

/** The UNet's weights as name → float32 tensor, in the store's (the published) order. */
export function unetStateDict(net: UNet): Map<string, TorchTensorInput> {
  const arena = net.store.readArena();
  return new Map(net.store.layout.map((l) => [l.name, { shape: [...l.shape], data: Float32Array.from(arena.subarray(l.offset, l.offset + l.size)) }]));
}

/**
 * Write `net`'s weights as a PyTorch state dict (`torch.save` zip format) to `path`, atomically:
 * `net.load_state_dict(torch.load(path), strict=True)` in Python.
 */
export function exportTorchStateDict(net: UNet, path: string): void {
  if (!/\.(pt|pth)$/.test(path)) throw new CbdmError(`${path}: a PyTorch state dict file ends in .pt or .pth`);
  writeFileAtomic(path, encodeTorchStateDict(unetStateDict(net)));
}

/**
 * Write `net`'s forward pass as an ONNX model (opset 17) to `path`, atomically: inputs x, t and,
 * for a class-conditional model, y (−1 = no label); output eps. `source` (where the weights came
 * from) is recorded in the model's metadata.
 */
export function exportOnnx(net: UNet, path: string, source?: string): void {
  if (!path.endsWith('.onnx')) throw new CbdmError(`${path}: an ONNX model file ends in .onnx`);
  writeFileAtomic(path, encodeUNetOnnx(net, { source }));
}
