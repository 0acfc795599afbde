// PyTorch's torch.nn.functional in camelCase. Required arguments are positional and the rest go
// in an options object, as in the generated ops; the functions here add only what PyTorch's
// Python layer adds over the ATen op (option names, defaults, checks, enum codes).
export * from './functional/activation.js';
export * from './functional/conv.js';
export * from './functional/pooling.js';
export * from './functional/normalization.js';
export * from './functional/dropout.js';
export * from './functional/loss.js';
export * from './functional/sampling.js';
export * from './functional/embedding.js';
export * from './functional/distance.js';
export * from './functional/attention.js';
