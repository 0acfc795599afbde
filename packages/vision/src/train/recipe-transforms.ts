// Transform factories the DataLoader's worker threads can re-create from JSON options
// (a TransformSpec names this module and an export).
import { Compose, RandomCrop, RandomHorizontalFlip, ToDtype, Normalize, ClassificationPresetTrain, ClassificationPresetEval } from '../transforms/index.js';
import type { Transform } from '../data/transform.js';

export interface RecipeTransformOptions {
  /** 'small': pad-and-crop + flip for small images; 'imagenet': torchvision's classification presets. */
  kind: 'small' | 'imagenet';
  train: boolean;
  cropSize: number;
  resizeSize?: number;
  padding?: number;
  hflip?: boolean;
  mean: number[];
  std: number[];
  interpolation?: 'bilinear' | 'bicubic' | 'nearest';
  autoAugment?: 'ra' | 'ta_wide' | null;
  randomErase?: number;
}

export function makeRecipeTransform(options: RecipeTransformOptions): Transform {
  const { kind, train, cropSize, mean, std } = options;
  if (kind === 'small') {
    const steps: Transform[] = [];
    if (train && options.padding) steps.push(RandomCrop(cropSize, { padding: options.padding }));
    if (train && options.hflip !== false) steps.push(RandomHorizontalFlip());
    steps.push(ToDtype('float32'), Normalize(mean, std));
    return Compose(steps);
  }
  if (train) {
    return ClassificationPresetTrain({ cropSize, mean, std, interpolation: options.interpolation, autoAugmentPolicy: options.autoAugment ?? null, randomEraseProb: options.randomErase ?? 0 } as Parameters<typeof ClassificationPresetTrain>[0]);
  }
  return ClassificationPresetEval({ cropSize, resizeSize: options.resizeSize, mean, std, interpolation: options.interpolation } as Parameters<typeof ClassificationPresetEval>[0]);
}
