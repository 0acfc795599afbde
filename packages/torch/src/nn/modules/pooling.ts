import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module, pyRepr } from '../module.js';

type Size = number | number[];

/** Max over kernelSize windows of (N, C, H, W) input; stride defaults to the kernel size. */
export class MaxPool2d extends Module {
  readonly stride: Size;
  readonly padding: Size;
  readonly dilation: Size;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;

  constructor(
    readonly kernelSize: Size,
    options: { stride?: Size | null; padding?: Size; dilation?: Size; returnIndices?: boolean; ceilMode?: boolean } = {},
  ) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.returnIndices = options.returnIndices ?? false;
    this.ceilMode = options.ceilMode ?? false;
  }

  /** The pooled values, or [values, indices] when built with `returnIndices`. */
  forward(input: Tensor): any {
    const { stride, padding, dilation, ceilMode, returnIndices } = this;
    return F.maxPool2d(input, this.kernelSize, { stride, padding, dilation, ceilMode, returnIndices });
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, dilation=${pyRepr(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

/** Mean over kernelSize windows of (N, C, H, W) input; stride defaults to the kernel size. */
export class AvgPool2d extends Module {
  readonly stride: Size;
  readonly padding: Size;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(
    readonly kernelSize: Size,
    options: { stride?: Size | null; padding?: Size; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null } = {},
  ) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  forward(input: Tensor): Tensor {
    const { stride, padding, ceilMode, countIncludePad, divisorOverride } = this;
    return F.avgPool2d(input, this.kernelSize, { stride, padding, ceilMode, countIncludePad, divisorOverride });
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`;
  }
}

/** Average pooling to a fixed output size (a null entry keeps that input dimension). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: F.AdaptiveSize) {
    super();
  }

  forward(input: Tensor): Tensor {
    return F.adaptiveAvgPool2d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}

/** Max pooling to a fixed output size; `returnIndices` also returns the argmax positions. */
export class AdaptiveMaxPool2d extends Module {
  readonly returnIndices: boolean;

  constructor(
    readonly outputSize: F.AdaptiveSize,
    options: { returnIndices?: boolean } = {},
  ) {
    super();
    this.returnIndices = options.returnIndices ?? false;
  }

  /** The pooled values, or [values, indices] when built with `returnIndices`. */
  forward(input: Tensor): any {
    return F.adaptiveMaxPool2d(input, this.outputSize, { returnIndices: this.returnIndices });
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}
