/**
 * The UNet of ./unet.ts as an ONNX graph (opset 17, IR 8), op for op what `UNet.forward` computes
 * with `training: false`, so onnxruntime and other ONNX runtimes give the same ε̂:
 *   inputs  x [batch, C, S, S] float32, t [batch] int64 in [0, T),
 *           y [batch] int64 (class-conditional models only): a class in [0, K), or −1 for no
 *           label (the unconditional branch of classifier-free guidance; NO_LABEL in ./unet.ts)
 *   output  eps [batch, C, S, S] float32
 * Every parameter is an initializer under its published state-dict name. The ops, from the
 * operator docs of onnx/onnx (docs/Operators.md):
 *   time embedding  Gather(table, t) → Gemm → x·Sigmoid(x) → Gemm
 *   label           Gather(Concat(label_embedding.weight, 0-row), y): index −1 picks the zero row
 *                   (Gather takes negative indices from the end), which adds nothing to temb,
 *                   exactly as ./unet.ts's maskedLabelEmbedding
 *   GroupNorm(32)   Reshape [B, 32, −1] → InstanceNormalization(γ=1, β=0, ε) → Reshape back →
 *                   ·γ + β per channel (GroupNormalization-18 normalises per group and was
 *                   redefined in opset 21; InstanceNormalization has meant the same since opset 6)
 *   Swish           x·Sigmoid(x)
 *   attention       Transpose(q)·k · C^−½ → Softmax(axis −1) → v·Pᵀ (../engine/ops/attention.ts)
 *   nearest ×2      Resize(mode nearest, asymmetric, floor): out[i] = in[⌊i/2⌋]
 */
import type { UNet } from './unet.ts';
import { encodeOnnxModel, type OnnxAttr, type OnnxNode, type OnnxTensor } from '../io/onnx-proto.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** The label that means "no label" in the exported graph's y (as NO_LABEL in ./unet.ts). */
export const ONNX_NULL_LABEL = -1;

const int = (value: number): OnnxAttr => ({ kind: 'int', value });
const ints = (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value });

/** Collects nodes and initializers; each op returns the name of its output. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;
  private readonly consts = new Map<string, string>();

  op(opType: string, inputs: readonly string[], attributes?: Record<string, OnnxAttr>): string {
    const out = `${opType.toLowerCase()}_${this.count++}`;
    this.nodes.push({ opType, inputs, outputs: [out], name: out, attributes });
    return out;
  }

  init(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A small int64 constant (shapes, perms), shared by every use of the same values. */
  int64s(values: readonly number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.consts.get(key);
    if (name === undefined) {
      name = this.init(`const_${key.replace(/[^0-9a-z]+/gi, '_')}`, [values.length], BigInt64Array.from(values.map(BigInt)));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float32 constant, shared by every use of the same values and dims. */
  floats(values: Float32Array, dims: readonly number[], tag: string): string {
    const key = `f32:${tag}:${dims.join('x')}`;
    let name = this.consts.get(key);
    if (name === undefined) {
      name = this.init(`const_${tag}_${dims.join('x')}`, dims, values);
      this.consts.set(key, name);
    }
    return name;
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.int64s(shape)]);
  }

  swish(x: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x])]);
  }
}

/** What a layer of ./unet.ts needs from the exporter: its parameters' initializer names. */
interface ConvLike { weight: { name: string }; bias: { name: string }; k: number; stride: number; pad: number }
interface NormLike { weight: { name: string }; bias: { name: string }; channels: number; groups: number; eps: number }

function conv(g: GraphBuilder, c: ConvLike, x: string): string {
  return g.op('Conv', [x, c.weight.name, c.bias.name], {
    kernel_shape: ints([c.k, c.k]), strides: ints([c.stride, c.stride]), pads: ints([c.pad, c.pad, c.pad, c.pad]),
  });
}

/** GroupNorm on x [B, C, H, W] (optionally followed by Swish, as the fused op of ../nn/layers.ts). */
function groupNorm(g: GraphBuilder, n: NormLike, x: string, H: number, W: number, swish: boolean): string {
  const G = n.groups;
  const grouped = g.reshape(x, [0, G, -1]);
  const normed = g.op('InstanceNormalization', [grouped, g.floats(new Float32Array(G).fill(1), [G], 'ones'), g.floats(new Float32Array(G), [G], 'zeros')],
    { epsilon: { kind: 'float', value: n.eps } });
  const back = g.reshape(normed, [0, n.channels, H, W]);
  const scaled = g.op('Mul', [back, g.reshape(n.weight.name, [n.channels, 1, 1])]);
  const y = g.op('Add', [scaled, g.reshape(n.bias.name, [n.channels, 1, 1])]);
  return swish ? g.swish(y) : y;
}

type ResBlockLike = UNet['middle'][0];
type AttnBlockLike = NonNullable<ResBlockLike['attn']>;

function attnBlock(g: GraphBuilder, a: AttnBlockLike, x: string, H: number, W: number): string {
  const C = a.q.co;
  const L = H * W;
  const h = groupNorm(g, a.norm, x, H, W, false);
  const seq = (c: ConvLike) => g.reshape(conv(g, c, h), [0, C, L]);
  const q = seq(a.q);
  const k = seq(a.k);
  const v = seq(a.v);
  const scores = g.op('MatMul', [g.op('Transpose', [q], { perm: ints([0, 2, 1]) }), k]); // [B, L_i, L_j]
  const scaled = g.op('Mul', [scores, g.floats(Float32Array.of(C ** -0.5), [], `scale_${C}`)]);
  const p = g.op('Softmax', [scaled], { axis: int(-1) });
  const o = g.op('MatMul', [v, g.op('Transpose', [p], { perm: ints([0, 2, 1]) })]); // [B, C, L_i]
  return g.op('Add', [x, conv(g, a.proj, g.reshape(o, [0, C, H, W]))]);
}

function resBlock(g: GraphBuilder, b: ResBlockLike, x: string, tembAct: string, H: number, W: number): string {
  const co = b.conv1.co;
  let h = conv(g, b.conv1, groupNorm(g, b.norm1, x, H, W, true));
  const t = g.op('Gemm', [tembAct, b.tembProj.weight.name, b.tembProj.bias!.name], { transB: int(1) });
  h = g.op('Add', [h, g.reshape(t, [0, co, 1, 1])]);
  h = conv(g, b.conv2, groupNorm(g, b.norm2, h, H, W, true));
  h = g.op('Add', [h, b.shortcut ? conv(g, b.shortcut, x) : x]);
  return b.attn ? attnBlock(g, b.attn, h, H, W) : h;
}

/** The parameters as float32 views of one host copy of the arena, by name. */
function hostParams(net: UNet): Map<string, { dims: number[]; data: Float32Array }> {
  const arena = net.store.readArena();
  const f32 = arena instanceof Float32Array ? arena : Float32Array.from(arena);
  return new Map(net.store.layout.map((l) => [l.name, { dims: [...l.shape], data: f32.subarray(l.offset, l.offset + l.size) }]));
}

export interface OnnxExportInfo {
  /** Where the weights came from (recorded in the model's metadata). */
  source?: string;
  producerVersion?: string;
}

/** The .onnx bytes of `net`'s forward pass (its current weights: load the EMA model to export the EMA weights). */
export function encodeUNetOnnx(net: UNet, info: OnnxExportInfo = {}): Uint8Array {
  const c = net.config;
  const S = c.imageSize;
  const g = new GraphBuilder();
  const params = hostParams(net);
  for (const [name, p] of params) g.init(name, p.dims, p.data);

  let temb = g.op('Gather', [net.timeTable.name, 't'], { axis: int(0) });
  temb = g.op('Gemm', [temb, net.time1.weight.name, net.time1.bias!.name], { transB: int(1) });
  temb = g.op('Gemm', [g.swish(temb), net.time2.weight.name, net.time2.bias!.name], { transB: int(1) });
  if (net.labelEmbedding) {
    const D = net.labelEmbedding.shape[1]!;
    const withNull = g.op('Concat', [net.labelEmbedding.name, g.floats(new Float32Array(D), [1, D], 'zeros')], { axis: int(0) });
    temb = g.op('Add', [temb, g.op('Gather', [withNull, 'y'], { axis: int(0) })]);
  }
  const tembAct = g.swish(temb);

  let H = S;
  let h = conv(g, net.head, 'x');
  const hs: string[] = [h];
  for (const b of net.down) {
    if (b.kind === 'res') h = resBlock(g, b.block, h, tembAct, H, H);
    else { h = conv(g, b.conv, h); H /= 2; }
    hs.push(h);
  }
  h = resBlock(g, net.middle[0], h, tembAct, H, H);
  h = resBlock(g, net.middle[1], h, tembAct, H, H);
  for (const b of net.up) {
    switch (b.kind) {
      case 'res':
        h = resBlock(g, b.block, g.op('Concat', [h, hs.pop()!], { axis: int(1) }), tembAct, H, H);
        break;
      case 'up': {
        const up = g.op('Resize', [h, '', g.floats(Float32Array.of(1, 1, 2, 2), [4], 'scales_up2')], {
          mode: { kind: 'string', value: 'nearest' },
          coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
          nearest_mode: { kind: 'string', value: 'floor' },
        });
        H *= 2;
        h = conv(g, b.conv, up);
        break;
      }
      default: {
        const never: never = b;
        throw new Error(`unknown block ${JSON.stringify(never)}`);
      }
    }
  }
  const tail = conv(g, net.tail, groupNorm(g, net.tailNorm, h, H, H, true));
  g.nodes.push({ opType: 'Identity', inputs: [tail], outputs: ['eps'], name: 'eps' });

  const C = c.channels;
  const labelled = c.numClasses > 0;
  return encodeOnnxModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'cbdm',
    producerVersion: info.producerVersion ?? '',
    docString: `DDPM/CBDM UNet ε-network: eps = model(x, t${labelled ? ', y' : ''}); t in [0, ${c.T})${labelled ? `; y a class in [0, ${c.numClasses}) or ${ONNX_NULL_LABEL} for no label (classifier-free guidance's unconditional pass)` : ''}`,
    graph: {
      name: 'cbdm_unet',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [
        { name: 'x', elemType: 'float', shape: ['batch', C, S, S] },
        { name: 't', elemType: 'int64', shape: ['batch'] },
        ...(labelled ? [{ name: 'y', elemType: 'int64' as const, shape: ['batch'] }] : []),
      ],
      outputs: [{ name: 'eps', elemType: 'float', shape: ['batch', C, S, S] }],
    },
    metadata: [
      ['cbdm.unet_config', JSON.stringify(c)],
      ['cbdm.null_label', String(ONNX_NULL_LABEL)],
      ...(info.source !== undefined ? [['cbdm.source', info.source] as const] : []),
    ],
  });
}
