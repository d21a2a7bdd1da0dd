/**
 * 2-D convolution, NCHW, as PyTorch's `F.conv2d` (cross-correlation, zero padding).
 *   x N×Ci×H×W, w Co×Ci×KH×KW, b Co → y N×Co×Ho×Wo, Ho = ⌊(H + 2·pad − KH)/stride⌋ + 1.
 * Saves x and w. Kernels: `src/engine/js/conv2d.ts` (reference) and the native implicit GEMM.
 */
import type { ConvGeom } from '../backend.ts';
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, checkSame, newLike, outputLike, st } from './util.ts';

export interface Conv2dOptions {
  stride?: number;
  pad?: number;
}

/** The geometry of a convolution, with shape checks that name the op and the shapes. */
export function convGeom(x: readonly number[], w: readonly number[], stride: number, pad: number): ConvGeom {
  const [N, Ci, H, W] = x as [number, number, number, number];
  const [Co, Ciw, KH, KW] = w as [number, number, number, number];
  if (Ciw !== Ci) throw new Error(`conv2d: input has ${Ci} channels but weight [${w.join(', ')}] expects ${Ciw}`);
  if (!(Number.isInteger(stride) && stride >= 1 && Number.isInteger(pad) && pad >= 0)) {
    throw new Error(`conv2d: stride must be ≥ 1 and pad ≥ 0 (integers), got stride ${stride}, pad ${pad}`);
  }
  const Ho = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - KW) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`conv2d: kernel ${KH}×${KW} does not fit input ${H}×${W} with pad ${pad}`);
  return { N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo };
}

export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  checkSame('conv2d', x, w, ...(b ? [b] : []));
  checkRank('conv2d', 'input', x, 4);
  checkRank('conv2d', 'weight', w, 4);
  const g = convGeom(x.shape, w.shape, opts.stride ?? 1, opts.pad ?? 0);
  if (b && (b.shape.length !== 1 || b.shape[0] !== g.Co)) throw new Error(`conv2d: bias must have shape [${g.Co}], got ${b.describe()}`);
  const y = outputLike(x, [g.N, g.Co, g.Ho, g.Wo]);
  const be = x.backend;
  be.conv2dForward(st(x, 'conv2d'), st(w, 'conv2d'), b ? st(b, 'conv2d') : null, st(y, 'conv2d'), g);
  const inputs = b ? [x, w, b] : [x, w];
  return record('conv2d', inputs, y, (gy) => {
    const gx = x.requiresGrad ? newLike(x) : null;
    if (gx) be.conv2dBackwardData(st(gy, 'conv2d.backward'), st(w, 'conv2d.backward'), st(gx, 'conv2d.backward'), g);
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (w.requiresGrad || (b && b.requiresGrad)) {
      gw = newLike(w);
      gb = b ? newLike(b) : null;
      be.conv2dBackwardWeight(st(x, 'conv2d.backward'), st(gy, 'conv2d.backward'), st(gw, 'conv2d.backward'), gb ? st(gb, 'conv2d.backward') : null, g);
    }
    return b ? [gx, gw, gb] : [gx, gw];
  });
}
