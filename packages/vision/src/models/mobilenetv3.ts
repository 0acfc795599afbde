// MobileNetV3-Large and -Small (Howard et al. 2019), as torchvision defines them. Property names
// are torchvision's, so its state dicts load as they are.
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, hardswish, relu, type NormLayer } from '../layers/conv-norm-activation.js';
import { makeDivisible } from '../layers/make-divisible.js';
import { SqueezeExcitation } from '../layers/squeeze-excitation.js';
import { FeaturesClassifierModel, type FeatureLayer } from './features-classifier.js';
import { registerModel, IMAGENET_PREPROCESSING, type ModelOptions, type Preprocessing, type WeightsSpec } from './registry.js';

/** One bottleneck row of the paper's Tables 1 and 2, channels scaled by the width multiplier. */
export class InvertedResidualConfig {
  readonly inputChannels: number;
  readonly expandedChannels: number;
  readonly outChannels: number;
  readonly useHs: boolean;

  constructor(
    inputChannels: number,
    readonly kernel: number,
    expandedChannels: number,
    outChannels: number,
    readonly useSe: boolean,
    activation: 'RE' | 'HS',
    readonly stride: number,
    readonly dilation: number,
    widthMult: number,
  ) {
    this.inputChannels = InvertedResidualConfig.adjustChannels(inputChannels, widthMult);
    this.expandedChannels = InvertedResidualConfig.adjustChannels(expandedChannels, widthMult);
    this.outChannels = InvertedResidualConfig.adjustChannels(outChannels, widthMult);
    this.useHs = activation === 'HS';
  }

  static adjustChannels(channels: number, widthMult: number): number {
    return makeDivisible(channels * widthMult, 8);
  }
}

/** Expand 1x1, depthwise k×k, optional squeeze-excitation, project 1x1; residual when shapes allow. */
export class InvertedResidual extends nn.Module {
  block: nn.Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(cnf: InvertedResidualConfig, normLayer: NormLayer) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`InvertedResidual: stride should be 1 or 2, got ${cnf.stride}`);
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const activationLayer = cnf.useHs ? hardswish : relu;
    const layers: nn.Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) {
      layers.push(new Conv2dNormActivation(cnf.inputChannels, cnf.expandedChannels, { kernelSize: 1, normLayer, activationLayer }));
    }
    layers.push(
      new Conv2dNormActivation(cnf.expandedChannels, cnf.expandedChannels, {
        kernelSize: cnf.kernel,
        stride: cnf.dilation > 1 ? 1 : cnf.stride,
        dilation: cnf.dilation,
        groups: cnf.expandedChannels,
        normLayer,
        activationLayer,
      }),
    );
    if (cnf.useSe) {
      const squeezeChannels = makeDivisible(Math.floor(cnf.expandedChannels / 4), 8);
      layers.push(new SqueezeExcitation(cnf.expandedChannels, squeezeChannels, { scaleActivation: () => new nn.Hardsigmoid() }));
    }
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.outChannels, { kernelSize: 1, normLayer, activationLayer: null }));
    this.block = new nn.Sequential(...layers);
    this.outChannels = cnf.outChannels;
  }

  forward(input: Tensor): Tensor {
    const result = this.block.call(input);
    return this.useResConnect ? result.add_(input) : result;
  }
}

export interface MobileNetV3Options extends ModelOptions {
  /** Multiplies every layer's channels (then rounded to multiples of 8). */
  widthMult?: number;
  /** Halves the channels of the last stage (torchvision's reduced_tail, for segmentation). */
  reducedTail?: boolean;
  /** Dilation 2 instead of stride 2 in the last stage: output stride 16 (torchvision's dilated). */
  dilated?: boolean;
}

type Arch = 'mobilenet_v3_large' | 'mobilenet_v3_small';

/** torchvision's _mobilenet_v3_conf: the bottleneck rows and the classifier's hidden width. */
export function mobileNetV3Config(arch: Arch, options: MobileNetV3Options = {}): { setting: InvertedResidualConfig[]; lastChannel: number } {
  const { widthMult = 1.0, reducedTail = false, dilated = false } = options;
  const rd = reducedTail ? 2 : 1;
  const d = dilated ? 2 : 1;
  type Row = [number, number, number, number, boolean, 'RE' | 'HS', number, number];
  const rows: Row[] =
    arch === 'mobilenet_v3_large'
      ? [
          [16, 3, 16, 16, false, 'RE', 1, 1],
          [16, 3, 64, 24, false, 'RE', 2, 1],
          [24, 3, 72, 24, false, 'RE', 1, 1],
          [24, 5, 72, 40, true, 'RE', 2, 1],
          [40, 5, 120, 40, true, 'RE', 1, 1],
          [40, 5, 120, 40, true, 'RE', 1, 1],
          [40, 3, 240, 80, false, 'HS', 2, 1],
          [80, 3, 200, 80, false, 'HS', 1, 1],
          [80, 3, 184, 80, false, 'HS', 1, 1],
          [80, 3, 184, 80, false, 'HS', 1, 1],
          [80, 3, 480, 112, true, 'HS', 1, 1],
          [112, 3, 672, 112, true, 'HS', 1, 1],
          [112, 5, 672, 160 / rd, true, 'HS', 2, d],
          [160 / rd, 5, 960 / rd, 160 / rd, true, 'HS', 1, d],
          [160 / rd, 5, 960 / rd, 160 / rd, true, 'HS', 1, d],
        ]
      : [
          [16, 3, 16, 16, true, 'RE', 2, 1],
          [16, 3, 72, 24, false, 'RE', 2, 1],
          [24, 3, 88, 24, false, 'RE', 1, 1],
          [24, 5, 96, 40, true, 'HS', 2, 1],
          [40, 5, 240, 40, true, 'HS', 1, 1],
          [40, 5, 240, 40, true, 'HS', 1, 1],
          [40, 5, 120, 48, true, 'HS', 1, 1],
          [48, 5, 144, 48, true, 'HS', 1, 1],
          [48, 5, 288, 96 / rd, true, 'HS', 2, d],
          [96 / rd, 5, 576 / rd, 96 / rd, true, 'HS', 1, d],
          [96 / rd, 5, 576 / rd, 96 / rd, true, 'HS', 1, d],
        ];
  const setting = rows.map((r) => new InvertedResidualConfig(...r, widthMult));
  const lastChannel = InvertedResidualConfig.adjustChannels((arch === 'mobilenet_v3_large' ? 1280 : 1024) / rd, widthMult);
  return { setting, lastChannel };
}

/** torchvision's MobileNetV3 norm layer: BatchNorm2d with eps 1e-3 and momentum 0.01. */
const batchNorm: NormLayer = (numFeatures) => new nn.BatchNorm2d(numFeatures, { eps: 0.001, momentum: 0.01 });

export class MobileNetV3 extends FeaturesClassifierModel {
  features: nn.Sequential;
  avgpool = new nn.AdaptiveAvgPool2d(1);
  classifier: nn.Sequential;

  constructor(setting: InvertedResidualConfig[], lastChannel: number, options: ModelOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropRate = 0.2 } = options;
    if (setting.length === 0) throw new RangeError('MobileNetV3: the inverted residual setting should not be empty');
    const firstChannels = setting[0].inputChannels;
    const features: nn.Module[] = [new Conv2dNormActivation(inChannels, firstChannels, { stride: 2, normLayer: batchNorm, activationLayer: hardswish })];
    const layers: FeatureLayer[] = [{ stride: 2, channels: firstChannels }];
    for (const cnf of setting) {
      features.push(new InvertedResidual(cnf, batchNorm));
      layers.push({ stride: cnf.dilation > 1 ? 1 : cnf.stride, channels: cnf.outChannels });
    }
    const lastConvInput = setting[setting.length - 1].outChannels;
    const lastConvOutput = 6 * lastConvInput;
    features.push(new Conv2dNormActivation(lastConvInput, lastConvOutput, { kernelSize: 1, normLayer: batchNorm, activationLayer: hardswish }));
    layers.push({ stride: 1, channels: lastConvOutput });
    this.features = new nn.Sequential(...features);
    this.classifier = new nn.Sequential(
      new nn.Linear(lastConvOutput, lastChannel),
      new nn.Hardswish({ inplace: true }),
      new nn.Dropout({ p: dropRate, inplace: true }),
      this.makeHead(lastChannel, numClasses),
    );
    this.setStages(layers);
    this.initWeights();
  }

  protected initLinear(linear: nn.Linear): void {
    nn.init.normal_(linear.weight, 0, 0.01);
    nn.init.zeros_(linear.bias!);
  }

  protected override globalPool(x: Tensor): Tensor {
    return this.avgpool.call(x);
  }
}

function weights(file: string, top1: number, top5: number, tag: string, preprocessing?: Preprocessing): WeightsSpec {
  return { tag, url: `https://download.pytorch.org/models/${file}`, numClasses: 1000, metrics: { top1, top5 }, ...(preprocessing && { preprocessing }) };
}

const variants: { name: Arch; paramCount: number; preprocessing: Preprocessing; weights: WeightsSpec[] }[] = [
  {
    name: 'mobilenet_v3_large',
    paramCount: 5_483_032,
    preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 232 },
    weights: [weights('mobilenet_v3_large-5c1a4163.pth', 75.274, 92.566, 'imagenet1k_v2'), weights('mobilenet_v3_large-8738ca79.pth', 74.042, 91.34, 'imagenet1k_v1', IMAGENET_PREPROCESSING)],
  },
  {
    name: 'mobilenet_v3_small',
    paramCount: 2_542_856,
    preprocessing: IMAGENET_PREPROCESSING,
    weights: [weights('mobilenet_v3_small-047dcff4.pth', 67.668, 87.402, 'imagenet1k_v1')],
  },
];

for (const v of variants) {
  registerModel({
    name: v.name,
    family: 'mobilenetv3',
    build: (options: MobileNetV3Options) => {
      const { setting, lastChannel } = mobileNetV3Config(v.name, options);
      return new MobileNetV3(setting, lastChannel, options);
    },
    defaultInput: [3, 224, 224],
    preprocessing: v.preprocessing,
    weights: v.weights,
    paramCount: v.paramCount,
  });
}
