// EfficientNet B0–B7 (Tan & Le 2019) and EfficientNetV2-S/M/L (Tan & Le 2021), as torchvision
// defines them. Property names are torchvision's, so its state dicts load as they are.
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, silu, type NormLayer } from '../layers/conv-norm-activation.js';
import { makeDivisible } from '../layers/make-divisible.js';
import { SqueezeExcitation } from '../layers/squeeze-excitation.js';
import { StochasticDepth } from '../layers/stochastic-depth.js';
import { FeaturesClassifierModel, type FeatureLayer } from './features-classifier.js';
import { registerModel, IMAGENET_PREPROCESSING, type ModelOptions, type Preprocessing, type WeightsSpec } from './registry.js';

/** One stage of the paper's Table 1 (V1) or Table 4 (V2): `numLayers` blocks of one kind. */
export interface MBConvConfig {
  block: 'mbconv' | 'fused';
  expandRatio: number;
  kernel: number;
  /** Of the stage's first block; the others have stride 1. */
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

function adjustChannels(channels: number, widthMult: number): number {
  return makeDivisible(channels * widthMult, 8);
}

/** An MBConv stage scaled as torchvision's MBConvConfig does (channels by width, layers by depth). */
export function mbconv(expandRatio: number, kernel: number, stride: number, inputChannels: number, outChannels: number, numLayers: number, widthMult = 1.0, depthMult = 1.0): MBConvConfig {
  return {
    block: 'mbconv',
    expandRatio,
    kernel,
    stride,
    inputChannels: adjustChannels(inputChannels, widthMult),
    outChannels: adjustChannels(outChannels, widthMult),
    numLayers: Math.ceil(numLayers * depthMult),
  };
}

/** A FusedMBConv stage (EfficientNetV2), unscaled. */
export function fusedMbconv(expandRatio: number, kernel: number, stride: number, inputChannels: number, outChannels: number, numLayers: number): MBConvConfig {
  return { block: 'fused', expandRatio, kernel, stride, inputChannels, outChannels, numLayers };
}

/** Expand 1x1, depthwise k×k, squeeze-excitation, project 1x1 (SiLU); residual through stochastic depth. */
export class MBConv extends nn.Module {
  block: nn.Sequential;
  stochasticDepth: StochasticDepth;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number, normLayer: NormLayer) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`MBConv: stride should be 1 or 2, got ${cnf.stride}`);
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
    const layers: nn.Module[] = [];
    if (expanded !== cnf.inputChannels) layers.push(new Conv2dNormActivation(cnf.inputChannels, expanded, { kernelSize: 1, normLayer, activationLayer: silu }));
    layers.push(
      new Conv2dNormActivation(expanded, expanded, { kernelSize: cnf.kernel, stride: cnf.stride, groups: expanded, normLayer, activationLayer: silu }),
      new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), { activation: () => new nn.SiLU({ inplace: true }) }),
      new Conv2dNormActivation(expanded, cnf.outChannels, { kernelSize: 1, normLayer, activationLayer: null }),
    );
    this.block = new nn.Sequential(...layers);
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, 'row');
    this.outChannels = cnf.outChannels;
  }

  forward(input: Tensor): Tensor {
    const result = this.block.call(input);
    return this.useResConnect ? this.stochasticDepth.call(result).add_(input) : result;
  }
}

/** EfficientNetV2's early blocks: one full k×k conv in place of expand + depthwise, no squeeze-excitation. */
export class FusedMBConv extends nn.Module {
  block: nn.Sequential;
  stochasticDepth: StochasticDepth;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number, normLayer: NormLayer) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`FusedMBConv: stride should be 1 or 2, got ${cnf.stride}`);
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
    const conv = { kernelSize: cnf.kernel, stride: cnf.stride, normLayer, activationLayer: silu };
    const layers =
      expanded !== cnf.inputChannels
        ? [new Conv2dNormActivation(cnf.inputChannels, expanded, conv), new Conv2dNormActivation(expanded, cnf.outChannels, { kernelSize: 1, normLayer, activationLayer: null })]
        : [new Conv2dNormActivation(cnf.inputChannels, cnf.outChannels, conv)];
    this.block = new nn.Sequential(...layers);
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, 'row');
    this.outChannels = cnf.outChannels;
  }

  forward(input: Tensor): Tensor {
    const result = this.block.call(input);
    return this.useResConnect ? this.stochasticDepth.call(result).add_(input) : result;
  }
}

export interface EfficientNetOptions extends ModelOptions {
  /** Classifier dropout (the variant's default: 0.2 for B0 … 0.5 for B7). */
  dropRate?: number;
  /** Stochastic depth of the last block (torchvision's stochastic_depth_prob, default 0.2); block i of n gets dropPathRate · i / n. */
  dropPathRate?: number;
}

export class EfficientNet extends FeaturesClassifierModel {
  features: nn.Sequential;
  avgpool = new nn.AdaptiveAvgPool2d(1);
  classifier: nn.Sequential;

  /**
   * @param setting the stages
   * @param lastChannel channels of the final 1x1 conv; default 4 × the last stage's
   */
  constructor(setting: MBConvConfig[], normLayer: NormLayer, options: EfficientNetOptions & { lastChannel?: number } = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropRate = 0.2, dropPathRate = 0.2 } = options;
    if (setting.length === 0) throw new RangeError('EfficientNet: the stage setting should not be empty');
    const firstChannels = setting[0].inputChannels;
    const features: nn.Module[] = [new Conv2dNormActivation(inChannels, firstChannels, { stride: 2, normLayer, activationLayer: silu })];
    const layers: FeatureLayer[] = [{ stride: 2, channels: firstChannels }];
    const totalBlocks = setting.reduce((n, cnf) => n + cnf.numLayers, 0);
    let blockId = 0;
    for (const cnf of setting) {
      const stage: nn.Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        // Stochastic depth grows linearly with depth, as torchvision computes it.
        const sdProb = (dropPathRate * blockId) / totalBlocks;
        stage.push(cnf.block === 'fused' ? new FusedMBConv(blockCnf, sdProb, normLayer) : new MBConv(blockCnf, sdProb, normLayer));
        blockId++;
      }
      features.push(new nn.Sequential(...stage));
      layers.push({ stride: cnf.stride, channels: cnf.outChannels });
    }
    const lastConvInput = setting[setting.length - 1].outChannels;
    const lastConvOutput = options.lastChannel ?? 4 * lastConvInput;
    features.push(new Conv2dNormActivation(lastConvInput, lastConvOutput, { kernelSize: 1, normLayer, activationLayer: silu }));
    layers.push({ stride: 1, channels: lastConvOutput });
    this.features = new nn.Sequential(...features);
    this.classifier = new nn.Sequential(new nn.Dropout({ p: dropRate, inplace: true }), this.makeHead(lastConvOutput, numClasses));
    this.setStages(layers);
    this.initWeights();
  }

  protected initLinear(linear: nn.Linear): void {
    const initRange = 1.0 / Math.sqrt(linear.outFeatures);
    nn.init.uniform_(linear.weight, -initRange, initRange);
    nn.init.zeros_(linear.bias!);
  }

  protected override globalPool(x: Tensor): Tensor {
    return this.avgpool.call(x);
  }
}

/** B0's stages, scaled by the variant's width and depth multipliers. */
function efficientNetV1Setting(widthMult: number, depthMult: number): MBConvConfig[] {
  return [
    mbconv(1, 3, 1, 32, 16, 1, widthMult, depthMult),
    mbconv(6, 3, 2, 16, 24, 2, widthMult, depthMult),
    mbconv(6, 5, 2, 24, 40, 2, widthMult, depthMult),
    mbconv(6, 3, 2, 40, 80, 3, widthMult, depthMult),
    mbconv(6, 5, 1, 80, 112, 3, widthMult, depthMult),
    mbconv(6, 5, 2, 112, 192, 4, widthMult, depthMult),
    mbconv(6, 3, 1, 192, 320, 1, widthMult, depthMult),
  ];
}

const V2_SETTINGS: Record<'s' | 'm' | 'l', MBConvConfig[]> = {
  s: [
    fusedMbconv(1, 3, 1, 24, 24, 2),
    fusedMbconv(4, 3, 2, 24, 48, 4),
    fusedMbconv(4, 3, 2, 48, 64, 4),
    mbconv(4, 3, 2, 64, 128, 6),
    mbconv(6, 3, 1, 128, 160, 9),
    mbconv(6, 3, 2, 160, 256, 15),
  ],
  m: [
    fusedMbconv(1, 3, 1, 24, 24, 3),
    fusedMbconv(4, 3, 2, 24, 48, 5),
    fusedMbconv(4, 3, 2, 48, 80, 5),
    mbconv(4, 3, 2, 80, 160, 7),
    mbconv(6, 3, 1, 160, 176, 14),
    mbconv(6, 3, 2, 176, 304, 18),
    mbconv(6, 3, 1, 304, 512, 5),
  ],
  l: [
    fusedMbconv(1, 3, 1, 32, 32, 4),
    fusedMbconv(4, 3, 2, 32, 64, 7),
    fusedMbconv(4, 3, 2, 64, 96, 7),
    mbconv(4, 3, 2, 96, 192, 10),
    mbconv(6, 3, 1, 192, 224, 19),
    mbconv(6, 3, 2, 224, 384, 25),
    mbconv(6, 3, 1, 384, 640, 7),
  ],
};

const batchNormDefault: NormLayer = (n) => new nn.BatchNorm2d(n);
/** B5–B7: the weights were ported from TensorFlow (lukemelas), which trained with these BN settings. */
const batchNormTf: NormLayer = (n) => new nn.BatchNorm2d(n, { eps: 0.001, momentum: 0.01 });
const batchNormV2: NormLayer = (n) => new nn.BatchNorm2d(n, { eps: 0.001 });

function weights(file: string, top1: number, top5: number, tag = 'imagenet1k_v1', preprocessing?: Preprocessing): WeightsSpec {
  return { tag, url: `https://download.pytorch.org/models/${file}`, numClasses: 1000, metrics: { top1, top5 }, ...(preprocessing && { preprocessing }) };
}

function bicubic(resizeSize: number, cropSize: number): Preprocessing {
  return { ...IMAGENET_PREPROCESSING, resizeSize, cropSize, interpolation: 'bicubic' };
}

const variants: {
  name: string;
  setting: MBConvConfig[];
  dropRate: number;
  normLayer: NormLayer;
  lastChannel?: number;
  preprocessing: Preprocessing;
  weights: WeightsSpec[];
  paramCount: number;
}[] = [
  {
    name: 'efficientnet_b0', setting: efficientNetV1Setting(1.0, 1.0), dropRate: 0.2, normLayer: batchNormDefault, paramCount: 5_288_548,
    preprocessing: bicubic(256, 224), weights: [weights('efficientnet_b0_rwightman-3dd342df.pth', 77.692, 93.532)],
  },
  {
    name: 'efficientnet_b1', setting: efficientNetV1Setting(1.0, 1.1), dropRate: 0.2, normLayer: batchNormDefault, paramCount: 7_794_184,
    preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 255, cropSize: 240 },
    weights: [
      weights('efficientnet_b1-c27df63c.pth', 79.838, 94.934, 'imagenet1k_v2'),
      weights('efficientnet_b1_rwightman-533bc792.pth', 78.642, 94.186, 'imagenet1k_v1', bicubic(256, 240)),
    ],
  },
  {
    name: 'efficientnet_b2', setting: efficientNetV1Setting(1.1, 1.2), dropRate: 0.3, normLayer: batchNormDefault, paramCount: 9_109_994,
    preprocessing: bicubic(288, 288), weights: [weights('efficientnet_b2_rwightman-bcdf34b7.pth', 80.608, 95.31)],
  },
  {
    name: 'efficientnet_b3', setting: efficientNetV1Setting(1.2, 1.4), dropRate: 0.3, normLayer: batchNormDefault, paramCount: 12_233_232,
    preprocessing: bicubic(320, 300), weights: [weights('efficientnet_b3_rwightman-cf984f9c.pth', 82.008, 96.054)],
  },
  {
    name: 'efficientnet_b4', setting: efficientNetV1Setting(1.4, 1.8), dropRate: 0.4, normLayer: batchNormDefault, paramCount: 19_341_616,
    preprocessing: bicubic(384, 380), weights: [weights('efficientnet_b4_rwightman-7eb33cd5.pth', 83.384, 96.594)],
  },
  {
    name: 'efficientnet_b5', setting: efficientNetV1Setting(1.6, 2.2), dropRate: 0.4, normLayer: batchNormTf, paramCount: 30_389_784,
    preprocessing: bicubic(456, 456), weights: [weights('efficientnet_b5_lukemelas-b6417697.pth', 83.444, 96.628)],
  },
  {
    name: 'efficientnet_b6', setting: efficientNetV1Setting(1.8, 2.6), dropRate: 0.5, normLayer: batchNormTf, paramCount: 43_040_704,
    preprocessing: bicubic(528, 528), weights: [weights('efficientnet_b6_lukemelas-c76e70fd.pth', 84.008, 96.916)],
  },
  {
    name: 'efficientnet_b7', setting: efficientNetV1Setting(2.0, 3.1), dropRate: 0.5, normLayer: batchNormTf, paramCount: 66_347_960,
    preprocessing: bicubic(600, 600), weights: [weights('efficientnet_b7_lukemelas-dcc49843.pth', 84.122, 96.908)],
  },
  {
    name: 'efficientnet_v2_s', setting: V2_SETTINGS.s, dropRate: 0.2, normLayer: batchNormV2, lastChannel: 1280, paramCount: 21_458_488,
    preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 384, cropSize: 384 }, weights: [weights('efficientnet_v2_s-dd5fe13b.pth', 84.228, 96.878)],
  },
  {
    name: 'efficientnet_v2_m', setting: V2_SETTINGS.m, dropRate: 0.3, normLayer: batchNormV2, lastChannel: 1280, paramCount: 54_139_356,
    preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 480, cropSize: 480 }, weights: [weights('efficientnet_v2_m-dc08266a.pth', 85.112, 97.156)],
  },
  {
    name: 'efficientnet_v2_l', setting: V2_SETTINGS.l, dropRate: 0.4, normLayer: batchNormV2, lastChannel: 1280, paramCount: 118_515_272,
    // Ported from Google's automl weights, which expect inputs in [-1, 1].
    preprocessing: { resizeSize: 480, cropSize: 480, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    weights: [weights('efficientnet_v2_l-59c71312.pth', 85.808, 97.788)],
  },
];

for (const v of variants) {
  registerModel({
    name: v.name,
    family: 'efficientnet',
    build: (options: EfficientNetOptions) => new EfficientNet(v.setting, v.normLayer, { ...options, dropRate: options.dropRate ?? v.dropRate, lastChannel: v.lastChannel }),
    defaultInput: [3, v.preprocessing.cropSize, v.preprocessing.cropSize],
    preprocessing: v.preprocessing,
    weights: v.weights,
    paramCount: v.paramCount,
  });
}
