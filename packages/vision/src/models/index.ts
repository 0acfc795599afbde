// Importing a family's file registers its models; this list is the whole zoo.
import './resnet.js';

export { registerModel, listModels, modelInfo, IMAGENET_PREPROCESSING } from './registry.js';
export type { ModelEntry, ModelOptions, ImageModel, FeatureInfo, Preprocessing, WeightsSpec } from './registry.js';
export { createModel } from './create.js';
