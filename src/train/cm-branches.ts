/**
 * Capacity Manipulation (Hong et al., ICLR 2026) — the low-rank branches. APPROXIMATE: from the
 * paper's equations; the released repository holds no code (see cm.ts and docs/METHODS.md).
 *
 * Every conv and linear weight W_g of the UNet (time MLP, head, ResBlock convs and time
 * projections, shortcuts, attention q/k/v/proj, down/up-sampling convs, tail; not the label
 * embedding, the frozen time table, biases or GroupNorm) gets a branch of rank r:
 *   W = W_g + B·A,  W_g viewed as the matrix rows × cols = out × (in·k·k),
 *   B rows×r (zeros), A r×cols (U(−1/√cols, 1/√cols), LoRA's kaiming_uniform(a=√5) bound),
 *   r = ⌈ratio · min(rows, cols)⌉  (≥ 1 for any ratio > 0, ≤ min(rows, cols) for ratio ≤ 1).
 * The branch is a parameter-level composition with existing differentiable ops (matmul, reshape,
 * add): the full pass computes each W from W_g, B and A and runs the unchanged UNet forward with
 * it, so gradients reach W_g, B and A by the ordinary rules; the base pass uses W_g alone.
 *
 * B and A are declared on the network's own ParamStore after the UNet's parameters (keys
 * `cm_branch.<layer>.B|A`): Adam, clipping, checkpoints and exact resume cover them unchanged, and
 * the UNet's own parameters keep the offsets and initial values of a plain run with that seed.
 * For sampling the branches are folded in (`mergeInto`): the EMA follows W_g + B·A in a plain UNet,
 * so ema.safetensors holds exactly the published state-dict keys.
 */
import { add } from '../engine/ops/arith.ts';
import { matmul } from '../engine/ops/linear.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { Param, ParamStore } from '../nn/params.ts';
import type { Conv2d, Linear } from '../nn/layers.ts';
import { UNet } from '../models/unet.ts';
import { Rng, type RngState } from '../util/rng.ts';
import type { TwoPassNet } from './loss.ts';

/** Rank of the branch of a rows×cols weight matrix. */
export function branchRank(ratio: number, rows: number, cols: number): number {
  if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`branchRank: ratio must be in (0, 1], got ${ratio}`);
  return Math.ceil(ratio * Math.min(rows, cols));
}

/** One weight and its branch. */
export interface Branch {
  weight: Param;
  /** rows × r */
  B: Param;
  /** r × cols */
  A: Param;
  rank: number;
  rows: number;
  cols: number;
}

/** Every conv and linear layer of the UNet, in construction order. */
export function unetWeightLayers(net: UNet): Array<Conv2d | Linear> {
  const out: Array<Conv2d | Linear> = [net.time1, net.time2, net.head];
  const res = (b: UNet['middle'][0]) => {
    out.push(b.conv1, b.tembProj, b.conv2);
    if (b.shortcut) out.push(b.shortcut);
    if (b.attn) out.push(b.attn.q, b.attn.k, b.attn.v, b.attn.proj);
  };
  const walk = (blocks: ReadonlyArray<UNet['down'][number] | UNet['up'][number]>) => {
    for (const b of blocks) {
      if (b.kind === 'res') res(b.block);
      else out.push(b.conv);
    }
  };
  walk(net.down);
  res(net.middle[0]);
  res(net.middle[1]);
  walk(net.up);
  out.push(net.tail);
  return out;
}

export class CapacityBranches {
  readonly branches: Branch[] = [];
  private mergedNet: UNet | null = null;

  /** Declare the branches on `net.store`; call before the store is materialized. */
  constructor(readonly net: UNet, readonly rankRatio: number) {
    for (const layer of unetWeightLayers(net)) {
      const w = layer.weight;
      const rows = w.shape[0]!;
      const cols = w.shape.slice(1).reduce((a, b) => a * b, 1);
      const rank = branchRank(rankRatio, rows, cols);
      const key = `cm_branch.${w.name.replace(/\.weight$/, '')}`;
      const B = net.store.declare(`${key}.B`, [rows, rank], { kind: 'zeros' });
      const A = net.store.declare(`${key}.A`, [rank, cols], { kind: 'uniform', bound: 1 / Math.sqrt(cols) });
      this.branches.push({ weight: w, B, A, rank, rows, cols });
    }
  }

  /** Parameters in the branches (B and A of every layer). */
  get numel(): number {
    return this.branches.reduce((s, b) => s + b.rank * (b.rows + b.cols), 0);
  }

  /**
   * Run `fn` (a forward pass) with every weight standing for W_g + B·A. The tensors are built in
   * the caller's scope (free them with its tidy); the arena views are bound back afterwards.
   */
  withBranches<T>(fn: () => T): T {
    const views: Tensor[] = this.branches.map((b) => b.weight.value);
    try {
      this.branches.forEach((b, i) => {
        const view = views[i]!;
        b.weight.bind(add(view, matmul(b.B.value, b.A.value).reshape(view.shape)));
      });
      return fn();
    } finally {
      this.branches.forEach((b, i) => b.weight.bind(views[i]!));
    }
  }

  /**
   * Fold the branches into `out`, a plain UNet store of the same architecture on the same
   * backend: every UNet parameter is copied, then each weight gets += B·A (one gemm, β = 1).
   */
  mergeInto(out: ParamStore): void {
    const src = this.net.store;
    const n = out.arena.size;
    const prefix = src.layout.slice(0, out.layout.length);
    if (prefix.some((l, i) => l.name !== out.layout[i]!.name || l.size !== out.layout[i]!.size) || src.layout[out.layout.length]?.offset !== n) {
      throw new Error('CapacityBranches.mergeInto: the target is not this network\'s plain UNet');
    }
    const be = src.backend;
    be.copy(src.arena, 0, out.arena, 0, n);
    for (const b of this.branches) {
      const target = out.get(b.weight.name).value.storageFor('cm.merge');
      be.gemm(false, false, b.rows, b.cols, b.rank, 1, b.B.value.storageFor('cm.merge'), b.A.value.storageFor('cm.merge'), 1, target);
    }
  }

  /** The merged weights in a plain UNet kept for the purpose (what the EMA follows). */
  merged(): ParamStore {
    if (this.mergedNet === null) {
      this.mergedNet = new UNet(this.net.config);
      this.mergedNet.store.materialize(this.net.store.backend, 0, this.net.store.dtype);
    }
    this.mergeInto(this.mergedNet.store);
    return this.mergedNet.store;
  }
}

/**
 * The two passes of a CM step on `net` in training mode. Both draw the same dropout masks (the
 * base pass replays the dropout RNG from where the full pass started), so at B = 0 they agree
 * exactly and d = ε_full − ε_base measures the branches alone. `full` must run first.
 */
export function twoPassNet(net: UNet, branches: CapacityBranches, dropRng: Rng): TwoPassNet {
  let masks: RngState | null = null;
  return {
    full: (xt, t, y) => {
      masks = dropRng.state();
      return branches.withBranches(() => net.forward(xt, t, y, { training: true, rng: dropRng }));
    },
    base: (xt, t, y) => {
      if (masks === null) throw new Error('twoPassNet: the base pass replays the full pass\'s dropout masks; run full first');
      const replay = Rng.fromState(masks);
      masks = null;
      return net.forward(xt, t, y, { training: true, rng: replay });
    },
  };
}
