import { modelInfo, type ImageModel, type ModelOptions } from './registry.js';
import { loadPretrained } from './weights.js';

/**
 * Builds a registered model: `createModel('resnet50', { numClasses: 10, pretrained: true })`.
 * With `pretrained` and a different `numClasses`, the backbone gets the weights and the new
 * classifier keeps its fresh initialisation (transfer learning).
 */
export function createModel(name: string, options: ModelOptions = {}): ImageModel {
  const entry = modelInfo(name);
  const { pretrained, ...buildOptions } = options;
  const model = entry.build(buildOptions);
  if (pretrained) loadPretrained(model, entry, pretrained === true ? undefined : pretrained);
  return model;
}
