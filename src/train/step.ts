/**
 * One optimiser step of the training loop (docs/DESIGN.md §1.3; the reference's `main.py`
 * l.282–304): zero the gradients, compute the loss, backward, clip + Adam, EMA. The trainer runs it
 * on drawn batches; the golden trajectory test runs it on the reference code's injected draws.
 */
import { tidy } from '../engine/context.ts';
import { backward } from '../engine/autograd.ts';
import type { ParamStore } from '../nn/params.ts';
import { emaUpdate, updateAll, type Adam, type StepStats } from './optimizer.ts';
import type { LossParts } from './loss.ts';

/**
 * What one step updates: the network's parameters (through `opt`) and their EMA, and parameters
 * trained with it but kept out of the EMA (CORAL's projection head, through its own `opt`, under
 * the same global grad-norm clip).
 */
export interface StepModels {
  net: ParamStore;
  ema: ParamStore;
  opt: Adam;
  /** The weights the EMA follows after the update (default `net`; CM: its merged weights). */
  emaSource?: () => ParamStore;
  projHead?: { store: ParamStore; opt: Adam } | null;
}

/** The loss terms of the step as numbers, and the optimiser's statistics (null: no update). */
export interface StepOutcome {
  parts: Omit<LossParts, 'loss'> & { loss: number };
  stats: StepStats | null;
}

/**
 * Run one step with the loss `computeLoss` builds on the network. A non-finite loss updates
 * nothing (no backward, no Adam, no EMA) and returns `stats` null, so the caller can stop with the
 * step's numbers while the weights are still the last finite ones.
 */
export function optimiserStep(m: StepModels, emaDecay: number, computeLoss: () => LossParts): StepOutcome {
  const parts = tidy(() => {
    m.net.zeroGrad();
    m.projHead?.store.zeroGrad();
    const p = computeLoss();
    const loss = p.loss.item();
    if (Number.isFinite(loss)) backward(p.loss);
    return { ...p, loss };
  });
  if (!Number.isFinite(parts.loss)) return { parts, stats: null };
  const stats = updateAll(m.projHead ? [m.opt, m.projHead.opt] : [m.opt]);
  emaUpdate(m.ema, m.emaSource ? m.emaSource() : m.net, emaDecay);
  return { parts, stats };
}
