// Transform factories the DataLoader's worker threads can re-create from JSON options
// (a TransformSpec names this module and an export).
import { Compose, RandomCrop, RandomHorizontalFlip, Resize, RGB, ToDtype, Normalize, ClassificationPresetTrain, ClassificationPresetEval } from '../transforms/index.js';
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
  /** 'small': resize to this side first (28 px Fashion-MNIST to 64 px, for a backbone meant for larger objects). */
  scaleTo?: number;
  /** Grayscale images become 3 equal channels (torchvision's RGB()), for a model built for colour input. */
  rgb?: boolean;
}

export function makeRecipeTransform(options: RecipeTransformOptions): Transform {
  const { kind, train, cropSize, mean, std } = options;
  if (kind === 'small') {
    const steps: Transform[] = [];
    if (options.scaleTo) steps.push(Resize(options.scaleTo, { antialias: true }));
    if (options.rgb) steps.push(RGB());
    if (train && options.padding) steps.push(RandomCrop(cropSize, { padding: options.padding }));
    if (train && options.hflip !== false) steps.push(RandomHorizontalFlip());
    steps.push(ToDtype('float32'), Normalize(mean, std));
    return Compose(steps);
  }
  const preset = train
    ? ClassificationPresetTrain({ cropSize, mean, std, interpolation: options.interpolation, autoAugmentPolicy: options.autoAugment ?? null, randomEraseProb: options.randomErase ?? 0 } as Parameters<typeof ClassificationPresetTrain>[0])
    : ClassificationPresetEval({ cropSize, resizeSize: options.resizeSize, mean, std, interpolation: options.interpolation } as Parameters<typeof ClassificationPresetEval>[0]);
  return options.rgb ? Compose([RGB(), preset]) : preset;
}
