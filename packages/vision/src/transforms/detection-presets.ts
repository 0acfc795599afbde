// torchvision 0.14's detection recipes (references/detection/presets.py) for uint8 [C, H, W]
// images as decoded, in detection samples { image, target }: the augmentation, then the image to
// float in [0, 1] (the detectors normalise inside, in their GeneralizedRCNNTransform). One
// JSON-able options object each, so a worker re-creates them from a TransformSpec.
import { Compose } from './transform.js';
import type { DispatchTransform } from './sample.js';
import { RandomHorizontalFlip } from './geometry.js';
import { ToDtype } from './convert.js';
import { FixedSizeCrop, RandomIoUCrop, RandomPhotometricDistort, RandomShortestSize, RandomZoomOut, ScaleJitter } from './detection.js';

export type DetectionAugmentation = 'hflip' | 'lsj' | 'multiscale' | 'ssd' | 'ssdlite';

export interface DetectionPresetTrainOptions {
  dataAugmentation: DetectionAugmentation;
  /** Horizontal flip probability (default 0.5). */
  hflipProb?: number;
  /** The fill of the zoom-out canvas (ssd) and the crop padding (lsj), in uint8 scale (default [123, 117, 104], ImageNet's mean). */
  mean?: number[];
}

/**
 * 'hflip' (Faster R-CNN, RetinaNet): flips. 'lsj': large-scale jitter to 1024 and a fixed 1024
 * crop. 'multiscale': shorter side one of 480..800, longer at most 1333. 'ssd': photometric
 * distortion, zoom-out, IoU crop. 'ssdlite': IoU crop only. All flip with hflipProb.
 */
export function DetectionPresetTrain(options: DetectionPresetTrainOptions): DispatchTransform {
  const hflipProb = options.hflipProb ?? 0.5;
  const mean = options.mean ?? [123.0, 117.0, 104.0];
  const flip = RandomHorizontalFlip({ p: hflipProb });
  const toFloat = ToDtype('float32');
  switch (options.dataAugmentation) {
    case 'hflip':
      return Compose([flip, toFloat]);
    case 'lsj':
      return Compose([ScaleJitter([1024, 1024]), FixedSizeCrop([1024, 1024], { fill: mean }), flip, toFloat]);
    case 'multiscale':
      return Compose([RandomShortestSize([480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800], 1333), flip, toFloat]);
    case 'ssd':
      return Compose([RandomPhotometricDistort(), RandomZoomOut({ fill: mean }), RandomIoUCrop(), flip, toFloat]);
    case 'ssdlite':
      return Compose([RandomIoUCrop(), flip, toFloat]);
    default:
      throw new RangeError(`DetectionPresetTrain: dataAugmentation must be 'hflip', 'lsj', 'multiscale', 'ssd' or 'ssdlite', got '${String(options.dataAugmentation)}'`);
  }
}

/** The evaluation recipe: the uint8 image to float in [0, 1]; boxes as they are. */
export function DetectionPresetEval(_options: Record<string, never> = {}): DispatchTransform {
  return Compose([ToDtype('float32')]);
}

/** The same recipes under camelCase function names. */
export const detectionPresetTrain = DetectionPresetTrain;
export const detectionPresetEval = DetectionPresetEval;
