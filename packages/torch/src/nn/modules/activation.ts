import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module, pyFloat } from '../module.js';

export interface InplaceOptions {
  /** Overwrite the input instead of allocating the result. */
  inplace?: boolean;
}

/** Activations whose only option is `inplace` (PyTorch prints it only when set). */
abstract class InplaceActivation extends Module {
  readonly inplace: boolean;

  constructor(options: InplaceOptions = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

export class ReLU extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.relu(input, { inplace: this.inplace });
  }
}

/** min(max(0, x), 6). */
export class ReLU6 extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.relu6(input, { inplace: this.inplace });
  }
}

export class SiLU extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.silu(input, { inplace: this.inplace });
  }
}

export class Mish extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.mish(input, { inplace: this.inplace });
  }
}

export class Hardswish extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.hardswish(input, { inplace: this.inplace });
  }

  override extraRepr(): string {
    return '';
  }
}

export class Hardsigmoid extends InplaceActivation {
  forward(input: Tensor): Tensor {
    return F.hardsigmoid(input, { inplace: this.inplace });
  }

  override extraRepr(): string {
    return '';
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;

  constructor(options: { negativeSlope?: number; inplace?: boolean } = {}) {
    super();
    this.negativeSlope = options.negativeSlope ?? 0.01;
    this.inplace = options.inplace ?? false;
  }

  forward(input: Tensor): Tensor {
    return F.leakyRelu(input, { negativeSlope: this.negativeSlope, inplace: this.inplace });
  }

  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;

  constructor(options: { alpha?: number; inplace?: boolean } = {}) {
    super();
    this.alpha = options.alpha ?? 1.0;
    this.inplace = options.inplace ?? false;
  }

  forward(input: Tensor): Tensor {
    return F.elu(input, { alpha: this.alpha, inplace: this.inplace });
  }

  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

/** `approximate: 'tanh'` uses the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Sigmoid extends Module {
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

export class Tanh extends Module {
  forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

/** Softmax over `dim` (PyTorch's implicit dim is deprecated, so Iris asks for it). */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
