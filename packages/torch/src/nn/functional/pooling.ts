// Pooling: `stride` defaults to the kernel size (ATen reads an empty list that way), and
// `returnIndices` picks the ATen op that also returns the argmax positions.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';

export interface MaxPoolOptions {
  /** Default: the kernel size. */
  stride?: number | number[] | null;
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
  /** Also return the flat index of each maximum (for maxUnpool). */
  returnIndices?: boolean;
}

function poolArgs(options: MaxPoolOptions) {
  return { stride: options.stride ?? [], padding: options.padding, dilation: options.dilation, ceilMode: options.ceilMode };
}

export function maxPool1d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool1d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions): Tensor | [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  const args = poolArgs(options);
  return options.returnIndices ? ops.maxPool1dWithIndices(input, kernelSize, args) : ops.maxPool1d(input, kernelSize, args);
}

export function maxPool2d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(input: Tensor, kernelSize: number | number[], options?: MaxPoolOptions): Tensor | [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: number | number[], options: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  const args = poolArgs(options);
  return options.returnIndices ? ops.maxPool2dWithIndices(input, kernelSize, args) : ops.maxPool2d(input, kernelSize, args);
}

export interface AvgPoolOptions {
  /** Default: the kernel size. */
  stride?: number | number[] | null;
  padding?: number | number[];
  ceilMode?: boolean;
  /** Count the zero padding in the average (PyTorch's default). */
  countIncludePad?: boolean;
}

export function avgPool1d(input: Tensor, kernelSize: number | number[], options: AvgPoolOptions = {}): Tensor {
  return ops.avgPool1d(input, kernelSize, { ...options, stride: options.stride ?? [] });
}

export function avgPool2d(input: Tensor, kernelSize: number | number[], options: AvgPoolOptions & { divisorOverride?: number | null } = {}): Tensor {
  return ops.avgPool2d(input, kernelSize, { ...options, stride: options.stride ?? [] });
}

/** An output size; a null entry keeps that dimension of the input (PyTorch's None). */
export type AdaptiveSize = number | (number | null)[];

function resolveAdaptiveSize(fn: string, input: Tensor, outputSize: AdaptiveSize): number | number[] {
  if (typeof outputSize === 'number') return outputSize;
  const shape = input.shape;
  if (shape.length <= outputSize.length) {
    throw new Error(`${fn}: input should have at least ${outputSize.length + 1} dimensions for output size [${outputSize}], got shape [${shape}]`);
  }
  const inputSizes = shape.slice(shape.length - outputSize.length);
  return outputSize.map((s, i) => s ?? inputSizes[i]);
}

export function adaptiveAvgPool1d(input: Tensor, outputSize: number | [number]): Tensor {
  return ops.adaptiveAvgPool1d(input, outputSize);
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return ops.adaptiveAvgPool2d(input, resolveAdaptiveSize('adaptiveAvgPool2d', input, outputSize));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: boolean }): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  const [values, indices] = ops.adaptiveMaxPool2d(input, resolveAdaptiveSize('adaptiveMaxPool2d', input, outputSize));
  if (options.returnIndices) return [values, indices];
  indices.dispose();
  return values;
}
