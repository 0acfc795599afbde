// PyTorch's torch.nn.init. Each function makes the same ATen calls, in the same order and with
// the same double-precision bounds, as torch/nn/init.py, so that after `manualSeed(s)` the values
// are bit-identical to PyTorch's.
import type { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';
import { scalarTensor } from '../generated/ops.js';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'convTranspose1d'
  | 'convTranspose2d'
  | 'convTranspose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leakyRelu'
  | 'selu';

export type FanMode = 'fanIn' | 'fanOut';

/** The recommended gain for a nonlinearity; `param` is leaky ReLU's negative slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'convTranspose1d':
    case 'convTranspose2d':
    case 'convTranspose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leakyRelu': {
      const negativeSlope = param ?? 0.01;
      if (typeof negativeSlope !== 'number' || Number.isNaN(negativeSlope)) throw new TypeError(`calculateGain: negative slope ${param} is not a number`);
      return Math.sqrt(2.0 / (1 + negativeSlope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity '${nonlinearity}'; expected linear, conv*, sigmoid, tanh, relu, leakyRelu or selu`);
  }
}

/** Fan-in and fan-out of a weight: dims 1 and 0 times the receptive field (the product of dims 2...). */
export function calculateFanInAndFanOut(tensor: Tensor): { fanIn: number; fanOut: number } {
  const shape = tensor.shape;
  if (shape.length < 2) {
    throw new RangeError(`calculateFanInAndFanOut: tensor has shape [${shape}]; fan in and fan out need at least 2 dimensions`);
  }
  const receptiveFieldSize = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptiveFieldSize, fanOut: shape[0] * receptiveFieldSize };
}

function correctFan(tensor: Tensor, mode: FanMode): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new RangeError(`init: mode '${mode}' is not supported; use 'fanIn' or 'fanOut'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  return mode === 'fanIn' ? fanIn : fanOut;
}

/** Fills `tensor` from U(a, b), in place. */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => tensor.uniform_({ from: a, to: b }));
}

/** Fills `tensor` from N(mean, std²), in place. */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => tensor.normal_({ mean, std }));
}

/** libm's erf, through ATen on one double (JS has no Math.erf), so the bounds match Python's math.erf. */
function erf(x: number): number {
  const t = scalarTensor(x, { dtype: 'float64' });
  const e = t.erf();
  const value = e.item();
  t.dispose();
  e.dispose();
  return value;
}

/** Fills `tensor` from N(mean, std²) truncated to [a, b] (inverse-CDF method, as PyTorch). */
export function truncNormal_(tensor: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  if (mean < a - 2 * std || mean > b + 2 * std) {
    process.emitWarning('truncNormal_: mean is more than 2 std from [a, b]; the distribution of values may be incorrect');
  }
  const normCdf = (x: number) => (1 + erf(x / Math.sqrt(2))) / 2;
  return noGrad(() => {
    const l = normCdf((a - mean) / std);
    const u = normCdf((b - mean) / std);
    tensor.uniform_({ from: 2 * l - 1, to: 2 * u - 1 });
    tensor.erfinv_();
    tensor.mul_(std * Math.sqrt(2));
    tensor.add_(mean);
    tensor.clamp_(a, b);
    return tensor;
  });
}

export function constant_(tensor: Tensor, value: number): Tensor {
  return noGrad(() => tensor.fill_(value));
}

export function ones_(tensor: Tensor): Tensor {
  return noGrad(() => tensor.fill_(1.0));
}

export function zeros_(tensor: Tensor): Tensor {
  return noGrad(() => tensor.zero_());
}

/** Glorot uniform: U(-a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(tensor, -a, a);
}

/** Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return normal_(tensor, 0, std);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (used with 'leakyRelu'); default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He uniform: U(-bound, bound) with bound = gain·√(3 / fan). */
export function kaimingUniform_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  if (tensor.shape.includes(0)) return tensor;
  const fan = correctFan(tensor, options.mode ?? 'fanIn');
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', options.a ?? 0);
  const std = gain / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return uniform_(tensor, -bound, bound);
}

/** He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  if (tensor.shape.includes(0)) return tensor;
  const fan = correctFan(tensor, options.mode ?? 'fanIn');
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', options.a ?? 0);
  const std = gain / Math.sqrt(fan);
  return normal_(tensor, 0, std);
}
