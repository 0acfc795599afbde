// Importing a family's file registers its models; this list is the whole zoo.
import './resnet.js';
import './simple-cnn.js';
import './densenet.js';
import './inception.js';
import './googlenet.js';
import './mobilenetv2.js';
import './mobilenetv3.js';
import './efficientnet.js';
import './vit.js';
import './xception.js';
import './vgg.js';

export { registerModel, listModels, modelInfo, IMAGENET_PREPROCESSING } from './registry.js';
export type { ModelEntry, ModelOptions, ImageModel, FeatureInfo, Preprocessing, WeightsSpec } from './registry.js';
export { createModel, modelConfig, type ModelConfig } from './create.js';
export { fetchWeights, loadPretrained, resolveWeights, weightsCacheDir, weightsFile, weightsUrl, type FetchWeightsOptions, type LoadedWeights } from './weights.js';
export { createFeatureExtractor, FeatureExtractor } from './features.js';
export { summarizeModel, formatSummary, registerFlopCounter, type ModelSummary, type SummaryRow, type FlopCounter } from './summary.js';
