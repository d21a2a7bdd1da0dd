/**
 * Resampling of NCHW images.
 *   upsampleNearest2x: x N×C×H×W → N×C×2H×2W (each pixel copied to a 2×2 block; the UNet's
 *     Upsample). Backward sums the 4 children. Saves nothing.
 *   resizeBilinear: x N×C×H×W → N×C×Ho×Wo, PyTorch `F.interpolate(mode='bilinear',
 *     align_corners=False)` without antialias (Inception preprocessing to 299×299). Forward only:
 *     it records no gradient.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, newLike, outputLike, st } from './util.ts';

export function upsampleNearest2x(x: Tensor): Tensor {
  checkRank('upsampleNearest2x', 'input', x, 4);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const be = x.backend;
  const y = outputLike(x, [N, C, 2 * H, 2 * W]);
  be.upsampleNearest2xForward(st(x, 'upsampleNearest2x'), st(y, 'upsampleNearest2x'), N * C, H, W);
  return record('upsampleNearest2x', [x], y, (gy) => {
    const gx = newLike(x);
    be.upsampleNearest2xBackward(st(gy, 'upsampleNearest2x.backward'), st(gx, 'upsampleNearest2x.backward'), N * C, H, W);
    return [gx];
  });
}

/** Bilinear resize to outH×outW (align_corners=False, no antialias); not differentiable. */
export function resizeBilinear(x: Tensor, outH: number, outW: number): Tensor {
  checkRank('resizeBilinear', 'input', x, 4);
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH >= 1 && outW >= 1)) {
    throw new Error(`resizeBilinear: output size must be positive integers, got ${outH}×${outW}`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const y = newLike(x, [N, C, outH, outW]);
  x.backend.resizeBilinear(st(x, 'resizeBilinear'), st(y, 'resizeBilinear'), N * C, H, W, outH, outW);
  return y;
}
