// GoogLeNet (Inception v1), as torchvision defines it (Szegedy et al. 2014, "Going Deeper with
// Convolutions"). Module names are torchvision's (`inception3a`, `aux1`), so its state dicts load as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { registerModel, IMAGENET_PREPROCESSING, type FeatureInfo, type ImageModel, type ModelOptions, type WeightsSpec } from './registry.js';
import { BasicConv2d, transformImagenetInput } from './inception.js';

const F = nn.functional;

/** Four parallel branches: 1x1, 1x1→3x3, 1x1→"5x5", 3x3 max-pool→1x1. */
class Inception extends nn.Module {
  branch1: BasicConv2d;
  branch2: nn.Sequential;
  branch3: nn.Sequential;
  branch4: nn.Sequential;

  constructor(inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = new BasicConv2d(inChannels, ch1x1, 1);
    this.branch2 = new nn.Sequential(new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }));
    // A 3x3 where the paper has 5x5: torchvision's known quirk (pytorch/vision#906), kept for its weights.
    this.branch3 = new nn.Sequential(new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }));
    this.branch4 = new nn.Sequential(new nn.MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inChannels, poolProj, 1));
  }

  forward(x: Tensor): Tensor {
    return torch.cat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }
}

/** An auxiliary classifier: 4x4 average pool, 1x1 conv, two fully connected layers with dropout. */
class InceptionAux extends nn.Module {
  conv: BasicConv2d;
  fc1: nn.Linear;
  fc2: nn.Module;
  dropout: nn.Dropout;

  constructor(inChannels: number, numClasses: number, dropout: number) {
    super();
    this.conv = new BasicConv2d(inChannels, 128, 1);
    this.fc1 = new nn.Linear(2048, 1024);
    this.fc2 = numClasses > 0 ? new nn.Linear(1024, numClasses) : new nn.Identity();
    this.dropout = new nn.Dropout({ p: dropout });
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(F.adaptiveAvgPool2d(x, [4, 4])).flatten(1);
    return this.fc2.forward(this.dropout.forward(F.relu(this.fc1.forward(y), { inplace: true })));
  }
}

export interface GoogLeNetOptions extends ModelOptions {
  /** Build the auxiliary classifiers `aux1` (on inception4a) and `aux2` (on inception4d); default true, false with `pretrained` (as torchvision). */
  auxLogits?: boolean;
  /** Re-normalise ImageNet-normalised input to the [-1, 1] scaling of the ported weights (needs 3 channels); default false, true with `pretrained` (as torchvision). */
  transformInput?: boolean;
  /** torchvision's truncated-normal init; false keeps PyTorch's default layer init. */
  initWeights?: boolean;
  /** Dropout in the auxiliary classifiers (torchvision's `dropout_aux`). */
  auxDropRate?: number;
}

/**
 * What `forwardWithAux` returns. torchvision's GoogLeNetOutputs holds the same three tensors as
 * (logits, aux_logits2, aux_logits1), where its aux_logits2 is aux1's output: the names here are the heads'.
 */
export interface GoogLeNetOutputs {
  logits: Tensor;
  /** Output of `aux1`; null in eval mode or without `auxLogits`. */
  aux1: Tensor | null;
  /** Output of `aux2`; null in eval mode or without `auxLogits`. */
  aux2: Tensor | null;
}

/**
 * GoogLeNet. `forward(x)` returns the logits in both modes (the ImageModel contract) and never
 * runs the auxiliary heads, so in training its dropout draws differ from torchvision's.
 * `forwardWithAux(x)` is torchvision's forward: in training it also returns aux1's and aux2's
 * logits, for the auxiliary losses (the paper weights each by 0.3).
 */
export class GoogLeNet extends nn.Module implements ImageModel {
  conv1: BasicConv2d;
  maxpool1 = new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
  conv2: BasicConv2d;
  conv3: BasicConv2d;
  maxpool2 = new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
  inception3a: Inception;
  inception3b: Inception;
  maxpool3 = new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
  inception4a: Inception;
  inception4b: Inception;
  inception4c: Inception;
  inception4d: Inception;
  inception4e: Inception;
  maxpool4 = new nn.MaxPool2d(2, { stride: 2, ceilMode: true });
  inception5a: Inception;
  inception5b: Inception;
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
  dropout: nn.Dropout;
  fc: nn.Module;
  readonly transformInput: boolean;
  readonly featureInfo: FeatureInfo[] = [
    { module: 'conv3', channels: 192, reduction: 4 },
    { module: 'inception3b', channels: 480, reduction: 8 },
    { module: 'inception4e', channels: 832, reduction: 16 },
    { module: 'inception5b', channels: 1024, reduction: 32 },
  ];
  numClasses: number;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, auxLogits = true, transformInput = false, initWeights = true, dropRate = 0.2, auxDropRate = 0.7 } = options;
    if (transformInput && inChannels !== 3) throw new RangeError(`GoogLeNet: transformInput rescales 3 RGB channels, but inChannels is ${inChannels}; pass transformInput: false`);
    this.transformInput = transformInput;
    this.numClasses = numClasses;
    this.conv1 = new BasicConv2d(inChannels, 64, 7, { stride: 2, padding: 3 });
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
    this.inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
    this.inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
    this.aux1 = auxLogits ? new InceptionAux(512, numClasses, auxDropRate) : null;
    this.aux2 = auxLogits ? new InceptionAux(528, numClasses, auxDropRate) : null;
    this.dropout = new nn.Dropout({ p: dropRate });
    this.fc = numClasses > 0 ? new nn.Linear(1024, numClasses) : new nn.Identity();
    if (initWeights) {
      torch.noGrad(() => {
        for (const m of this.modules()) {
          if (m instanceof nn.Conv2d || m instanceof nn.Linear) nn.init.truncNormal_(m.weight, 0, 0.01, -2, 2);
          else if (m instanceof nn.BatchNorm2d) {
            nn.init.constant_(m.weight!, 1);
            nn.init.constant_(m.bias!, 0);
          }
        }
      });
    }
  }

  /** The trunk in order; `onStage` sees each module's name and output (stages, the aux heads). */
  private trunk(x: Tensor, onStage?: (name: string, out: Tensor) => void): Tensor {
    if (this.transformInput) x = transformImagenetInput(x);
    const trunk: [string, nn.Module][] = [
      ['conv1', this.conv1],
      ['maxpool1', this.maxpool1],
      ['conv2', this.conv2],
      ['conv3', this.conv3],
      ['maxpool2', this.maxpool2],
      ['inception3a', this.inception3a],
      ['inception3b', this.inception3b],
      ['maxpool3', this.maxpool3],
      ['inception4a', this.inception4a],
      ['inception4b', this.inception4b],
      ['inception4c', this.inception4c],
      ['inception4d', this.inception4d],
      ['inception4e', this.inception4e],
      ['maxpool4', this.maxpool4],
      ['inception5a', this.inception5a],
      ['inception5b', this.inception5b],
    ];
    for (const [name, module] of trunk) {
      x = module.call(x);
      onStage?.(name, x);
    }
    return x;
  }

  forwardStages(x: Tensor): Tensor[] {
    const stages: Tensor[] = [];
    const names = new Set(this.featureInfo.map((f) => f.module));
    this.trunk(x, (name, out) => {
      if (names.has(name)) stages.push(out);
    });
    return stages;
  }

  /** The inception5b map, after torchvision's input transform when `transformInput` is set. */
  forwardFeatures(x: Tensor): Tensor {
    return this.trunk(x);
  }

  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    const x = this.dropout.forward(this.avgpool.forward(features).flatten(1));
    return options.preLogits ? x : this.fc.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /**
   * torchvision's `forward`: in training with `auxLogits`, aux1 runs on inception4a's output and
   * aux2 on inception4d's, where PyTorch runs them, so dropout draws the same random numbers.
   */
  forwardWithAux(x: Tensor): GoogLeNetOutputs {
    const aux: { aux1: Tensor | null; aux2: Tensor | null } = { aux1: null, aux2: null };
    const features = this.trunk(x, (name, out) => {
      if (!this.training) return;
      if (name === 'inception4a' && this.aux1) aux.aux1 = this.aux1.call(out);
      else if (name === 'inception4d' && this.aux2) aux.aux2 = this.aux2.call(out);
    });
    return { logits: this.forwardHead(features), ...aux };
  }

  /**
   * Pretrained weights as torchvision's `googlenet(weights=...)` takes them: its file has aux1/aux2,
   * which it loads into a model built with aux heads and then deletes when the caller did not pass
   * aux_logits (an explicit False is a ValueError in torchvision 0.14; here it means the same as
   * leaving it out). The heads this model lacks have their keys dropped from the file. With the heads
   * and the registered weights (`spec`), it warns as torchvision does: those heads were never trained.
   */
  adaptStateDict(stateDict: Map<string, Tensor>, spec: WeightsSpec | null = null): Map<string, Tensor> {
    const absent = (['aux1', 'aux2'] as const).filter((name) => this[name] === null).map((name) => `${name}.`);
    if (spec && absent.length < 2) {
      process.emitWarning('auxiliary heads in the pretrained googlenet model are NOT pretrained, so make sure to train them', 'UserWarning');
    }
    if (absent.length === 0) return stateDict;
    return new Map([...stateDict].filter(([key]) => !absent.some((prefix) => key.startsWith(prefix))));
  }

  /** Replaces `fc`, and the auxiliary classifiers' `fc2` when there are any. */
  resetClassifier(numClasses: number): void {
    this.numClasses = numClasses;
    this.fc = numClasses > 0 ? new nn.Linear(1024, numClasses) : new nn.Identity();
    for (const aux of [this.aux1, this.aux2]) if (aux) aux.fc2 = numClasses > 0 ? new nn.Linear(1024, numClasses) : new nn.Identity();
  }
}

registerModel({
  name: 'googlenet',
  family: 'googlenet',
  // As torchvision's googlenet: without weights, aux1/aux2 and no input transform. With its weights
  // (`pretrained`), no auxiliary heads unless asked for (they are untrained in the file;
  // adaptStateDict drops their keys) and transformInput on whenever the input is RGB.
  build: (options) => new GoogLeNet(options),
  pretrainedOptions: (options) => ({ auxLogits: false, transformInput: (options.inChannels ?? 3) === 3 }),
  defaultInput: [3, 224, 224],
  preprocessing: IMAGENET_PREPROCESSING,
  weights: [
    {
      tag: 'imagenet1k_v1',
      url: 'https://download.pytorch.org/models/googlenet-1378be20.pth',
      numClasses: 1000,
      metrics: { top1: 69.778, top5: 89.53 },
    },
  ],
  paramCount: 6_624_904,
});
