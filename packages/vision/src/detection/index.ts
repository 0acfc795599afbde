// @iris/vision/detection: torchvision's detection in TypeScript. One re-export line per part.
export * from './models/index.js';
export * from './data/index.js';
export * from './evaluate/index.js';
