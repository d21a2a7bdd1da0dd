/**
 * CORAL's projection head on the UNet bottleneck (Rodriguez et al., "CORAL: Disentangling Latent
 * Representations in Long-Tailed Diffusion", NeurIPS 2025; SankarLab/coral-lt-diffusion @62c9dfa
 * `model/model.py` L199–207 and L260–264):
 *   z = mean_proj(GAP(h_mid)),  h_mid N×C×H×W the output of the two middle blocks,
 *   GAP = adaptive_avg_pool2d(·, 1) → N×C,  mean_proj = Linear(C → 128)
 * C is the bottleneck width (ch·ch_mult[-1]: 256 for the paper UNet); 128 is fixed in the code
 * (`self.latent_dim = 128`, L201). The code's second head `logvar_proj` enters no loss, so it
 * gets no gradient and changes nothing: it is left out.
 *
 * The head lives in its own ParamStore: it is trained with the UNet (same Adam, same global
 * grad-norm clip) and saved in training checkpoints under separate keys, but it is not part of
 * the UNet's parameters, so the EMA export (ema.safetensors) keeps exactly the published
 * state-dict keys and sampling never runs it. Initialisation: PyTorch's default for nn.Linear
 * (the UNet's `initialize` does not touch mean_proj): weight and bias U(−1/√C, 1/√C).
 */
import type { Tensor } from '../engine/tensor.ts';
import { globalAvgPool } from '../engine/ops/pool.ts';
import { linear } from '../engine/ops/linear.ts';
import { ParamStore, type Param } from '../nn/params.ts';

/** Width of the projected embedding (coral-lt-diffusion `model/model.py` L201). */
export const CORAL_LATENT_DIM = 128;

export class ProjectionHead {
  readonly store = new ParamStore();
  readonly weight: Param;
  readonly bias: Param;

  /** `bottleneck`: channels of the UNet's middle-block output. */
  constructor(readonly bottleneck: number, readonly dim = CORAL_LATENT_DIM) {
    const bound = 1 / Math.sqrt(bottleneck);
    this.weight = this.store.declare('mean_proj.weight', [dim, bottleneck], { kind: 'uniform', bound });
    this.bias = this.store.declare('mean_proj.bias', [dim], { kind: 'uniform', bound });
  }

  /** h_mid N×C×H×W → z N×dim (not normalised: the loss normalises). */
  forward(hMid: Tensor): Tensor {
    return linear(globalAvgPool(hMid), this.weight.value, this.bias.value);
  }
}
