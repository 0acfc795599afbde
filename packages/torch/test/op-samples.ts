// A sample call for every op table row, for test/ops-parity.test.ts. Arguments are written as
// for the generated function (positional arguments, then the options object); tensors are
// specs the test fills with seeded random values in each of the sample's dtypes.
import type { DType } from '../src/index.js';
import { t, pos, unit, range, rounded, noGrad, ints, bools, vals, longs, type TensorSpec } from './helpers/parity.js';

export type SampleArg = TensorSpec | number | boolean | string | null | SampleArg[];

/** The run's dtype, where an argument (dtype option) should follow it. */
export const DTYPE = '$dtype';

export interface OpSample {
  args: SampleArg[];
  /** The generated function's options object; all positional arguments must precede it. */
  options?: Record<string, SampleArg>;
  /** Dtypes to run in (default: float32 and float64). */
  dtypes?: DType[];
  /** Random op: compared bit-exactly after the same manual seed. */
  random?: boolean;
  /** Uninitialised memory: compare shape and dtype only. */
  shapeOnly?: boolean;
  /** Positional arguments the op mutates, compared after the call (the output always is). */
  mutates?: number[];
}

const F: DType[] = ['float32', 'float64'];
const FI: DType[] = ['float32', 'float64', 'int64'];
const I: DType[] = ['int64'];
const B: DType[] = ['bool', 'float32'];

const unary = (dtypes: DType[] = F, input: TensorSpec = t(3, 4)): OpSample => ({ args: [input], dtypes });

// Boxes for torchvision's ops: (x1, y1, x2, y2) with overlaps, and RoIs (image index first) that
// cross bin and image borders.
const NMS_BOXES = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 9, 10, 21, 19, 31, 29, 50, 50, 55, 58];
// torchvision's argmax and channel_mapping are int32.
const int32s = (shape: number[], low: number, high: number): TensorSpec => ({ ...ints(shape, low, high), dtype: 'int32' });
const ROIS = noGrad(vals([0, 0.5, 1.2, 5.5, 6.1, 1, 2, 0.3, 8.7, 4.4, 0, 3.3, 2.2, 3.9, 6.5, 1, -1, -1, 4, 3], [4, 5]));

export const opSamples: Record<string, OpSample | OpSample[]> = {
  // creation
  empty: { args: [[2, 3]], options: { dtype: DTYPE }, dtypes: FI, shapeOnly: true },
  zeros: { args: [[2, 3]], options: { dtype: DTYPE }, dtypes: FI },
  ones: { args: [[2, 3]], options: { dtype: DTYPE }, dtypes: FI },
  full: { args: [[2, 3], 3], options: { dtype: DTYPE }, dtypes: FI },
  arange: [
    { args: [-1, 6], options: { step: 2, dtype: DTYPE }, dtypes: FI },
    { args: [0.5, 3], options: { step: 0.25, dtype: DTYPE } },
  ],
  linspace: { args: [-1, 2, 7], options: { dtype: DTYPE } },
  eye: { args: [3, 4], options: { dtype: DTYPE }, dtypes: FI },
  rand: { args: [[3, 4]], options: { dtype: DTYPE }, random: true },
  randn: { args: [[3, 4]], options: { dtype: DTYPE }, random: true },
  randint: { args: [-3, 10, [3, 4]], options: { dtype: DTYPE }, dtypes: ['int64', 'float32'], random: true },
  randperm: { args: [9], options: { dtype: DTYPE }, dtypes: I, random: true },
  zerosLike: { args: [t(2, 3)], dtypes: FI },
  onesLike: { args: [t(2, 3)], dtypes: FI },
  fullLike: { args: [t(2, 3), 3], dtypes: FI },
  randLike: { args: [t(2, 3)], random: true },
  randnLike: { args: [t(2, 3)], random: true },
  emptyLike: { args: [t(2, 3)], dtypes: FI, shapeOnly: true },
  scalarTensor: { args: [2.5], options: { dtype: DTYPE } },

  // pointwise math
  add: [
    { args: [t(2, 3), t(3)], options: { alpha: 2 }, dtypes: FI },
    { args: [t(2, 3), 3], options: { alpha: 2 }, dtypes: FI },
  ],
  sub: [
    { args: [t(2, 3), t(2, 1)], options: { alpha: 3 }, dtypes: FI },
    { args: [t(2, 3), 1.5] },
  ],
  mul: [
    { args: [t(2, 3), t(2, 1)], dtypes: FI },
    { args: [t(2, 3), 2.5] },
  ],
  div: [
    { args: [t(2, 3), pos(2, 3)], dtypes: FI },
    { args: [t(2, 3), 4], dtypes: FI },
  ],
  remainder: [
    { args: [t(2, 3), pos(2, 3)], dtypes: FI },
    { args: [t(2, 3), 0.75] },
  ],
  pow: [
    { args: [pos(2, 3), t(2, 3)] },
    { args: [t(2, 3), 3], dtypes: FI },
  ],
  maximum: { args: [t(2, 3), t(2, 3)], dtypes: FI },
  minimum: { args: [t(2, 3), t(1, 3)], dtypes: FI },
  atan2: { args: [t(2, 3), t(2, 3)] },
  neg: unary(FI),
  abs: unary(FI),
  exp: unary(),
  log: unary(F, pos(3, 4)),
  log2: unary(F, pos(3, 4)),
  log1p: unary(F, pos(3, 4)),
  expm1: unary(),
  sqrt: unary(F, pos(3, 4)),
  rsqrt: unary(F, pos(3, 4)),
  sin: unary(),
  cos: unary(),
  tan: unary(F, range(-1, 1, 3, 4)),
  tanh: unary(),
  sigmoid: unary(),
  erf: unary(),
  floor: unary(FI),
  ceil: unary(FI),
  round: unary(FI),
  trunc: unary(FI),
  sign: unary(FI),
  reciprocal: unary(F, pos(3, 4)),
  square: unary(FI),
  clamp: [
    { args: [t(3, 4), -1, 1], dtypes: FI },
    { args: [t(3, 4), range(-2, -0.5, 3, 4), range(0.5, 2, 1, 4)] },
    { args: [t(3, 4), null, t(3, 1)] },
  ],
  lerp: [
    { args: [t(2, 3), t(2, 3), 0.3] },
    { args: [t(2, 3), t(2, 3), unit(2, 3)] },
  ],
  addcmul: { args: [t(2, 3), t(2, 3), t(1, 3)], options: { value: 2 }, dtypes: FI },
  addcdiv: { args: [t(2, 3), t(2, 3), pos(2, 3)], options: { value: 0.5 } },
  eq: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [rounded(3, 4), 1], dtypes: FI },
  ],
  ne: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [rounded(3, 4), 1], dtypes: FI },
  ],
  lt: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [t(3, 4), 0.5], dtypes: FI },
  ],
  le: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [rounded(3, 4), 0], dtypes: FI },
  ],
  gt: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [t(3, 4), -0.5], dtypes: FI },
  ],
  ge: [
    { args: [rounded(3, 4), rounded(3, 4)], dtypes: FI },
    { args: [rounded(3, 4), 0], dtypes: FI },
  ],
  logicalAnd: { args: [t(3, 4), t(3, 4)], dtypes: B },
  logicalOr: { args: [t(3, 4), t(3, 4)], dtypes: B },
  logicalNot: { args: [t(3, 4)], dtypes: B },
  isnan: unary(F, vals([0, NaN, Infinity, -Infinity, 1.5, -2], [2, 3])),
  isfinite: unary(F, vals([0, NaN, Infinity, -Infinity, 1.5, -2], [2, 3])),
  where: [
    { args: [bools(3, 4), t(3, 4), t(1, 4)], dtypes: FI },
    { args: [bools(3, 4), t(3, 4), 0.5] },
  ],
  allclose: [
    { args: [t(3), t(3)] },
    { args: [vals([1, 2, 3]), vals([1, 2, 3.000001])], options: { rtol: 1e-5, atol: 0 } },
  ],
  equal: [
    { args: [vals([1, 2, 3]), vals([1, 2, 3])], dtypes: FI },
    { args: [vals([1, 2, 3]), vals([1, 2, 4])], dtypes: FI },
  ],

  // in-place updates
  add_: [
    { args: [t(2, 3), t(2, 3)], options: { alpha: 2 }, dtypes: FI },
    { args: [t(2, 3), 3], dtypes: FI },
  ],
  sub_: [
    { args: [t(2, 3), t(3)], options: { alpha: 2 }, dtypes: FI },
    { args: [t(2, 3), 0.5] },
  ],
  mul_: [
    { args: [t(2, 3), t(2, 3)], dtypes: FI },
    { args: [t(2, 3), 1.5] },
  ],
  div_: [
    { args: [t(2, 3), pos(2, 3)] },
    { args: [t(2, 3), 4] },
  ],
  addcmul_: { args: [t(2, 3), t(2, 3), t(2, 3)], options: { value: 0.5 } },
  addcdiv_: { args: [t(2, 3), t(2, 3), pos(2, 3)], options: { value: -0.5 } },
  lerp_: [
    { args: [t(2, 3), t(2, 3), 0.25] },
    { args: [t(2, 3), t(2, 3), unit(2, 3)] },
  ],
  clamp_: [{ args: [t(3, 4), -0.5, 1] }, { args: [t(3, 4), null, 0.5] }],
  sqrt_: unary(F, pos(3, 4)),
  copy_: { args: [t(2, 3), t(3)], dtypes: FI },
  // Swaps in another tensor's storage (shape included), as `param.data = converted` does.
  setData_: { args: [noGrad(t(2, 3)), noGrad(t(3, 2))], mutates: [0] },
  zero_: unary(FI),
  fill_: [
    { args: [t(2, 3), 2.5] },
    { args: [t(2, 3), t()] },
  ],
  uniform_: { args: [t(3, 4)], options: { from: -2, to: 3 }, random: true },
  normal_: { args: [t(3, 4)], options: { mean: 1, std: 2 }, random: true },
  bernoulli_: [
    { args: [t(3, 4), 0.3], random: true },
    { args: [t(3, 4), unit(3, 4)], random: true },
  ],
  maskedFill_: [
    { args: [t(3, 4), bools(3, 4), 2], dtypes: FI },
    { args: [t(3, 4), bools(3, 4), t()] },
  ],
  indexPut_: { args: [t(4, 3), [longs([0, 2, 0])], t(3, 3)], options: { accumulate: true }, dtypes: FI },

  // reductions
  sum: [
    { args: [t(3, 4), [1]], options: { keepdim: true }, dtypes: FI },
    { args: [t(3, 4)], dtypes: FI },
  ],
  mean: [
    { args: [t(3, 4), [0, 1]] },
    { args: [t(3, 4), [0]], options: { dtype: 'float64' } },
  ],
  prod: { args: [t(3, 4), 1], dtypes: FI },
  var: [
    { args: [t(3, 4), [1]], options: { correction: 0, keepdim: true } },
    { args: [t(3, 4)] },
  ],
  std: [
    { args: [t(3, 4), [0]], options: { correction: 2 } },
    { args: [t(3, 4)] },
  ],
  amax: { args: [t(3, 4)], options: { dim: [1] }, dtypes: FI },
  amin: { args: [t(3, 4)], options: { dim: [0], keepdim: true }, dtypes: FI },
  maxDim: { args: [t(3, 4), 1], dtypes: FI },
  minDim: { args: [t(3, 4), 0, true], dtypes: FI },
  argmax: [{ args: [t(3, 4), 1], dtypes: FI }, { args: [t(3, 4)] }],
  argmin: [{ args: [t(3, 4), 0, true], dtypes: FI }, { args: [t(3, 4), null, true] }],
  logsumexp: { args: [t(3, 4), [1]] },
  topk: [{ args: [t(3, 5), 2, 0, false], dtypes: FI }, { args: [t(3, 5), 3] }],
  sort: [{ args: [t(3, 5), 0, true], dtypes: FI }, { args: [t(3, 5)] }],
  argsort: { args: [t(3, 5)], options: { dim: 0 }, dtypes: FI },
  cumsum: { args: [t(3, 4), 1], dtypes: FI },
  all: { args: [t(3, 4)], dtypes: B },
  any: { args: [t(3, 4)], dtypes: B },
  vectorNorm: [{ args: [t(3, 4)], options: { ord: 3, dim: [1] } }, { args: [t(3, 4)] }],

  // shape and indexing
  view: { args: [t(3, 4), [2, 6]], dtypes: FI },
  viewDtype: [
    { args: [t(2, 4), 'int32'], dtypes: ['float32'] },
    { args: [t(2, 4), 'float64'], dtypes: I },
  ],
  reshape: { args: [t(3, 4), [4, -1]], dtypes: FI },
  permute: { args: [t(2, 3, 4), [2, 0, 1]], dtypes: FI },
  transpose: { args: [t(2, 3, 4), 0, 2], dtypes: FI },
  t: { args: [t(3, 4)], dtypes: FI },
  contiguous: [
    { args: [t(3, 4)], options: { memoryFormat: 'contiguous' } },
    { args: [t(2, 3, 4, 5)], options: { memoryFormat: 'channelsLast' } },
  ],
  cat: [{ args: [[t(2, 3), t(1, 3)]], dtypes: FI }, { args: [[t(2, 3), t(2, 1)], -1] }],
  stack: { args: [[t(2, 3), t(2, 3)], 1], dtypes: FI },
  split: { args: [t(5, 3), 2], dtypes: FI },
  splitWithSizes: { args: [t(3, 5), [2, 3], 1], dtypes: FI },
  chunk: { args: [t(5, 3), 2], dtypes: FI },
  squeezeAll: { args: [t(1, 3, 1)], dtypes: FI },
  squeezeDim: { args: [t(1, 3, 1), 2], dtypes: FI },
  unsqueeze: { args: [t(3, 2), 1], dtypes: FI },
  flatten: [{ args: [t(2, 3, 4), 1], dtypes: FI }, { args: [t(2, 3, 4, 2), 1, 2] }],
  unflatten: { args: [t(2, 12), 1, [3, 4]], dtypes: FI },
  expand: { args: [t(3, 1), [2, 3, 4]], dtypes: FI },
  expandAs: { args: [t(3, 1), t(3, 4)], dtypes: FI },
  narrow: { args: [t(4, 5), 1, 1, 3], dtypes: FI },
  select: { args: [t(4, 5), 1, -2], dtypes: FI },
  slice: { args: [t(4, 5)], options: { dim: 1, start: 1, end: 5, step: 2 }, dtypes: FI },
  indexSelect: { args: [t(4, 5), 1, longs([0, 3, 3])], dtypes: FI },
  index: [
    { args: [t(4, 5), [null, longs([0, 2, 4, 2])]], dtypes: FI },
    { args: [t(4, 5), [bools(4, 5)]] },
  ],
  indexPut: { args: [t(4, 3), [longs([0, 2])], t(2, 3)], dtypes: FI },
  gather: { args: [t(3, 4), 1, ints([3, 2], 0, 4)], dtypes: FI },
  scatter: [
    { args: [t(3, 4), 1, longs([0, 2, 1, 3, 3, 0], [3, 2]), t(3, 2)], dtypes: FI },
    { args: [t(3, 4), 0, longs([0, 2, 1, 1], [1, 4]), null], options: { value: 2.5 } },
  ],
  scatterAdd: { args: [t(3, 4), 1, ints([3, 5], 0, 4), t(3, 5)], dtypes: FI },
  maskedFill: [
    { args: [t(3, 4), bools(3, 4), 2], dtypes: FI },
    { args: [t(3, 4), bools(1, 4), t()] },
  ],
  maskedSelect: { args: [t(3, 4), bools(3, 4)], dtypes: FI },
  nonzero: { args: [vals([0, 1, 0, 2, 0, 3], [2, 3])], dtypes: FI },
  repeat: { args: [t(2, 3), [2, 1, 2]], dtypes: FI },
  flip: { args: [t(2, 3), [0, 1]], dtypes: FI },
  roll: { args: [t(3, 4), 1], options: { dims: 1 }, dtypes: FI },
  tril: { args: [t(4, 4)], options: { diagonal: 1 }, dtypes: FI },
  triu: { args: [t(4, 4)], options: { diagonal: -1 }, dtypes: FI },
  clone: { args: [t(2, 3)], dtypes: FI },
  detach: { args: [t(2, 3)], dtypes: FI },
  to: [
    { args: [t(2, 3)], options: { dtype: 'float64' }, dtypes: FI },
    { args: [t(2, 3)], options: { dtype: 'int32', copy: true }, dtypes: FI },
  ],
  oneHot: { args: [longs([0, 2, 1, 3])], options: { numClasses: 5 }, dtypes: I },

  // linear algebra
  matmul: { args: [t(2, 3, 4), t(4, 5)], dtypes: FI },
  mm: { args: [t(2, 3), t(3, 4)], dtypes: FI },
  bmm: { args: [t(2, 2, 3), t(2, 3, 4)], dtypes: FI },
  addmm: { args: [t(2, 4), t(2, 3), t(3, 4)], options: { beta: 0.5, alpha: 2 } },
  outer: { args: [t(3), t(4)], dtypes: FI },
  einsum: { args: ['bij,bjk->bik', [t(2, 2, 3), t(2, 3, 4)]] },

  // neural-network ops
  linear: { args: [t(2, 3), t(4, 3)], options: { bias: t(4) } },
  conv1d: [
    { args: [t(2, 3, 8), t(4, 3, 3)], options: { bias: t(4), stride: 2, padding: 1, dilation: 1 } },
    { args: [t(2, 4, 8), t(4, 2, 3)], options: { padding: 'same', dilation: 2, groups: 2 } },
  ],
  conv2d: [
    { args: [t(2, 4, 6, 6), t(6, 2, 3, 3)], options: { bias: t(6), stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 } },
    { args: [t(1, 3, 5, 6), t(2, 3, 3, 2)], options: { padding: 'valid' } },
  ],
  convTranspose2d: {
    args: [t(1, 4, 3, 4), t(4, 3, 3, 3)],
    options: { bias: t(6), stride: 2, padding: 1, outputPadding: 1, groups: 2 },
  },
  maxPool1d: { args: [t(2, 3, 9), 3], options: { stride: 2, padding: 1 } },
  maxPool2d: { args: [t(2, 3, 7, 7), [3, 2]], options: { stride: 2, padding: 1, ceilMode: true } },
  maxPool2dWithIndices: { args: [t(2, 3, 7, 7), 3], options: { stride: [2, 1], dilation: 2 } },
  avgPool1d: { args: [t(2, 3, 9), 3], options: { stride: 2, padding: 1, countIncludePad: false } },
  avgPool2d: { args: [t(2, 3, 7, 7), 3], options: { stride: 2, padding: 1, ceilMode: true, divisorOverride: 4 } },
  adaptiveAvgPool1d: { args: [t(2, 3, 10), 4] },
  adaptiveAvgPool2d: { args: [t(2, 3, 7, 9), [3, 4]] },
  adaptiveMaxPool2d: { args: [t(2, 3, 7, 9), [3, 4]] },
  batchNorm: [
    { args: [t(4, 3, 5), t(3), t(3), noGrad(t(3)), noGrad(pos(3)), true, 0.2, 1e-5, true], mutates: [3, 4] },
    { args: [t(4, 3, 5), t(3), t(3), noGrad(t(3)), noGrad(pos(3)), false, 0.1, 1e-3, true] },
  ],
  layerNorm: { args: [t(2, 3, 4), [3, 4]], options: { weight: t(3, 4), bias: t(3, 4), eps: 1e-5 } },
  groupNorm: { args: [t(2, 6, 3), 3], options: { weight: t(6), bias: t(6) } },
  dropout: { args: [t(4, 5), 0.3, true], random: true },
  featureDropout: { args: [t(2, 4, 3, 3), 0.5, true], random: true },
  relu: unary(FI),
  relu_: unary(FI),
  hardtanh: { args: [t(3, 4)], options: { minVal: -0.5, maxVal: 0.5 } },
  leakyRelu: { args: [t(3, 4)], options: { negativeSlope: 0.2 } },
  elu: { args: [t(3, 4)], options: { alpha: 1.5, scale: 1.2, inputScale: 0.8 } },
  gelu: [{ args: [t(3, 4)] }, { args: [t(3, 4)], options: { approximate: 'tanh' } }],
  silu: unary(),
  mish: unary(),
  hardswish: unary(F, range(-4, 4, 3, 4)),
  hardsigmoid: unary(F, range(-4, 4, 3, 4)),
  softplus: { args: [range(-3, 3, 3, 4)], options: { beta: 2, threshold: 1 } },
  softmax: [{ args: [t(3, 4), 1] }, { args: [t(3, 4), 0], options: { dtype: 'float64' } }],
  logSoftmax: [{ args: [t(3, 4), 1] }, { args: [t(3, 4), 0], options: { dtype: 'float64' } }],
  crossEntropyLoss: [
    { args: [t(4, 5), ints([4], 0, 5)], options: { weight: noGrad(pos(5)), reduction: 1, ignoreIndex: 2, labelSmoothing: 0.1 } },
    { args: [t(4, 5), unit(4, 5)], options: { reduction: 2 } },
  ],
  nllLoss: [
    { args: [t(4, 5), ints([4], 0, 5)], options: { weight: noGrad(pos(5)), reduction: 0, ignoreIndex: 1 } },
    { args: [t(2, 5, 3), ints([2, 3], 0, 5)] },
  ],
  binaryCrossEntropy: { args: [unit(3, 4), noGrad(unit(3, 4))], options: { weight: noGrad(pos(3, 4)), reduction: 2 } },
  binaryCrossEntropyWithLogits: { args: [t(3, 4), unit(3, 4)], options: { weight: noGrad(pos(4)), posWeight: noGrad(pos(4)), reduction: 1 } },
  mseLoss: { args: [t(3, 4), t(3, 4)], options: { reduction: 0 } },
  l1Loss: { args: [t(3, 4), t(3, 4)] },
  smoothL1Loss: { args: [t(3, 4), t(3, 4)], options: { reduction: 2, beta: 0.5 } },
  huberLoss: { args: [t(3, 4), t(3, 4)], options: { delta: 0.7 } },
  klDiv: [
    { args: [t(3, 4), unit(3, 4)] },
    { args: [t(3, 4), t(3, 4)], options: { reduction: 2, logTarget: true } },
  ],
  upsampleNearest2d: [{ args: [t(1, 2, 3, 4), [5, 7]] }, { args: [t(1, 2, 3, 4), null, [1.5, 2]] }],
  upsampleBilinear2d: [{ args: [t(1, 2, 3, 4), [5, 7], true] }, { args: [t(1, 2, 3, 4), null, false, [1.7, 2]] }],
  upsampleBicubic2d: [{ args: [t(1, 2, 3, 4), [5, 7], false] }, { args: [t(1, 2, 3, 4), null, true, [1.5, 1.25]] }],
  gridSampler: [
    { args: [t(1, 2, 4, 5), range(-1.1, 1.1, 1, 3, 3, 2), 0, 0, false] },
    { args: [t(1, 2, 4, 5), range(-1.2, 1.2, 1, 3, 2, 2), 2, 2, true] },
  ],
  affineGridGenerator: { args: [t(2, 2, 3), [2, 3, 4, 5], false] },
  constantPadNd: { args: [t(2, 3), [1, 2, 0, 1]], options: { value: 2 }, dtypes: FI },
  reflectionPad2d: { args: [t(1, 2, 4, 5), [1, 2, 2, 1]] },
  replicationPad2d: { args: [t(1, 2, 4, 5), [1, 2, 2, 1]] },
  embedding: { args: [t(5, 3), ints([2, 3], 0, 5)], options: { paddingIdx: 1, scaleGradByFreq: true } },
  pixelShuffle: { args: [t(1, 8, 2, 3), 2], dtypes: FI },
  cosineSimilarity: { args: [t(3, 4), t(1, 4)], options: { dim: 1, eps: 1e-6 } },
  im2col: { args: [t(1, 2, 5, 6), [2, 3], 1, 1, [2, 1]] },

  // nn modules and nn.init
  erfinv_: unary(F, range(-0.9, 0.9, 3, 4)),
  baddbmm: { args: [t(2, 3, 4), t(2, 3, 5), t(2, 5, 4)], options: { beta: 0.5, alpha: 2 } },
  // No derivative formula in ATen: the fast path is for inference, so no gradients are compared.
  nativeMultiHeadAttention: [
    { args: [noGrad(t(2, 5, 8)), noGrad(t(2, 5, 8)), noGrad(t(2, 5, 8)), 8, 2, noGrad(t(24, 8)), noGrad(t(24)), noGrad(t(8, 8)), noGrad(t(8))], options: { needWeights: true, averageAttnWeights: false } },
    {
      args: [noGrad(t(2, 5, 8)), noGrad(t(2, 5, 8)), noGrad(t(2, 5, 8)), 8, 2, noGrad(t(24, 8)), noGrad(t(24)), noGrad(t(8, 8)), noGrad(t(8))],
      options: { mask: vals([0, 0, 0, 1, 1, 0, 1, 0, 0, 0], [2, 5], 'bool'), needWeights: true, maskType: 1 },
    },
  ],

  // functional
  pad: [
    { args: [t(1, 2, 4, 5), [1, 2, 2, 1]], options: { mode: 'reflect' } },
    { args: [t(1, 2, 4, 5), [1, 2, 2, 1]], options: { mode: 'replicate' } },
    { args: [t(2, 3), [1, -1]], options: { mode: 'constant', value: 0.5 } },
  ],
  maxPool1dWithIndices: { args: [t(2, 3, 9), 3], options: { stride: 2, padding: 1 } },
  dropout_: { args: [t(4, 5), 0.3, true], random: true },
  featureDropout_: { args: [t(2, 4, 3, 3), 0.5, true], random: true },
  broadcastTensors: { args: [[t(3, 1), t(1, 4)]], dtypes: FI },
  embeddingRenorm_: { args: [t(5, 3), longs([0, 2, 2]), 0.8, 2] },
  relu6: unary(F, range(-2, 8, 3, 4)),
  relu6_: unary(F, range(-2, 8, 3, 4)),
  hardtanh_: { args: [t(3, 4)], options: { minVal: -0.5, maxVal: 1 } },
  leakyRelu_: { args: [t(3, 4)], options: { negativeSlope: 0.1 } },
  elu_: { args: [t(3, 4)], options: { alpha: 0.5 } },
  silu_: unary(),
  mish_: unary(),
  hardswish_: unary(F, range(-4, 4, 3, 4)),
  hardsigmoid_: unary(F, range(-4, 4, 3, 4)),

  // antialiased resize
  upsampleBilinear2dAa: [{ args: [t(1, 2, 9, 11), [4, 5], false] }, { args: [t(1, 2, 4, 5), [7, 9], true] }],
  upsampleBicubic2dAa: [{ args: [t(1, 2, 9, 11), [4, 5], false] }, { args: [t(1, 2, 4, 5), null, false, [1.5, 2]] }],

  atan: unary(),

  // torchvision's op library (torch.ops.torchvision)
  nms: { args: [noGrad(vals(NMS_BOXES, [6, 4])), noGrad(vals([0.9, 0.8, 0.7, 0.85, 0.75, 0.1])), 0.5] },
  roiAlign: [
    { args: [t(2, 3, 7, 9), ROIS, 1.0, 2, 3, 2, false] },
    { args: [t(2, 3, 14, 18), ROIS, 2.0, 3, 2, -1, true] },
  ],
  roiAlignBackward: { args: [noGrad(t(4, 3, 2, 3)), ROIS, 1.0, 2, 3, 2, 3, 7, 9, 2, false] },
  roiPool: { args: [t(2, 3, 7, 9), ROIS, 1.0, 2, 3] },
  roiPoolBackward: { args: [noGrad(t(4, 3, 2, 3)), ROIS, int32s([4, 3, 2, 3], 0, 63), 1.0, 2, 3, 2, 3, 7, 9] },
  psRoiAlign: { args: [t(2, 8, 7, 9), ROIS, 1.0, 2, 2, 2] },
  psRoiAlignBackward: { args: [noGrad(t(4, 2, 2, 2)), ROIS, int32s([4, 2, 2, 2], 0, 8), 1.0, 2, 2, 2, 2, 8, 7, 9] },
  psRoiPool: { args: [t(2, 8, 7, 9), ROIS, 1.0, 2, 2] },
  psRoiPoolBackward: { args: [noGrad(t(4, 2, 2, 2)), ROIS, int32s([4, 2, 2, 2], 0, 8), 1.0, 2, 2, 2, 8, 7, 9] },
  deformConv2d: { args: [t(1, 2, 5, 5), t(3, 2, 3, 3), t(1, 18, 5, 5), unit(1, 9, 5, 5), t(3), 1, 1, 1, 1, 1, 1, 1, 1, true] },
  deformConv2dBackward: {
    args: [noGrad(t(1, 3, 5, 5)), noGrad(t(1, 2, 5, 5)), noGrad(t(3, 2, 3, 3)), noGrad(t(1, 18, 5, 5)), noGrad(unit(1, 9, 5, 5)), noGrad(t(3)), 1, 1, 1, 1, 1, 1, 1, 1, true],
  },
};
