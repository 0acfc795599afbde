// The layout torchvision's MobileNetV2, MobileNetV3 and EfficientNet share: a `features`
// Sequential, global average pooling, and a `classifier` Sequential whose last entry is the head.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { FeatureInfo, ImageModel } from './registry.js';

const F = nn.functional;

/** One entry of `features`: its stride (1 when dilated) and output channels. */
export interface FeatureLayer {
  stride: number;
  channels: number;
}

export abstract class FeaturesClassifierModel extends nn.Module implements ImageModel {
  abstract features: nn.Sequential;
  abstract classifier: nn.Sequential;
  featureInfo: FeatureInfo[] = [];
  numClasses = 0;
  /** Indices into `features` whose outputs forwardStages returns. */
  private stageIndices: number[] = [];
  /** Input features of the head (the last classifier entry). */
  private headInFeatures = 0;

  /** The family's initialisation of a new head (torchvision's loop body for nn.Linear). */
  protected abstract initLinear(linear: nn.Linear): void;

  /**
   * Sets featureInfo to the last `features` entry at each reduction from 4 on (strides 4/8/16/32:
   * FPN's C2–C5; the stride-32 one is the final 1x1 conv, forwardFeatures' output).
   */
  protected setStages(layers: FeatureLayer[]): void {
    let reduction = 1;
    const lastAt = new Map<number, number>();
    layers.forEach((layer, i) => {
      reduction *= layer.stride;
      if (reduction >= 4) lastAt.set(reduction, i);
    });
    this.stageIndices = [...lastAt.values()];
    this.featureInfo = [...lastAt].map(([r, i]) => ({ module: `features.${i}`, channels: layers[i].channels, reduction: r }));
  }

  /** The head for `numClasses` (Identity for 0), with nn.Linear's default init (initWeights follows). */
  protected makeHead(inFeatures: number, numClasses: number): nn.Module {
    this.headInFeatures = inFeatures;
    this.numClasses = numClasses;
    return numClasses > 0 ? new nn.Linear(inFeatures, numClasses) : new nn.Identity();
  }

  /** torchvision's post-construction loop over `self.modules()`, in module order. */
  protected initWeights(): void {
    torch.noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof nn.Conv2d) {
          nn.init.kaimingNormal_(m.weight, { mode: 'fanOut' });
          if (m.bias) nn.init.zeros_(m.bias);
        } else if (m instanceof nn.BatchNorm2d || m instanceof nn.GroupNorm) {
          nn.init.ones_(m.weight!);
          nn.init.zeros_(m.bias!);
        } else if (m instanceof nn.Linear) this.initLinear(m);
      }
    });
  }

  /** Global average pooling to [N, C, 1, 1]. */
  protected globalPool(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, [1, 1]);
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.features.call(x);
  }

  forwardStages(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    [...this.features].forEach((layer, i) => {
      x = layer.call(x);
      if (this.stageIndices.includes(i)) out.push(x);
    });
    return out;
  }

  /** Pooled features through the classifier; `preLogits` stops before its last entry (the head). */
  forwardHead(features: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    let x = this.globalPool(features).flatten(1);
    const layers = [...this.classifier];
    for (const layer of options.preLogits ? layers.slice(0, -1) : layers) x = layer.call(x);
    return x;
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  resetClassifier(numClasses: number): void {
    const layers = [...this.classifier];
    const head = this.makeHead(this.headInFeatures, numClasses);
    if (head instanceof nn.Linear) torch.noGrad(() => this.initLinear(head));
    layers[layers.length - 1] = head;
    this.classifier = new nn.Sequential(...layers);
  }
}
