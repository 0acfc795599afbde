// Normalisation to unit length and cosine similarity.
import * as ops from '../../generated/ops.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';

/** input / max(‖input‖_p, eps) along `dim` (default: p = 2, dim = 1, eps = 1e-12). */
export function normalize(input: Tensor, options: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  const { p = 2, dim = 1, eps = 1e-12 } = options;
  return tidy(() => {
    const norm = ops.vectorNorm(input, { ord: p, dim: [dim], keepdim: true });
    return ops.div(input, ops.expandAs(ops.clamp(norm, eps), input));
  });
}

/** Cosine of the angle between x1 and x2 along `dim` (default 1), broadcasting the rest. */
export function cosineSimilarity(x1: Tensor, x2: Tensor, options: { dim?: number; eps?: number } = {}): Tensor {
  return ops.cosineSimilarity(x1, x2, { dim: options.dim ?? 1, eps: options.eps ?? 1e-8 });
}
