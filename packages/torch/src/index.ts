// @iris/torch: PyTorch's tensor API in camelCase, on libtorch.
import './generated/tensor-methods.js';

export { Tensor, type ToOptions } from './tensor.js';
export type { DType } from './dtype.js';
export { isFloatingPoint } from './dtype.js';
export type { Scalar, Device, MemoryFormat } from './dispatch.js';
export { tidy, keep } from './scope.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, grad, backward } from './autograd.js';
export { manualSeed, setNumThreads, getNumThreads, libtorchVersion, liveTensors, cuda, getRngState, setRngState, autocast, isAutocastEnabled, cpu, type Bf16Support } from './runtime.js';
export { tensor, fromBytes, zeros, ones, empty, full, arange, linspace, eye, rand, randn, randint, randperm, type CreateOptions } from './creation.js';
export * from './generated/ops.js';
export * as ops from './torch-ops.js';
export * as optim from './optim/index.js';
export * as nn from './nn/index.js';
