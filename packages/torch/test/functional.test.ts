// The hand-written functional layer (src/nn/functional/) against torch.nn.functional: each case
// calls Iris and states the PyTorch call it must equal, on the same seeded inputs. Forward values
// and the gradients of sum(output * w) for every float input are compared in float32 and float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import * as F from '../src/nn/functional.js';
import { Tensor } from '../src/tensor.js';
import { isFloatingPoint, type DType } from '../src/dtype.js';
import { runPython, type JsonTensor } from './helpers/python.js';
import { t, pos, unit, range, noGrad, ints, longs, vals, seededRandom, makeTensor, encodeTensor, compareTensor, type TensorSpec } from './helpers/parity.js';

type Inputs = Record<string, Tensor>;
interface FnCase {
  name: string;
  inputs: Record<string, TensorSpec>;
  iris: (x: Inputs) => Tensor | Tensor[];
  /** The same call in PyTorch: a Python expression over the input names, F = torch.nn.functional. */
  torch: string;
  dtypes?: DType[];
  /** Compare outputs bit for bit (random ops: both sides draw after the same manual seed). */
  exact?: boolean;
  /** Inputs the call mutates, compared afterwards. */
  mutated?: string[];
  /** In-place calls: no input requires grad. */
  inplace?: boolean;
}

const cases: FnCase[] = [
  // convolution and linear
  { name: 'linear', inputs: { x: t(2, 3), w: t(4, 3), b: t(4) }, iris: (x) => F.linear(x.x, x.w, x.b), torch: 'F.linear(x, w, b)' },
  { name: 'linear without bias', inputs: { x: t(2, 5, 3), w: t(4, 3) }, iris: (x) => F.linear(x.x, x.w), torch: 'F.linear(x, w)' },
  {
    name: 'conv1d stride padding bias',
    inputs: { x: t(2, 3, 9), w: t(4, 3, 3), b: t(4) },
    iris: (x) => F.conv1d(x.x, x.w, { bias: x.b, stride: 2, padding: 1 }),
    torch: 'F.conv1d(x, w, b, stride=2, padding=1)',
  },
  {
    name: "conv1d padding 'same' dilation groups",
    inputs: { x: t(2, 4, 8), w: t(6, 2, 3) },
    iris: (x) => F.conv1d(x.x, x.w, { padding: 'same', dilation: 2, groups: 2 }),
    torch: "F.conv1d(x, w, padding='same', dilation=2, groups=2)",
  },
  {
    name: 'conv2d stride dilation groups bias',
    inputs: { x: t(2, 4, 7, 6), w: t(6, 2, 3, 3), b: t(6) },
    iris: (x) => F.conv2d(x.x, x.w, { bias: x.b, stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
    torch: 'F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)',
  },
  {
    name: "conv2d padding 'same' with an even kernel",
    inputs: { x: t(1, 2, 5, 6), w: t(3, 2, 4, 2) },
    iris: (x) => F.conv2d(x.x, x.w, { padding: 'same' }),
    torch: "F.conv2d(x, w, padding='same')",
  },
  {
    name: "conv2d padding 'valid', unbatched",
    inputs: { x: t(2, 5, 6), w: t(3, 2, 3, 3) },
    iris: (x) => F.conv2d(x.x, x.w, { padding: 'valid' }),
    torch: "F.conv2d(x, w, padding='valid')",
  },
  {
    name: 'convTranspose2d',
    inputs: { x: t(2, 4, 3, 4), w: t(4, 3, 3, 3), b: t(6) },
    iris: (x) => F.convTranspose2d(x.x, x.w, { bias: x.b, stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 1 }),
    torch: 'F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=1)',
  },

  // pooling
  {
    name: 'maxPool1d returnIndices',
    inputs: { x: t(2, 3, 9) },
    iris: (x) => F.maxPool1d(x.x, 3, { stride: 2, padding: 1, returnIndices: true }),
    torch: 'F.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)',
  },
  {
    name: 'maxPool2d ceilMode, default stride',
    inputs: { x: t(2, 3, 7, 8) },
    iris: (x) => F.maxPool2d(x.x, [3, 2], { ceilMode: true }),
    torch: 'F.max_pool2d(x, (3, 2), ceil_mode=True)',
  },
  {
    name: 'maxPool2d returnIndices dilation',
    inputs: { x: t(1, 2, 8, 8) },
    iris: (x) => F.maxPool2d(x.x, 2, { stride: 1, padding: 1, dilation: 2, returnIndices: true }),
    torch: 'F.max_pool2d(x, 2, stride=1, padding=1, dilation=2, return_indices=True)',
  },
  {
    name: 'avgPool2d countIncludePad false',
    inputs: { x: t(2, 3, 7, 7) },
    iris: (x) => F.avgPool2d(x.x, 3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
    torch: 'F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)',
  },
  {
    name: 'avgPool2d divisorOverride',
    inputs: { x: t(1, 2, 6, 6) },
    iris: (x) => F.avgPool2d(x.x, [2, 3], { divisorOverride: 5 }),
    torch: 'F.avg_pool2d(x, (2, 3), divisor_override=5)',
  },
  { name: 'avgPool1d', inputs: { x: t(2, 3, 9) }, iris: (x) => F.avgPool1d(x.x, 4, { stride: 2 }), torch: 'F.avg_pool1d(x, 4, stride=2)' },
  {
    name: 'adaptiveAvgPool2d with a kept dimension',
    inputs: { x: t(2, 3, 7, 9) },
    iris: (x) => F.adaptiveAvgPool2d(x.x, [3, null]),
    torch: 'F.adaptive_avg_pool2d(x, (3, None))',
  },
  { name: 'adaptiveAvgPool2d', inputs: { x: t(2, 3, 7, 9) }, iris: (x) => F.adaptiveAvgPool2d(x.x, 4), torch: 'F.adaptive_avg_pool2d(x, 4)' },
  { name: 'adaptiveAvgPool1d', inputs: { x: t(2, 3, 10) }, iris: (x) => F.adaptiveAvgPool1d(x.x, 3), torch: 'F.adaptive_avg_pool1d(x, 3)' },
  {
    name: 'adaptiveMaxPool2d returnIndices',
    inputs: { x: t(2, 3, 7, 9) },
    iris: (x) => F.adaptiveMaxPool2d(x.x, [3, 4], { returnIndices: true }),
    torch: 'F.adaptive_max_pool2d(x, (3, 4), return_indices=True)',
  },
  { name: 'adaptiveMaxPool2d', inputs: { x: t(2, 3, 5, 5) }, iris: (x) => F.adaptiveMaxPool2d(x.x, 2), torch: 'F.adaptive_max_pool2d(x, 2)' },

  // normalisation
  {
    name: 'batchNorm training updates running statistics',
    inputs: { x: t(4, 3, 5), mean: noGrad(t(3)), var: noGrad(pos(3)), w: t(3), b: t(3) },
    iris: (x) => F.batchNorm(x.x, x.mean, x.var, { weight: x.w, bias: x.b, training: true, momentum: 0.2, eps: 1e-4 }),
    torch: 'F.batch_norm(x, mean, var, w, b, training=True, momentum=0.2, eps=1e-4)',
    mutated: ['mean', 'var'],
  },
  {
    name: 'batchNorm eval',
    inputs: { x: t(2, 3, 4, 4), mean: noGrad(t(3)), var: noGrad(pos(3)), w: t(3), b: t(3) },
    iris: (x) => F.batchNorm(x.x, x.mean, x.var, { weight: x.w, bias: x.b }),
    torch: 'F.batch_norm(x, mean, var, w, b)',
  },
  {
    name: 'batchNorm training without running statistics',
    inputs: { x: t(4, 3) },
    iris: (x) => F.batchNorm(x.x, null, null, { training: true }),
    torch: 'F.batch_norm(x, None, None, training=True)',
  },
  {
    name: 'layerNorm',
    inputs: { x: t(2, 3, 4), w: t(3, 4), b: t(3, 4) },
    iris: (x) => F.layerNorm(x.x, [3, 4], { weight: x.w, bias: x.b, eps: 1e-3 }),
    torch: 'F.layer_norm(x, (3, 4), w, b, eps=1e-3)',
  },
  {
    name: 'groupNorm',
    inputs: { x: t(2, 6, 3, 2), w: t(6), b: t(6) },
    iris: (x) => F.groupNorm(x.x, 3, { weight: x.w, bias: x.b }),
    torch: 'F.group_norm(x, 3, w, b)',
  },

  // dropout
  { name: 'dropout', inputs: { x: t(4, 5) }, iris: (x) => F.dropout(x.x, { p: 0.3 }), torch: 'F.dropout(x, p=0.3)', exact: true },
  { name: 'dropout not training', inputs: { x: t(4, 5) }, iris: (x) => F.dropout(x.x, { training: false }), torch: 'F.dropout(x, training=False)' },
  {
    name: 'dropout inplace',
    inputs: { x: t(4, 5) },
    iris: (x) => F.dropout(x.x, { p: 0.4, inplace: true }),
    torch: 'F.dropout(x, p=0.4, inplace=True)',
    exact: true,
    inplace: true,
    mutated: ['x'],
  },
  { name: 'dropout2d', inputs: { x: t(2, 6, 3, 3) }, iris: (x) => F.dropout2d(x.x), torch: 'F.dropout2d(x)', exact: true },
  { name: 'dropout2d on (N, C, L)', inputs: { x: t(2, 6, 4) }, iris: (x) => F.dropout2d(x.x, { p: 0.25 }), torch: 'F.dropout2d(x, p=0.25)', exact: true },

  // activations
  { name: 'relu', inputs: { x: t(3, 4) }, iris: (x) => F.relu(x.x), torch: 'F.relu(x)' },
  { name: 'relu inplace', inputs: { x: t(3, 4) }, iris: (x) => F.relu(x.x, { inplace: true }), torch: 'F.relu(x, inplace=True)', inplace: true, mutated: ['x'] },
  { name: 'relu6', inputs: { x: range(-3, 9, 3, 4) }, iris: (x) => F.relu6(x.x), torch: 'F.relu6(x)' },
  {
    name: 'relu6 inplace',
    inputs: { x: range(-3, 9, 3, 4) },
    iris: (x) => F.relu6(x.x, { inplace: true }),
    torch: 'F.relu6(x, inplace=True)',
    inplace: true,
    mutated: ['x'],
  },
  { name: 'hardtanh', inputs: { x: t(3, 4) }, iris: (x) => F.hardtanh(x.x, { minVal: -0.5, maxVal: 1.5 }), torch: 'F.hardtanh(x, -0.5, 1.5)' },
  { name: 'leakyRelu', inputs: { x: t(3, 4) }, iris: (x) => F.leakyRelu(x.x, { negativeSlope: 0.2 }), torch: 'F.leaky_relu(x, 0.2)' },
  {
    name: 'leakyRelu inplace',
    inputs: { x: t(3, 4) },
    iris: (x) => F.leakyRelu(x.x, { inplace: true }),
    torch: 'F.leaky_relu(x, inplace=True)',
    inplace: true,
    mutated: ['x'],
  },
  { name: 'elu', inputs: { x: t(3, 4) }, iris: (x) => F.elu(x.x, { alpha: 0.7 }), torch: 'F.elu(x, alpha=0.7)' },
  { name: 'elu inplace', inputs: { x: t(3, 4) }, iris: (x) => F.elu(x.x, { inplace: true }), torch: 'F.elu(x, inplace=True)', inplace: true, mutated: ['x'] },
  { name: 'gelu', inputs: { x: t(3, 4) }, iris: (x) => F.gelu(x.x), torch: 'F.gelu(x)' },
  { name: "gelu approximate 'tanh'", inputs: { x: t(3, 4) }, iris: (x) => F.gelu(x.x, { approximate: 'tanh' }), torch: "F.gelu(x, approximate='tanh')" },
  { name: 'silu', inputs: { x: t(3, 4) }, iris: (x) => F.silu(x.x), torch: 'F.silu(x)' },
  { name: 'silu inplace', inputs: { x: t(3, 4) }, iris: (x) => F.silu(x.x, { inplace: true }), torch: 'F.silu(x, inplace=True)', inplace: true, mutated: ['x'] },
  { name: 'mish', inputs: { x: t(3, 4) }, iris: (x) => F.mish(x.x), torch: 'F.mish(x)' },
  { name: 'sigmoid', inputs: { x: t(3, 4) }, iris: (x) => F.sigmoid(x.x), torch: 'torch.sigmoid(x)' },
  { name: 'tanh', inputs: { x: t(3, 4) }, iris: (x) => F.tanh(x.x), torch: 'torch.tanh(x)' },
  { name: 'hardswish', inputs: { x: range(-4, 4, 3, 4) }, iris: (x) => F.hardswish(x.x), torch: 'F.hardswish(x)' },
  { name: 'hardsigmoid', inputs: { x: range(-4, 4, 3, 4) }, iris: (x) => F.hardsigmoid(x.x), torch: 'F.hardsigmoid(x)' },
  {
    name: 'hardsigmoid inplace',
    inputs: { x: range(-4, 4, 3, 4) },
    iris: (x) => F.hardsigmoid(x.x, { inplace: true }),
    torch: 'F.hardsigmoid(x, inplace=True)',
    inplace: true,
    mutated: ['x'],
  },
  { name: 'softplus', inputs: { x: range(-3, 3, 3, 4) }, iris: (x) => F.softplus(x.x, { beta: 2, threshold: 1.5 }), torch: 'F.softplus(x, beta=2, threshold=1.5)' },
  { name: 'softmax', inputs: { x: t(3, 4, 2) }, iris: (x) => F.softmax(x.x, 1), torch: 'F.softmax(x, dim=1)' },
  { name: 'logSoftmax with dtype', inputs: { x: t(3, 4) }, iris: (x) => F.logSoftmax(x.x, -1, { dtype: 'float64' }), torch: 'F.log_softmax(x, dim=-1, dtype=torch.float64)' },

  // losses
  {
    name: 'crossEntropy',
    inputs: { x: t(5, 4), y: ints([5], 0, 4) },
    iris: (x) => F.crossEntropy(x.x, x.y),
    torch: 'F.cross_entropy(x, y)',
  },
  {
    name: 'crossEntropy with labelSmoothing, ignoreIndex and class weights',
    inputs: { x: t(6, 4), y: longs([0, 3, 2, 2, 1, 2]), w: noGrad(pos(4)) },
    iris: (x) => F.crossEntropy(x.x, x.y, { weight: x.w, ignoreIndex: 2, labelSmoothing: 0.15 }),
    torch: 'F.cross_entropy(x, y, weight=w, ignore_index=2, label_smoothing=0.15)',
  },
  {
    name: "crossEntropy reduction 'none' over (N, C, d)",
    inputs: { x: t(2, 4, 3), y: ints([2, 3], 0, 4) },
    iris: (x) => F.crossEntropy(x.x, x.y, { reduction: 'none', labelSmoothing: 0.1 }),
    torch: "F.cross_entropy(x, y, reduction='none', label_smoothing=0.1)",
  },
  {
    name: 'crossEntropy with class-probability targets',
    inputs: { x: t(3, 5), p: unit(3, 5), w: noGrad(pos(5)) },
    iris: (x) => F.crossEntropy(x.x, x.p, { weight: x.w, reduction: 'sum', labelSmoothing: 0.2 }),
    torch: "F.cross_entropy(x, p, weight=w, reduction='sum', label_smoothing=0.2)",
  },
  {
    name: 'nllLoss',
    inputs: { x: t(5, 4), y: longs([0, 1, 3, 1, 2]), w: noGrad(pos(4)) },
    iris: (x) => F.nllLoss(x.x, x.y, { weight: x.w, ignoreIndex: 1, reduction: 'mean' }),
    torch: 'F.nll_loss(x, y, weight=w, ignore_index=1)',
  },
  {
    name: 'binaryCrossEntropy with a broadcast weight',
    inputs: { x: unit(3, 4), y: noGrad(unit(3, 4)), w: noGrad(pos(4)) },
    iris: (x) => F.binaryCrossEntropy(x.x, x.y, { weight: x.w }),
    torch: 'F.binary_cross_entropy(x, y, weight=w)',
  },
  {
    name: 'binaryCrossEntropyWithLogits with posWeight',
    inputs: { x: t(3, 4), y: unit(3, 4), w: noGrad(pos(3, 1)), pw: noGrad(pos(4)) },
    iris: (x) => F.binaryCrossEntropyWithLogits(x.x, x.y, { weight: x.w, posWeight: x.pw, reduction: 'sum' }),
    torch: "F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction='sum')",
  },
  { name: 'mseLoss', inputs: { x: t(3, 4), y: t(3, 4) }, iris: (x) => F.mseLoss(x.x, x.y), torch: 'F.mse_loss(x, y)' },
  {
    name: 'mseLoss broadcasts (with a warning)',
    inputs: { x: t(3, 1), y: t(3, 4) },
    iris: (x) => F.mseLoss(x.x, x.y, { reduction: 'none' }),
    torch: "F.mse_loss(x, y, reduction='none')",
  },
  { name: 'l1Loss', inputs: { x: t(3, 4), y: t(3, 4) }, iris: (x) => F.l1Loss(x.x, x.y, { reduction: 'sum' }), torch: "F.l1_loss(x, y, reduction='sum')" },
  { name: 'smoothL1Loss', inputs: { x: t(3, 4), y: t(3, 4) }, iris: (x) => F.smoothL1Loss(x.x, x.y, { beta: 0.6 }), torch: 'F.smooth_l1_loss(x, y, beta=0.6)' },
  { name: 'huberLoss', inputs: { x: t(3, 4), y: t(3, 4) }, iris: (x) => F.huberLoss(x.x, x.y, { delta: 0.8 }), torch: 'F.huber_loss(x, y, delta=0.8)' },
  {
    name: "klDiv 'batchmean'",
    inputs: { x: t(3, 4), y: unit(3, 4) },
    iris: (x) => F.klDiv(F.logSoftmax(x.x, 1), x.y, { reduction: 'batchmean' }),
    torch: "F.kl_div(F.log_softmax(x, 1), y, reduction='batchmean')",
  },
  {
    name: 'klDiv logTarget',
    inputs: { x: t(3, 4), y: t(3, 4) },
    iris: (x) => F.klDiv(x.x, x.y, { logTarget: true, reduction: 'none' }),
    torch: "F.kl_div(x, y, log_target=True, reduction='none')",
  },

  // resampling and padding
  { name: 'interpolate nearest size', inputs: { x: t(1, 2, 3, 4) }, iris: (x) => F.interpolate(x.x, { size: [5, 7] }), torch: 'F.interpolate(x, size=(5, 7))' },
  {
    name: 'interpolate nearest scaleFactor',
    inputs: { x: t(1, 2, 3, 4) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: 1.7 }),
    torch: 'F.interpolate(x, scale_factor=1.7)',
  },
  {
    name: 'interpolate bilinear scaleFactor',
    inputs: { x: t(2, 2, 3, 4) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: [1.5, 2.3], mode: 'bilinear' }),
    torch: "F.interpolate(x, scale_factor=(1.5, 2.3), mode='bilinear')",
  },
  {
    name: 'interpolate bilinear alignCorners',
    inputs: { x: t(1, 3, 4, 5) },
    iris: (x) => F.interpolate(x.x, { size: 7, mode: 'bilinear', alignCorners: true }),
    torch: "F.interpolate(x, size=7, mode='bilinear', align_corners=True)",
  },
  {
    name: 'interpolate bilinear downscale',
    inputs: { x: t(1, 2, 6, 7) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: 0.6, mode: 'bilinear', alignCorners: false }),
    torch: "F.interpolate(x, scale_factor=0.6, mode='bilinear', align_corners=False)",
  },
  {
    name: 'interpolate bilinear antialias downscale',
    inputs: { x: t(1, 2, 9, 13) },
    iris: (x) => F.interpolate(x.x, { size: [4, 5], mode: 'bilinear', antialias: true }),
    torch: "F.interpolate(x, size=(4, 5), mode='bilinear', antialias=True)",
  },
  {
    name: 'interpolate bicubic antialias scaleFactor',
    inputs: { x: t(1, 2, 9, 13) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: 0.45, mode: 'bicubic', antialias: true }),
    torch: "F.interpolate(x, scale_factor=0.45, mode='bicubic', antialias=True)",
  },
  {
    name: 'interpolate bicubic recomputeScaleFactor',
    inputs: { x: t(1, 2, 4, 4) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: 1.6, mode: 'bicubic', recomputeScaleFactor: true }),
    torch: "F.interpolate(x, scale_factor=1.6, mode='bicubic', recompute_scale_factor=True)",
  },
  {
    name: 'interpolate area',
    inputs: { x: t(1, 2, 6, 9) },
    iris: (x) => F.interpolate(x.x, { scaleFactor: 0.5, mode: 'area' }),
    torch: "F.interpolate(x, scale_factor=0.5, mode='area')",
  },
  {
    name: 'gridSample bilinear zeros',
    inputs: { x: t(2, 3, 4, 5), g: range(-1.2, 1.2, 2, 3, 4, 2) },
    iris: (x) => F.gridSample(x.x, x.g),
    torch: 'F.grid_sample(x, g, align_corners=False)',
  },
  {
    name: 'gridSample nearest border alignCorners',
    inputs: { x: t(1, 2, 4, 5), g: range(-1.2, 1.2, 1, 3, 3, 2) },
    iris: (x) => F.gridSample(x.x, x.g, { mode: 'nearest', paddingMode: 'border', alignCorners: true }),
    torch: "F.grid_sample(x, g, mode='nearest', padding_mode='border', align_corners=True)",
  },
  {
    name: 'gridSample bicubic reflection',
    inputs: { x: t(1, 2, 4, 5), g: range(-1.3, 1.3, 1, 3, 2, 2) },
    iris: (x) => F.gridSample(x.x, x.g, { mode: 'bicubic', paddingMode: 'reflection' }),
    torch: "F.grid_sample(x, g, mode='bicubic', padding_mode='reflection', align_corners=False)",
  },
  {
    name: 'affineGrid into gridSample',
    inputs: { theta: range(-1, 1, 2, 2, 3), x: t(2, 3, 5, 4) },
    iris: (x) => F.gridSample(x.x, F.affineGrid(x.theta, [2, 3, 4, 6]), { alignCorners: false }),
    torch: 'F.grid_sample(x, F.affine_grid(theta, [2, 3, 4, 6], align_corners=False), align_corners=False)',
  },
  {
    name: 'affineGrid alignCorners',
    inputs: { theta: range(-1, 1, 1, 2, 3) },
    iris: (x) => F.affineGrid(x.theta, [1, 1, 3, 4], { alignCorners: true }),
    torch: 'F.affine_grid(theta, [1, 1, 3, 4], align_corners=True)',
  },
  { name: 'pad constant', inputs: { x: t(2, 3, 4) }, iris: (x) => F.pad(x.x, [1, 2, 0, 1], { value: 0.5 }), torch: 'F.pad(x, (1, 2, 0, 1), value=0.5)' },
  { name: 'pad crops with negative padding', inputs: { x: t(2, 5) }, iris: (x) => F.pad(x.x, [-1, 2]), torch: 'F.pad(x, (-1, 2))' },
  {
    name: 'pad reflect',
    inputs: { x: t(1, 2, 4, 5) },
    iris: (x) => F.pad(x.x, [2, 1, 1, 3], { mode: 'reflect' }),
    torch: "F.pad(x, (2, 1, 1, 3), mode='reflect')",
  },
  {
    name: 'pad replicate',
    inputs: { x: t(1, 2, 4, 5) },
    iris: (x) => F.pad(x.x, [2, 1, 1, 3], { mode: 'replicate' }),
    torch: "F.pad(x, (2, 1, 1, 3), mode='replicate')",
  },
  { name: 'pad reflect 1-D', inputs: { x: t(2, 3, 5) }, iris: (x) => F.pad(x.x, [2, 3], { mode: 'reflect' }), torch: "F.pad(x, (2, 3), mode='reflect')" },
  {
    name: 'pad circular',
    inputs: { x: t(1, 2, 4, 5) },
    iris: (x) => F.pad(x.x, [1, 2, 2, 1], { mode: 'circular' }),
    torch: "F.pad(x, (1, 2, 2, 1), mode='circular')",
  },
  { name: 'pixelShuffle', inputs: { x: t(2, 8, 2, 3) }, iris: (x) => F.pixelShuffle(x.x, 2), torch: 'F.pixel_shuffle(x, 2)' },
  {
    name: 'unfold',
    inputs: { x: t(2, 3, 5, 6) },
    iris: (x) => F.unfold(x.x, [2, 3], { dilation: [1, 2], padding: 1, stride: [2, 1] }),
    torch: 'F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))',
  },

  // lookups and distances
  {
    name: 'embedding paddingIdx',
    inputs: { w: t(6, 3), i: longs([0, 5, 2, 5, 1, 2], [2, 3]) },
    iris: (x) => F.embedding(x.i, x.w, { paddingIdx: -1 }),
    torch: 'F.embedding(i, w, padding_idx=-1)',
  },
  {
    name: 'embedding maxNorm renormalises the weight in place',
    inputs: { w: t(6, 3), i: longs([0, 4, 4, 3]) },
    iris: (x) => F.embedding(x.i, x.w, { maxNorm: 1.1, normType: 3, scaleGradByFreq: true }),
    torch: 'F.embedding(i, w, max_norm=1.1, norm_type=3.0, scale_grad_by_freq=True)',
    mutated: ['w'],
  },
  { name: 'oneHot', inputs: { i: longs([0, 3, 1, 1]) }, iris: (x) => F.oneHot(x.i, 5), torch: 'F.one_hot(i, 5)', dtypes: ['int64'] },
  { name: 'oneHot inferred classes', inputs: { i: longs([2, 0, 1]) }, iris: (x) => F.oneHot(x.i), torch: 'F.one_hot(i)', dtypes: ['int64'] },
  { name: 'normalize', inputs: { x: t(3, 4) }, iris: (x) => F.normalize(x.x), torch: 'F.normalize(x)' },
  { name: 'normalize p=1 dim=0', inputs: { x: t(3, 4) }, iris: (x) => F.normalize(x.x, { p: 1, dim: 0 }), torch: 'F.normalize(x, p=1, dim=0)' },
  {
    name: 'normalize clamps tiny norms at eps',
    inputs: { x: vals([1e-9, -1e-9, 0, 2e-9, 3, 4], [2, 3]) },
    iris: (x) => F.normalize(x.x, { eps: 1e-6 }),
    torch: 'F.normalize(x, eps=1e-6)',
  },
  {
    name: 'cosineSimilarity',
    inputs: { a: t(3, 4), b: t(1, 4) },
    iris: (x) => F.cosineSimilarity(x.a, x.b, { dim: 1, eps: 1e-6 }),
    torch: 'F.cosine_similarity(a, b, dim=1, eps=1e-6)',
  },

  // attention
  {
    name: 'scaledDotProductAttention',
    inputs: { q: t(2, 3, 4, 8), k: t(2, 3, 5, 8), v: t(2, 3, 5, 6) },
    iris: (x) => F.scaledDotProductAttention(x.q, x.k, x.v),
    torch: 'sdpa(q, k, v)',
  },
  {
    name: 'scaledDotProductAttention isCausal',
    inputs: { q: t(2, 5, 4), k: t(2, 5, 4), v: t(2, 5, 3) },
    iris: (x) => F.scaledDotProductAttention(x.q, x.k, x.v, { isCausal: true }),
    torch: 'sdpa(q, k, v, is_causal=True)',
  },
  {
    name: 'scaledDotProductAttention boolean mask and scale',
    inputs: { q: t(2, 4, 4), k: t(2, 6, 4), v: t(2, 6, 3), m: vals([1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0], [4, 6], 'bool') },
    iris: (x) => F.scaledDotProductAttention(x.q, x.k, x.v, { attnMask: x.m, scale: 0.3 }),
    torch: 'sdpa(q, k, v, attn_mask=m, scale=0.3)',
  },
  {
    name: 'scaledDotProductAttention additive mask',
    inputs: { q: t(1, 3, 4), k: t(1, 5, 4), v: t(1, 5, 2), m: t(3, 5) },
    iris: (x) => F.scaledDotProductAttention(x.q, x.k, x.v, { attnMask: x.m }),
    torch: 'sdpa(q, k, v, attn_mask=m)',
  },
  {
    name: 'scaledDotProductAttention dropout',
    inputs: { q: t(2, 4, 4), k: t(2, 4, 4), v: t(2, 4, 3) },
    iris: (x) => F.scaledDotProductAttention(x.q, x.k, x.v, { dropoutP: 0.3 }),
    torch: 'sdpa(q, k, v, dropout_p=0.3)',
  },
];

// ---- run every case in Iris, then all of them at once in PyTorch

interface Run {
  c: FnCase;
  dtype: DType;
  outputs?: Tensor[];
  mutated?: Tensor[];
  grads?: (Tensor | null)[];
  gradNames?: string[];
  request?: unknown;
  error?: string;
}

const random = seededRandom(7);

function run(c: FnCase, dtype: DType, seed: number): Run {
  const r: Run = { c, dtype };
  try {
    const inputs: Inputs = {};
    for (const [name, s] of Object.entries(c.inputs)) inputs[name] = makeTensor(s, dtype, random);
    const gradNames = c.inplace || !isFloatingPoint(dtype) ? [] : Object.keys(inputs).filter((n) => inputs[n].isFloatingPoint() && !c.inputs[n].noGrad);
    for (const n of gradNames) inputs[n].requiresGrad = true;
    r.gradNames = gradNames;
    const inputsJson = Object.fromEntries(Object.entries(inputs).map(([n, x]) => [n, encodeTensor(x)]));
    torch.manualSeed(seed);
    const result = c.iris(inputs);
    const outputs = Array.isArray(result) ? result : [result];
    r.outputs = outputs;
    r.mutated = (c.mutated ?? []).map((n) => inputs[n]);
    const weights = outputs.map((o) => (gradNames.length > 0 && o.requiresGrad ? makeTensor({ kind: 'tensor', shape: o.shape, low: -1, high: 1 }, o.dtype, random) : null));
    const terms = outputs.flatMap((o, i) => (weights[i] ? [torch.sum(torch.mul(o, weights[i]!))] : []));
    if (terms.length > 0) {
      r.grads = torch.grad(terms.reduce((a, b) => torch.add(a, b)), gradNames.map((n) => inputs[n]), { allowUnused: true });
    }
    r.request = {
      expr: c.torch,
      inputs: inputsJson,
      gradInputs: gradNames,
      weights: weights.map((w) => (w ? encodeTensor(w) : null)),
      mutated: c.mutated ?? [],
      seed,
    };
  } catch (e) {
    r.error = (e as Error).message;
  }
  return r;
}

const runs: Run[] = [];
for (const c of cases) for (const dtype of c.dtypes ?? ['float32', 'float64']) runs.push(run(c, dtype, 500 + runs.length));
const sent = runs.filter((r) => r.request);
const { results } = runPython<{ results: any[] }>('functional_ref.py', { cases: sent.map((r) => r.request) });
const reference = new Map(sent.map((r, i) => [r, results[i]]));

function check(r: Run): void {
  const what = `${r.c.name} (${r.dtype})`;
  if (r.error) assert.fail(`${what}: Iris threw: ${r.error}`);
  const ref = reference.get(r);
  if (ref.error) assert.fail(`${what}: PyTorch threw: ${ref.error}`);
  assert.equal(r.outputs!.length, ref.outputs.length, `${what}: number of outputs`);
  r.outputs!.forEach((o, i) => compareTensor(o, ref.outputs[i].tensor as JsonTensor, `${what}: output ${i}`, r.c.exact));
  r.mutated!.forEach((m, i) => compareTensor(m, ref.mutated[i], `${what}: ${r.c.mutated![i]} after the call`));
  assert.equal(Boolean(r.grads), Boolean(ref.grads), `${what}: gradients computed by ${r.grads ? 'Iris' : 'PyTorch'} only`);
  r.grads?.forEach((g, i) => {
    assert.equal(g === null, ref.grads[i] === null, `${what}: gradient ${i} present on one side only`);
    if (g) compareTensor(g, ref.grads[i], `${what}: gradient of ${r.gradNames![i]}`);
  });
}

for (const c of cases) {
  test(`F.${c.name}`, () => {
    for (const r of runs.filter((x) => x.c === c)) check(r);
  });
}

test('bad option values name the function, the option and the choices', () => {
  const x = torch.randn([2, 3, 4, 4]);
  const y = torch.tensor([0, 1], { dtype: 'int64' });
  const logits = torch.randn([2, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => F.crossEntropy(logits, y, { reduction: 'avg' as 'mean' }), /^crossEntropy: reduction must be 'none', 'mean' or 'sum', got 'avg'$/],
    [() => F.klDiv(logits, logits, { reduction: 'batch' as 'sum' }), /klDiv: reduction must be 'none', 'mean', 'sum' or 'batchmean', got 'batch'/],
    [() => F.interpolate(x, { size: 8, mode: 'linear' as 'nearest' }), /interpolate: mode must be 'nearest', 'bilinear', 'bicubic' or 'area', got 'linear'/],
    [() => F.interpolate(x, { size: 8, alignCorners: true }), /alignCorners can only be set with the interpolating modes/],
    [() => F.interpolate(x, { size: 8, scaleFactor: 2 }), /exactly one of size or scaleFactor/],
    [() => F.interpolate(x, { size: [8, 8, 8] }), /size \[8,8,8\] must give one value per spatial dimension/],
    [() => F.pad(x, [1, 1], { mode: 'wrap' as 'constant' }), /pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'wrap'/],
    [() => F.pad(x, [1, 1, 1]), /padding length must be even/],
    [() => F.gridSample(x, torch.zeros([2, 2, 2, 2]), { paddingMode: 'edge' as 'border' }), /gridSample: paddingMode must be 'zeros', 'border' or 'reflection', got 'edge'/],
    [() => F.gelu(x, { approximate: 'fast' as 'tanh' }), /gelu: approximate must be 'none' or 'tanh', got 'fast'/],
    [() => F.conv2d(x, torch.randn([2, 3, 3, 3]), { padding: 'full' as 'same' }), /conv2d: padding must be 'same' or 'valid', got 'full'/],
    [() => F.dropout(x, { p: 1.5 }), /dropout: dropout probability has to be between 0 and 1, but got 1.5/],
    [() => F.embedding(y, torch.randn([4, 2]), { paddingIdx: 4 }), /embedding: paddingIdx 4 must be within the 4 embeddings/],
    [() => F.scaledDotProductAttention(x, x, x, { isCausal: true, attnMask: x }), /give attnMask or isCausal: true, not both/],
  ];
  for (const [fn, message] of cases) assert.throws(fn, (e: Error) => e instanceof RangeError && message.test(e.message), String(message));
  assert.throws(() => F.affineGrid(torch.tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: 'int64' }), [1, 1, 2, 2]), TypeError);
  assert.throws(() => F.affineGrid(torch.randn([2, 3, 3]), [2, 1, 4, 4]), /affineGrid: expected a batch of 2-D affine matrices of shape \(N, 2, 3\) for size \[2,1,4,4\], got \[2,3,3\]/);
  assert.throws(() => F.interpolate(torch.randn([2, 3, 4]), { size: 8 }), /interpolate: expected a 4-D \(N, C, H, W\) input, got shape \[2,3,4\]/);
  assert.throws(() => F.batchNorm(torch.randn([1, 3]), null, null, { training: true }), /expected more than 1 value per channel when training, got input size \[1,3\]/);
  assert.throws(() => F.binaryCrossEntropy(torch.rand([3]), torch.rand([3, 1])), /target size \[3,1\] must be the same as input size \[3\]/);
});
