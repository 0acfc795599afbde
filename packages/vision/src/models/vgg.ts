// VGG-11/13/16/19, with and without BatchNorm (Simonyan & Zisserman 2014), as torchvision defines
// them. Property names are torchvision's (`features.N`, `classifier.N`), so its state dicts load as they are.
import { nn, type Tensor } from '@iris/torch';
import { FeaturesClassifierModel, type FeatureLayer } from './features-classifier.js';
import { registerModel, IMAGENET_PREPROCESSING, type ModelOptions, type WeightsSpec } from './registry.js';

/** A layer table: output channels of a 3x3 conv, or 'M' for a 2x2 max-pool (the paper's configurations A, B, D, E). */
export type VggConfig = (number | 'M')[];

export const VGG_CONFIGS: Record<'A' | 'B' | 'D' | 'E', VggConfig> = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/**
 * torchvision's make_layers: conv 3x3 (padding 1, with bias), [BatchNorm2d], ReLU per number, MaxPool2d(2, 2) per 'M'.
 * @returns the Sequential and each entry's stride and channels (for featureInfo)
 */
export function makeVggLayers(cfg: VggConfig, options: { batchNorm?: boolean; inChannels?: number } = {}): { features: nn.Sequential; layers: FeatureLayer[] } {
  const { batchNorm = false } = options;
  let inChannels = options.inChannels ?? 3;
  const modules: nn.Module[] = [];
  const layers: FeatureLayer[] = [];
  for (const v of cfg) {
    if (v === 'M') {
      modules.push(new nn.MaxPool2d(2, { stride: 2 }));
      layers.push({ stride: 2, channels: inChannels });
      continue;
    }
    const block = [new nn.Conv2d(inChannels, v, 3, { padding: 1 }), ...(batchNorm ? [new nn.BatchNorm2d(v)] : []), new nn.ReLU({ inplace: true })];
    modules.push(...block);
    layers.push(...block.map(() => ({ stride: 1, channels: v })));
    inChannels = v;
  }
  return { features: new nn.Sequential(...modules), layers };
}

export interface VGGOptions extends ModelOptions {
  /** BatchNorm after every conv (the _bn variants). */
  batchNorm?: boolean;
  /** torchvision's init_weights: false keeps PyTorch's default layer init (its builder's choice when weights follow). */
  initWeights?: boolean;
}

/** torchvision's VGG: `features`, 7x7 adaptive average pooling, and a three-layer classifier with dropout. */
export class VGG extends FeaturesClassifierModel {
  features: nn.Sequential;
  avgpool = new nn.AdaptiveAvgPool2d([7, 7]);
  classifier: nn.Sequential;

  constructor(cfg: VggConfig, options: VGGOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropRate = 0.5, batchNorm = false, initWeights = true } = options;
    const { features, layers } = makeVggLayers(cfg, { batchNorm, inChannels });
    const channels = layers[layers.length - 1].channels;
    this.features = features;
    this.classifier = new nn.Sequential(
      new nn.Linear(channels * 7 * 7, 4096),
      new nn.ReLU({ inplace: true }),
      new nn.Dropout({ p: dropRate }),
      new nn.Linear(4096, 4096),
      new nn.ReLU({ inplace: true }),
      new nn.Dropout({ p: dropRate }),
      this.makeHead(4096, numClasses),
    );
    this.setStages(layers);
    if (initWeights) this.initWeights();
  }

  protected initLinear(linear: nn.Linear): void {
    nn.init.normal_(linear.weight, 0, 0.01);
    nn.init.zeros_(linear.bias!);
  }

  /** 7x7, not global: the classifier's first layer expects 512·7·7 inputs at any image size. */
  protected override globalPool(x: Tensor): Tensor {
    return this.avgpool.call(x);
  }
}

function weights(file: string, top1: number, top5: number): WeightsSpec {
  return { tag: 'imagenet1k_v1', url: `https://download.pytorch.org/models/${file}`, numClasses: 1000, metrics: { top1, top5 } };
}

/**
 * torchvision's VGG16_Weights.IMAGENET1K_FEATURES: amdegroot's SSD backbone, trained with the paper's
 * input scaling (0-255 minus the mean). Only `features` holds real values (the classifier is NaN),
 * so it has no accuracy; ssd300_vgg16 takes it as its pretrained backbone.
 */
export const VGG16_FEATURES_WEIGHTS: WeightsSpec = {
  tag: 'imagenet1k_features',
  url: 'https://download.pytorch.org/models/vgg16_features-amdegroot-88682ab5.pth',
  numClasses: 1000,
  preprocessing: { ...IMAGENET_PREPROCESSING, mean: [0.48235, 0.45882, 0.40784], std: [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0] },
};

// torchvision's weights are evaluated at resize 256, crop 224.
const variants: { name: string; cfg: keyof typeof VGG_CONFIGS; batchNorm: boolean; paramCount: number; weights: WeightsSpec[] }[] = [
  { name: 'vgg11', cfg: 'A', batchNorm: false, paramCount: 132_863_336, weights: [weights('vgg11-8a719046.pth', 69.02, 88.628)] },
  { name: 'vgg11_bn', cfg: 'A', batchNorm: true, paramCount: 132_868_840, weights: [weights('vgg11_bn-6002323d.pth', 70.37, 89.81)] },
  { name: 'vgg13', cfg: 'B', batchNorm: false, paramCount: 133_047_848, weights: [weights('vgg13-19584684.pth', 69.928, 89.246)] },
  { name: 'vgg13_bn', cfg: 'B', batchNorm: true, paramCount: 133_053_736, weights: [weights('vgg13_bn-abd245e5.pth', 71.586, 90.374)] },
  { name: 'vgg16', cfg: 'D', batchNorm: false, paramCount: 138_357_544, weights: [weights('vgg16-397923af.pth', 71.592, 90.382), VGG16_FEATURES_WEIGHTS] },
  { name: 'vgg16_bn', cfg: 'D', batchNorm: true, paramCount: 138_365_992, weights: [weights('vgg16_bn-6c64b313.pth', 73.36, 91.516)] },
  { name: 'vgg19', cfg: 'E', batchNorm: false, paramCount: 143_667_240, weights: [weights('vgg19-dcbb9e9d.pth', 72.376, 90.876)] },
  { name: 'vgg19_bn', cfg: 'E', batchNorm: true, paramCount: 143_678_248, weights: [weights('vgg19_bn-c79401a0.pth', 74.218, 91.842)] },
];

for (const v of variants) {
  registerModel({
    name: v.name,
    family: 'vgg',
    build: (options) => new VGG(VGG_CONFIGS[v.cfg], { ...options, batchNorm: v.batchNorm }),
    // torchvision's builder skips the initialisation when weights are loaded over it.
    pretrainedOptions: () => ({ initWeights: false }),
    defaultInput: [3, 224, 224],
    preprocessing: IMAGENET_PREPROCESSING,
    weights: v.weights,
    paramCount: v.paramCount,
  });
}
