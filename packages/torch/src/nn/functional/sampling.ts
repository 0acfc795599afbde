// Resampling and padding: PyTorch's Python argument handling (output size vs scale factors,
// mode names to ATen's enums) in front of the ATen kernels.
import * as ops from '../../generated/ops.js';
import type { Tensor } from '../../tensor.js';
import { oneOf } from './validate.js';

export type InterpolateMode = 'nearest' | 'bilinear' | 'bicubic' | 'area';

export interface InterpolateOptions {
  /** Output (H, W), or one number for both. Give this or `scaleFactor`. */
  size?: number | number[];
  /** Multiplier for (H, W), or one number for both. */
  scaleFactor?: number | number[];
  mode?: InterpolateMode;
  /** bilinear/bicubic only: align the corner pixels' centres instead of their edges (default false). */
  alignCorners?: boolean;
  /** Compute the output size from the scale factor and let the kernel derive its own scale from it. */
  recomputeScaleFactor?: boolean;
  /** bilinear/bicubic only: widen the filter when downsampling, as PIL does (PyTorch's antialias, default false). */
  antialias?: boolean;
}

function perSpatialDim(fn: string, option: string, value: number | number[], input: Tensor): number[] {
  if (!Array.isArray(value)) return [value, value];
  if (value.length !== 2) {
    throw new RangeError(`${fn}: ${option} [${value}] must give one value per spatial dimension of input [${input.shape}] (2 for (N, C, H, W))`);
  }
  return value;
}

/**
 * Resizes (N, C, H, W) input. As in PyTorch, a scale factor is passed through to the kernel
 * (which uses it for the coordinate mapping), unless `recomputeScaleFactor` is set.
 */
export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  const mode = oneOf('interpolate', 'mode', options.mode ?? 'nearest', ['nearest', 'bilinear', 'bicubic', 'area'] as const);
  const interpolating = mode === 'bilinear' || mode === 'bicubic';
  if (!interpolating && options.alignCorners !== undefined) {
    throw new RangeError(`interpolate: alignCorners can only be set with the interpolating modes 'bilinear' and 'bicubic', not '${mode}'`);
  }
  if (options.antialias && !interpolating) {
    throw new RangeError(`interpolate: antialias is only supported for the 'bilinear' and 'bicubic' modes, not '${mode}'`);
  }
  if (input.ndim !== 4) {
    throw new Error(`interpolate: expected a 4-D (N, C, H, W) input, got shape [${input.shape}]`);
  }
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new RangeError('interpolate: give exactly one of size or scaleFactor');
  }
  if (options.recomputeScaleFactor && size !== undefined) {
    throw new RangeError('interpolate: recomputeScaleFactor is not meaningful with an explicit size');
  }
  let outputSize = size === undefined ? null : perSpatialDim('interpolate', 'size', size, input);
  let scaleFactors = scaleFactor === undefined ? null : perSpatialDim('interpolate', 'scaleFactor', scaleFactor, input);
  // 'area' is adaptive pooling and needs a size.
  if (scaleFactors && (options.recomputeScaleFactor || mode === 'area')) {
    const [h, w] = input.shape.slice(2);
    outputSize = [Math.floor(h * scaleFactors[0]), Math.floor(w * scaleFactors[1])];
    scaleFactors = null;
  }
  const alignCorners = options.alignCorners ?? false;
  switch (mode) {
    case 'nearest':
      return ops.upsampleNearest2d(input, outputSize, scaleFactors);
    case 'bilinear':
      return (options.antialias ? ops.upsampleBilinear2dAa : ops.upsampleBilinear2d)(input, outputSize, alignCorners, scaleFactors);
    case 'bicubic':
      return (options.antialias ? ops.upsampleBicubic2dAa : ops.upsampleBicubic2d)(input, outputSize, alignCorners, scaleFactors);
    case 'area':
      return ops.adaptiveAvgPool2d(input, outputSize as number[]);
  }
}

export interface GridSampleOptions {
  mode?: 'bilinear' | 'nearest' | 'bicubic';
  /** Values outside the input: 'zeros', the nearest 'border' value, or the 'reflection'. */
  paddingMode?: 'zeros' | 'border' | 'reflection';
  /** -1 and 1 are the corner pixels' centres (true) or their outer edges (false, the default). */
  alignCorners?: boolean;
}

const gridModes = ['bilinear', 'nearest', 'bicubic'] as const;
const gridPaddingModes = ['zeros', 'border', 'reflection'] as const;

/** Samples (N, C, H, W) input at grid (N, H_out, W_out, 2) of (x, y) in [-1, 1]. */
export function gridSample(input: Tensor, grid: Tensor, options: GridSampleOptions = {}): Tensor {
  const mode = gridModes.indexOf(oneOf('gridSample', 'mode', options.mode ?? 'bilinear', gridModes));
  const padding = gridPaddingModes.indexOf(oneOf('gridSample', 'paddingMode', options.paddingMode ?? 'zeros', gridPaddingModes));
  return ops.gridSampler(input, grid, mode, padding, options.alignCorners ?? false);
}

/** The sampling grid for gridSample of a batch of affine matrices theta (N, 2, 3), for output `size` (N, C, H, W). */
export function affineGrid(theta: Tensor, size: number[], options: { alignCorners?: boolean } = {}): Tensor {
  if (!theta.isFloatingPoint()) throw new TypeError(`affineGrid: theta must have a floating-point dtype, got ${theta.dtype}`);
  const shape = theta.shape;
  if (size.length === 4) {
    if (shape.length !== 3 || shape[1] !== 2 || shape[2] !== 3) {
      throw new Error(`affineGrid: expected a batch of 2-D affine matrices of shape (N, 2, 3) for size [${size}], got [${shape}]`);
    }
  } else if (size.length === 5) {
    if (shape.length !== 3 || shape[1] !== 3 || shape[2] !== 4) {
      throw new Error(`affineGrid: expected a batch of 3-D affine matrices of shape (N, 3, 4) for size [${size}], got [${shape}]`);
    }
  } else {
    throw new RangeError(`affineGrid: size must be 4-D (N, C, H, W) or 5-D (N, C, D, H, W), got [${size}]`);
  }
  const alignCorners = options.alignCorners ?? false;
  const spatial = size.slice(2);
  if (!(alignCorners && Math.min(...spatial) === 1) && Math.min(...size) <= 0) {
    throw new RangeError(`affineGrid: expected a positive output size, got [${size}]`);
  }
  return ops.affineGridGenerator(theta, size, alignCorners);
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads the last dimensions: `pad` is [left, right] for the last one, then [top, bottom] for the
 * one before, and so on. Negative padding crops.
 */
export function pad(input: Tensor, pad: number[], options: { mode?: PadMode; value?: number } = {}): Tensor {
  const mode = oneOf('pad', 'mode', options.mode ?? 'constant', ['constant', 'reflect', 'replicate', 'circular'] as const);
  if (pad.length % 2 !== 0) throw new RangeError(`pad: padding length must be even ([before, after] per dimension), got [${pad}]`);
  return ops.pad(input, pad, { mode, value: options.value });
}

/** (N, C * r^2, H, W) to (N, C, H * r, W * r). */
export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  return ops.pixelShuffle(input, upscaleFactor);
}

/** im2col: sliding (kH, kW) blocks of (N, C, H, W) input as columns of (N, C * kH * kW, L). */
export function unfold(
  input: Tensor,
  kernelSize: number | number[],
  options: { dilation?: number | number[]; padding?: number | number[]; stride?: number | number[] } = {},
): Tensor {
  return ops.im2col(input, kernelSize, options.dilation ?? 1, options.padding ?? 0, options.stride ?? 1);
}
