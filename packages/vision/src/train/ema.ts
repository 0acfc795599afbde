// Exponential moving average of a model's weights (timm's ModelEmaV2, Ultralytics' ModelEMA):
// evaluated instead of the raw weights, it is usually a little more accurate and less noisy.
import * as torch from '@iris/torch';
import type { nn } from '@iris/torch';

export class ModelEma {
  /** Updates so far (restored on resume: the decay ramp depends on it). */
  updates = 0;

  /**
   * @param shadow a second instance of the same architecture; it receives the averaged weights
   * @param tau with it, the decay of update n is decay * (1 - exp(-n / tau)) (Ultralytics' ramp),
   *   so the first updates follow the weights closely; without it, the decay is constant
   */
  constructor(
    readonly shadow: nn.Module,
    readonly decay = 0.9998,
    readonly tau?: number,
  ) {
    if (tau !== undefined && !(tau > 0)) throw new RangeError(`ModelEma: tau must be > 0, got ${tau}`);
    shadow.eval();
    shadow.freeze();
  }

  /** Copies `model`'s weights into the shadow (at the start of training). */
  init(model: nn.Module): void {
    this.shadow.loadStateDict(model.stateDict());
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return this.tau === undefined ? this.decay : this.decay * (1 - Math.exp(-(this.updates + 1) / this.tau));
  }

  /** shadow = d * shadow + (1 - d) * model, for float tensors; others (counters) are copied. */
  update(model: nn.Module): void {
    const d = this.currentDecay();
    this.updates++;
    torch.noGrad(() =>
      torch.tidy(() => {
        const current = model.stateDict();
        for (const [key, averaged] of this.shadow.stateDict()) {
          const value = current.get(key)!;
          if (averaged.isFloatingPoint()) averaged.lerp_(value, 1 - d);
          else averaged.copy_(value);
        }
      }),
    );
  }
}
