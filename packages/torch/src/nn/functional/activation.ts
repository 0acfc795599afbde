// Activations: PyTorch's `inplace=True` picks ATen's in-place variant, as F.relu and friends do.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';
import type { DType } from '../../dtype.js';
import { oneOf } from './validate.js';

export interface InplaceOptions {
  /** Overwrite `input` instead of allocating the result. */
  inplace?: boolean;
}

export function relu(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.relu_(input) : ops.relu(input);
}

export function relu6(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.relu6_(input) : ops.relu6(input);
}

export function hardtanh(input: Tensor, options: InplaceOptions & { minVal?: number; maxVal?: number } = {}): Tensor {
  const limits = { minVal: options.minVal ?? -1, maxVal: options.maxVal ?? 1 };
  return options.inplace ? ops.hardtanh_(input, limits) : ops.hardtanh(input, limits);
}

export function leakyRelu(input: Tensor, options: InplaceOptions & { negativeSlope?: number } = {}): Tensor {
  const slope = { negativeSlope: options.negativeSlope ?? 0.01 };
  return options.inplace ? ops.leakyRelu_(input, slope) : ops.leakyRelu(input, slope);
}

export function elu(input: Tensor, options: InplaceOptions & { alpha?: number } = {}): Tensor {
  const alpha = { alpha: options.alpha ?? 1 };
  return options.inplace ? ops.elu_(input, alpha) : ops.elu(input, alpha);
}

/** `approximate: 'tanh'` uses the tanh approximation, as in PyTorch. */
export function gelu(input: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  return ops.gelu(input, { approximate: oneOf('gelu', 'approximate', options.approximate ?? 'none', ['none', 'tanh'] as const) });
}

export function silu(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.silu_(input) : ops.silu(input);
}

export function mish(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.mish_(input) : ops.mish(input);
}

export function hardswish(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.hardswish_(input) : ops.hardswish(input);
}

export function hardsigmoid(input: Tensor, options: InplaceOptions = {}): Tensor {
  return options.inplace ? ops.hardsigmoid_(input) : ops.hardsigmoid(input);
}

export function sigmoid(input: Tensor): Tensor {
  return ops.sigmoid(input);
}

export function tanh(input: Tensor): Tensor {
  return ops.tanh(input);
}

export function softplus(input: Tensor, options: { beta?: number; threshold?: number } = {}): Tensor {
  return ops.softplus(input, { beta: options.beta ?? 1, threshold: options.threshold ?? 20 });
}

/** Softmax over `dim`; `dtype` casts the input first (for float16 inputs, say). */
export function softmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return ops.softmax(input, dim, options);
}

export function logSoftmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return ops.logSoftmax(input, dim, options);
}
