// MobileNetV2 (Sandler et al. 2018), as torchvision defines it. Property names are torchvision's,
// so its state dicts load as they are.
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, relu6 } from '../layers/conv-norm-activation.js';
import { makeDivisible } from '../layers/make-divisible.js';
import { FeaturesClassifierModel, type FeatureLayer } from './features-classifier.js';
import { registerModel, IMAGENET_PREPROCESSING, type ModelOptions } from './registry.js';

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Expansion 1x1 (unless expandRatio is 1), depthwise 3x3, linear 1x1; residual when shapes allow. */
export class InvertedResidual extends nn.Module {
  conv: nn.Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(inp: number, oup: number, readonly stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new RangeError(`InvertedResidual: stride should be 1 or 2, got ${stride}`);
    const hiddenDim = roundHalfEven(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: nn.Module[] = [];
    if (expandRatio !== 1) layers.push(new Conv2dNormActivation(inp, hiddenDim, { kernelSize: 1, activationLayer: relu6 }));
    layers.push(
      new Conv2dNormActivation(hiddenDim, hiddenDim, { stride, groups: hiddenDim, activationLayer: relu6 }),
      new nn.Conv2d(hiddenDim, oup, 1, { bias: false }),
      new nn.BatchNorm2d(oup),
    );
    this.conv = new nn.Sequential(...layers);
    this.outChannels = oup;
  }

  forward(x: Tensor): Tensor {
    return this.useResConnect ? x.add(this.conv.call(x)) : this.conv.call(x);
  }
}

export interface MobileNetV2Options extends ModelOptions {
  /** Multiplies every layer's channels (then rounded to `roundNearest`). */
  widthMult?: number;
  roundNearest?: number;
  /** Rows of [expansion t, channels c, repeats n, stride s]; default the paper's Table 2. */
  invertedResidualSetting?: [number, number, number, number][];
}

const DEFAULT_SETTING: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export class MobileNetV2 extends FeaturesClassifierModel {
  features: nn.Sequential;
  classifier: nn.Sequential;
  readonly lastChannel: number;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropRate = 0.2, widthMult = 1.0, roundNearest = 8, invertedResidualSetting = DEFAULT_SETTING } = options;
    if (invertedResidualSetting.length === 0 || invertedResidualSetting[0].length !== 4) {
      throw new RangeError(`MobileNetV2: invertedResidualSetting should be a non-empty list of [t, c, n, s] rows, got ${JSON.stringify(invertedResidualSetting)}`);
    }
    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    this.lastChannel = makeDivisible(1280 * Math.max(1.0, widthMult), roundNearest);
    const features: nn.Module[] = [new Conv2dNormActivation(inChannels, inputChannel, { stride: 2, activationLayer: relu6 })];
    const layers: FeatureLayer[] = [{ stride: 2, channels: inputChannel }];
    for (const [t, c, n, s] of invertedResidualSetting) {
      const outputChannel = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        features.push(new InvertedResidual(inputChannel, outputChannel, stride, t));
        layers.push({ stride, channels: outputChannel });
        inputChannel = outputChannel;
      }
    }
    features.push(new Conv2dNormActivation(inputChannel, this.lastChannel, { kernelSize: 1, activationLayer: relu6 }));
    layers.push({ stride: 1, channels: this.lastChannel });
    this.features = new nn.Sequential(...features);
    this.classifier = new nn.Sequential(new nn.Dropout({ p: dropRate }), this.makeHead(this.lastChannel, numClasses));
    this.setStages(layers);
    this.initWeights();
  }

  protected initLinear(linear: nn.Linear): void {
    nn.init.normal_(linear.weight, 0, 0.01);
    nn.init.zeros_(linear.bias!);
  }
}

registerModel({
  name: 'mobilenet_v2',
  family: 'mobilenetv2',
  build: (options) => new MobileNetV2(options),
  defaultInput: [3, 224, 224],
  preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 232 },
  weights: [
    { tag: 'imagenet1k_v2', url: 'https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth', numClasses: 1000, metrics: { top1: 72.154, top5: 90.822 } },
    {
      tag: 'imagenet1k_v1', url: 'https://download.pytorch.org/models/mobilenet_v2-b0353104.pth', numClasses: 1000, metrics: { top1: 71.878, top5: 90.286 },
      preprocessing: IMAGENET_PREPROCESSING,
    },
  ],
  paramCount: 3_504_872,
});
