// Stochastic depth (Huang et al. 2016), as torchvision.ops.StochasticDepth; timm calls it DropPath.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';

/**
 * Zeroes whole samples ('row') or the whole batch ('batch') of a residual branch with probability
 * p in training, scaling survivors by 1/(1-p). Same RNG calls as torchvision, so seeded runs match.
 * @param input [N, ...]
 */
export function stochasticDepth(input: Tensor, p: number, mode: 'row' | 'batch', training = true): Tensor {
  if (p < 0 || p > 1) throw new RangeError(`stochasticDepth: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return input;
  const survival = 1 - p;
  const size = mode === 'row' ? [input.shape[0], ...input.shape.slice(1).map(() => 1)] : input.shape.map(() => 1);
  const noise = torch.empty(size, { dtype: input.dtype, device: input.device }).bernoulli_(survival);
  if (survival > 0) noise.div_(survival);
  return input.mul(noise);
}

export class StochasticDepth extends nn.Module {
  constructor(readonly p: number, readonly mode: 'row' | 'batch') {
    super();
  }
  forward(input: Tensor): Tensor {
    return stochasticDepth(input, this.p, this.mode, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}
