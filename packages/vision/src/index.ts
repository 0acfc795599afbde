// @iris/vision: torchvision and timm for TypeScript.
export * from './models/index.js';
