// torchvision.transforms for Iris: every transform is a function (input, rng) => output, seeded by
// the data loader's per-sample Rng. Random ones expose getParams(input, rng), the draws they make.
// Per-sample transforms take an image or a detection sample { image, target } (see README.md).
export * as functional from './functional/index.js';
export type { InterpolationMode } from './functional/image.js';
export type { Fill } from './functional/affine.js';
export type { PaddingMode } from './functional/geometry.js';
export { Compose, RandomApply, RandomChoice, type Transform, type LabeledBatch } from './transform.js';
export { isSample, imageOf, filterPerBox, type DetectionSample, type DetectionTarget, type TransformInput, type DispatchTransform } from './sample.js';
export type { BoxFormat } from './functional/boxes.js';
export { Resize, CenterCrop, Pad, RandomCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip, type CropParams, type RandomCropOptions, type RandomResizedCropOptions } from './geometry.js';
export { RandomRotation, RandomAffine, type RandomRotationOptions, type RandomAffineOptions, type AffineParams } from './rotation.js';
export { ColorJitter, Grayscale, RGB, RandomGrayscale, type ColorJitterOptions, type ColorJitterParams } from './color.js';
export { ToDtype, Normalize } from './convert.js';
export { RandomErasing, type RandomErasingOptions, type ErasingParams } from './erasing.js';
export { TrivialAugmentWide, RandAugment, AutoAugment, applyOp, type AugmentOp, type AugmentOpName, type AugmentOptions, type AutoAugmentPolicy, type AutoAugmentParams } from './auto-augment.js';
export { MixUp, CutMix, mixup, cutmix, type MixOptions, type CutMixBox, type CutMixParams } from './mix.js';
export { sampleGamma, sampleBeta } from './sampling.js';
export { RandomIoUCrop, RandomZoomOut, RandomPhotometricDistort, ScaleJitter, FixedSizeCrop, RandomShortestSize, type RandomIoUCropOptions, type IoUCropParams, type RandomZoomOutOptions, type ZoomOutParams, type RandomPhotometricDistortOptions, type PhotometricDistortParams, type ScaleJitterOptions, type FixedSizeCropOptions } from './detection.js';
export { Letterbox, letterbox, letterboxParams, letterboxBoxes, unletterboxBoxes, type LetterboxOptions, type LetterboxParams } from './letterbox.js';
export { ClampBoundingBoxes, SanitizeBoundingBoxes, ConvertBoundingBoxFormat } from './boxes.js';
export { DetectionPresetTrain, DetectionPresetEval, detectionPresetTrain, detectionPresetEval, type DetectionAugmentation, type DetectionPresetTrainOptions } from './detection-presets.js';
export { ClassificationPresetTrain, ClassificationPresetEval, type ClassificationPresetTrainOptions, type ClassificationPresetEvalOptions } from './presets.js';
export { RandomPerspective, type RandomPerspectiveOptions, type RandomPerspectiveParams } from './perspective.js';
export { RandomHSV, type RandomHSVOptions } from './hsv.js';
export { Mosaic, ResizeLongSide, mosaicLayout, longSideSize, type MosaicOptions, type MosaicTile, type MixSample } from './mosaic.js';
export { YoloPresetTrain, YoloPresetEval, yoloPresetTrain, yoloPresetEval, yoloPresetTrainSpec, YOLO_TRAIN_DEFAULTS, type YoloPresetTrainOptions } from './yolo-presets.js';
