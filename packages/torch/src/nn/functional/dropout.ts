// Dropout draws from libtorch's generator, so `manualSeed` reproduces PyTorch's masks exactly.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';
import { checkProbability } from './validate.js';

export interface DropoutOptions {
  /** Probability of zeroing (default 0.5). */
  p?: number;
  /** Identity when false (default true: the functional form does not know a module's mode). */
  training?: boolean;
  inplace?: boolean;
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). */
export function dropout(input: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkProbability('dropout', p);
  const training = options.training ?? true;
  return options.inplace ? ops.dropout_(input, p, training) : ops.dropout(input, p, training);
}

/**
 * Zeroes whole channels of (N, C, H, W) input. A 3-D input is read as (N, C, L), as PyTorch
 * does, not as an unbatched (C, H, W).
 */
export function dropout2d(input: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkProbability('dropout2d', p);
  const training = options.training ?? true;
  return options.inplace ? ops.featureDropout_(input, p, training) : ops.featureDropout(input, p, training);
}
