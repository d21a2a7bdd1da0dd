/**
 * Adam with linear warm-up, global grad-norm clipping and an EMA copy, each one kernel call over
 * the model's flat parameter arena (see `ParamStore`).
 *
 * Matches the published training loop (pytorch-ddpm / CBDM `main.py`):
 *   clip_grad_norm_(params, 1.0) → Adam.step() → LambdaLR.step() → ema(net, ema, 0.9999)
 * with lr(k) = lr · min(k, warmup) / warmup for the k-th optimiser step (k = 0, 1, …: the very
 * first step runs at lr 0, as LambdaLR does).
 */
import type { Storage } from '../engine/backend.ts';
import type { ParamStore } from '../nn/params.ts';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Linear warm-up length in steps (0 = none). */
  warmup: number;
  /** Global L2 grad-norm clip (0 or Infinity = none). */
  gradClip: number;
}

export const DEFAULT_ADAM: AdamConfig = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmup: 5000, gradClip: 1.0 };

/** The warm-up schedule: learning rate of optimiser step k (0-based). */
export function warmupLr(cfg: AdamConfig, k: number): number {
  return cfg.warmup > 0 ? cfg.lr * Math.min(k, cfg.warmup) / cfg.warmup : cfg.lr;
}

export interface StepStats {
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export class Adam {
  readonly m: Storage;
  readonly v: Storage;
  /** Optimiser steps taken so far. */
  step = 0;

  constructor(readonly store: ParamStore, readonly cfg: AdamConfig) {
    this.m = store.backend.alloc(store.dtype, store.arena.size);
    this.v = store.backend.alloc(store.dtype, store.arena.size);
  }

  /** Σ g² over this optimiser's gradient arena. */
  gradSquares(): number {
    return this.store.backend.sumSquares(this.store.gradArena);
  }

  /**
   * Clip, update with the scheduled lr, and advance the schedule. `globalNorm`: the norm to clip
   * by when several stores make up one model (see `updateAll`); default this store's own.
   */
  update(globalNorm?: number): StepStats {
    const be = this.store.backend;
    const g = this.store.gradArena;
    const gradNorm = globalNorm ?? Math.sqrt(this.gradSquares());
    if (this.cfg.gradClip > 0 && Number.isFinite(this.cfg.gradClip)) {
      // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
      const coef = this.cfg.gradClip / (gradNorm + 1e-6);
      if (coef < 1) be.scaleInPlace(g, coef);
    }
    const lr = warmupLr(this.cfg, this.step);
    this.step++;
    be.adamStep(this.store.arena, g, this.m, this.v, {
      lr, beta1: this.cfg.beta1, beta2: this.cfg.beta2, eps: this.cfg.eps, weightDecay: this.cfg.weightDecay, step: this.step,
    });
    return { lr, gradNorm };
  }

  /** Moments for checkpoints. */
  state(): { step: number; m: Float32Array | Float64Array; v: Float32Array | Float64Array } {
    const be = this.store.backend;
    return { step: this.step, m: be.read(this.m), v: be.read(this.v) };
  }

  /** Restore from `state()`. */
  load(s: { step: number; m: ArrayLike<number>; v: ArrayLike<number> }): void {
    const be = this.store.backend;
    if (s.m.length !== this.m.size || s.v.length !== this.v.size) {
      throw new Error(`optimizer state has ${s.m.length} moments for a model of ${this.m.size} parameters`);
    }
    be.write(this.m, s.m);
    be.write(this.v, s.v);
    this.step = s.step;
  }
}

/**
 * Update parameter groups that form one model (the UNet and CORAL's projection head) under one
 * global grad-norm clip, as torch's clip_grad_norm_(net_model.parameters()) over the whole
 * module. With one optimiser this is exactly `update()`. Returns the first group's stats.
 */
export function updateAll(opts: readonly Adam[]): StepStats {
  if (opts.length === 1) return opts[0]!.update();
  const norm = Math.sqrt(opts.reduce((s, o) => s + o.gradSquares(), 0));
  const stats = opts.map((o) => o.update(norm));
  return stats[0]!;
}

/** ema ← decay·ema + (1 − decay)·net, over whole arenas (both stores share one layout). */
export function emaUpdate(ema: ParamStore, net: ParamStore, decay: number): void {
  if (ema.arena.size !== net.arena.size) throw new Error('emaUpdate: the EMA and the network have different layouts');
  net.backend.emaUpdate(ema.arena, net.arena, decay);
}
