// Normalisation: PyTorch's Python checks (more than one value per channel when training), then
// the ATen op with cuDNN allowed, as torch.backends.cudnn.enabled is by default.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';

/** PyTorch's _verify_batch_size: batch statistics of one value are undefined. */
function verifyBatchSize(fn: string, size: number[]): void {
  let values = size[0];
  for (let i = 2; i < size.length; i++) values *= size[i];
  if (values === 1) throw new Error(`${fn}: expected more than 1 value per channel when training, got input size [${size}]`);
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with the batch's statistics and update the running ones (default false). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Input (N, C, ...); runningMean/runningVar (C), updated in place when training. */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  const training = options.training ?? false;
  if (training) verifyBatchSize('batchNorm', input.shape);
  return ops.batchNorm(input, options.weight ?? null, options.bias ?? null, runningMean, runningVar, training, options.momentum ?? 0.1, options.eps ?? 1e-5, true);
}

/** Normalises over the trailing `normalizedShape` dimensions. */
export function layerNorm(input: Tensor, normalizedShape: number[], options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  return ops.layerNorm(input, normalizedShape, { weight: options.weight, bias: options.bias, eps: options.eps ?? 1e-5, cudnnEnable: true });
}

/** Input (N, C, ...), C divisible by `numGroups`; weight/bias (C). */
export function groupNorm(input: Tensor, numGroups: number, options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  const shape = input.shape;
  verifyBatchSize('groupNorm', [Math.floor((shape[0] * shape[1]) / numGroups), numGroups, ...shape.slice(2)]);
  return ops.groupNorm(input, numGroups, { weight: options.weight, bias: options.bias, eps: options.eps ?? 1e-5, cudnnEnabled: true });
}
