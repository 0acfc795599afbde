// torchvision.ops.SqueezeExcitation (Hu et al. 2017): channel weights from globally pooled features.
import { nn, type Tensor } from '@iris/torch';

export interface SqueezeExcitationOptions {
  /** δ, after fc1 (default ReLU). */
  activation?: () => nn.Module;
  /** σ, the gate (default Sigmoid; MobileNetV3 uses Hardsigmoid). */
  scaleActivation?: () => nn.Module;
}

/** x · σ(fc2(δ(fc1(avgpool(x))))), with 1x1 convs as fc layers (torchvision's keys: fc1, fc2). */
export class SqueezeExcitation extends nn.Module {
  avgpool = new nn.AdaptiveAvgPool2d(1);
  fc1: nn.Conv2d;
  fc2: nn.Conv2d;
  activation: nn.Module;
  scaleActivation: nn.Module;

  constructor(inputChannels: number, squeezeChannels: number, options: SqueezeExcitationOptions = {}) {
    super();
    this.fc1 = new nn.Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new nn.Conv2d(squeezeChannels, inputChannels, 1);
    this.activation = options.activation ? options.activation() : new nn.ReLU();
    this.scaleActivation = options.scaleActivation ? options.scaleActivation() : new nn.Sigmoid();
  }

  /** The per-channel weights [N, C, 1, 1]. */
  scale(input: Tensor): Tensor {
    const squeezed = this.activation.call(this.fc1.call(this.avgpool.call(input)));
    return this.scaleActivation.call(this.fc2.call(squeezed));
  }

  forward(input: Tensor): Tensor {
    return this.scale(input).mul(input);
  }
}
