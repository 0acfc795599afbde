import type { Tensor } from '../../tensor.js';
import { Module, pyRepr } from '../module.js';

/** Flattens dims startDim..endDim into one (default: all but the batch dimension). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(options: { startDim?: number; endDim?: number } = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
  }

  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dimension `dim` into `unflattenedSize`. */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly unflattenedSize: number[],
  ) {
    super();
  }

  forward(input: Tensor): Tensor {
    return input.unflatten(this.dim, this.unflattenedSize);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyRepr(this.unflattenedSize)}`;
  }
}
