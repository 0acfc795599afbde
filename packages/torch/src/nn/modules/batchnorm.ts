import type { Tensor } from '../../tensor.js';
import { empty, ones, zeros, tensor } from '../../creation.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, pyFloat, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the new batch in the running stats; null for a cumulative average (default 0.1). */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running stats for eval mode; without them, eval also uses batch stats (default true). */
  trackRunningStats?: boolean;
}

/** PyTorch's _BatchNorm: per-channel normalisation with batch stats in training, running stats in eval. */
abstract class BatchNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const factory = { device: options.device, dtype: options.dtype };
    this.weight = this.affine ? new Parameter(empty([numFeatures], factory)) : null;
    this.bias = this.affine ? new Parameter(empty([numFeatures], factory)) : null;
    const track = this.trackRunningStats;
    this.registerBuffer('runningMean', track ? zeros([numFeatures], factory) : null);
    this.registerBuffer('runningVar', track ? ones([numFeatures], factory) : null);
    this.registerBuffer('numBatchesTracked', track ? tensor(0, { dtype: 'int64', device: options.device }) : null);
    this.resetParameters();
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    this.runningMean?.zero_();
    this.runningVar?.fill_(1);
    this.numBatchesTracked?.zero_();
  }

  /** Running stats to 0 mean and unit variance, weight to ones, bias to zeros. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight && this.bias) {
      init.ones_(this.weight);
      init.zeros_(this.bias);
    }
  }

  /** `num_batches_tracked` (module version 2) is filled with 0 when a state dict lacks it, as PyTorch's _NormBase does for older files. */
  protected override legacyStateDefaults(): Record<string, number> {
    return this.trackRunningStats ? { num_batches_tracked: 0 } : {};
  }

  protected abstract checkInputDim(input: Tensor): void;

  forward(input: Tensor): Tensor {
    this.checkInputDim(input);
    let averageFactor = this.momentum ?? 0.0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      this.numBatchesTracked.add_(1);
      if (this.momentum === null) averageFactor = 1.0 / this.numBatchesTracked.item();
    }
    // Batch stats in training, and in eval when there are no running stats to use.
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const passStats = !this.training || this.trackRunningStats;
    return F.batchNorm(input, passStats ? this.runningMean : null, passStats ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: averageFactor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

/** Batch norm over (N, C) or (N, C, L) input. */
export class BatchNorm1d extends BatchNorm {
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 2 && input.ndim !== 3) throw new RangeError(`BatchNorm1d: expected 2D or 3D input (got ${input.ndim}D input)`);
  }
}

/** Batch norm over (N, C, H, W) input. */
export class BatchNorm2d extends BatchNorm {
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4D input (got ${input.ndim}D input)`);
  }
}
