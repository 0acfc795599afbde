// torch.nn.utils.clip_grad (1.13), op for op, so norms and clipped gradients equal PyTorch's.
import { Tensor } from '../../tensor.js';
import { tensor } from '../../creation.js';
import { tidy } from '../../scope.js';
import { noGrad } from '../../autograd.js';
import { amax, stack, vectorNorm } from '../../generated/ops.js';

function gradsOf(parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const params = parameters instanceof Tensor ? [parameters] : [...parameters];
  return params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales the gradients of `parameters` in place so that their joint norm (as if concatenated
 * into one vector) is at most `maxNorm`. Returns that norm before clipping, a scalar tensor.
 * `normType` may be Infinity. `errorIfNonfinite` throws when the norm is NaN or infinite.
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  options: { normType?: number; errorIfNonfinite?: boolean } = {},
): Tensor {
  const { normType = 2, errorIfNonfinite = false } = options;
  return noGrad(() =>
    tidy(() => {
      const grads = gradsOf(parameters);
      if (grads.length === 0) return tensor(0);
      const device = grads[0].device;
      let totalNorm: Tensor;
      if (normType === Infinity) {
        const norms = grads.map((g) => amax(g.detach().abs()).to({ device }));
        totalNorm = norms.length === 1 ? norms[0] : amax(stack(norms));
      } else {
        const norms = grads.map((g) => vectorNorm(g.detach(), { ord: normType }).to({ device }));
        totalNorm = vectorNorm(stack(norms), { ord: normType });
      }
      if (errorIfNonfinite && !totalNorm.isfinite().item()) {
        throw new RangeError(
          `clipGradNorm_: the total norm of order ${normType} of the gradients is non-finite, so it cannot be clipped; pass errorIfNonfinite: false to scale by it anyway`,
        );
      }
      // Python's `max_norm / t` is `t.reciprocal() * max_norm`; the same ops give the same bits.
      const clipCoef = totalNorm.add(1e-6).reciprocal().mul(maxNorm);
      const clipCoefClamped = clipCoef.clamp(null, 1.0);
      for (const g of grads) g.detach().mul_(clipCoefClamped.to({ device: g.device }));
      return totalNorm;
    }),
  );
}

/** Clamps every gradient of `parameters` to [-clipValue, clipValue], in place. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  noGrad(() =>
    tidy(() => {
      for (const g of gradsOf(parameters)) g.clamp_(-clipValue, clipValue);
    }),
  );
}
