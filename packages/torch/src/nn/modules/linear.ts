import type { Tensor } from '../../tensor.js';
import { empty } from '../../creation.js';
import type { DType } from '../../dtype.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

/** Where a layer's parameters are created (PyTorch's `device=` and `dtype=` factory kwargs). */
export interface FactoryOptions {
  device?: string;
  dtype?: DType;
}

/** Returns its input; a placeholder that keeps a model's structure (and state-dict keys). */
export class Identity extends Module {
  forward<T>(input: T): T {
    return input;
  }
}

/** `y = x Wᵀ + b` with W of shape (outFeatures, inFeatures). */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } & FactoryOptions = {},
  ) {
    super();
    const factory = { device: options.device, dtype: options.dtype };
    this.weight = new Parameter(empty([outFeatures, inFeatures], factory));
    this.bias = options.bias ?? true ? new Parameter(empty([outFeatures], factory)) : null;
    this.resetParameters();
  }

  /** PyTorch's default: kaimingUniform_(a = √5) on the weight, U(±1/√fanIn) on the bias. */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  forward(input: Tensor): Tensor {
    return F.linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

/** MultiheadAttention's output projection; the class exists, as in PyTorch, so reprs match. */
export class NonDynamicallyQuantizableLinear extends Linear {}
