/**
 * The inference form of the DDPM ResBlock's convolutions (Ho et al. 2020, the CBDM code's
 * `ResBlock`): y = conv(GroupNorm(+swish)(x), w) + b, then + channelAdd (the time/label embedding
 * projection, N×Co, broadcast over positions), then + residual — one op instead of three to four.
 *
 * When no gradient is needed (under `noGrad`, or no input requires one) and the backend has a
 * fused kernel (`conv2dForwardFused`: the native cpu backend normalises while making the conv's
 * padded input copy and adds both terms as it stores each output, native/conv_fused.h), that runs.
 * Otherwise — training, or a backend without it (`js`, the reference) — the same thing is composed
 * from the differentiable ops groupNorm, conv2d and add, in that order: the composition is the
 * specification the fused kernel is tested against.
 */
import { Tensor } from '../tensor.ts';
import { gradEnabled } from '../context.ts';
import { add } from './arith.ts';
import { conv2d, convGeom, type Conv2dOptions } from './conv2d.ts';
import { groupNorm } from './groupnorm.ts';
import { checkRank, checkSame, outputLike, st } from './util.ts';

/** The group norm (+swish) applied to the convolution's input. */
export interface ConvInputNorm {
  gamma: Tensor;
  beta: Tensor;
  groups: number;
  eps: number;
  swish: boolean;
}

export interface ConvFusion {
  norm?: ConvInputNorm;
  /** N×Co (any shape of N·Co elements): added to every output position of its (n, co). */
  channelAdd?: Tensor;
  /** The output's shape: added last. */
  residual?: Tensor;
}

export function conv2dFused(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions, f: ConvFusion): Tensor {
  const extra = [f.norm?.gamma, f.norm?.beta, f.channelAdd, f.residual].filter((t): t is Tensor => t !== undefined);
  const inputs = [x, w, ...(b ? [b] : []), ...extra];
  checkSame('conv2dFused', ...inputs);
  checkRank('conv2dFused', 'input', x, 4);
  checkRank('conv2dFused', 'weight', w, 4);
  const g = convGeom(x.shape, w.shape, opts.stride ?? 1, opts.pad ?? 0);
  if (f.channelAdd && f.channelAdd.size !== g.N * g.Co) throw new Error(`conv2dFused: channelAdd must have N·Co = ${g.N * g.Co} elements, got ${f.channelAdd.describe()}`);
  if (f.residual && !(f.residual.shape.length === 4 && [g.N, g.Co, g.Ho, g.Wo].every((d, i) => f.residual!.shape[i] === d))) {
    throw new Error(`conv2dFused: residual must have the output's shape [${[g.N, g.Co, g.Ho, g.Wo].join(', ')}], got ${f.residual.describe()}`);
  }
  if (f.norm && (g.Ci % f.norm.groups !== 0 || f.norm.gamma.size !== g.Ci || f.norm.beta.size !== g.Ci)) {
    throw new Error(`conv2dFused: the input norm needs ${g.Ci} channels divisible into ${f.norm.groups} groups and γ, β of ${g.Ci}, got ${f.norm.gamma.describe()}, ${f.norm.beta.describe()}`);
  }
  const be = x.backend;
  const needsGrad = gradEnabled() && inputs.some((t) => t.requiresGrad);
  if (!needsGrad && be.conv2dForwardFused) {
    const y = outputLike(x, [g.N, g.Co, g.Ho, g.Wo]);
    const op = 'conv2dFused';
    const norm = f.norm ? { gamma: st(f.norm.gamma, op), beta: st(f.norm.beta, op), groups: f.norm.groups, eps: f.norm.eps, swish: f.norm.swish } : null;
    const done = be.conv2dForwardFused(st(x, op), st(w, op), b ? st(b, op) : null, st(y, op), g,
      { norm, channelAdd: f.channelAdd ? st(f.channelAdd, op) : null, residual: f.residual ? st(f.residual, op) : null });
    if (done) return y;
    y.dispose();
  }
  return composed(x, w, b, opts, f, g.N, g.Co);
}

/** The reference: the separate differentiable ops, in the fused kernel's order. */
function composed(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions, f: ConvFusion, N: number, Co: number): Tensor {
  const n = f.norm;
  let h = conv2d(n ? groupNorm(x, n.gamma, n.beta, { groups: n.groups, eps: n.eps, swish: n.swish }) : x, w, b, opts);
  if (f.channelAdd) h = add(h, f.channelAdd.reshape([N, Co, 1, 1]));
  if (f.residual) h = add(h, f.residual);
  return h;
}
