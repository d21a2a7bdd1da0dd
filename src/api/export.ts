/**
 * Exports of a model for the PyTorch ecosystem: the EMA weights as a `.pt` state dict under the
 * published names, which loads with `strict=True` into the published UNet (the DDPM/CBDM
 * `model.UNet` of the reference code; bench/peers/ddpm_unet.py re-implements it for the tests).
 */
import type { UNet } from '../models/unet.ts';
import { encodeTorchStateDict, type TorchTensorInput } from '../io/torch-write.ts';
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
