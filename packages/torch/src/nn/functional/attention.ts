// Scaled dot-product attention, composed of ATen ops as PyTorch's math kernel
// (_scaled_dot_product_attention_math) composes it: libtorch 1.13 has no fused op, and these ops
// exist in every libtorch since.
import * as ops from '../../generated/ops.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { checkProbability } from './validate.js';

export interface AttentionOptions {
  /** Boolean (true = may attend) or additive float mask, broadcastable to (..., L, S). */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights; set it only while training. */
  dropoutP?: number;
  /** Each query attends to keys at or before its position; excludes attnMask. */
  isCausal?: boolean;
  /** Default 1 / sqrt(E). */
  scale?: number | null;
}

/** A boolean mask as the additive float mask it stands for: 0 where true, -inf where false. */
function additiveMask(mask: Tensor, like: Tensor): Tensor {
  if (mask.dtype !== 'bool') return mask;
  return ops.maskedFill(ops.zerosLike(mask, { dtype: like.dtype }), ops.logicalNot(mask), -Infinity);
}

/** softmax(q kᵀ · scale + mask) v for query (..., L, E), key (..., S, E), value (..., S, Ev). */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions = {}): Tensor {
  const { attnMask = null, dropoutP = 0, isCausal = false, scale = null } = options;
  checkProbability('scaledDotProductAttention', dropoutP);
  if (isCausal && attnMask) throw new RangeError('scaledDotProductAttention: give attnMask or isCausal: true, not both');
  return tidy(() => {
    const embed = query.shape[query.ndim - 1];
    const negative = scale !== null && scale < 0;
    // q and k are each scaled by sqrt(scale) before the product, for stability, as PyTorch does.
    const rootScale = Math.sqrt(scale === null ? 1 / Math.sqrt(embed) : Math.abs(scale));
    const q = ops.mul(query, negative ? 0 - rootScale : rootScale);
    let mask = attnMask ? additiveMask(attnMask, query) : null;
    if (isCausal) {
      const [L, S] = [query.shape[query.ndim - 2], key.shape[key.ndim - 2]];
      mask = additiveMask(ops.tril(ops.ones([L, S], { dtype: 'bool', device: query.device })), query);
    }
    let attn = ops.matmul(q, ops.mul(ops.transpose(key, -2, -1), rootScale));
    if (mask) attn = ops.add(attn, mask);
    attn = ops.softmax(attn, -1);
    if (dropoutP > 0) attn = ops.dropout(attn, dropoutP, true);
    return ops.matmul(attn, value);
  });
}
