// Losses: PyTorch's reduction strings become ATen's codes, and the Python-side shape rules
// (broadcasting, size checks) are kept so the same calls give the same results and errors.
import * as ops from '../../generated/ops.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { broadcastShape, oneOf, reductionCode, warnOnce, type Reduction } from './validate.js';

export type { Reduction };

export interface ClassLossOptions {
  /** A weight per class (C). */
  weight?: Tensor | null;
  /** Targets equal to this class index add nothing to the loss or its mean (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/**
 * Input (N, C) or (N, C, d1, ...) logits. Target: class indices (N) / (N, d1, ...) as int64,
 * or class probabilities of the input's shape.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: ClassLossOptions & { labelSmoothing?: number } = {}): Tensor {
  return ops.crossEntropyLoss(input, target, {
    weight: options.weight,
    reduction: reductionCode('crossEntropy', options.reduction),
    ignoreIndex: options.ignoreIndex ?? -100,
    labelSmoothing: options.labelSmoothing ?? 0,
  });
}

/** Input: log-probabilities (N, C) or (N, C, d1, ...); target: int64 class indices. */
export function nllLoss(input: Tensor, target: Tensor, options: ClassLossOptions = {}): Tensor {
  return ops.nllLoss(input, target, {
    weight: options.weight,
    reduction: reductionCode('nllLoss', options.reduction),
    ignoreIndex: options.ignoreIndex ?? -100,
  });
}

function sameSize(fn: string, input: Tensor, target: Tensor): void {
  const a = input.shape;
  const b = target.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${fn}: target size [${b}] must be the same as input size [${a}]`);
  }
}

/** Input: probabilities in [0, 1]; target of the same shape. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  const reduction = reductionCode('binaryCrossEntropy', options.reduction);
  sameSize('binaryCrossEntropy', input, target);
  const weight = options.weight;
  if (!weight) return ops.binaryCrossEntropy(input, target, { reduction });
  return tidy(() => {
    const expanded = ops.expand(weight, broadcastShape('binaryCrossEntropy', target.shape, weight.shape));
    return ops.binaryCrossEntropy(input, target, { weight: expanded, reduction });
  });
}

/** Sigmoid + binary cross-entropy in one stable op; `posWeight` (C) weighs positive targets. */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  const reduction = reductionCode('binaryCrossEntropyWithLogits', options.reduction);
  sameSize('binaryCrossEntropyWithLogits', input, target);
  return ops.binaryCrossEntropyWithLogits(input, target, { weight: options.weight, posWeight: options.posWeight, reduction });
}

/** Broadcasts input and target, as PyTorch's regression losses do, warning when shapes differ. */
function broadcastPair<T>(fn: string, input: Tensor, target: Tensor, loss: (input: Tensor, target: Tensor) => T): T {
  const a = input.shape;
  const b = target.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    warnOnce(
      `${fn}:broadcast`,
      `${fn}: target size [${b}] differs from input size [${a}]; they are broadcast together, which is rarely intended. Give them the same shape.`,
    );
  }
  return tidy(() => {
    const [x, y] = ops.broadcastTensors([input, target]);
    return loss(x, y);
  });
}

export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = reductionCode('mseLoss', options.reduction);
  return broadcastPair('mseLoss', input, target, (x, y) => ops.mseLoss(x, y, { reduction }));
}

export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = reductionCode('l1Loss', options.reduction);
  return broadcastPair('l1Loss', input, target, (x, y) => ops.l1Loss(x, y, { reduction }));
}

/** Quadratic below `beta` (default 1), linear above. */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const reduction = reductionCode('smoothL1Loss', options.reduction);
  return broadcastPair('smoothL1Loss', input, target, (x, y) => ops.smoothL1Loss(x, y, { reduction, beta: options.beta ?? 1 }));
}

/** Quadratic below `delta` (default 1), linear above; smoothL1Loss times delta. */
export function huberLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const reduction = reductionCode('huberLoss', options.reduction);
  return broadcastPair('huberLoss', input, target, (x, y) => ops.huberLoss(x, y, { reduction, delta: options.delta ?? 1 }));
}

/**
 * KL divergence with `input` as log-probabilities; `target` is probabilities, or
 * log-probabilities with `logTarget`. 'batchmean' divides the sum by the batch size, which is
 * the mathematical definition; 'mean' divides by every element, as PyTorch's default does.
 */
export function klDiv(input: Tensor, target: Tensor, options: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  const reduction = oneOf('klDiv', 'reduction', options.reduction ?? 'mean', ['none', 'mean', 'sum', 'batchmean'] as const);
  const logTarget = options.logTarget ?? false;
  if (reduction !== 'batchmean') return ops.klDiv(input, target, { reduction: reductionCode('klDiv', reduction), logTarget });
  return tidy(() => {
    const sum = ops.klDiv(input, target, { reduction: reductionCode('klDiv', 'sum'), logTarget });
    return input.ndim === 0 ? sum : ops.div(sum, input.shape[0]);
  });
}
