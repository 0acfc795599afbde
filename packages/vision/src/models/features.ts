// Backbones for detection and segmentation: a model's stage outputs (timm's features_only).
import { nn, type Tensor } from '@iris/torch';
import type { FeatureInfo, ImageModel } from './registry.js';

/**
 * A module whose forward returns the outputs of some of a model's stages (C2..C5 for ResNet).
 * It shares the model's modules and parameters under the model's own state-dict keys, so the
 * model's state dicts load into it and an optimizer over `parameters()` trains the model.
 */
export class FeatureExtractor extends nn.Module {
  readonly featureInfo: FeatureInfo[];
  readonly #model: ImageModel;
  readonly #indices: number[];

  constructor(model: ImageModel, outIndices?: number[]) {
    super();
    const count = model.featureInfo.length;
    this.#indices = (outIndices ?? model.featureInfo.map((_, i) => i)).map((i) => {
      const index = i < 0 ? i + count : i;
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new RangeError(`createFeatureExtractor: outIndices entry ${i} is out of range: ${model.constructor.name} has ${count} stages (${model.featureInfo.map((f) => f.module).join(', ')})`);
      }
      return index;
    });
    this.featureInfo = this.#indices.map((i) => model.featureInfo[i]);
    this.#model = model;
    for (const [key, child] of model.namedChildren()) this.registerChild(key, child);
    this.#mirrorOwnTensors();
    this.training = model.training;
  }

  /** Parameters and buffers the model holds itself (ViT's class_token), under the same keys. */
  #mirrorOwnTensors(): void {
    const self = this as unknown as Record<string, unknown>;
    const persistent = new Set(this.#model.stateDict({ keepVars: true }).keys());
    for (const [key, p] of this.#model.namedParameters({ recurse: false })) {
      if (key in self) self[key] = p;
      else this.registerParameter(key, p);
    }
    for (const [key, b] of this.#model.namedBuffers({ recurse: false })) {
      if (key in self) self[key] = b;
      else this.registerBuffer(key, b, { persistent: persistent.has(key) });
    }
  }

  /** @param x [N, C, H, W] @returns the selected stages' outputs, shallow to deep */
  forward(x: Tensor): Tensor[] {
    const stages = this.#model.forwardStages(x);
    return this.#indices.map((i) => stages[i]);
  }

  override train(mode = true): this {
    super.train(mode);
    this.#model.training = mode;
    return this;
  }

  // Module.to replaces tensors per property, so convert the model itself and take its tensors back.
  override to(target: nn.ModuleToTarget): this {
    this.#model.to(target);
    this.#mirrorOwnTensors();
    return this;
  }
}

/**
 * A feature extractor over any registered model, through its `forwardStages`:
 * `createFeatureExtractor(createModel('resnet50'), { outIndices: [1, 2, 3] })` returns C3..C5.
 * @param outIndices indices into `model.featureInfo` (negative from the end); default all stages
 */
export function createFeatureExtractor(model: ImageModel, options: { outIndices?: number[] } = {}): FeatureExtractor {
  return new FeatureExtractor(model, options.outIndices);
}
