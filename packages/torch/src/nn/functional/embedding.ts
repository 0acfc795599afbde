// Lookups: embedding rows by index, and one-hot encoding.
import * as ops from '../../generated/ops.js';
import { noGrad } from '../../autograd.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';

export interface EmbeddingOptions {
  /** This row gets no gradient (a fixed padding vector); negative counts from the end. */
  paddingIdx?: number | null;
  /** Rows looked up are first rescaled in place to at most this norm, as in PyTorch. */
  maxNorm?: number | null;
  /** The p of the norm for maxNorm (default 2). */
  normType?: number;
  /** Scale gradients by the inverse frequency of each index in the batch. */
  scaleGradByFreq?: boolean;
  sparse?: boolean;
}

/** Rows of `weight` (numEmbeddings, dim) at the int64 `input` indices: shape [...input.shape, dim]. */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  const rows = weight.shape[0];
  let paddingIdx = options.paddingIdx ?? -1;
  if (options.paddingIdx !== undefined && options.paddingIdx !== null) {
    if (paddingIdx >= rows || paddingIdx < -rows) {
      throw new RangeError(`embedding: paddingIdx ${paddingIdx} must be within the ${rows} embeddings`);
    }
    if (paddingIdx < 0) paddingIdx += rows;
  }
  return tidy(() => {
    if (options.maxNorm !== undefined && options.maxNorm !== null) {
      input = ops.contiguous(input);
      const maxNorm = options.maxNorm;
      // The renorm edits the weight's data, outside autograd, as PyTorch's does.
      noGrad(() => ops.embeddingRenorm_(ops.detach(weight), input, maxNorm, options.normType ?? 2));
    }
    return ops.embedding(weight, input, { paddingIdx, scaleGradByFreq: options.scaleGradByFreq, sparse: options.sparse });
  });
}

/** int64 classes to a one-hot int64 tensor with a last dimension of numClasses (default: max + 1). */
export function oneHot(tensor: Tensor, numClasses = -1): Tensor {
  return ops.oneHot(tensor, { numClasses });
}
