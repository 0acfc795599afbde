import type { Tensor } from '../../tensor.js';
import { empty } from '../../creation.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, pyFloat, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';

/** Normalises over the trailing `normalizedShape` dimensions of each sample (transformers). */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], options: { eps?: number; elementwiseAffine?: boolean } & FactoryOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const factory = { device: options.device, dtype: options.dtype };
    this.weight = this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, factory)) : null;
    this.bias = this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, factory)) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight && this.bias) {
      init.ones_(this.weight);
      init.zeros_(this.bias);
    }
  }

  forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/** Normalises (N, C, ...) input over groups of C / numGroups channels. */
export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly affine: boolean;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: { eps?: number; affine?: boolean } & FactoryOptions = {},
  ) {
    super();
    if (numChannels % numGroups !== 0) throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    const factory = { device: options.device, dtype: options.dtype };
    this.weight = this.affine ? new Parameter(empty([numChannels], factory)) : null;
    this.bias = this.affine ? new Parameter(empty([numChannels], factory)) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight && this.bias) {
      init.ones_(this.weight);
      init.zeros_(this.bias);
    }
  }

  forward(input: Tensor): Tensor {
    return F.groupNorm(input, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyRepr(this.affine)}`;
  }
}
