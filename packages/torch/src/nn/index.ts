// Tensor methods are attached by this import; every entry point of the package makes it.
import '../generated/tensor-methods.js';
// @iris/torch/nn: PyTorch's torch.nn in camelCase — Module, the layers, init and functional.
export { Module, stateDictKey, pyFloat, pyRepr, type ModuleToTarget, type StateDict, type LoadStateDictResult, type HookHandle } from './module.js';
export { Parameter } from './parameter.js';
export { Sequential, ModuleList, ModuleDict } from './modules/container.js';
export { Identity, Linear, type FactoryOptions } from './modules/linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type ConvOptions, type ConvTransposeOptions, type PaddingMode } from './modules/conv.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './modules/batchnorm.js';
export { LayerNorm, GroupNorm } from './modules/normalization.js';
export { ReLU, ReLU6, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Hardswish, Hardsigmoid, Softmax, LogSoftmax, Mish, ELU } from './modules/activation.js';
export { Dropout, Dropout2d, type DropoutOptions } from './modules/dropout.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from './modules/pooling.js';
export { Flatten, Unflatten } from './modules/flatten.js';
export { Embedding, type EmbeddingOptions } from './modules/sparse.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions } from './modules/attention.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as F from './functional.js';
export * as utils from './utils/index.js';
