import type { Tensor } from '../../tensor.js';
import { empty } from '../../creation.js';
import { noGrad } from '../../autograd.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, pyFloat } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** This row starts at zero and gets no gradient (a padding token); negative counts from the end. */
  paddingIdx?: number | null;
  /** Rows looked up are rescaled in place to at most this norm. */
  maxNorm?: number | null;
  /** The p of the norm for maxNorm (default 2). */
  normType?: number;
  scaleGradByFreq?: boolean;
  sparse?: boolean;
  /** The initial weight (numEmbeddings, embeddingDim), instead of N(0, 1) draws. */
  weight?: Tensor;
}

/** A lookup table: int64 indices of any shape to rows of `weight` (numEmbeddings, embeddingDim). */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly sparse: boolean;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    let paddingIdx = options.paddingIdx ?? null;
    if (paddingIdx !== null) {
      if (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx ${paddingIdx} must be within numEmbeddings (${numEmbeddings})`);
      }
      if (paddingIdx < 0) paddingIdx += numEmbeddings;
    }
    this.paddingIdx = paddingIdx;
    this.maxNorm = options.maxNorm ?? null;
    this.normType = options.normType ?? 2;
    this.scaleGradByFreq = options.scaleGradByFreq ?? false;
    this.sparse = options.sparse ?? false;
    if (options.weight) {
      const shape = options.weight.shape;
      if (shape.length !== 2 || shape[0] !== numEmbeddings || shape[1] !== embeddingDim) {
        throw new RangeError(`Embedding: weight has shape [${shape}], expected [${numEmbeddings}, ${embeddingDim}]`);
      }
      this.weight = new Parameter(options.weight);
    } else {
      this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { device: options.device, dtype: options.dtype }));
      this.resetParameters();
    }
  }

  /** An Embedding over `embeddings` (rows are the vectors), frozen unless `freeze` is false. */
  static fromPretrained(embeddings: Tensor, options: Omit<EmbeddingOptions, 'weight' | keyof FactoryOptions> & { freeze?: boolean } = {}): Embedding {
    if (embeddings.ndim !== 2) throw new RangeError(`Embedding.fromPretrained: embeddings must be 2-D, got shape [${embeddings.shape}]`);
    const [rows, cols] = embeddings.shape;
    const embedding = new Embedding(rows, cols, { ...options, weight: embeddings });
    embedding.weight.requiresGrad = !(options.freeze ?? true);
    return embedding;
  }

  /** N(0, 1) draws, with the padding row zeroed. */
  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.weight.select(0, this.paddingIdx);
      noGrad(() => row.fill_(0));
      row.dispose();
    }
  }

  forward(input: Tensor): Tensor {
    const { paddingIdx, maxNorm, normType, scaleGradByFreq, sparse } = this;
    return F.embedding(input, this.weight, { paddingIdx, maxNorm, normType, scaleGradByFreq, sparse });
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${pyFloat(this.maxNorm)}`;
    if (this.normType !== 2) s += `, norm_type=${pyFloat(this.normType)}`;
    if (this.scaleGradByFreq) s += ', scale_grad_by_freq=True';
    if (this.sparse) s += ', sparse=True';
    return s;
  }
}
