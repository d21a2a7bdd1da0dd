/**
 * Pointwise activations. Both save their input x.
 *   swish(x) = x·σ(x)  (SiLU; the DDPM UNet's nonlinearity)     relu(x) = max(x, 0)
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { newLike, st } from './util.ts';

export function swish(x: Tensor): Tensor {
  const out = newLike(x);
  x.backend.swishForward(st(x, 'swish'), st(out, 'swish'));
  return record('swish', [x], out, (gy) => {
    const gx = newLike(x);
    x.backend.swishBackward(st(x, 'swish.backward'), st(gy, 'swish.backward'), st(gx, 'swish.backward'));
    return [gx];
  });
}

export function relu(x: Tensor): Tensor {
  const out = newLike(x);
  x.backend.reluForward(st(x, 'relu'), st(out, 'relu'));
  return record('relu', [x], out, (gy) => {
    const gx = newLike(x);
    x.backend.reluBackward(st(x, 'relu.backward'), st(gy, 'relu.backward'), st(gx, 'relu.backward'));
    return [gx];
  });
}
