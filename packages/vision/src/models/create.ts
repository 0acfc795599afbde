import { modelInfo, type ImageModel, type ModelOptions, type Preprocessing, type WeightsSpec } from './registry.js';
import { loadPretrained } from './weights.js';

/** What createModel knows about a model it built: its registry name, its options, its weights, their preprocessing. */
export interface ModelConfig {
  name: string;
  /**
   * The options it was built with, without `pretrained` and with what pretrained weights set
   * (`ModelEntry.pretrainedOptions`, e.g. Inception v3's transformInput): createModel(name, options)
   * builds the same architecture and settings again, to load a checkpoint of this model into.
   */
  options: ModelOptions;
  /** The registered weights loaded into it, or null (random init, or weights from a file path). */
  weights: WeightsSpec | null;
  /** How its inputs should be prepared: the loaded weights', else the entry's default. */
  preprocessing: Preprocessing;
}

const configs = new WeakMap<ImageModel, ModelConfig>();

/**
 * Builds a registered model: `createModel('resnet50', { numClasses: 10, pretrained: true })`.
 * Synchronous: pretrained weights come from the cache (see fetchWeights to download them first).
 * With `pretrained` and a different `numClasses`, the backbone gets the weights and the new
 * classifier keeps its fresh initialisation (transfer learning). Without `pretrained` the model has
 * the defaults of torchvision's builder without weights; with it, those of the builder given weights.
 */
export function createModel(name: string, options: ModelOptions = {}): ImageModel {
  const entry = modelInfo(name);
  const { pretrained, ...given } = options;
  const buildOptions = pretrained && entry.pretrainedOptions ? { ...entry.pretrainedOptions(given), ...given } : given;
  const model = entry.build(buildOptions);
  const loaded = pretrained ? loadPretrained(model, entry, pretrained === true ? undefined : pretrained) : null;
  const weights = loaded?.spec ?? null;
  configs.set(model, { name: entry.name, options: buildOptions, weights, preprocessing: weights?.preprocessing ?? entry.preprocessing });
  return model;
}

/** The config of a model built by createModel; undefined for models constructed directly. */
export function modelConfig(model: ImageModel): ModelConfig | undefined {
  return configs.get(model);
}
