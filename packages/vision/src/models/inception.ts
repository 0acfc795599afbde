// Inception v3, as torchvision defines it (Szegedy et al. 2015, "Rethinking the Inception
// Architecture"). Module names are torchvision's (`Conv2d_1a_3x3`, `Mixed_5b`, `AuxLogits`), so its
// state dicts load as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { registerModel, IMAGENET_PREPROCESSING, type FeatureInfo, type ImageModel, type ModelOptions } from './registry.js';

const F = nn.functional;

type Size = number | [number, number];

/** Conv (no bias), BatchNorm (eps 1e-3), ReLU: the unit every Inception block is made of. */
export class BasicConv2d extends nn.Module {
  conv: nn.Conv2d;
  bn: nn.BatchNorm2d;

  constructor(inChannels: number, outChannels: number, kernelSize: Size, options: { stride?: number; padding?: Size } = {}) {
    super();
    this.conv = new nn.Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false });
    this.bn = new nn.BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return F.relu(this.bn.forward(this.conv.forward(x)), { inplace: true });
  }
}

/** 35x35 grid: 1x1, 5x5, double 3x3 and pooled branches. */
class InceptionA extends nn.Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inChannels, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inChannels, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(inChannels, poolFeatures, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.forward(x);
    const branch5x5 = this.branch5x5_2.forward(this.branch5x5_1.forward(x));
    const branch3x3dbl = this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x)));
    const branchPool = this.branch_pool.forward(F.avgPool2d(x, 3, { stride: 1, padding: 1 }));
    return torch.cat([branch1x1, branch5x5, branch3x3dbl, branchPool], 1);
  }
}

/** 35x35 → 17x17 grid reduction. */
class InceptionB extends nn.Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3 = new BasicConv2d(inChannels, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    const branch3x3 = this.branch3x3.forward(x);
    const branch3x3dbl = this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x)));
    const branchPool = F.maxPool2d(x, 3, { stride: 2 });
    return torch.cat([branch3x3, branch3x3dbl, branchPool], 1);
  }
}

/** 17x17 grid: factorised 7x7 convolutions (1x7 then 7x1). */
class InceptionC extends nn.Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, channels7x7: number) {
    super();
    const c7 = channels7x7;
    this.branch1x1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], { padding: [0, 3] });
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7dbl_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], { padding: [3, 0] });
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], { padding: [0, 3] });
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], { padding: [3, 0] });
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], { padding: [0, 3] });
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.forward(x);
    const branch7x7 = this.branch7x7_3.forward(this.branch7x7_2.forward(this.branch7x7_1.forward(x)));
    let branch7x7dbl = this.branch7x7dbl_1.forward(x);
    for (const conv of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5]) branch7x7dbl = conv.forward(branch7x7dbl);
    const branchPool = this.branch_pool.forward(F.avgPool2d(x, 3, { stride: 1, padding: 1 }));
    return torch.cat([branch1x1, branch7x7, branch7x7dbl, branchPool], 1);
  }
}

/** 17x17 → 8x8 grid reduction. */
class InceptionD extends nn.Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    const branch3x3 = this.branch3x3_2.forward(this.branch3x3_1.forward(x));
    let branch7x7x3 = this.branch7x7x3_1.forward(x);
    for (const conv of [this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4]) branch7x7x3 = conv.forward(branch7x7x3);
    const branchPool = F.maxPool2d(x, 3, { stride: 2 });
    return torch.cat([branch3x3, branch7x7x3, branchPool], 1);
  }
}

/** 8x8 grid: expanded filter bank, 3x3 split into parallel 1x3 and 3x1. */
class InceptionE extends nn.Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch1x1 = new BasicConv2d(inChannels, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inChannels, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.forward(x);
    const b3 = this.branch3x3_1.forward(x);
    const branch3x3 = torch.cat([this.branch3x3_2a.forward(b3), this.branch3x3_2b.forward(b3)], 1);
    const b3dbl = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
    const branch3x3dbl = torch.cat([this.branch3x3dbl_3a.forward(b3dbl), this.branch3x3dbl_3b.forward(b3dbl)], 1);
    const branchPool = this.branch_pool.forward(F.avgPool2d(x, 3, { stride: 1, padding: 1 }));
    return torch.cat([branch1x1, branch3x3, branch3x3dbl, branchPool], 1);
  }
}

/** The auxiliary classifier on Mixed_6e's 17x17 map (needs 299x299 input: its 5x5 conv wants a 5x5 map). */
class InceptionAux extends nn.Module {
  conv0: BasicConv2d;
  conv1: BasicConv2d;
  fc: nn.Module;

  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inChannels, 128, 1);
    this.conv1 = new BasicConv2d(128, 768, 5);
    this.fc = numClasses > 0 ? new nn.Linear(768, numClasses) : new nn.Identity();
  }

  forward(x: Tensor): Tensor {
    const pooled = F.avgPool2d(x, 5, { stride: 3 });
    const y = this.conv1.forward(this.conv0.forward(pooled));
    return this.fc.forward(F.adaptiveAvgPool2d(y, [1, 1]).flatten(1));
  }
}

export interface InceptionV3Options extends ModelOptions {
  /** Build the auxiliary classifier (`AuxLogits`); its output comes from `forwardWithAux` in training. */
  auxLogits?: boolean;
  /**
   * Re-normalise ImageNet-normalised input to the [-1, 1] scaling Google's weights were trained
   * with. Default false; createModel sets it with `pretrained`, as torchvision's builder does with
   * weights. Needs 3 input channels.
   */
  transformInput?: boolean;
  /** torchvision's truncated-normal init; false keeps PyTorch's default layer init. */
  initWeights?: boolean;
}

/** What `forwardWithAux` returns: torchvision's InceptionOutputs. */
export interface InceptionOutputs {
  logits: Tensor;
  /** The auxiliary classifier's logits; null in eval mode or without `auxLogits`. */
  auxLogits: Tensor | null;
}

/** Rescales channel c from (x - mean_c) / std_c to (x - 0.5) / 0.5, as torchvision's _transform_input. */
export function transformImagenetInput(x: Tensor): Tensor {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const channels = [0, 1, 2].map((c) => x.select(1, c).unsqueeze(1).mul(std[c] / 0.5).add((mean[c] - 0.5) / 0.5));
  return torch.cat(channels, 1);
}

/**
 * Inception v3. `forward(x)` returns the logits in both modes (the ImageModel contract) and never
 * runs `AuxLogits`. `forwardWithAux(x)` is torchvision's forward: in training it also returns the
 * auxiliary logits, for the auxiliary loss (PyTorch's fine-tuning tutorial adds 0.4 · aux loss).
 */
export class Inception3 extends nn.Module implements ImageModel {
  Conv2d_1a_3x3: BasicConv2d;
  Conv2d_2a_3x3: BasicConv2d;
  Conv2d_2b_3x3: BasicConv2d;
  maxpool1 = new nn.MaxPool2d(3, { stride: 2 });
  Conv2d_3b_1x1: BasicConv2d;
  Conv2d_4a_3x3: BasicConv2d;
  maxpool2 = new nn.MaxPool2d(3, { stride: 2 });
  Mixed_5b: InceptionA;
  Mixed_5c: InceptionA;
  Mixed_5d: InceptionA;
  Mixed_6a: InceptionB;
  Mixed_6b: InceptionC;
  Mixed_6c: InceptionC;
  Mixed_6d: InceptionC;
  Mixed_6e: InceptionC;
  AuxLogits: InceptionAux | null;
  Mixed_7a: InceptionD;
  Mixed_7b: InceptionE;
  Mixed_7c: InceptionE;
  avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
  dropout: nn.Dropout;
  fc: nn.Module;
  readonly transformInput: boolean;
  readonly featureInfo: FeatureInfo[] = [
    { module: 'Conv2d_2b_3x3', channels: 64, reduction: 2 },
    { module: 'Conv2d_4a_3x3', channels: 192, reduction: 4 },
    { module: 'Mixed_5d', channels: 288, reduction: 8 },
    { module: 'Mixed_6e', channels: 768, reduction: 16 },
    { module: 'Mixed_7c', channels: 2048, reduction: 32 },
  ];
  numClasses: number;

  constructor(options: InceptionV3Options = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, auxLogits = true, transformInput = false, initWeights = true, dropRate = 0.5 } = options;
    if (transformInput && inChannels !== 3) throw new RangeError(`Inception3: transformInput rescales 3 RGB channels, but inChannels is ${inChannels}; pass transformInput: false`);
    this.transformInput = transformInput;
    this.numClasses = numClasses;
    this.Conv2d_1a_3x3 = new BasicConv2d(inChannels, 32, 3, { stride: 2 });
    this.Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
    this.Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
    this.Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
    this.Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
    this.Mixed_5b = new InceptionA(192, 32);
    this.Mixed_5c = new InceptionA(256, 64);
    this.Mixed_5d = new InceptionA(288, 64);
    this.Mixed_6a = new InceptionB(288);
    this.Mixed_6b = new InceptionC(768, 128);
    this.Mixed_6c = new InceptionC(768, 160);
    this.Mixed_6d = new InceptionC(768, 160);
    this.Mixed_6e = new InceptionC(768, 192);
    this.AuxLogits = auxLogits ? new InceptionAux(768, numClasses) : null;
    this.Mixed_7a = new InceptionD(768);
    this.Mixed_7b = new InceptionE(1280);
    this.Mixed_7c = new InceptionE(2048);
    this.dropout = new nn.Dropout({ p: dropRate });
    this.fc = numClasses > 0 ? new nn.Linear(2048, numClasses) : new nn.Identity();
    if (initWeights) {
      torch.noGrad(() => {
        for (const m of this.modules()) {
          // torchvision also tags AuxLogits.conv1 with stddev 0.01, but on the BasicConv2d wrapper,
          // which this loop never reads; only AuxLogits.fc's 0.001 takes effect.
          if (m instanceof nn.Conv2d || m instanceof nn.Linear) nn.init.truncNormal_(m.weight, 0, m === this.AuxLogits?.fc ? 0.001 : 0.1, -2, 2);
          else if (m instanceof nn.BatchNorm2d) {
            nn.init.constant_(m.weight!, 1);
            nn.init.constant_(m.bias!, 0);
          }
        }
      });
    }
  }

  /** The trunk in order; `onStage` sees each module's name and output (stages, the aux head). */
  private trunk(x: Tensor, onStage?: (name: string, out: Tensor) => void): Tensor {
    if (this.transformInput) x = transformImagenetInput(x);
    const trunk: [string, nn.Module][] = [
      ['Conv2d_1a_3x3', this.Conv2d_1a_3x3],
      ['Conv2d_2a_3x3', this.Conv2d_2a_3x3],
      ['Conv2d_2b_3x3', this.Conv2d_2b_3x3],
      ['maxpool1', this.maxpool1],
      ['Conv2d_3b_1x1', this.Conv2d_3b_1x1],
      ['Conv2d_4a_3x3', this.Conv2d_4a_3x3],
      ['maxpool2', this.maxpool2],
      ['Mixed_5b', this.Mixed_5b],
      ['Mixed_5c', this.Mixed_5c],
      ['Mixed_5d', this.Mixed_5d],
      ['Mixed_6a', this.Mixed_6a],
      ['Mixed_6b', this.Mixed_6b],
      ['Mixed_6c', this.Mixed_6c],
      ['Mixed_6d', this.Mixed_6d],
      ['Mixed_6e', this.Mixed_6e],
      ['Mixed_7a', this.Mixed_7a],
      ['Mixed_7b', this.Mixed_7b],
      ['Mixed_7c', this.Mixed_7c],
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

  /** The Mixed_7c map, after torchvision's input transform when `transformInput` is set. */
  forwardFeatures(x: Tensor): Tensor {
    return this.trunk(x);
  }

  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    const x = this.dropout.forward(this.avgpool.forward(features)).flatten(1);
    return options.preLogits ? x : this.fc.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /**
   * torchvision's `forward`: in training with `auxLogits`, AuxLogits also runs on Mixed_6e's
   * output (before Mixed_7a, so dropout draws the same random numbers as PyTorch's).
   */
  forwardWithAux(x: Tensor): InceptionOutputs {
    let auxLogits: Tensor | null = null;
    const features = this.trunk(x, (name, out) => {
      if (name === 'Mixed_6e' && this.AuxLogits && this.training) auxLogits = this.AuxLogits.call(out);
    });
    return { logits: this.forwardHead(features), auxLogits };
  }

  /**
   * Pretrained weights for a model built without AuxLogits: torchvision's `inception_v3` builder
   * loads its file (which has the trained head) and then deletes the head when aux_logits is false;
   * here the head's keys are dropped from the file instead. (torchvision 0.14 itself refuses an
   * explicit aux_logits=False with weights, a ValueError from _ovewrite_named_param, so that code of
   * its never runs; Iris does what it intends.)
   */
  adaptStateDict(stateDict: Map<string, Tensor>): Map<string, Tensor> {
    if (this.AuxLogits !== null) return stateDict;
    return new Map([...stateDict].filter(([key]) => !key.startsWith('AuxLogits.')));
  }

  /** Replaces `fc`, and the auxiliary classifier's `fc` when there is one. */
  resetClassifier(numClasses: number): void {
    this.numClasses = numClasses;
    this.fc = numClasses > 0 ? new nn.Linear(2048, numClasses) : new nn.Identity();
    if (this.AuxLogits) this.AuxLogits.fc = numClasses > 0 ? new nn.Linear(768, numClasses) : new nn.Identity();
  }
}

registerModel({
  name: 'inception_v3',
  family: 'inception',
  // As torchvision's inception_v3: AuxLogits, and no input transform without weights. Its weights
  // (Google's, trained on [-1, 1] inputs) come with transform_input, so that ImageNet-normalised
  // images (this entry's preprocessing) fit them: on with `pretrained` whenever the input is RGB.
  build: (options) => new Inception3(options),
  pretrainedOptions: (options) => ({ transformInput: (options.inChannels ?? 3) === 3 }),
  defaultInput: [3, 299, 299],
  preprocessing: { ...IMAGENET_PREPROCESSING, resizeSize: 342, cropSize: 299 },
  weights: [
    {
      tag: 'imagenet1k_v1',
      url: 'https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth',
      numClasses: 1000,
      metrics: { top1: 77.294, top5: 93.45 },
    },
  ],
  paramCount: 27_161_264,
});
