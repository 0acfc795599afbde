// torchvision.ops.misc.FrozenBatchNorm2d: BatchNorm2d with fixed statistics and affine
// parameters, all four buffers (no gradients, no running updates), as detection backbones use.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';

export class FrozenBatchNorm2d extends nn.Module {
  declare weight: Tensor;
  declare bias: Tensor;
  declare runningMean: Tensor;
  declare runningVar: Tensor;

  /**
   * @param eps added to the variance (default 1e-5, as torchvision 0.14); writable, as
   * torchvision's overwrite_eps sets it to 0 for weights trained before it existed
   */
  constructor(
    readonly numFeatures: number,
    public eps = 1e-5,
  ) {
    super();
    this.registerBuffer('weight', torch.ones([numFeatures]));
    this.registerBuffer('bias', torch.zeros([numFeatures]));
    this.registerBuffer('runningMean', torch.zeros([numFeatures]));
    this.registerBuffer('runningVar', torch.ones([numFeatures]));
  }

  /** A BatchNorm2d's state dict carries num_batches_tracked, which torchvision drops on load. */
  protected override droppedStateKeys(): string[] {
    return ['num_batches_tracked'];
  }

  /** @param x [N, C, H, W] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const shape = [1, -1, 1, 1];
      const w = this.weight.reshape(shape);
      const b = this.bias.reshape(shape);
      const rv = this.runningVar.reshape(shape);
      const rm = this.runningMean.reshape(shape);
      const scale = w.mul(rv.add(this.eps).rsqrt());
      const bias = b.sub(rm.mul(scale));
      return x.mul(scale).add(bias);
    });
  }

  override toString(): string {
    return `FrozenBatchNorm2d(${this.numFeatures}, eps=${nn.pyFloat(this.eps)})`;
  }
}
