// torchvision.ops.Conv2dNormActivation: conv → norm → activation as a Sequential, so the state-dict
// keys are torchvision's ('0.weight', '1.running_mean', ...).
import { nn } from '@iris/torch';

/** Builds the norm layer for a channel count (PyTorch's `norm_layer`, e.g. `partial(BatchNorm2d, eps=1e-3)`). */
export type NormLayer = (numFeatures: number) => nn.Module;
/** Builds the activation (PyTorch's `activation_layer`); `inplace` is passed when not null. */
export type ActivationLayer = (options: { inplace?: boolean }) => nn.Module;

export interface Conv2dNormActivationOptions {
  kernelSize?: number;
  stride?: number;
  /** Default: (kernelSize - 1) / 2 · dilation, which keeps the size at stride 1. */
  padding?: number;
  groups?: number;
  /** null: no norm layer (the conv gets a bias). Default BatchNorm2d. */
  normLayer?: NormLayer | null;
  /** null: no activation. Default ReLU. */
  activationLayer?: ActivationLayer | null;
  dilation?: number;
  /** Passed to the activation; null passes nothing (default true). */
  inplace?: boolean | null;
  /** Default: only when there is no norm layer. */
  bias?: boolean;
}

export const batchNorm2d: NormLayer = (numFeatures) => new nn.BatchNorm2d(numFeatures);
export const relu: ActivationLayer = (options) => new nn.ReLU(options);
export const relu6: ActivationLayer = (options) => new nn.ReLU6(options);
export const hardswish: ActivationLayer = (options) => new nn.Hardswish(options);
export const silu: ActivationLayer = (options) => new nn.SiLU(options);

/** Sequential('0': Conv2d, '1': norm, '2': activation), leaving out the parts set to null. */
export class Conv2dNormActivation extends nn.Sequential {
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, options: Conv2dNormActivationOptions = {}) {
    const { kernelSize = 3, stride = 1, groups = 1, normLayer = batchNorm2d, activationLayer = relu, dilation = 1, inplace = true } = options;
    const padding = options.padding ?? Math.floor((kernelSize - 1) / 2) * dilation;
    const bias = options.bias ?? normLayer === null;
    const layers: nn.Module[] = [new nn.Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias })];
    if (normLayer) layers.push(normLayer(outChannels));
    if (activationLayer) layers.push(activationLayer(inplace === null ? {} : { inplace }));
    super(...layers);
    this.outChannels = outChannels;
  }
}
