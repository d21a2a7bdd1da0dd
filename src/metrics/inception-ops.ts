/**
 * The one tensor helper the FID Inception needs beyond the engine's ops: zero padding with
 * different heights and widths, for the 1×7 / 7×1 / 1×3 / 3×1 convolutions (PyTorch
 * `padding=(0, 3)` etc.), since the engine's conv2d pads all four sides equally.
 *   padZeros: x N×C×H×W → N×C×(H+2ph)×(W+2pw). Forward only (feature extraction), stays on the
 *   tensor's backend: one strided block copy (`copyBlocks`) per call when ph or pw is 0.
 */
import { Tensor, empty } from '../engine/tensor.ts';

/** Zero-pad ph rows above and below and pw columns left and right. */
export function padZeros(x: Tensor, ph: number, pw: number): Tensor {
  if (x.shape.length !== 4) throw new Error(`padZeros: expected an N×C×H×W tensor, got ${x.describe()}`);
  if (!(Number.isInteger(ph) && Number.isInteger(pw) && ph >= 0 && pw >= 0)) throw new Error(`padZeros: pads must be integers ≥ 0, got ${ph}, ${pw}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const Hp = H + 2 * ph;
  const Wp = W + 2 * pw;
  const out = empty([N, C, Hp, Wp], x.dtype, x.backend);
  const be = x.backend;
  const xs = x.storageFor('padZeros');
  const os = out.storageFor('padZeros');
  const P = N * C;
  if (pw === 0) {
    // whole planes: source stride H·W, destination stride Hp·W, starting ph rows down
    be.copyBlocks(xs, 0, H * W, os, ph * W, Hp * W, H * W, P);
  } else if (ph === 0) {
    // every row of every plane: source stride W, destination stride Wp, pw columns in
    be.copyBlocks(xs, 0, W, os, pw, Wp, W, P * H);
  } else {
    for (let p = 0; p < P; p++) be.copyBlocks(xs, p * H * W, W, os, (p * Hp + ph) * Wp + pw, Wp, W, H);
  }
  return out;
}
