// The ATen → ONNX table: one row per operator (any overload unless the key names one). A row
// reads its op's arguments through the SymbolicContext and returns the ONNX names of the op's
// outputs (a list output is a nested list). Written for opset 17; rows that differ below it say so.
import { attr, type Attribute } from './graph.js';
import type { SymbolicContext } from './context.js';
import type { DType } from '../dtype.js';

export type SymbolicOutput = string | (string | string[])[];
export type SymbolicRow = (g: SymbolicContext) => SymbolicOutput;

const identity: SymbolicRow = (g) => g.one('Identity', [g.input(0)]);
const unary =
  (opType: string): SymbolicRow =>
  (g) =>
    g.one(opType, [g.input(0)]);

/** The second operand of a Tensor/Scalar pair of overloads, in the output's dtype. */
function operand(g: SymbolicContext, i: number, dtype: DType): string {
  if (g.hasInput(i)) return g.castTo(g.input(i), g.meta(i).dtype, dtype);
  return g.scalar(g.value<number>(i), dtype);
}

/** add/sub/mul/div (and their in-place twins) with PyTorch's `alpha` and type promotion. */
const binary =
  (opType: string, withAlpha = false): SymbolicRow =>
  (g) => {
    const dtype = g.output().dtype;
    const a = g.castTo(g.input(0), g.meta(0).dtype, dtype);
    let b = operand(g, 1, dtype);
    const alpha = withAlpha ? g.value<number | null>(2) ?? 1 : 1;
    if (alpha !== 1) b = g.one('Mul', [b, g.scalar(alpha, dtype)]);
    return g.one(opType, [a, b]);
  };

const compare =
  (opType: string): SymbolicRow =>
  (g) => {
    const dtype = g.meta(0).dtype;
    return g.one(opType, [g.input(0), operand(g, 1, dtype)]);
  };

function pads2d(padding: number[]): number[] {
  return [padding[0]!, padding[1]!, padding[0]!, padding[1]!];
}

const conv2d: SymbolicRow = (g) => {
  const w = g.meta(1).shape;
  const stride = g.intList(3, 2);
  const dilation = g.intList(5, 2);
  const groups = g.value<number>(6);
  const paddingArg = g.value<number | number[] | string>(4);
  let pads: number[];
  if (paddingArg === 'valid') pads = [0, 0, 0, 0];
  else if (paddingArg === 'same') {
    // PyTorch's 'same' puts the odd pixel at the end, as SAME_UPPER does; written out explicitly.
    const total = [0, 1].map((d) => dilation[d]! * (w[2 + d]! - 1));
    pads = [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), total[0]! - Math.floor(total[0]! / 2), total[1]! - Math.floor(total[1]! / 2)];
  } else pads = pads2d(g.intList(4, 2));
  const inputs = [g.input(0), g.input(1)];
  if (g.hasInput(2)) inputs.push(g.input(2));
  return g.one('Conv', inputs, {
    kernel_shape: attr.ints(w.slice(2)),
    strides: attr.ints(stride),
    pads: attr.ints(pads),
    dilations: attr.ints(dilation),
    group: attr.int(groups),
  });
};

const linear: SymbolicRow = (g) => {
  if (g.rank(0) === 2) {
    const inputs = [g.input(0), g.input(1)];
    if (g.hasInput(2)) inputs.push(g.input(2));
    return g.one('Gemm', inputs, { transB: attr.int(1) });
  }
  const wT = g.one('Transpose', [g.input(1)], { perm: attr.ints([1, 0]) });
  const y = g.one('MatMul', [g.input(0), wT]);
  return g.hasInput(2) ? g.one('Add', [y, g.input(2)]) : y;
};

const batchNorm: SymbolicRow = (g) => {
  if (g.value<boolean>(5) || !g.hasInput(3)) g.fail('batch statistics (training mode or no running statistics) cannot be exported; call model.eval()');
  const channels = g.meta(0).shape[1]!;
  const dtype = g.meta(0).dtype;
  const scale = g.hasInput(1) ? g.input(1) : g.constant(new Array(channels).fill(1), dtype);
  const bias = g.hasInput(2) ? g.input(2) : g.constant(new Array(channels).fill(0), dtype);
  return g.one('BatchNormalization', [g.input(0), scale, bias, g.input(3), g.input(4)], { epsilon: attr.float(g.value<number>(7)) });
};

const maxPool2d: SymbolicRow = (g) => {
  const kernel = g.intList(1, 2);
  const strideArg = g.intList(2, 2);
  return g.one('MaxPool', [g.input(0)], {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strideArg.length === 0 ? kernel : strideArg),
    pads: attr.ints(pads2d(g.intList(3, 2))),
    dilations: attr.ints(g.intList(4, 2)),
    ceil_mode: attr.int(g.value<boolean>(5)),
  });
};

const avgPool2d: SymbolicRow = (g) => {
  if (g.value(6) !== null && g.value(6) !== undefined) g.fail('divisor_override has no ONNX equivalent');
  const kernel = g.intList(1, 2);
  const strideArg = g.intList(2, 2);
  return g.one('AveragePool', [g.input(0)], {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strideArg.length === 0 ? kernel : strideArg),
    pads: attr.ints(pads2d(g.intList(3, 2))),
    ceil_mode: attr.int(g.value<boolean>(4)),
    count_include_pad: attr.int(g.value<boolean>(5)),
  });
};

const adaptiveAvgPool2d: SymbolicRow = (g) => {
  const out = g.intList(1, 2);
  const [h, w] = g.meta(0).shape.slice(-2) as [number, number];
  if (out[0] === 1 && out[1] === 1) return g.one('GlobalAveragePool', [g.input(0)]);
  if (h % out[0]! === 0 && w % out[1]! === 0) {
    const kernel = [h / out[0]!, w / out[1]!];
    return g.one('AveragePool', [g.input(0)], { kernel_shape: attr.ints(kernel), strides: attr.ints(kernel) });
  }
  // Otherwise (VGG's 7×7 pool of a small map): adaptive averaging is separable, rows then
  // columns, each a constant [out, in] matrix of PyTorch's bins floor(i·in/out)..ceil((i+1)·in/out).
  const bins = (size: number, outSize: number): number[] => {
    const m = new Array(outSize * size).fill(0);
    for (let i = 0; i < outSize; i++) {
      const start = Math.floor((i * size) / outSize);
      const end = Math.ceil(((i + 1) * size) / outSize);
      for (let j = start; j < end; j++) m[i * size + j] = 1 / (end - start);
    }
    return m;
  };
  const dtype = g.meta(0).dtype;
  const rows = g.constant(bins(h, out[0]!), dtype, [out[0]!, h]);
  const colsT = g.one('Transpose', [g.constant(bins(w, out[1]!), dtype, [out[1]!, w])], { perm: attr.ints([1, 0]) });
  return g.one('MatMul', [rows, g.one('MatMul', [g.input(0), colsT])]);
};

const reshapeToOutput: SymbolicRow = (g) => g.one('Reshape', [g.input(0), g.outputShape()]);

const transpose: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const perm = Array.from({ length: rank }, (_, i) => i);
  const a = g.dim(1, rank);
  const b = g.dim(2, rank);
  [perm[a], perm[b]] = [perm[b]!, perm[a]!];
  return g.one('Transpose', [g.input(0)], { perm: attr.ints(perm) });
};

const permute: SymbolicRow = (g) => {
  const rank = g.rank(0);
  return g.one('Transpose', [g.input(0)], { perm: attr.ints(g.intList(1).map((d) => (d < 0 ? d + rank : d))) });
};

/** Splits along a dim into the given static sizes (chunk, split, split_with_sizes). */
function splitInto(g: SymbolicContext, dim: number, sizes: number[]): SymbolicOutput {
  const outs = g.node('Split', [g.input(0), g.constant(sizes, 'int64')], { axis: attr.int(dim) }, sizes.length);
  return [outs];
}

const chunk: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const dim = g.dim(2, rank);
  const size = g.meta(0).shape[dim]!;
  const chunks = g.value<number>(1);
  const each = Math.ceil(size / chunks);
  const sizes: number[] = [];
  for (let left = size; left > 0; left -= each) sizes.push(Math.min(each, left));
  return splitInto(g, dim, sizes);
};

const split: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const dim = g.dim(2, rank);
  const size = g.meta(0).shape[dim]!;
  const arg = g.value<number | number[]>(1);
  if (Array.isArray(arg)) return splitInto(g, dim, arg);
  const sizes: number[] = [];
  for (let left = size; left > 0; left -= arg) sizes.push(Math.min(arg, left));
  return splitInto(g, dim, sizes);
};

const cat: SymbolicRow = (g) => {
  const rank = g.output().shape.length;
  const dim = g.value<number>(1);
  const dtype = g.output().dtype;
  const metas = g.listMeta(0);
  // PyTorch lets a 1-D empty tensor join any cat; ONNX does not, so it is left out.
  const inputs = g
    .inputList(0)
    .map((name, k) => ({ name, meta: metas[k]! }))
    .filter(({ meta }) => !(meta.shape.length === 1 && meta.shape[0] === 0));
  return g.one('Concat', inputs.map(({ name, meta }) => g.castTo(name, meta.dtype, dtype)), { axis: attr.int(dim < 0 ? dim + rank : dim) });
};

const select: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const dim = g.dim(1, rank);
  let index = g.value<number>(2);
  if (index < 0) index += g.meta(0).shape[dim]!;
  return g.one('Gather', [g.input(0), g.constant([index], 'int64', [])], { axis: attr.int(dim) });
};

const slice: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const dim = g.dim(1, rank);
  const size = g.meta(0).shape[dim]!;
  const clampIndex = (v: number | null, fallback: number) => {
    if (v === null || v === undefined) return fallback;
    const n = v < 0 ? v + size : v;
    return Math.max(0, Math.min(size, n));
  };
  const start = clampIndex(g.value<number | null>(2), 0);
  const end = clampIndex(g.value<number | null>(3), size);
  const step = g.value<number>(4);
  return g.one('Slice', [g.input(0), g.constant([start], 'int64'), g.constant([end], 'int64'), g.constant([dim], 'int64'), g.constant([step], 'int64')]);
};

const narrow: SymbolicRow = (g) => {
  const rank = g.rank(0);
  const dim = g.dim(1, rank);
  let start = g.value<number>(2);
  if (start < 0) start += g.meta(0).shape[dim]!;
  const length = g.value<number>(3);
  return g.one('Slice', [g.input(0), g.constant([start], 'int64'), g.constant([start + length], 'int64'), g.constant([dim], 'int64')]);
};

const softmax =
  (opType: string): SymbolicRow =>
  (g) => {
    const rank = g.rank(0);
    const out = g.one(opType, [g.input(0)], { axis: attr.int(g.dim(1, rank)) });
    return g.castTo(out, g.meta(0).dtype, g.output().dtype);
  };

const layerNorm: SymbolicRow = (g) => {
  const dims = g.intList(1).length;
  const dtype = g.meta(0).dtype;
  const width = g.intList(1).reduce((a, b) => a * b, 1);
  const eps = g.value<number>(4);
  const scale = g.hasInput(2) ? g.input(2) : g.constant(new Array(width).fill(1), dtype, g.intList(1));
  if (g.opset >= 17) {
    const inputs = [g.input(0), scale];
    if (g.hasInput(3)) inputs.push(g.input(3));
    return g.one('LayerNormalization', inputs, { axis: attr.int(-dims), epsilon: attr.float(eps) });
  }
  const axes = Array.from({ length: dims }, (_, i) => -dims + i);
  const mean = g.one('ReduceMean', [g.input(0)], { axes: attr.ints(axes) });
  const centred = g.one('Sub', [g.input(0), mean]);
  const variance = g.one('ReduceMean', [g.one('Mul', [centred, centred])], { axes: attr.ints(axes) });
  const normed = g.one('Div', [centred, g.one('Sqrt', [g.one('Add', [variance, g.scalar(eps, dtype)])])]);
  const scaled = g.one('Mul', [normed, scale]);
  return g.hasInput(3) ? g.one('Add', [scaled, g.input(3)]) : scaled;
};

const gelu: SymbolicRow = (g) => {
  const dtype = g.meta(0).dtype;
  const x = g.input(0);
  const half = g.one('Mul', [x, g.scalar(0.5, dtype)]);
  if (g.value<string>(1) === 'tanh') {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const cube = g.one('Mul', [g.one('Mul', [x, x]), x]);
    const inner = g.one('Mul', [g.one('Add', [x, g.one('Mul', [cube, g.scalar(0.044715, dtype)])]), g.scalar(Math.sqrt(2 / Math.PI), dtype)]);
    return g.one('Mul', [half, g.one('Add', [g.one('Tanh', [inner]), g.scalar(1, dtype)])]);
  }
  const erf = g.one('Erf', [g.one('Div', [x, g.scalar(Math.SQRT2, dtype)])]);
  return g.one('Mul', [half, g.one('Add', [erf, g.scalar(1, dtype)])]);
};

const silu: SymbolicRow = (g) => g.one('Mul', [g.input(0), g.one('Sigmoid', [g.input(0)])]);

const clip = (g: SymbolicContext, min: number | null, max: number | null): string => {
  const dtype = g.meta(0).dtype;
  return g.one('Clip', [g.input(0), min === null ? '' : g.scalar(min, dtype), max === null ? '' : g.scalar(max, dtype)]);
};

const reduce =
  (opType: string): SymbolicRow =>
  (g) => {
    const rank = g.rank(0);
    const dims = g.value<number | number[] | null>(1) === null ? [] : g.intList(1);
    const axes = dims.map((d) => (d < 0 ? d + rank : d));
    const keepdims = attr.int(g.value<boolean>(2));
    const out =
      opType === 'ReduceSum' ? g.one(opType, [g.input(0), g.constant(axes, 'int64')], { keepdims }) : g.one(opType, [g.input(0)], { axes: attr.ints(axes), keepdims });
    return g.castTo(out, g.meta(0).dtype, g.output().dtype);
  };

const upsample =
  (mode: 'nearest' | 'linear'): SymbolicRow =>
  (g) => {
    // Sizes from the traced output keep PyTorch's rounding; nearest uses PyTorch's floor rule.
    const attributes: Record<string, Attribute> =
      mode === 'nearest'
        ? { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') }
        : { mode: attr.string('linear'), coordinate_transformation_mode: attr.string(g.value<boolean>(2) ? 'align_corners' : 'pytorch_half_pixel') };
    return g.one('Resize', [g.input(0), '', '', g.outputShape()], attributes);
  };

/** PyTorch's fused inference attention (batch first), written out as ONNX's plain ops. */
const nativeMultiHeadAttention: SymbolicRow = (g) => {
  if (g.hasInput(9)) g.fail('an attention mask is not supported in export yet');
  const embed = g.value<number>(3);
  const heads = g.value<number>(4);
  const headDim = embed / heads;
  const dtype = g.meta(0).dtype;
  const qkvWeight = g.input(5);
  const qkvBias = g.input(6);
  const project = (x: string, part: number) => {
    const w = g.one('Slice', [qkvWeight, g.constant([part * embed], 'int64'), g.constant([(part + 1) * embed], 'int64'), g.constant([0], 'int64')]);
    const b = g.one('Slice', [qkvBias, g.constant([part * embed], 'int64'), g.constant([(part + 1) * embed], 'int64'), g.constant([0], 'int64')]);
    const y = g.one('Add', [g.one('MatMul', [x, g.one('Transpose', [w], { perm: attr.ints([1, 0]) })]), b]);
    // [B, L, E] → [B, H, L, D]
    const split = g.one('Reshape', [y, g.constant([0, 0, heads, headDim], 'int64')]);
    return g.one('Transpose', [split], { perm: attr.ints([0, 2, 1, 3]) });
  };
  const q = g.one('Mul', [project(g.input(0), 0), g.scalar(1 / Math.sqrt(headDim), dtype)]);
  const k = project(g.input(1), 1);
  const v = project(g.input(2), 2);
  const scores = g.one('MatMul', [q, g.one('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) })]);
  const weights = g.one('Softmax', [scores], { axis: attr.int(-1) });
  const context = g.one('Transpose', [g.one('MatMul', [weights, v])], { perm: attr.ints([0, 2, 1, 3]) });
  const merged = g.one('Reshape', [context, g.constant([0, 0, embed], 'int64')]);
  const out = g.one('Add', [g.one('MatMul', [merged, g.one('Transpose', [g.input(7)], { perm: attr.ints([1, 0]) })]), g.input(8)]);
  if (!g.value<boolean>(10)) return [out, ''];
  const averaged = g.value<boolean>(11) ? g.one('ReduceMean', [weights], { axes: attr.ints([1]), keepdims: attr.int(0) }) : weights;
  return [out, averaged];
};

export const symbolicTable: Record<string, SymbolicRow> = {
  'aten::conv2d': conv2d,
  'aten::linear': linear,
  'aten::batch_norm': batchNorm,
  'aten::max_pool2d': maxPool2d,
  'aten::avg_pool2d': avgPool2d,
  'aten::adaptive_avg_pool2d': adaptiveAvgPool2d,
  'aten::relu': unary('Relu'),
  'aten::relu_': unary('Relu'),
  'aten::relu6': (g) => clip(g, 0, 6),
  'aten::relu6_': (g) => clip(g, 0, 6),
  'aten::hardtanh': (g) => clip(g, g.value<number>(1), g.value<number>(2)),
  'aten::hardtanh_': (g) => clip(g, g.value<number>(1), g.value<number>(2)),
  'aten::clamp': (g) => clip(g, g.value<number | null>(1), g.value<number | null>(2)),
  'aten::sigmoid': unary('Sigmoid'),
  'aten::tanh': unary('Tanh'),
  'aten::exp': unary('Exp'),
  'aten::log': unary('Log'),
  'aten::sqrt': unary('Sqrt'),
  'aten::abs': unary('Abs'),
  'aten::neg': unary('Neg'),
  'aten::erf': unary('Erf'),
  'aten::reciprocal': unary('Reciprocal'),
  'aten::hardsigmoid': (g) => g.one('HardSigmoid', [g.input(0)], { alpha: attr.float(1 / 6), beta: attr.float(0.5) }),
  'aten::hardsigmoid_': (g) => g.one('HardSigmoid', [g.input(0)], { alpha: attr.float(1 / 6), beta: attr.float(0.5) }),
  'aten::hardswish': unary('HardSwish'),
  'aten::hardswish_': unary('HardSwish'),
  'aten::silu': silu,
  'aten::silu_': silu,
  'aten::gelu': gelu,
  'aten::leaky_relu': (g) => g.one('LeakyRelu', [g.input(0)], { alpha: attr.float(g.value<number>(1)) }),
  'aten::leaky_relu_': (g) => g.one('LeakyRelu', [g.input(0)], { alpha: attr.float(g.value<number>(1)) }),
  'aten::add': binary('Add', true),
  'aten::add_': binary('Add', true),
  'aten::sub': binary('Sub', true),
  'aten::sub_': binary('Sub', true),
  'aten::mul': binary('Mul'),
  'aten::mul_': binary('Mul'),
  'aten::div': binary('Div'),
  'aten::div_': binary('Div'),
  'aten::pow': binary('Pow'),
  'aten::eq': compare('Equal'),
  'aten::gt': compare('Greater'),
  'aten::lt': compare('Less'),
  'aten::matmul': (g) => g.one('MatMul', [g.input(0), g.input(1)]),
  'aten::bmm': (g) => g.one('MatMul', [g.input(0), g.input(1)]),
  'aten::mm': (g) => g.one('MatMul', [g.input(0), g.input(1)]),
  'aten::flatten': reshapeToOutput,
  'aten::view': reshapeToOutput,
  'aten::reshape': reshapeToOutput,
  'aten::unflatten': reshapeToOutput,
  'aten::squeeze': reshapeToOutput,
  'aten::unsqueeze': reshapeToOutput,
  'aten::expand': (g) => g.one('Expand', [g.input(0), g.outputShape()]),
  'aten::permute': permute,
  'aten::transpose': transpose,
  'aten::contiguous': identity,
  'aten::clone': identity,
  'aten::detach': identity,
  'aten::dropout': (g) => (g.value<boolean>(2) ? g.fail('dropout in training mode; call model.eval()') : identity(g)),
  'aten::dropout_': (g) => (g.value<boolean>(2) ? g.fail('dropout in training mode; call model.eval()') : identity(g)),
  'aten::feature_dropout': (g) => (g.value<boolean>(2) ? g.fail('dropout in training mode; call model.eval()') : identity(g)),
  'aten::cat': cat,
  'aten::chunk': chunk,
  'aten::split': split,
  'aten::split_with_sizes': split,
  'aten::select': select,
  'aten::slice': slice,
  'aten::narrow': narrow,
  'aten::softmax': softmax('Softmax'),
  'aten::log_softmax': softmax('LogSoftmax'),
  'aten::layer_norm': layerNorm,
  'aten::mean': reduce('ReduceMean'),
  'aten::sum': reduce('ReduceSum'),
  'aten::upsample_nearest2d': upsample('nearest'),
  'aten::upsample_bilinear2d': upsample('linear'),
  'aten::to': (g) => g.castTo(g.input(0), g.meta(0).dtype, g.output().dtype),
  'aten::_native_multi_head_attention': nativeMultiHeadAttention,
};
