// Linear and convolution layers' functions: ATen's conv ops already take PyTorch's arguments,
// so these only check the string padding modes.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';
import { oneOf } from './validate.js';

export interface ConvOptions {
  bias?: Tensor | null;
  stride?: number | number[];
  /** Zero padding per side, or 'valid' (none) / 'same' (output as large as the input; stride 1 only). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
}

function checkPadding(fn: string, padding: ConvOptions['padding']): void {
  if (typeof padding === 'string') oneOf(fn, 'padding', padding, ['same', 'valid'] as const);
}

/** `y = input @ weight.T + bias`. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return ops.linear(input, weight, { bias });
}

/** Input (N, C_in, L) or (C_in, L); weight (C_out, C_in / groups, kL). */
export function conv1d(input: Tensor, weight: Tensor, options: ConvOptions = {}): Tensor {
  checkPadding('conv1d', options.padding);
  return ops.conv1d(input, weight, options);
}

/** Input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in / groups, kH, kW). */
export function conv2d(input: Tensor, weight: Tensor, options: ConvOptions = {}): Tensor {
  checkPadding('conv2d', options.padding);
  return ops.conv2d(input, weight, options);
}

export interface ConvTransposeOptions {
  bias?: Tensor | null;
  stride?: number | number[];
  padding?: number | number[];
  /** Extra size added to one side of the output, to pick among the shapes a stride allows. */
  outputPadding?: number | number[];
  groups?: number;
  dilation?: number | number[];
}

/** Weight (C_in, C_out / groups, kH, kW), the transpose of conv2d's. */
export function convTranspose2d(input: Tensor, weight: Tensor, options: ConvTransposeOptions = {}): Tensor {
  return ops.convTranspose2d(input, weight, options);
}
