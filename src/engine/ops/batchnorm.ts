/**
 * Batch normalisation per channel (PyTorch's `BatchNorm2d` / `F.batch_norm`).
 *   x N×C×H×W (any N×C×…), γ β mean var C → y like x,  y = γ·(x − mean)/√(var + eps) + β.
 * batchNormInference uses given running statistics (no update): gradients flow into x, γ, β.
 *   Saves x, γ, mean, var.
 * batchNormTrain normalises with the batch's own mean and biased variance, with gradients through
 *   those statistics. Saves x, γ and the batch mean and variance (rstd recomputed per channel).
 *   It returns the statistics so the caller can update running buffers with `updateRunningStats`.
 */
import { Tensor } from '../tensor.ts';
import { record } from '../autograd.ts';
import { checkSame, newLike, st } from './util.ts';
import type { BatchNormGeom } from '../backend.ts';

function bnGeom(op: string, x: Tensor, eps: number, perChannel: Tensor[]): BatchNormGeom {
  if (x.shape.length < 2) throw new Error(`${op}: input must be N×C×…, got ${x.describe()}`);
  checkSame(op, x, ...perChannel);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  for (const t of perChannel) {
    if (t.size !== C) throw new Error(`${op}: per-channel parameters must have ${C} elements for input ${x.describe()}, got ${t.describe()}`);
  }
  if (!(eps > 0)) throw new Error(`${op}: eps must be positive, got ${eps}`);
  return { N, C, L: N * C === 0 ? 0 : x.size / (N * C), eps };
}

function bnRecord(op: string, x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, y: Tensor,
  g: BatchNormGeom, train: boolean): Tensor {
  const be = x.backend;
  return record(op, [x, gamma, beta], y, (gy) => {
    const gx = newLike(x);
    const gGamma = newLike(gamma);
    const gBeta = newLike(beta);
    const b = `${op}.backward`;
    be.batchNormBackward(st(x, b), st(mean, b), st(variance, b), st(gamma, b), st(gy, b), st(gx, b), st(gGamma, b), st(gBeta, b), g, train);
    return [gx, gGamma, gBeta];
  });
}

/** Batch norm with fixed (running) statistics; eps 1e-3 for the FID Inception, 1e-5 by default. */
export function batchNormInference(x: Tensor, mean: Tensor, variance: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const g = bnGeom('batchNormInference', x, eps, [mean, variance, gamma, beta]);
  const y = newLike(x);
  x.backend.batchNormForward(st(x, 'batchNormInference'), st(mean, 'batchNormInference'), st(variance, 'batchNormInference'),
    st(gamma, 'batchNormInference'), st(beta, 'batchNormInference'), st(y, 'batchNormInference'), g);
  return bnRecord('batchNormInference', x, gamma, beta, mean, variance, y, g, false);
}

/** The output of a training-mode batch norm and the statistics it normalised with. */
export interface BatchNormTrainResult {
  y: Tensor;
  /** Per-channel batch mean (C), no gradient. */
  batchMean: Tensor;
  /** Per-channel biased batch variance (C), no gradient. */
  batchVar: Tensor;
  /** Values per channel (N·H·W), for the unbiased running-variance update. */
  count: number;
}

/** Batch norm in training mode: statistics of this batch, gradients through them. */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): BatchNormTrainResult {
  const g = bnGeom('batchNormTrain', x, eps, [gamma, beta]);
  const count = g.N * g.L;
  if (count < 2) throw new Error(`batchNormTrain: need more than 1 value per channel in training, got input ${x.describe()}`);
  const be = x.backend;
  const batchMean = newLike(x, [g.C]);
  const batchVar = newLike(x, [g.C]);
  be.batchNormStats(st(x, 'batchNormTrain'), st(batchMean, 'batchNormTrain'), st(batchVar, 'batchNormTrain'), g);
  const y = newLike(x);
  be.batchNormForward(st(x, 'batchNormTrain'), st(batchMean, 'batchNormTrain'), st(batchVar, 'batchNormTrain'),
    st(gamma, 'batchNormTrain'), st(beta, 'batchNormTrain'), st(y, 'batchNormTrain'), g);
  return { y: bnRecord('batchNormTrain', x, gamma, beta, batchMean, batchVar, y, g, true), batchMean, batchVar, count };
}

/**
 * PyTorch's running-statistics update, in place on the running buffers (momentum 0.1 default):
 *   running_mean ← (1 − m)·running_mean + m·batch_mean
 *   running_var  ← (1 − m)·running_var  + m·batch_var·count/(count − 1)   (unbiased)
 */
export function updateRunningStats(runningMean: Tensor, runningVar: Tensor, stats: BatchNormTrainResult, momentum = 0.1): void {
  checkSame('updateRunningStats', runningMean, runningVar, stats.batchMean);
  const C = stats.batchMean.size;
  if (runningMean.size !== C || runningVar.size !== C) {
    throw new Error(`updateRunningStats: running buffers ${runningMean.describe()} and ${runningVar.describe()} must have ${C} elements`);
  }
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`updateRunningStats: momentum must be in [0, 1], got ${momentum}`);
  const be = runningMean.backend;
  const op = 'updateRunningStats';
  be.emaUpdate(st(runningMean, op), st(stats.batchMean, op), 1 - momentum);
  const unbiased = newLike(stats.batchVar);
  be.affine(st(stats.batchVar, op), stats.count / (stats.count - 1), 0, st(unbiased, op));
  be.emaUpdate(st(runningVar, op), st(unbiased, op), 1 - momentum);
  unbiased.dispose();
}
