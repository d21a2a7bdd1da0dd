/**
 * The DDPM CIFAR UNet (Ho et al. 2020) with the class embedding of the CBDM code, parameter for
 * parameter: every parameter name is the published PyTorch state-dict key, so published
 * checkpoints load 1:1 (see `ParamStore.loadStateDict`).
 *
 *   temb = Linear(4ch) ∘ Swish ∘ Linear(ch→4ch) ∘ SinusoidalTable[t]   (+ label_embedding[y])
 *   head Conv3×3(C→ch) → down path (ResBlocks, Conv3×3 s2 between levels) → middle
 *   Res(attn) + Res → up path (concat skip, num_res_blocks+1 ResBlocks, nearest×2 + Conv3×3)
 *   → tail GroupNorm → Swish → Conv3×3(→C)
 * Shapes: x N×C×S×S, t N (ints in [0, T)), y N (ints in [0, classes)) or null → ε̂ N×C×S×S;
 * C = 3 (RGB, the published model) or 1 (greyscale data such as Fashion-MNIST): ε has the
 * image's shape, so the head takes and the tail gives C channels.
 */
import { Tensor } from '../engine/tensor.ts';
import { add, mul } from '../engine/ops/arith.ts';
import { tensor } from '../engine/ops/create.ts';
import { swish } from '../engine/ops/activation.ts';
import { embedding } from '../engine/ops/embedding.ts';
import { attention } from '../engine/ops/attention.ts';
import { upsampleNearest2x } from '../engine/ops/upsample.ts';
import { concat } from '../engine/ops/concat.ts';
import { dropout } from '../engine/ops/dropout.ts';
import { ParamStore, type Param } from '../nn/params.ts';
import { Conv2d, GroupNorm, Linear } from '../nn/layers.ts';
import { CbdmError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

export interface UNetConfig {
  /** Diffusion steps (size of the sinusoidal time table). */
  T: number;
  /** Base channel count (multiple of 32: GroupNorm(32)). */
  ch: number;
  /** Channel multiplier per resolution level. */
  chMult: number[];
  /** Level indices that get self-attention after each ResBlock. */
  attn: number[];
  numResBlocks: number;
  dropout: number;
  /** Number of classes for the label embedding; 0 = unconditional model. */
  numClasses: number;
  imageSize: number;
  /** Image channels C (in = out); default 3, as configs written before greyscale support. */
  channels?: number;
}

/** A config with every default filled in (what `UNet.config` holds and run directories record). */
export type ResolvedUNetConfig = UNetConfig & { channels: number };

/** Per-forward options: dropout is active only when training. */
export interface ForwardOptions {
  training: boolean;
  rng?: Rng;
  /**
   * Receives h_mid, the output of the two middle blocks (N×C_b×S_b×S_b, C_b = bottleneckChannels):
   * the tap CORAL's projection head reads (src/models/projection-head.ts). Gradients flow back
   * through it into the middle blocks and the down path.
   */
  onBottleneck?: (hMid: Tensor) => void;
}

/** Check a config before any work starts; errors say what to change. */
export function validateUNetConfig(c: UNetConfig): void {
  if (!(Number.isInteger(c.ch) && c.ch > 0 && c.ch % 32 === 0)) throw new CbdmError(`model ch must be a positive multiple of 32 (GroupNorm uses 32 groups), got ${c.ch}`);
  if (c.chMult.length < 1 || c.chMult.some((m) => !(Number.isInteger(m) && m > 0))) throw new CbdmError(`ch_mult must be positive integers, got [${c.chMult.join(', ')}]`);
  if (c.attn.some((a) => !(Number.isInteger(a) && a >= 0 && a < c.chMult.length))) throw new CbdmError(`attention levels [${c.attn.join(', ')}] must index ch_mult (0..${c.chMult.length - 1})`);
  const down = 2 ** (c.chMult.length - 1);
  if (!(Number.isInteger(c.imageSize) && c.imageSize > 0 && c.imageSize % down === 0)) {
    throw new CbdmError(`image size ${c.imageSize} is not divisible by the UNet's total downsampling ${down} (${c.chMult.length} levels); use a multiple of ${down}`);
  }
  if (!(Number.isInteger(c.numResBlocks) && c.numResBlocks >= 1)) throw new CbdmError(`num_res_blocks must be ≥ 1, got ${c.numResBlocks}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new CbdmError(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(Number.isInteger(c.numClasses) && c.numClasses >= 0)) throw new CbdmError(`number of classes must be a non-negative integer, got ${c.numClasses}`);
  if (!(Number.isInteger(c.T) && c.T >= 1)) throw new CbdmError(`T must be a positive integer, got ${c.T}`);
  if (c.channels !== undefined && c.channels !== 1 && c.channels !== 3) throw new CbdmError(`image channels must be 1 or 3, got ${c.channels}`);
}

/** The frozen sinusoidal table of the published TimeEmbedding: row t = [sin(t·f0), cos(t·f0), sin(t·f1), …]. */
export function sinusoidalTable(T: number, d: number): Float32Array {
  const out = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < d / 2; i++) {
      const f = Math.exp(-((2 * i) / d) * Math.log(10000));
      out[t * d + 2 * i] = Math.sin(t * f);
      out[t * d + 2 * i + 1] = Math.cos(t * f);
    }
  }
  return out;
}

class AttnBlock {
  readonly norm: GroupNorm;
  readonly q: Conv2d;
  readonly k: Conv2d;
  readonly v: Conv2d;
  readonly proj: Conv2d;
  constructor(store: ParamStore, prefix: string, ch: number) {
    this.norm = new GroupNorm(store, `${prefix}.group_norm`, ch);
    this.q = new Conv2d(store, `${prefix}.proj_q`, ch, ch, 1);
    this.k = new Conv2d(store, `${prefix}.proj_k`, ch, ch, 1);
    this.v = new Conv2d(store, `${prefix}.proj_v`, ch, ch, 1);
    this.proj = new Conv2d(store, `${prefix}.proj`, ch, ch, 1, 1, 0, 1e-5);
  }

  forward(x: Tensor): Tensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const h = this.norm.forward(x);
    const seq = (t: Tensor) => t.reshape([N, C, H * W]);
    const a = attention(seq(this.q.forward(h)), seq(this.k.forward(h)), seq(this.v.forward(h)));
    // x + proj(a): the residual added at the 1×1 kernel's store when no gradient is needed
    // (conv2dFused; the same ops, conv then add, otherwise)
    return this.proj.forwardFused(a.reshape([N, C, H, W]), { residual: x });
  }

  macs(H: number, W: number): number {
    const L = H * W;
    const C = this.q.co;
    return 4 * this.q.macs(H, W) + 2 * L * L * C;
  }
}

class ResBlock {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly tembProj: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  readonly attn: AttnBlock | null;
  constructor(store: ParamStore, prefix: string, ci: number, co: number, tdim: number, readonly dropoutP: number, withAttn: boolean) {
    this.norm1 = new GroupNorm(store, `${prefix}.block1.0`, ci);
    this.conv1 = new Conv2d(store, `${prefix}.block1.2`, ci, co, 3, 1, 1);
    this.tembProj = new Linear(store, `${prefix}.temb_proj.1`, tdim, co);
    this.norm2 = new GroupNorm(store, `${prefix}.block2.0`, co);
    this.conv2 = new Conv2d(store, `${prefix}.block2.3`, co, co, 3, 1, 1, 1e-5);
    this.shortcut = ci !== co ? new Conv2d(store, `${prefix}.shortcut`, ci, co, 1) : null;
    this.attn = withAttn ? new AttnBlock(store, `${prefix}.attn`, co) : null;
  }

  forward(x: Tensor, tembAct: Tensor, opts: ForwardOptions): Tensor {
    const N = x.shape[0]!;
    if (opts.training) {  // the separate ops: dropout sits between norm2 and conv2
      let h = this.conv1.forward(this.norm1.forward(x, true));
      h = add(h, this.tembProj.forward(tembAct).reshape([N, this.conv1.co, 1, 1]));
      let g = this.norm2.forward(h, true);
      if (this.dropoutP > 0) g = dropout(g, this.dropoutP, requireRng(opts), true);
      h = add(this.conv2.forward(g), this.shortcut ? this.shortcut.forward(x) : x);
      return this.attn ? this.attn.forward(h) : h;
    }
    // Inference: both convs take their group norm + swish in front and the adds behind
    // (conv2dFused: one fused kernel when no gradient is needed, else the same ops as above).
    let h = this.conv1.forwardFused(x, { norm: this.norm1.asInputNorm(true), channelAdd: this.tembProj.forward(tembAct) });
    h = this.conv2.forwardFused(h, { norm: this.norm2.asInputNorm(true), residual: this.shortcut ? this.shortcut.forward(x) : x });
    return this.attn ? this.attn.forward(h) : h;
  }

  macs(H: number, W: number): number {
    return this.conv1.macs(H, W) + this.conv2.macs(H, W) + (this.shortcut ? this.shortcut.macs(H, W) : 0)
      + this.tembProj.din * this.tembProj.dout + (this.attn ? this.attn.macs(H, W) : 0);
  }
}

function requireRng(opts: ForwardOptions): Rng {
  if (!opts.rng) throw new Error('UNet.forward: training with dropout needs opts.rng');
  return opts.rng;
}

/** The down path holds ResBlocks and stride-2 convs; the up path ResBlocks and upsampling convs. */
type DownBlock = { kind: 'res'; block: ResBlock } | { kind: 'down'; conv: Conv2d };
type UpBlock = { kind: 'res'; block: ResBlock } | { kind: 'up'; conv: Conv2d };

export class UNet {
  readonly store = new ParamStore();
  readonly timeTable: Param;
  readonly time1: Linear;
  readonly time2: Linear;
  readonly labelEmbedding: Param | null;
  readonly head: Conv2d;
  readonly down: DownBlock[] = [];
  readonly middle: [ResBlock, ResBlock];
  readonly up: UpBlock[] = [];
  readonly tailNorm: GroupNorm;
  readonly tail: Conv2d;
  readonly config: ResolvedUNetConfig;

  constructor(config: UNetConfig) {
    validateUNetConfig(config);
    this.config = { ...config, channels: config.channels ?? 3 };
    const { T, ch, chMult, attn, numResBlocks, dropout: p, numClasses } = config;
    const s = this.store;
    const tdim = ch * 4;
    this.timeTable = s.declare('time_embedding.timembedding.0.weight', [T, ch], { kind: 'fixed', values: sinusoidalTable(T, ch) }, false);
    this.time1 = new Linear(s, 'time_embedding.timembedding.1', ch, tdim);
    this.time2 = new Linear(s, 'time_embedding.timembedding.3', tdim, tdim);
    this.labelEmbedding = numClasses > 0 ? s.declare('label_embedding.weight', [numClasses, tdim], { kind: 'normal', std: 1 }) : null;
    this.head = new Conv2d(s, 'head', this.config.channels, ch, 3, 1, 1);
    const chs = [ch];
    let now = ch;
    let idx = 0;
    chMult.forEach((mult, i) => {
      const out = ch * mult;
      for (let r = 0; r < numResBlocks; r++) {
        this.down.push({ kind: 'res', block: new ResBlock(s, `downblocks.${idx++}`, now, out, tdim, p, attn.includes(i)) });
        now = out;
        chs.push(now);
      }
      if (i !== chMult.length - 1) {
        this.down.push({ kind: 'down', conv: new Conv2d(s, `downblocks.${idx++}.main`, now, now, 3, 2, 1) });
        chs.push(now);
      }
    });
    this.middle = [
      new ResBlock(s, 'middleblocks.0', now, now, tdim, p, true),
      new ResBlock(s, 'middleblocks.1', now, now, tdim, p, false),
    ];
    idx = 0;
    for (let i = chMult.length - 1; i >= 0; i--) {
      const out = ch * chMult[i]!;
      for (let r = 0; r < numResBlocks + 1; r++) {
        this.up.push({ kind: 'res', block: new ResBlock(s, `upblocks.${idx++}`, chs.pop()! + now, out, tdim, p, attn.includes(i)) });
        now = out;
      }
      if (i !== 0) this.up.push({ kind: 'up', conv: new Conv2d(s, `upblocks.${idx++}.main`, now, now, 3, 1, 1) });
    }
    this.tailNorm = new GroupNorm(s, 'tail.0', now);
    this.tail = new Conv2d(s, 'tail.2', now, this.config.channels, 3, 1, 1, 1e-5);
  }

  /**
   * ε̂(x_t, t, y). `y` null drops the label for the whole batch (classifier-free guidance's
   * unconditional branch); an entry NO_LABEL (−1) drops it for that sample only, so a guided
   * sampler can run the conditional and unconditional passes as one batch.
   */
  forward(x: Tensor, t: Int32Array, y: Int32Array | null, opts: ForwardOptions): Tensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (C !== this.config.channels || H !== this.config.imageSize || W !== this.config.imageSize) {
      throw new Error(`UNet.forward: expected input N×${this.config.channels}×${this.config.imageSize}×${this.config.imageSize}, got [${x.shape.join(', ')}]`);
    }
    if (t.length !== N) throw new Error(`UNet.forward: ${t.length} timesteps for a batch of ${N}`);
    let temb = this.time2.forward(swish(this.time1.forward(embedding(this.timeTable.value, t))));
    if (y !== null) {
      if (!this.labelEmbedding) throw new Error('UNet.forward: labels given to an unconditional model (numClasses = 0)');
      if (y.length !== N) throw new Error(`UNet.forward: ${y.length} labels for a batch of ${N}`);
      temb = add(temb, labelDropped(y) ? maskedLabelEmbedding(this.labelEmbedding.value, y) : embedding(this.labelEmbedding.value, y));
    }
    // Every ResBlock applies Swish to temb before its projection: compute it once.
    const tembAct = swish(temb);
    let h = this.head.forward(x);
    const hs: Tensor[] = [h];
    for (const b of this.down) {
      h = b.kind === 'res' ? b.block.forward(h, tembAct, opts) : b.conv.forward(h);
      hs.push(h);
    }
    h = this.middle[0].forward(h, tembAct, opts);
    h = this.middle[1].forward(h, tembAct, opts);
    opts.onBottleneck?.(h);
    for (const b of this.up) {
      switch (b.kind) {
        case 'res':
          h = b.block.forward(concat([h, hs.pop()!], 1), tembAct, opts);
          break;
        case 'up':
          h = b.conv.forward(upsampleNearest2x(h));
          break;
        default: {
          const never: never = b;
          throw new Error(`unknown block ${JSON.stringify(never)}`);
        }
      }
    }
    return this.tail.forwardFused(h, { norm: this.tailNorm.asInputNorm(true) });
  }

  /** Channels of the middle-block output h_mid (ch · ch_mult[-1]). */
  get bottleneckChannels(): number {
    return this.config.ch * this.config.chMult[this.config.chMult.length - 1]!;
  }

  /** Multiply-accumulates of one forward pass for one image (convs, linears, attention). */
  macsPerImage(): number {
    let S = this.config.imageSize;
    let macs = this.time1.din * this.time1.dout + this.time2.din * this.time2.dout + this.head.macs(S, S);
    for (const b of this.down) {
      if (b.kind === 'res') macs += b.block.macs(S, S);
      else { macs += b.conv.macs(S, S); S /= 2; }
    }
    macs += this.middle[0].macs(S, S) + this.middle[1].macs(S, S);
    for (const b of this.up) {
      if (b.kind === 'res') macs += b.block.macs(S, S);
      else { S *= 2; macs += b.conv.macs(S, S); }
    }
    return macs + this.tail.macs(S, S);
  }
}

/** A label entry that means "no label" for that sample (the unconditional branch of guidance). */
export const NO_LABEL = -1;

function labelDropped(y: Int32Array): boolean {
  for (let i = 0; i < y.length; i++) if (y[i]! < 0) return true;
  return false;
}

/** Label embedding rows, zero where y = NO_LABEL (adding zero leaves temb exactly as the unlabelled pass). */
function maskedLabelEmbedding(table: Tensor, y: Int32Array): Tensor {
  const D = table.shape[1]!;
  const mask = new Float32Array(y.length * D);
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) mask.fill(1, i * D, (i + 1) * D);
  return mul(embedding(table, y.map((v) => (v < 0 ? 0 : v))), tensor(mask, [y.length, D]));
}
