import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module, pyFloat, pyRepr } from '../module.js';

export interface DropoutOptions {
  /** Probability of zeroing (default 0.5). */
  p?: number;
  inplace?: boolean;
}

abstract class DropoutNd extends Module {
  readonly p: number;
  readonly inplace: boolean;

  constructor(options: DropoutOptions = {}) {
    super();
    this.p = options.p ?? 0.5;
    if (!(this.p >= 0 && this.p <= 1)) throw new RangeError(`${this.constructor.name}: dropout probability has to be between 0 and 1, but got ${this.p}`);
    this.inplace = options.inplace ?? false;
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyRepr(this.inplace)}`;
  }
}

/** In training, zeroes each element with probability p and scales the rest by 1 / (1 - p); identity in eval. */
export class Dropout extends DropoutNd {
  forward(input: Tensor): Tensor {
    return F.dropout(input, { p: this.p, training: this.training, inplace: this.inplace });
  }
}

/** In training, zeroes whole channels of (N, C, H, W) input with probability p; identity in eval. */
export class Dropout2d extends DropoutNd {
  forward(input: Tensor): Tensor {
    return F.dropout2d(input, { p: this.p, training: this.training, inplace: this.inplace });
  }
}
