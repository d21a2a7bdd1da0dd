/**
 * Group normalisation (Wu & He 2018), optionally fused with the swish that follows it in every
 * DDPM ResBlock (one pass over memory instead of two).
 *   x N×C×H×W, γ β C, G groups → y N×C×H×W.  Saves x, γ, β, mean and rstd (N×G).
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkSame, newLike, outputLike, st } from './util.ts';

export interface GroupNormOptions {
  groups?: number;
  eps?: number;
  /** Apply swish to the output (fused). */
  swish?: boolean;
}

export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, opts: GroupNormOptions = {}): Tensor {
  checkSame('groupNorm', x, gamma, beta);
  const G = opts.groups ?? 32;
  const eps = opts.eps ?? 1e-5;
  const swish = opts.swish ?? false;
  if (x.shape.length < 2) throw new Error(`groupNorm: input must be N×C×…, got ${x.describe()}`);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const L = x.size / (N * C);
  if (C % G !== 0) throw new Error(`groupNorm: ${C} channels are not divisible into ${G} groups (use a channel count that is a multiple of ${G})`);
  if (gamma.size !== C || beta.size !== C) throw new Error(`groupNorm: weight and bias must have ${C} elements, got ${gamma.describe()} and ${beta.describe()}`);
  const g = { N, C, L, G, eps };
  const y = outputLike(x);
  const mean = newLike(x, [N, G]);
  const rstd = newLike(x, [N, G]);
  const be = x.backend;
  be.groupNormForward(st(x, 'groupNorm'), st(gamma, 'groupNorm'), st(beta, 'groupNorm'), st(y, 'groupNorm'), st(mean, 'groupNorm'), st(rstd, 'groupNorm'), g, swish);
  return record(swish ? 'groupNormSwish' : 'groupNorm', [x, gamma, beta], y, (gy) => {
    const gx = newLike(x);
    const gGamma = newLike(gamma);
    const gBeta = newLike(beta);
    be.groupNormBackward(st(x, 'groupNorm.backward'), st(gamma, 'groupNorm.backward'), st(beta, 'groupNorm.backward'),
      st(mean, 'groupNorm.backward'), st(rstd, 'groupNorm.backward'), st(gy, 'groupNorm.backward'),
      st(gx, 'groupNorm.backward'), st(gGamma, 'groupNorm.backward'), st(gBeta, 'groupNorm.backward'), g, swish);
    return [gx, gGamma, gBeta];
  });
}
