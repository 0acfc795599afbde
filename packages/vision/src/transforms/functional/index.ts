// torchvision.transforms.functional for tensors: deterministic image ops in camelCase.
export { getDimensions, type InterpolationMode } from './image.js';
export { resize, computeResizedOutputSize, crop, centerCrop, resizedCrop, pad, hflip, vflip, type ResizeOptions, type PadOptions, type PaddingMode } from './geometry.js';
export { rotate, affine, getInverseAffineMatrix, computeAffineOutputSize, type Fill, type RotateOptions, type AffineOptions } from './affine.js';
export {
  convertBoundingBoxFormat,
  clampBoundingBoxes,
  resizeBoundingBoxes,
  horizontalFlipBoundingBoxes,
  verticalFlipBoundingBoxes,
  cropBoundingBoxes,
  padBoundingBoxes,
  affineBoundingBoxes,
  rotateBoundingBoxes,
  sanitizeBoundingBoxesMask,
  type BoxFormat,
  type AffineBoxesOptions,
  type SanitizeOptions,
} from './boxes.js';
export { rgbToGrayscale, adjustBrightness, adjustContrast, adjustSaturation, adjustHue, adjustSharpness, invert, posterize, solarize, autocontrast, equalize } from './color.js';
export { toDtype, normalize, erase } from './convert.js';
export { rgbToHsv, hsvToRgb, hsvLuts, adjustHsv } from './hsv.js';
export { perspectiveMatrix, warpPerspective, perspectiveBoxes, boxCandidates, type PerspectiveParams, type BoxCandidatesOptions } from './perspective.js';
