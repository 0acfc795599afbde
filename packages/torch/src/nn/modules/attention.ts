import type { Tensor } from '../../tensor.js';
import { empty, zeros } from '../../creation.js';
import { tidy } from '../../scope.js';
import { isGradEnabled } from '../../autograd.js';
import { isAutocastEnabled } from '../../runtime.js';
import * as ops from '../../generated/ops.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { NonDynamicallyQuantizableLinear, type FactoryOptions } from './linear.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  bias?: boolean;
  /** Learned key and value rows appended to every sequence. */
  addBiasKv?: boolean;
  /** A zero key and value row appended to every sequence. */
  addZeroAttn?: boolean;
  /** Key and value widths when they differ from embedDim (separate q/k/v projection weights). */
  kdim?: number;
  vdim?: number;
  /** Inputs and outputs are (N, L, E) instead of (L, N, E). */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** (N, S) or (S): true (or a float added to the scores) marks keys to ignore, such as padding. */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights (default true). */
  needWeights?: boolean;
  /** (L, S) or (N·numHeads, L, S): true forbids attending; a float mask is added to the scores. */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true); else (N, numHeads, L, S). */
  averageAttnWeights?: boolean;
}

/**
 * PyTorch's `nn.MultiheadAttention` with its parameter names (in_proj_weight, in_proj_bias,
 * out_proj.*), initialisation and forward: returns [output, weights or null].
 */
export class MultiheadAttention extends Module {
  inProjWeight: Parameter | null;
  qProjWeight: Parameter | null;
  kProjWeight: Parameter | null;
  vProjWeight: Parameter | null;
  inProjBias: Parameter | null;
  biasK: Parameter | null;
  biasV: Parameter | null;
  outProj: NonDynamicallyQuantizableLinear;
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  /** Query, key and value share embedDim, so one packed inProjWeight projects all three. */
  readonly qkvSameEmbedDim: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: MultiheadAttentionOptions = {},
  ) {
    super();
    const factory = { device: options.device, dtype: options.dtype };
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.qkvSameEmbedDim = this.kdim === embedDim && this.vdim === embedDim;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim) throw new RangeError(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    // Construction order is PyTorch's: the out_proj Linear draws from the generator before the
    // in_proj weights are initialised.
    if (this.qkvSameEmbedDim) {
      this.inProjWeight = new Parameter(empty([3 * embedDim, embedDim], factory));
      this.qProjWeight = this.kProjWeight = this.vProjWeight = null;
    } else {
      this.inProjWeight = null;
      this.qProjWeight = new Parameter(empty([embedDim, embedDim], factory));
      this.kProjWeight = new Parameter(empty([embedDim, this.kdim], factory));
      this.vProjWeight = new Parameter(empty([embedDim, this.vdim], factory));
    }
    const bias = options.bias ?? true;
    this.inProjBias = bias ? new Parameter(empty([3 * embedDim], factory)) : null;
    this.outProj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias, ...factory });
    this.biasK = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], factory)) : null;
    this.biasV = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], factory)) : null;
    this.resetParameters();
  }

  /** Xavier-uniform projections, zero biases, Xavier-normal biasK/biasV (PyTorch's _reset_parameters). */
  resetParameters(): void {
    if (this.inProjWeight) init.xavierUniform_(this.inProjWeight);
    else {
      init.xavierUniform_(this.qProjWeight!);
      init.xavierUniform_(this.kProjWeight!);
      init.xavierUniform_(this.vProjWeight!);
    }
    if (this.inProjBias) {
      init.constant_(this.inProjBias, 0);
      init.constant_(this.outProj.bias!, 0);
    }
    if (this.biasK) init.xavierNormal_(this.biasK);
    if (this.biasV) init.xavierNormal_(this.biasV);
  }

  /**
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim), or batch first, or unbatched (L, E).
   * Returns the output shaped like query and, with needWeights, the weights (N, L, S).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const keyPaddingMask = options.keyPaddingMask ?? null;
    if (keyPaddingMask && keyPaddingMask.dtype !== 'bool' && !keyPaddingMask.isFloatingPoint()) {
      throw new TypeError(`MultiheadAttention: keyPaddingMask must be bool or floating point, got ${keyPaddingMask.dtype}`);
    }
    if (this.canUseFastPath(query, key, value, options)) {
      const needWeights = options.needWeights ?? true;
      const [output, weights] = ops.nativeMultiHeadAttention(
        query, key, value, this.embedDim, this.numHeads,
        this.inProjWeight!, this.inProjBias!, this.outProj.weight, this.outProj.bias!,
        { mask: keyPaddingMask, needWeights, averageAttnWeights: options.averageAttnWeights ?? true, maskType: keyPaddingMask ? 1 : null },
      );
      if (needWeights) return [output, weights];
      // Without needWeights libtorch returns an undefined tensor, which arrives as null.
      (weights as Tensor | null)?.dispose();
      return [output, null];
    }
    return tidy(() => {
      const batched = query.ndim === 3;
      let [q, k, v] = [query, key, value];
      if (this.batchFirst && batched) {
        // Same-object checks decide the packed projection below, as in PyTorch.
        if (query === key && key === value) q = k = v = query.transpose(1, 0);
        else if (key === value) {
          q = query.transpose(1, 0);
          k = v = key.transpose(1, 0);
        } else [q, k, v] = [query.transpose(1, 0), key.transpose(1, 0), value.transpose(1, 0)];
      }
      const [output, weights] = this.attention(q, k, v, keyPaddingMask, options);
      return [this.batchFirst && batched ? output.transpose(1, 0) : output, weights];
    });
  }

  /**
   * PyTorch's conditions for its fused inference kernel (`_native_multi_head_attention`): batched
   * batch-first self-attention in eval mode with nothing autograd would need, no attnMask, no
   * extra key/value rows, an even head count, outside autocast. ViT's encoder takes this path.
   */
  private canUseFastPath(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions): boolean {
    const w = this.inProjWeight;
    const b = this.inProjBias;
    const mask = options.keyPaddingMask ?? null;
    if (query.ndim !== 3 || query !== key || key !== value || !w || !b || !this.outProj.bias) return false;
    if (this.training || !this.batchFirst || this.biasK || this.biasV || this.dropout || this.addZeroAttn) return false;
    if (options.attnMask || (mask && mask.dtype !== 'bool') || this.numHeads % 2 === 1 || isAutocastEnabled()) return false;
    if (query.dtype !== w.dtype || query.dtype !== b.dtype) return false;
    const tensors = [query, w, b, this.outProj.weight, this.outProj.bias];
    if (!tensors.every((t) => t.device === 'cpu' || t.device.startsWith('cuda'))) return false;
    return !(isGradEnabled() && tensors.some((t) => t.requiresGrad));
  }

  /** PyTorch 1.13's F.multi_head_attention_forward for sequence-first inputs. */
  private attention(
    queryIn: Tensor,
    keyIn: Tensor,
    valueIn: Tensor,
    keyPaddingMaskIn: Tensor | null,
    options: MultiheadAttentionForwardOptions,
  ): [Tensor, Tensor | null] {
    const numHeads = this.numHeads;
    const batched = checkShapes(queryIn, keyIn, valueIn, keyPaddingMaskIn, options.attnMask ?? null, numHeads);
    let [query, key, value, keyPaddingMask] = [queryIn, keyIn, valueIn, keyPaddingMaskIn];
    if (!batched) {
      // Three new tensors: unbatched self-attention takes the separate-projection path, as in PyTorch.
      [query, key, value] = [query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)];
      if (keyPaddingMask) keyPaddingMask = keyPaddingMask.unsqueeze(0);
    }
    const [tgtLen, bsz, embedDim] = query.shape;
    if (embedDim !== this.embedDim) throw new RangeError(`MultiheadAttention: expected embedding dimension ${this.embedDim}, got ${embedDim}`);
    const headDim = this.headDim;
    let [q, k, v] = this.inProjection(query, key, value);

    let attnMask = options.attnMask ?? null;
    if (attnMask) {
      if (attnMask.dtype === 'uint8') attnMask = attnMask.to('bool');
      else if (!attnMask.isFloatingPoint() && attnMask.dtype !== 'bool') {
        throw new TypeError(`MultiheadAttention: attnMask must be float, uint8 or bool, got ${attnMask.dtype}`);
      }
      const srcLen = key.shape[0];
      const want = attnMask.ndim === 2 ? [tgtLen, srcLen] : [bsz * numHeads, tgtLen, srcLen];
      if (attnMask.ndim !== 2 && attnMask.ndim !== 3) throw new RangeError(`MultiheadAttention: attnMask must be 2-D or 3-D, got ${attnMask.ndim}-D`);
      if (attnMask.shape.some((d, i) => d !== want[i])) {
        throw new RangeError(`MultiheadAttention: the shape of the ${attnMask.ndim}D attnMask is [${attnMask.shape}], but should be [${want}]`);
      }
      if (attnMask.ndim === 2) attnMask = attnMask.unsqueeze(0);
    }
    if (this.biasK && this.biasV) {
      k = ops.cat([k, this.biasK.repeat([1, bsz, 1])]);
      v = ops.cat([v, this.biasV.repeat([1, bsz, 1])]);
      if (attnMask) attnMask = F.pad(attnMask, [0, 1]);
      if (keyPaddingMask) keyPaddingMask = F.pad(keyPaddingMask, [0, 1]);
    }
    q = q.contiguous().view([tgtLen, bsz * numHeads, headDim]).transpose(0, 1);
    k = k.contiguous().view([k.shape[0], bsz * numHeads, headDim]).transpose(0, 1);
    v = v.contiguous().view([v.shape[0], bsz * numHeads, headDim]).transpose(0, 1);
    if (this.addZeroAttn) {
      const zeroShape = [bsz * numHeads, 1, headDim];
      k = ops.cat([k, zeros(zeroShape, { dtype: k.dtype, device: k.device })], 1);
      v = ops.cat([v, zeros(zeroShape, { dtype: v.dtype, device: v.device })], 1);
      if (attnMask) attnMask = F.pad(attnMask, [0, 1]);
      if (keyPaddingMask) keyPaddingMask = F.pad(keyPaddingMask, [0, 1]);
    }
    const srcLen = k.shape[1];
    if (keyPaddingMask) {
      if (keyPaddingMask.shape[0] !== bsz || keyPaddingMask.shape[1] !== srcLen) {
        throw new RangeError(`MultiheadAttention: expected keyPaddingMask of shape [${bsz}, ${srcLen}], got [${keyPaddingMask.shape}]`);
      }
      const expanded = keyPaddingMask.view([bsz, 1, 1, srcLen]).expand([-1, numHeads, -1, -1]).reshape([bsz * numHeads, 1, srcLen]);
      if (!attnMask) attnMask = expanded;
      else if (attnMask.dtype === 'bool') attnMask = attnMask.logicalOr(expanded);
      else attnMask = attnMask.maskedFill(expanded, -Infinity);
    }
    if (attnMask && attnMask.dtype === 'bool') {
      attnMask = ops.zerosLike(attnMask, { dtype: q.dtype }).maskedFill_(attnMask, -Infinity);
    }
    const dropoutP = this.training ? this.dropout : 0;
    const qScaled = q.div(Math.sqrt(q.shape[2]));
    let weights = attnMask ? ops.baddbmm(attnMask, qScaled, k.transpose(-2, -1)) : qScaled.bmm(k.transpose(-2, -1));
    weights = weights.softmax(-1);
    if (dropoutP > 0) weights = F.dropout(weights, { p: dropoutP });
    let output = weights.bmm(v);
    output = output.transpose(0, 1).contiguous().view([tgtLen * bsz, embedDim]);
    output = F.linear(output, this.outProj.weight, this.outProj.bias);
    output = output.view([tgtLen, bsz, output.shape[1]]);
    if (!(options.needWeights ?? true)) return [batched ? output : output.squeezeDim(1), null];
    weights = weights.view([bsz, numHeads, tgtLen, srcLen]);
    if (options.averageAttnWeights ?? true) weights = weights.sum(1).div(numHeads);
    return batched ? [output, weights] : [output.squeezeDim(1), weights.squeezeDim(0)];
  }

  /** q, k, v projections: packed (one matmul when query, key and value are one tensor) or separate. */
  private inProjection(query: Tensor, key: Tensor, value: Tensor): Tensor[] {
    const b = this.inProjBias;
    if (!this.inProjWeight) {
      const [bq, bk, bv] = b ? b.chunk(3) : [null, null, null];
      return [F.linear(query, this.qProjWeight!, bq), F.linear(key, this.kProjWeight!, bk), F.linear(value, this.vProjWeight!, bv)];
    }
    const w = this.inProjWeight;
    const E = query.shape[query.ndim - 1];
    if (key === value) {
      if (query === key) return F.linear(query, w, b).chunk(3, -1);
      const [wq, wkv] = w.splitWithSizes([E, 2 * E]);
      const [bq, bkv] = b ? b.splitWithSizes([E, 2 * E]) : [null, null];
      return [F.linear(query, wq, bq), ...F.linear(key, wkv, bkv).chunk(2, -1)];
    }
    const [wq, wk, wv] = w.chunk(3);
    const [bq, bk, bv] = b ? b.chunk(3) : [null, null, null];
    return [F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)];
  }
}

/** PyTorch's _mha_shape_check: whether the input is batched, with its errors for bad ranks. */
function checkShapes(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor | null, attnMask: Tensor | null, numHeads: number): boolean {
  const batched = query.ndim === 3;
  if (query.ndim !== 2 && query.ndim !== 3) {
    throw new RangeError(`MultiheadAttention: query should be unbatched 2D or batched 3D, got a ${query.ndim}-D query`);
  }
  if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
    throw new RangeError(`MultiheadAttention: for ${query.ndim}-D query, expected ${query.ndim}-D key and value, got ${key.ndim}-D and ${value.ndim}-D`);
  }
  if (keyPaddingMask && keyPaddingMask.ndim !== query.ndim - 1) {
    throw new RangeError(`MultiheadAttention: for ${query.ndim}-D query, expected a ${query.ndim - 1}-D keyPaddingMask, got ${keyPaddingMask.ndim}-D`);
  }
  if (attnMask && attnMask.ndim !== 2 && attnMask.ndim !== 3) {
    throw new RangeError(`MultiheadAttention: expected a 2-D or 3-D attnMask, got ${attnMask.ndim}-D`);
  }
  if (!batched && attnMask && attnMask.ndim === 3) {
    const want = [numHeads, query.shape[0], key.shape[0]];
    if (attnMask.shape.some((d, i) => d !== want[i])) throw new RangeError(`MultiheadAttention: expected attnMask of shape [${want}], got [${attnMask.shape}]`);
  }
  return batched;
}
