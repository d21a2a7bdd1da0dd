/**
 * Layers with PyTorch-named parameters. Each declares its parameters on a `ParamStore` under a
 * prefix (so `downblocks.0.block1.2.weight` is exactly the published state-dict key) and has a
 * `forward` over engine tensors. Initialisation follows the published UNet: xavier-uniform
 * weights (optional gain), zero biases, GroupNorm γ = 1, β = 0.
 */
import { Tensor } from '../engine/tensor.ts';
import { conv2d } from '../engine/ops/conv2d.ts';
import { linear } from '../engine/ops/linear.ts';
import { groupNorm } from '../engine/ops/groupnorm.ts';
import { conv2dFused, type ConvFusion, type ConvInputNorm } from '../engine/ops/conv-fused.ts';
import type { Param, ParamStore } from './params.ts';

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

export class Conv2d {
  readonly weight: Param;
  readonly bias: Param;
  constructor(store: ParamStore, prefix: string, readonly ci: number, readonly co: number, readonly k: number,
    readonly stride = 1, readonly pad = 0, gain = 1) {
    this.weight = store.declare(join(prefix, 'weight'), [co, ci, k, k], { kind: 'xavierUniform', gain });
    this.bias = store.declare(join(prefix, 'bias'), [co], { kind: 'zeros' });
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight.value, this.bias.value, { stride: this.stride, pad: this.pad });
  }

  /** conv(norm(x)) + channelAdd + residual as one op (src/engine/ops/conv-fused.ts). */
  forwardFused(x: Tensor, f: ConvFusion): Tensor {
    return conv2dFused(x, this.weight.value, this.bias.value, { stride: this.stride, pad: this.pad }, f);
  }

  /** Multiply-accumulates for one image of input size H×W. */
  macs(H: number, W: number): number {
    const Ho = Math.floor((H + 2 * this.pad - this.k) / this.stride) + 1;
    const Wo = Math.floor((W + 2 * this.pad - this.k) / this.stride) + 1;
    return Ho * Wo * this.co * this.ci * this.k * this.k;
  }
}

export class Linear {
  readonly weight: Param;
  readonly bias: Param | null;
  constructor(store: ParamStore, prefix: string, readonly din: number, readonly dout: number, opts: { bias?: boolean; gain?: number } = {}) {
    this.weight = store.declare(join(prefix, 'weight'), [dout, din], { kind: 'xavierUniform', gain: opts.gain ?? 1 });
    this.bias = (opts.bias ?? true) ? store.declare(join(prefix, 'bias'), [dout], { kind: 'zeros' }) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight.value, this.bias ? this.bias.value : null);
  }
}

export class GroupNorm {
  readonly weight: Param;
  readonly bias: Param;
  constructor(store: ParamStore, prefix: string, readonly channels: number, readonly groups = 32, readonly eps = 1e-5) {
    if (channels % groups !== 0) {
      throw new Error(`GroupNorm '${prefix}': ${channels} channels are not divisible by ${groups} groups (choose ch as a multiple of ${groups})`);
    }
    this.weight = store.declare(join(prefix, 'weight'), [channels], { kind: 'ones' });
    this.bias = store.declare(join(prefix, 'bias'), [channels], { kind: 'zeros' });
  }

  /** This norm (+swish) as the input stage of a fused convolution (Conv2d.forwardFused). */
  asInputNorm(swish: boolean): ConvInputNorm {
    return { gamma: this.weight.value, beta: this.bias.value, groups: this.groups, eps: this.eps, swish };
  }

  /** GroupNorm, optionally fused with the swish that follows it. */
  forward(x: Tensor, swish = false): Tensor {
    return groupNorm(x, this.weight.value, this.bias.value, { groups: this.groups, eps: this.eps, swish });
  }
}
