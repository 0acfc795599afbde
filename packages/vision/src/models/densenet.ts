// DenseNet-BC, as torchvision defines it (Huang et al. 2016). Module names are torchvision's
// (`features.denseblock1.denselayer1.norm1`), so its state dicts load as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { registerModel, IMAGENET_PREPROCESSING, type FeatureInfo, type ImageModel, type ModelOptions } from './registry.js';

const F = nn.functional;

class DenseLayer extends nn.Module {
  norm1: nn.BatchNorm2d;
  relu1 = new nn.ReLU({ inplace: true });
  conv1: nn.Conv2d;
  norm2: nn.BatchNorm2d;
  relu2 = new nn.ReLU({ inplace: true });
  conv2: nn.Conv2d;

  constructor(
    numInputFeatures: number,
    growthRate: number,
    bnSize: number,
    private readonly dropRate: number,
  ) {
    super();
    this.norm1 = new nn.BatchNorm2d(numInputFeatures);
    this.conv1 = new nn.Conv2d(numInputFeatures, bnSize * growthRate, 1, { stride: 1, bias: false });
    this.norm2 = new nn.BatchNorm2d(bnSize * growthRate);
    this.conv2 = new nn.Conv2d(bnSize * growthRate, growthRate, 3, { stride: 1, padding: 1, bias: false });
  }

  /** @param previous the block input and the outputs of the layers before this one */
  forward(previous: Tensor[]): Tensor {
    const bottleneck = this.conv1.forward(this.relu1.forward(this.norm1.forward(torch.cat(previous, 1))));
    const out = this.conv2.forward(this.relu2.forward(this.norm2.forward(bottleneck)));
    return this.dropRate > 0 ? F.dropout(out, { p: this.dropRate, training: this.training }) : out;
  }
}

/** torchvision's _DenseBlock (a ModuleDict with a forward): every layer sees all earlier outputs. */
class DenseBlock extends nn.Module {
  constructor(numLayers: number, numInputFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      this.registerModule(`denselayer${i + 1}`, new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate));
    }
  }

  forward(input: Tensor): Tensor {
    const features = [input];
    for (const layer of this.children() as DenseLayer[]) features.push(layer.forward(features));
    return torch.cat(features, 1);
  }
}

/** torchvision's _Transition: BN, ReLU, 1x1 conv halving the channels, 2x2 average pool. */
function transition(numInputFeatures: number, numOutputFeatures: number): nn.Sequential {
  return new nn.Sequential(
    new Map<string, nn.Module>([
      ['norm', new nn.BatchNorm2d(numInputFeatures)],
      ['relu', new nn.ReLU({ inplace: true })],
      ['conv', new nn.Conv2d(numInputFeatures, numOutputFeatures, 1, { stride: 1, bias: false })],
      ['pool', new nn.AvgPool2d(2, { stride: 2 })],
    ]),
  );
}

export interface DenseNetOptions extends ModelOptions {
  /** Channels each dense layer adds (k in the paper). */
  growthRate?: number;
  /** Dense layers in each of the four blocks. */
  blockConfig?: [number, number, number, number];
  /** Channels of the stem convolution. */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of growthRate. */
  bnSize?: number;
  /** Dropout after each dense layer: torchvision's `drop_rate` (`dropRate` is the classifier's, as in every Iris model). */
  layerDropRate?: number;
  /**
   * torchvision's gradient checkpointing of the bottlenecks. Accepted for compatibility and
   * ignored: checkpointing trades memory for recomputation and leaves every number unchanged.
   */
  memoryEfficient?: boolean;
}

export class DenseNet extends nn.Module implements ImageModel {
  features: nn.Sequential;
  classifier: nn.Module;
  readonly featureInfo: FeatureInfo[];
  numClasses: number;
  private readonly dropRate: number;
  private readonly numFeatures: number;

  constructor(options: DenseNetOptions = {}) {
    super();
    const {
      growthRate = 32,
      blockConfig = [6, 12, 24, 16],
      numInitFeatures = 64,
      bnSize = 4,
      layerDropRate = 0,
      numClasses = 1000,
      inChannels = 3,
      dropRate = 0,
    } = options;
    const features = new Map<string, nn.Module>([
      ['conv0', new nn.Conv2d(inChannels, numInitFeatures, 7, { stride: 2, padding: 3, bias: false })],
      ['norm0', new nn.BatchNorm2d(numInitFeatures)],
      ['relu0', new nn.ReLU({ inplace: true })],
      ['pool0', new nn.MaxPool2d(3, { stride: 2, padding: 1 })],
    ]);
    const stageChannels: number[] = [];
    let numFeatures = numInitFeatures;
    blockConfig.forEach((numLayers, i) => {
      features.set(`denseblock${i + 1}`, new DenseBlock(numLayers, numFeatures, bnSize, growthRate, layerDropRate));
      numFeatures += numLayers * growthRate;
      stageChannels.push(numFeatures);
      if (i !== blockConfig.length - 1) {
        features.set(`transition${i + 1}`, transition(numFeatures, Math.floor(numFeatures / 2)));
        numFeatures = Math.floor(numFeatures / 2);
      }
    });
    features.set('norm5', new nn.BatchNorm2d(numFeatures));
    this.features = new nn.Sequential(features);
    this.numFeatures = numFeatures;
    this.numClasses = numClasses;
    this.dropRate = dropRate;
    this.classifier = numClasses > 0 ? new nn.Linear(numFeatures, numClasses) : new nn.Identity();
    this.featureInfo = [
      { module: 'features.denseblock1', channels: stageChannels[0], reduction: 4 },
      { module: 'features.denseblock2', channels: stageChannels[1], reduction: 8 },
      { module: 'features.denseblock3', channels: stageChannels[2], reduction: 16 },
      { module: 'features.norm5', channels: numFeatures, reduction: 32 },
    ];
    // torchvision's "official init from torch repo", in module order.
    torch.noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight);
        else if (m instanceof nn.BatchNorm2d) {
          nn.init.constant_(m.weight!, 1);
          nn.init.constant_(m.bias!, 0);
        } else if (m instanceof nn.Linear) nn.init.constant_(m.bias!, 0);
      }
    });
  }

  /** Outputs of denseblock1-3 (before their transitions) and the final ReLU(norm5). */
  forwardStages(x: Tensor): Tensor[] {
    const stages: Tensor[] = [];
    for (const [name, module] of this.features.namedChildren()) {
      x = module.call(x);
      if (name === 'denseblock1' || name === 'denseblock2' || name === 'denseblock3') stages.push(x);
    }
    stages.push(F.relu(x, { inplace: true }));
    return stages;
  }

  /** `features` then the ReLU that torchvision applies in forward, so the map is what gets pooled. */
  forwardFeatures(x: Tensor): Tensor {
    return F.relu(this.features.forward(x), { inplace: true });
  }

  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    let x = F.adaptiveAvgPool2d(features, [1, 1]).flatten(1);
    if (this.dropRate > 0) x = F.dropout(x, { p: this.dropRate, training: this.training });
    return options.preLogits ? x : this.classifier.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  resetClassifier(numClasses: number): void {
    this.numClasses = numClasses;
    this.classifier = numClasses > 0 ? new nn.Linear(this.numFeatures, numClasses) : new nn.Identity();
  }
}

const variants: {
  name: string;
  options: DenseNetOptions;
  file: string;
  top1: number;
  top5: number;
  paramCount: number;
}[] = [
  { name: 'densenet121', options: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 }, file: 'densenet121-a639ec97.pth', top1: 74.434, top5: 91.972, paramCount: 7_978_856 },
  { name: 'densenet161', options: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96 }, file: 'densenet161-8d451a50.pth', top1: 77.138, top5: 93.56, paramCount: 28_681_000 },
  { name: 'densenet169', options: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 }, file: 'densenet169-b2777c0a.pth', top1: 75.6, top5: 92.806, paramCount: 14_149_480 },
  { name: 'densenet201', options: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 }, file: 'densenet201-c1103571.pth', top1: 76.896, top5: 93.37, paramCount: 20_013_928 },
];

// torchvision's files predate '.'-free module names: 'denselayer1.norm.1.weight' is 'denselayer1.norm1.weight'.
const legacyLayerKey = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;

function renameLegacyKey(key: string): string {
  const m = legacyLayerKey.exec(key);
  return m ? m[1] + m[2] : key;
}

for (const v of variants) {
  registerModel({
    name: v.name,
    family: 'densenet',
    build: (options) => new DenseNet({ ...v.options, ...options }),
    defaultInput: [3, 224, 224],
    preprocessing: IMAGENET_PREPROCESSING,
    weights: [
      {
        tag: 'imagenet1k_v1',
        url: `https://download.pytorch.org/models/${v.file}`,
        keyMap: renameLegacyKey,
        numClasses: 1000,
        metrics: { top1: v.top1, top5: v.top5 },
      },
    ],
    paramCount: v.paramCount,
  });
}
