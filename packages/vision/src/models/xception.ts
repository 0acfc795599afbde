// Xception (Chollet 2017), as timm's `legacy_xception` (the Keras port by Cadene): property
// names are timm's, so its files load as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { registerModel, type FeatureInfo, type ImageModel, type ModelOptions } from './registry.js';

const F = nn.functional;

/** A depthwise 3x3 convolution (`conv1`) then a pointwise 1x1 one (`pointwise`), both without bias. */
class SeparableConv2d extends nn.Module {
  conv1: nn.Conv2d;
  pointwise: nn.Conv2d;

  constructor(inChannels: number, outChannels: number, kernelSize = 1, stride = 1, padding = 0) {
    super();
    this.conv1 = new nn.Conv2d(inChannels, inChannels, kernelSize, { stride, padding, groups: inChannels, bias: false });
    this.pointwise = new nn.Conv2d(inChannels, outChannels, 1, { bias: false });
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.conv1.forward(x));
  }
}

interface BlockOptions {
  stride?: number;
  /** false for the first block, whose input already went through a ReLU. */
  startWithRelu?: boolean;
  /** Widen in the first separable conv (true) or the last one (false, the exit block). */
  growFirst?: boolean;
}

/** `reps` x (ReLU, SeparableConv2d, BatchNorm) with a residual: identity, or a strided 1x1 conv + BN. */
class Block extends nn.Module {
  skip: nn.Conv2d | null = null;
  skipbn: nn.BatchNorm2d | null = null;
  rep: nn.Sequential;

  constructor(inChannels: number, outChannels: number, reps: number, options: BlockOptions = {}) {
    super();
    const { stride = 1, startWithRelu = true, growFirst = true } = options;
    if (outChannels !== inChannels || stride !== 1) {
      this.skip = new nn.Conv2d(inChannels, outChannels, 1, { stride, bias: false });
      this.skipbn = new nn.BatchNorm2d(outChannels);
    }
    const rep: nn.Module[] = [];
    for (let i = 0; i < reps; i++) {
      const inc = growFirst ? (i === 0 ? inChannels : outChannels) : inChannels;
      const outc = growFirst || i === reps - 1 ? outChannels : inChannels;
      // The block's input is also the residual, so the first ReLU must not overwrite it.
      if (i > 0 || startWithRelu) rep.push(new nn.ReLU({ inplace: i > 0 }));
      rep.push(new SeparableConv2d(inc, outc, 3, 1, 1), new nn.BatchNorm2d(outc));
    }
    if (stride !== 1) rep.push(new nn.MaxPool2d(3, { stride, padding: 1 }));
    this.rep = new nn.Sequential(...rep);
  }

  forward(input: Tensor): Tensor {
    const x = this.rep.forward(input);
    const residual = this.skip && this.skipbn ? this.skipbn.forward(this.skip.forward(input)) : input;
    return x.add_(residual);
  }
}

export class Xception extends nn.Module implements ImageModel {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  act1 = new nn.ReLU({ inplace: true });
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  act2 = new nn.ReLU({ inplace: true });
  block1: Block;
  block2: Block;
  block3: Block;
  block4: Block;
  block5: Block;
  block6: Block;
  block7: Block;
  block8: Block;
  block9: Block;
  block10: Block;
  block11: Block;
  block12: Block;
  conv3: SeparableConv2d;
  bn3: nn.BatchNorm2d;
  act3 = new nn.ReLU({ inplace: true });
  conv4: SeparableConv2d;
  bn4: nn.BatchNorm2d;
  act4 = new nn.ReLU({ inplace: true });
  global_pool = new nn.AdaptiveAvgPool2d([1, 1]);
  fc: nn.Module;
  /** timm's: the stem, the inputs of blocks 2, 3 and 12 after their first ReLU, and the last features. */
  readonly featureInfo: FeatureInfo[] = [
    { module: 'act2', channels: 64, reduction: 2 },
    { module: 'block2.rep.0', channels: 128, reduction: 4 },
    { module: 'block3.rep.0', channels: 256, reduction: 8 },
    { module: 'block12.rep.0', channels: 728, reduction: 16 },
    { module: 'act4', channels: 2048, reduction: 32 },
  ];
  numClasses: number;
  readonly numFeatures = 2048;
  private readonly dropRate: number;

  constructor(options: ModelOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropRate = 0 } = options;
    this.numClasses = numClasses;
    this.dropRate = dropRate;
    this.conv1 = new nn.Conv2d(inChannels, 32, 3, { stride: 2, bias: false });
    this.bn1 = new nn.BatchNorm2d(32);
    this.conv2 = new nn.Conv2d(32, 64, 3, { bias: false });
    this.bn2 = new nn.BatchNorm2d(64);
    // Entry flow, middle flow (8 identical blocks), exit flow.
    this.block1 = new Block(64, 128, 2, { stride: 2, startWithRelu: false });
    this.block2 = new Block(128, 256, 2, { stride: 2 });
    this.block3 = new Block(256, 728, 2, { stride: 2 });
    this.block4 = new Block(728, 728, 3);
    this.block5 = new Block(728, 728, 3);
    this.block6 = new Block(728, 728, 3);
    this.block7 = new Block(728, 728, 3);
    this.block8 = new Block(728, 728, 3);
    this.block9 = new Block(728, 728, 3);
    this.block10 = new Block(728, 728, 3);
    this.block11 = new Block(728, 728, 3);
    this.block12 = new Block(728, 1024, 2, { stride: 2, growFirst: false });
    this.conv3 = new SeparableConv2d(1024, 1536, 3, 1, 1);
    this.bn3 = new nn.BatchNorm2d(1536);
    this.conv4 = new SeparableConv2d(1536, this.numFeatures, 3, 1, 1);
    this.bn4 = new nn.BatchNorm2d(this.numFeatures);
    this.fc = numClasses > 0 ? new nn.Linear(this.numFeatures, numClasses) : new nn.Identity();
    // timm re-initialises every conv and norm after construction, in module order.
    torch.noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        else if (m instanceof nn.BatchNorm2d) {
          nn.init.constant_(m.weight!, 1);
          nn.init.constant_(m.bias!, 0);
        }
      }
    });
  }

  private stem(x: Tensor): Tensor {
    const y = this.act1.forward(this.bn1.forward(this.conv1.forward(x)));
    return this.act2.forward(this.bn2.forward(this.conv2.forward(y)));
  }

  private middleAndExit(x: Tensor): Tensor {
    let y = x;
    for (const block of [this.block4, this.block5, this.block6, this.block7, this.block8, this.block9, this.block10, this.block11]) y = block.forward(y);
    return this.block12.forward(y);
  }

  private head(x: Tensor): Tensor {
    const y = this.act3.forward(this.bn3.forward(this.conv3.forward(x)));
    return this.act4.forward(this.bn4.forward(this.conv4.forward(y)));
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.head(this.middleAndExit(this.block3.forward(this.block2.forward(this.block1.forward(this.stem(x))))));
  }

  forwardStages(x: Tensor): Tensor[] {
    const s1 = this.stem(x);
    const b1 = this.block1.forward(s1);
    const b2 = this.block2.forward(b1);
    const b3 = this.block3.forward(b2);
    let y = b3;
    for (const block of [this.block4, this.block5, this.block6, this.block7, this.block8, this.block9, this.block10]) y = block.forward(y);
    const b11 = this.block11.forward(y);
    const s5 = this.head(this.block12.forward(b11));
    // Blocks 2, 3 and 12 start with a ReLU that does not overwrite its input: that is the stage output.
    return [s1, F.relu(b1), F.relu(b2), F.relu(b11), s5];
  }

  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    let x = this.global_pool.forward(features).flatten(1);
    if (this.dropRate > 0) x = F.dropout(x, { p: this.dropRate, training: this.training });
    return options.preLogits ? x : this.fc.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  resetClassifier(numClasses: number): void {
    this.numClasses = numClasses;
    this.fc = numClasses > 0 ? new nn.Linear(this.numFeatures, numClasses) : new nn.Identity();
  }
}

registerModel({
  name: 'legacy_xception',
  family: 'xception',
  build: (options) => new Xception(options),
  defaultInput: [3, 299, 299],
  // timm's cfg: crop_pct 0.8975 (resize floor(299 / 0.8975) = 333), bicubic, Inception normalisation.
  preprocessing: { resizeSize: 333, cropSize: 299, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  weights: [{ tag: 'tf_in1k', url: 'hf://timm/legacy_xception.tf_in1k/model.safetensors', numClasses: 1000, metrics: { top1: 79.04, top5: 94.382 } }],
  paramCount: 22_855_952,
});
