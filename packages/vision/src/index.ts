// @iris/vision: torchvision and timm for TypeScript.
export * from './models/index.js';
export { classify, preprocess, type Prediction, type ClassifyOptions } from './classify.js';
export { inferenceSession, modelDevice, type InferenceOptions, type InferenceSession } from './inference.js';
export { IMAGENET_CLASSES } from './data/imagenet-classes.js';
export * as transforms from './transforms/index.js';
export * as ops from './ops/index.js';
export * from './detection/evaluate/index.js';
