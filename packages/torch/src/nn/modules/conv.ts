import type { Tensor } from '../../tensor.js';
import { empty } from '../../creation.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvOptions extends FactoryOptions {
  stride?: number | number[];
  /** Zero padding per side; 'valid' is none, 'same' keeps the input size (stride 1 only). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
  /** How `padding` is filled: zeros, or the input reflected, replicated or wrapped around. */
  paddingMode?: PaddingMode;
}

export interface ConvTransposeOptions extends FactoryOptions {
  stride?: number | number[];
  padding?: number | number[];
  /** Extra size on one side of the output, choosing among the sizes a stride allows. */
  outputPadding?: number | number[];
  groups?: number;
  bias?: boolean;
  dilation?: number | number[];
}

function tuple(value: number | number[], n: number, what: string): number[] {
  const out = typeof value === 'number' ? new Array<number>(n).fill(value) : [...value];
  if (out.length !== n || out.some((v) => !Number.isInteger(v))) throw new RangeError(`${what}: expected an integer or ${n} integers, got ${JSON.stringify(value)}`);
  return out;
}

/** PyTorch's _ConvNd: the shared constructor, default initialisation and repr. */
abstract class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** F.pad's argument for a non-zeros paddingMode: last dimension first, both sides. */
  protected readonly reversedPaddingRepeatedTwice: number[];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | number[],
    readonly transposed: boolean,
    dims: number,
    options: ConvOptions & { outputPadding?: number | number[] },
  ) {
    super();
    const name = this.constructor.name;
    this.groups = options.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups <= 0) throw new RangeError(`${name}: groups must be a positive integer, got ${this.groups}`);
    if (inChannels % this.groups !== 0) throw new RangeError(`${name}: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new RangeError(`${name}: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    this.kernelSize = tuple(kernelSize, dims, `${name} kernelSize`);
    this.stride = tuple(options.stride ?? 1, dims, `${name} stride`);
    this.dilation = tuple(options.dilation ?? 1, dims, `${name} dilation`);
    this.outputPadding = tuple(options.outputPadding ?? 0, dims, `${name} outputPadding`);
    const padding = options.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid') throw new RangeError(`${name}: padding must be a number, a list, 'same' or 'valid', got '${padding}'`);
      if (padding === 'same' && this.stride.some((s) => s !== 1)) throw new RangeError(`${name}: padding='same' is not supported for strided convolutions; give the padding as numbers`);
      this.padding = padding;
    } else this.padding = tuple(padding, dims, `${name} padding`);
    this.paddingMode = options.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) {
      throw new RangeError(`${name}: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got '${this.paddingMode}'`);
    }
    this.reversedPaddingRepeatedTwice = this.reversedPadding(dims);
    const factory = { device: options.device, dtype: options.dtype };
    const weightShape = transposed ? [inChannels, outChannels / this.groups, ...this.kernelSize] : [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.weight = new Parameter(empty(weightShape, factory));
    this.bias = options.bias ?? true ? new Parameter(empty([outChannels], factory)) : null;
    this.resetParameters();
  }

  private reversedPadding(dims: number): number[] {
    if (typeof this.padding !== 'string') return [...this.padding].reverse().flatMap((p) => [p, p]);
    const out = new Array<number>(2 * dims).fill(0);
    if (this.padding === 'same') {
      for (let d = 0; d < dims; d++) {
        const total = this.dilation[d] * (this.kernelSize[d] - 1);
        const left = Math.floor(total / 2);
        const i = dims - 1 - d;
        out[2 * i] = left;
        out[2 * i + 1] = total - left;
      }
    }
    return out;
  }

  /** PyTorch's default: kaimingUniform_(a = √5) on the weight, U(±1/√fanIn) on the bias. */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }

  /** The padding PyTorch passes to the conv op: none when F.pad already padded. */
  protected get convPadding(): number[] | 'same' | 'valid' {
    return this.paddingMode === 'zeros' ? this.padding : new Array<number>(this.kernelSize.length).fill(0);
  }

  /** The input, padded by F.pad unless paddingMode is 'zeros'. */
  protected padInput(input: Tensor): Tensor {
    return this.paddingMode === 'zeros' ? input : F.pad(input, this.reversedPaddingRepeatedTwice, { mode: this.paddingMode });
  }

  override extraRepr(): string {
    const allEqual = (v: number[], x: number) => v.every((e) => e === x);
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (!allEqual(this.padding, 0)) s += `, padding=${pyRepr(this.padding)}`;
    if (!allEqual(this.dilation, 1)) s += `, dilation=${pyRepr(this.dilation)}`;
    if (!allEqual(this.outputPadding, 0)) s += `, output_padding=${pyRepr(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** 1-D convolution over (N, C, L) or (C, L) input; weight (outChannels, inChannels / groups, k). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvOptions = {}) {
    super(inChannels, outChannels, kernelSize, false, 1, options);
  }

  forward(input: Tensor): Tensor {
    const x = this.padInput(input);
    return F.conv1d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.convPadding, dilation: this.dilation, groups: this.groups });
  }
}

/** 2-D convolution over (N, C, H, W) or (C, H, W) input; weight (outChannels, inChannels / groups, kH, kW). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvOptions = {}) {
    super(inChannels, outChannels, kernelSize, false, 2, options);
  }

  forward(input: Tensor): Tensor {
    const x = this.padInput(input);
    return F.conv2d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.convPadding, dilation: this.dilation, groups: this.groups });
  }
}

/** The gradient of Conv2d with respect to its input ("deconvolution"); weight (inChannels, outChannels / groups, kH, kW). */
export class ConvTranspose2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeOptions = {}) {
    super(inChannels, outChannels, kernelSize, true, 2, options);
  }

  /** `outputSize` ([H, W] or [N, C, H, W]) picks the output padding that gives that size. */
  forward(input: Tensor, outputSize?: number[]): Tensor {
    return F.convTranspose2d(input, this.weight, {
      bias: this.bias,
      stride: this.stride,
      padding: this.padding as number[],
      outputPadding: this.outputPaddingFor(input, outputSize),
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  private outputPaddingFor(input: Tensor, outputSize: number[] | undefined): number[] {
    if (outputSize === undefined) return this.outputPadding;
    const dims = 2;
    const nonSpatial = input.ndim === dims + 2 ? 2 : 1;
    const size = outputSize.length === nonSpatial + dims ? outputSize.slice(nonSpatial) : outputSize;
    if (size.length !== dims) {
      throw new RangeError(`ConvTranspose2d: for ${input.ndim}D input, outputSize must have ${dims} or ${nonSpatial + dims} elements, got ${outputSize.length}`);
    }
    const padding = this.padding as number[];
    const minSizes = size.map((_, d) => (input.shape[d + nonSpatial] - 1) * this.stride[d] - 2 * padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1);
    const maxSizes = minSizes.map((m, d) => m + this.stride[d] - 1);
    size.forEach((s, i) => {
      if (s < minSizes[i] || s > maxSizes[i]) {
        throw new RangeError(`ConvTranspose2d: requested an output size of [${size}], but valid sizes range from [${minSizes}] to [${maxSizes}] (for an input of [${input.shape.slice(nonSpatial)}])`);
      }
    });
    return size.map((s, d) => s - minSizes[d]);
  }
}
