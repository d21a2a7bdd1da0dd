/**
 * Pooling over NCHW images, PyTorch semantics (`F.avg_pool2d`, `F.max_pool2d`, ceil_mode=False,
 * square window `kernel`, stride defaulting to the kernel, pad ≤ kernel/2):
 *   x N×C×H×W → y N×C×Ho×Wo,  Ho = ⌊(H + 2·pad − kernel)/stride⌋ + 1.
 * avgPool2d divides by kernel² (countIncludePad, PyTorch's default) or by the number of in-image
 * cells (countIncludePad = false: the Inception-v3 FID blocks' 3×3 s1 p1 branch). Saves nothing.
 * maxPool2d takes the maximum of the in-image cells; its gradient goes to the argmax, the first
 * maximum in row-major window order on ties (NaN counts as the maximum). Saves x (the argmax is
 * recomputed in the backward).
 * globalAvgPool: x N×C×H×W → N×C mean over H·W (ResNet/Inception heads). Saves nothing.
 */
import type { PoolGeom } from '../backend.ts';
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkRank, newLike, st } from './util.ts';

export interface PoolOptions {
  kernel: number;
  /** Default: the kernel size. */
  stride?: number;
  /** Zero-width padding on every side, at most kernel/2 (default 0). */
  pad?: number;
}

export interface AvgPoolOptions extends PoolOptions {
  /** Divide by kernel² including padded cells (default true, as PyTorch). */
  countIncludePad?: boolean;
}

/** The geometry of a pooling op, with checks that name the op and the shapes. */
export function poolGeom(op: string, x: Tensor, o: PoolOptions): PoolGeom {
  checkRank(op, 'input', x, 4);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const k = o.kernel;
  const stride = o.stride ?? k;
  const pad = o.pad ?? 0;
  if (![k, stride].every((v) => Number.isInteger(v) && v >= 1) || !(Number.isInteger(pad) && pad >= 0)) {
    throw new Error(`${op}: kernel and stride must be integers ≥ 1 and pad an integer ≥ 0, got kernel ${k}, stride ${stride}, pad ${pad}`);
  }
  if (2 * pad > k) throw new Error(`${op}: pad ${pad} must be at most half the kernel size ${k}`);
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: a ${k}×${k} window with pad ${pad} does not fit input ${x.describe()}`);
  return { N, C, H, W, k, stride, pad, Ho, Wo };
}

export function avgPool2d(x: Tensor, opts: AvgPoolOptions): Tensor {
  const g = poolGeom('avgPool2d', x, opts);
  const cip = opts.countIncludePad ?? true;
  const be = x.backend;
  const y = newLike(x, [g.N, g.C, g.Ho, g.Wo]);
  be.avgPool2dForward(st(x, 'avgPool2d'), st(y, 'avgPool2d'), g, cip);
  return record('avgPool2d', [x], y, (gy) => {
    const gx = newLike(x);
    be.avgPool2dBackward(st(gy, 'avgPool2d.backward'), st(gx, 'avgPool2d.backward'), g, cip);
    return [gx];
  });
}

export function maxPool2d(x: Tensor, opts: PoolOptions): Tensor {
  const g = poolGeom('maxPool2d', x, opts);
  const be = x.backend;
  const y = newLike(x, [g.N, g.C, g.Ho, g.Wo]);
  be.maxPool2dForward(st(x, 'maxPool2d'), st(y, 'maxPool2d'), g);
  return record('maxPool2d', [x], y, (gy) => {
    const gx = newLike(x);
    be.maxPool2dBackward(st(x, 'maxPool2d.backward'), st(gy, 'maxPool2d.backward'), st(gx, 'maxPool2d.backward'), g);
    return [gx];
  });
}

/** Mean over all positions of each channel: N×C×H×W (or N×C×L) → N×C. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length < 3) throw new Error(`globalAvgPool: input must be N×C×H×W, got ${x.describe()}`);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const L = x.size / (N * C);
  const be = x.backend;
  const y = newLike(x, [N, C]);
  // Sum over I = L for each of the N·C planes, then scale: two existing kernels.
  be.sumBroadcast(st(x, 'globalAvgPool'), 1, N * C, L, st(y, 'globalAvgPool'));
  be.scaleInPlace(st(y, 'globalAvgPool'), 1 / L);
  return record('globalAvgPool', [x], y, (gy) => {
    const g = newLike(gy);
    be.affine(st(gy, 'globalAvgPool.backward'), 1 / L, 0, st(g, 'globalAvgPool.backward'));
    const gx = newLike(x);
    be.addBroadcast(st(gx, 'globalAvgPool.backward'), st(g, 'globalAvgPool.backward'), 1, N * C, L, st(gx, 'globalAvgPool.backward'));
    g.dispose();
    return [gx];
  });
}
