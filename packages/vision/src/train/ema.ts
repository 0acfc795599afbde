// Exponential moving average of a model's weights (timm's ModelEmaV2): evaluated instead of the
// raw weights, it is usually a little more accurate and less noisy.
import * as torch from '@iris/torch';
import type { nn } from '@iris/torch';

export class ModelEma {
  /** @param shadow a second instance of the same architecture; it receives the averaged weights */
  constructor(readonly shadow: nn.Module, readonly decay = 0.9998) {
    shadow.eval();
    shadow.freeze();
  }

  /** Copies `model`'s weights into the shadow (at the start of training). */
  init(model: nn.Module): void {
    this.shadow.loadStateDict(model.stateDict());
  }

  /** shadow = decay * shadow + (1 - decay) * model, for float tensors; others (counters) are copied. */
  update(model: nn.Module): void {
    torch.noGrad(() =>
      torch.tidy(() => {
        const current = model.stateDict();
        for (const [key, averaged] of this.shadow.stateDict()) {
          const value = current.get(key)!;
          if (averaged.isFloatingPoint()) averaged.lerp_(value, 1 - this.decay);
          else averaged.copy_(value);
        }
      }),
    );
  }
}
