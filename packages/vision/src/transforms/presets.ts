// torchvision's classification recipes (references/classification/presets.py) for uint8 [C, H, W]
// images as decoded. Each takes one JSON-able options object, so a DataLoader TransformSpec
// ({ module, export: 'ClassificationPresetTrain', options }) re-creates it in worker threads.
import type { InterpolationMode } from './functional/image.js';
import { Compose, type Transform } from './transform.js';
import { CenterCrop, RandomHorizontalFlip, RandomResizedCrop, Resize } from './geometry.js';
import { Normalize, ToDtype } from './convert.js';
import { RandomErasing } from './erasing.js';
import { AutoAugment, RandAugment, TrivialAugmentWide, type AutoAugmentPolicy } from './auto-augment.js';

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export interface ClassificationPresetTrainOptions {
  cropSize: number;
  mean?: number[];
  std?: number[];
  interpolation?: InterpolationMode;
  /** Horizontal flip probability (default 0.5; 0 leaves the flip out). */
  hflipProb?: number;
  /** 'ra' (RandAugment), 'ta_wide' (TrivialAugmentWide) or an AutoAugment policy; default none. */
  autoAugmentPolicy?: 'ra' | 'ta_wide' | AutoAugmentPolicy | null;
  /** RandomErasing probability after normalisation (default 0: none). */
  randomEraseProb?: number;
  /**
   * Antialiased resizing (default true): the reference recipe resizes PIL images, which always
   * antialias; torchvision 0.14's tensor resize does not unless asked. Not for 'nearest'.
   */
  antialias?: boolean;
}

/** RandomResizedCrop, flip, optional auto-augmentation, to float, Normalize, optional RandomErasing. */
export function ClassificationPresetTrain(options: ClassificationPresetTrainOptions): Transform {
  const interpolation = options.interpolation ?? 'bilinear';
  const hflipProb = options.hflipProb ?? 0.5;
  const policy = options.autoAugmentPolicy ?? null;
  const randomEraseProb = options.randomEraseProb ?? 0;
  const antialias = (options.antialias ?? true) && interpolation !== 'nearest';
  const transforms: Transform[] = [RandomResizedCrop(options.cropSize, { interpolation, antialias })];
  if (hflipProb > 0) transforms.push(RandomHorizontalFlip({ p: hflipProb }));
  if (policy === 'ra') transforms.push(RandAugment({ interpolation }));
  else if (policy === 'ta_wide') transforms.push(TrivialAugmentWide({ interpolation }));
  else if (policy === 'imagenet' || policy === 'cifar10' || policy === 'svhn') transforms.push(AutoAugment({ policy, interpolation }));
  else if (policy !== null) throw new RangeError(`ClassificationPresetTrain: autoAugmentPolicy must be 'ra', 'ta_wide', 'imagenet', 'cifar10' or 'svhn', got '${policy}'`);
  transforms.push(ToDtype('float32'), Normalize(options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD));
  if (randomEraseProb > 0) transforms.push(RandomErasing({ p: randomEraseProb }));
  return Compose(transforms);
}

export interface ClassificationPresetEvalOptions {
  cropSize: number;
  /** The shorter side before the centre crop (default 256). */
  resizeSize?: number;
  mean?: number[];
  std?: number[];
  interpolation?: InterpolationMode;
  /** Antialiased resizing (default true, as the reference's PIL resize; not for 'nearest'). */
  antialias?: boolean;
}

/** Resize the shorter side, centre crop, to float, Normalize. */
export function ClassificationPresetEval(options: ClassificationPresetEvalOptions): Transform {
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = (options.antialias ?? true) && interpolation !== 'nearest';
  return Compose([
    Resize(options.resizeSize ?? 256, { interpolation, antialias }),
    CenterCrop(options.cropSize),
    ToDtype('float32'),
    Normalize(options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD),
  ]);
}
