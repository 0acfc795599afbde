import { AdamBase, adamDefaults, type AdamHyper, type AdamOptions } from './adam.js';
import type { Params } from './optimizer.js';

/**
 * AdamW, PyTorch 1.13's `torch.optim.AdamW`: Adam with decoupled weight decay
 * (`param *= 1 - lr * weightDecay` before the update); weightDecay defaults to 1e-2.
 */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;

  constructor(params: Params<AdamHyper>, options: AdamOptions = {}) {
    super(params, adamDefaults('AdamW', options, 1e-2));
  }
}
