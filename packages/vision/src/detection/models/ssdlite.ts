// SSDlite (MobileNetV2 paper, section 6.2; MobileNetV3 paper, section 6.3), as torchvision 0.14's
// models/detection/ssdlite.py defines it: SSD with depthwise-separable heads and extra blocks on
// MobileNetV3-Large split at C4's expansion. Property names are torchvision's, so its COCO state
// dicts load as they are. ssdlite320_mobilenet_v3_large is registered here.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, relu6, type NormLayer } from '../../layers/conv-norm-activation.js';
import { InvertedResidual, MobileNetV3, mobileNetV3Config } from '../../models/mobilenetv3.js';
import { loadPretrained } from '../../models/weights.js';
import { modelInfo } from '../../models/registry.js';
import { replaceBatchNorm, validateTrainableLayers } from './backbone-utils.js';
import { DefaultBoxGenerator } from './default-boxes.js';
import { cocoWeights, registerDetector, type DetectorOptions, type DetectorWeightsSpec } from './registry.js';
import { backboneTag } from './one-stage.js';
import { SSD, SSDScoringHead, ssdOptions, type SSDBackbone, type SSDHeadModule, type SSDHeadOutputs, type SSDOptions } from './ssd.js';

/** A 3x3 depthwise conv-BN-ReLU6, then a 1x1 projection to `outChannels` (torchvision's _prediction_block). */
function predictionBlock(inChannels: number, outChannels: number, kernelSize: number, normLayer: NormLayer): nn.Sequential {
  return new nn.Sequential(
    new Conv2dNormActivation(inChannels, inChannels, { kernelSize, groups: inChannels, normLayer, activationLayer: relu6 }),
    new nn.Conv2d(inChannels, outChannels, 1),
  );
}

/** 1x1 to half the channels, 3x3 depthwise at stride 2, 1x1 to `outChannels`, each conv-BN-ReLU6 (torchvision's _extra_block). */
function extraBlock(inChannels: number, outChannels: number, normLayer: NormLayer): nn.Sequential {
  const mid = Math.floor(outChannels / 2);
  return new nn.Sequential(
    new Conv2dNormActivation(inChannels, mid, { kernelSize: 1, normLayer, activationLayer: relu6 }),
    new Conv2dNormActivation(mid, mid, { kernelSize: 3, stride: 2, groups: mid, normLayer, activationLayer: relu6 }),
    new Conv2dNormActivation(mid, outChannels, { kernelSize: 1, normLayer, activationLayer: relu6 }),
  );
}

/** torchvision's _normal_init: N(0, 0.03) weights and zero biases for every conv in `module`. */
function normalInit(module: nn.Module): void {
  torch.noGrad(() => {
    for (const m of module.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.normal_(m.weight, 0.0, 0.03);
        if (m.bias) nn.init.constant_(m.bias, 0.0);
      }
    }
  });
}

export class SSDLiteClassificationHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[], numClasses: number, normLayer: NormLayer) {
    const clsLogits = new nn.ModuleList(inChannels.map((c, i) => predictionBlock(c, numClasses * numAnchors[i], 3, normLayer)));
    normalInit(clsLogits);
    super(clsLogits, numClasses);
  }
}

export class SSDLiteRegressionHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[], normLayer: NormLayer) {
    const bboxReg = new nn.ModuleList(inChannels.map((c, i) => predictionBlock(c, 4 * numAnchors[i], 3, normLayer)));
    normalInit(bboxReg);
    super(bboxReg, 4);
  }
}

/** torchvision's SSDLiteHead: SSD's head with depthwise-separable prediction blocks. */
export class SSDLiteHead extends nn.Module implements SSDHeadModule {
  classificationHead: SSDScoringHead;
  regressionHead: SSDScoringHead;

  constructor(inChannels: number[], numAnchors: number[], numClasses: number, normLayer: NormLayer) {
    super();
    this.classificationHead = new SSDLiteClassificationHead(inChannels, numAnchors, numClasses, normLayer);
    this.regressionHead = new SSDLiteRegressionHead(inChannels, numAnchors, normLayer);
  }

  forward(x: Tensor[]): SSDHeadOutputs {
    return { bboxRegression: this.regressionHead.call(x), clsLogits: this.classificationHead.call(x) };
  }
}

/**
 * torchvision's SSDLiteFeatureExtractorMobileNet: MobileNet's features cut inside the C4 block
 * (after its expansion conv, the first map) and at the end (the second), then four extra blocks.
 */
export class SSDLiteFeatureExtractorMobileNet extends nn.Module implements SSDBackbone {
  features: nn.Sequential;
  extra: nn.ModuleList;
  readonly outChannels: number[];

  /**
   * @param backbone MobileNet's `features`
   * @param c4Pos index in it of the block whose expansion output is the first map
   */
  constructor(backbone: nn.Sequential, c4Pos: number, normLayer: NormLayer, options: { widthMult?: number; minDepth?: number } = {}) {
    super();
    const { widthMult = 1.0, minDepth = 16 } = options;
    const layers = [...backbone];
    const c4 = layers[c4Pos];
    if (!(c4 instanceof InvertedResidual)) throw new TypeError(`SSDLiteFeatureExtractorMobileNet: backbone[${c4Pos}] should be an InvertedResidual, got ${c4.constructor.name}`);
    if (c4.useResConnect) throw new RangeError(`SSDLiteFeatureExtractorMobileNet: backbone[${c4Pos}] has a residual connection; the C4 block should be a strided one`);
    const [expansion, ...rest] = [...c4.block];
    // A slice of a Sequential keeps its keys in PyTorch: block[1:] is '1', '2', ... in the state dict.
    const afterExpansion = new nn.Sequential(new Map(rest.map((m, i) => [String(i + 1), m])));
    this.features = new nn.Sequential(new nn.Sequential(...layers.slice(0, c4Pos), expansion), new nn.Sequential(afterExpansion, ...layers.slice(c4Pos + 1)));
    const depth = (d: number): number => Math.max(minDepth, Math.trunc(d * widthMult));
    const last = layers[layers.length - 1] as Conv2dNormActivation;
    this.extra = new nn.ModuleList([
      extraBlock(last.outChannels, depth(512), normLayer),
      extraBlock(depth(512), depth(256), normLayer),
      extraBlock(depth(256), depth(256), normLayer),
      extraBlock(depth(256), depth(128), normLayer),
    ]);
    normalInit(this.extra);
    this.outChannels = [(expansion as Conv2dNormActivation).outChannels, last.outChannels, depth(512), depth(256), depth(256), depth(128)];
  }

  /** @param x [N, 3, H, W] @returns C4's expansion output, the last features and the extra blocks' maps */
  forward(x: Tensor): Tensor[] {
    const output: Tensor[] = [];
    for (const block of [...this.features, ...this.extra]) {
      x = block.call(x) as Tensor;
      output.push(x);
    }
    return output;
  }
}

/**
 * torchvision's _mobilenet_extractor for SSDlite: freezes all but the last `trainableLayers` stages
 * (the stem, each strided block, the last conv) and splits at the last strided block (C4).
 * @param stridedBlocks indices in `features` of the blocks with stride > 1 (torchvision's `_is_cn`)
 */
export function ssdliteMobilenetExtractor(features: nn.Sequential, stridedBlocks: number[], trainableLayers: number, normLayer: NormLayer): SSDLiteFeatureExtractorMobileNet {
  const stageIndices = [0, ...stridedBlocks, features.length - 1];
  const numStages = stageIndices.length;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > numStages) {
    throw new RangeError(`trainableBackboneLayers should be in the range [0, ${numStages}], got ${trainableLayers}`);
  }
  const freezeBefore = trainableLayers === 0 ? features.length : stageIndices[numStages - trainableLayers];
  for (const m of [...features].slice(0, freezeBefore)) for (const p of m.parameters()) p.requiresGrad_(false);
  return new SSDLiteFeatureExtractorMobileNet(features, stageIndices[numStages - 2], normLayer);
}

export interface SSDLite320Options extends DetectorOptions, Omit<SSDOptions, 'head' | 'headFactory'> {
  /** Norm layer of the backbone, extra blocks and heads (default BatchNorm2d with eps 0.001, momentum 0.03). */
  normLayer?: NormLayer;
}

/**
 * torchvision's ssdlite320_mobilenet_v3_large: 320x320 inputs scaled to [-1, 1], MobileNetV3-Large
 * (with the reduced tail unless its ImageNet weights are loaded), six maps with ratios 2 and 3.
 */
export function ssdlite320MobilenetV3Large(options: SSDLite320Options = {}, weights: DetectorWeightsSpec | null = null): SSD {
  const { numClasses = 91, pretrained: _pretrained, pretrainedBackbone, trainableBackboneLayers, normLayer = (n: number) => new nn.BatchNorm2d(n, { eps: 0.001, momentum: 0.03 }), ...rest } = options;
  const settings = ssdOptions('ssdlite320_mobilenet_v3_large', rest);
  const tag = backboneTag(pretrainedBackbone, weights, 'imagenet1k_v1');
  const trainable = validateTrainableLayers(Boolean(weights) || tag !== false, trainableBackboneLayers, 6, 6);
  // Table 6 of the MobileNetV3 paper: the reduced tail, unless the backbone's ImageNet weights are wanted.
  const reducedTail = tag === false;
  const { setting, lastChannel } = mobileNetV3Config('mobilenet_v3_large', { reducedTail });
  const mobilenet = new MobileNetV3(setting, lastChannel);
  if (tag === false) normalInit(mobilenet);
  else loadPretrained(mobilenet, modelInfo('mobilenet_v3_large'), tag);
  // torchvision builds it with norm_layer; swapping the BatchNorms (state kept) gives the same model.
  replaceBatchNorm(mobilenet, normLayer);
  // features[0] is the stem; features[i + 1] is the block of setting[i].
  const strided = setting.flatMap((cnf, i) => (cnf.stride > 1 ? [i + 1] : []));
  const backbone = ssdliteMobilenetExtractor(mobilenet.features, strided, trainable, normLayer);
  const anchorGenerator = new DefaultBoxGenerator(Array.from({ length: 6 }, () => [2, 3]), { minRatio: 0.2, maxRatio: 0.95 });
  const numAnchors = anchorGenerator.numAnchorsPerLocation();
  const head = new SSDLiteHead(backbone.outChannels, numAnchors, numClasses, normLayer);
  return new SSD(backbone, anchorGenerator, [320, 320], numClasses, {
    scoreThresh: 0.001,
    nmsThresh: 0.55,
    detectionsPerImg: 300,
    topkCandidates: 300,
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
    ...settings,
    head,
    headFactory: (inChannels, anchors, classes) => new SSDLiteHead(inChannels, anchors, classes, normLayer),
  });
}

registerDetector({
  name: 'ssdlite320_mobilenet_v3_large',
  family: 'ssd',
  build: (options, weights) => ssdlite320MobilenetV3Large(options, weights),
  backbone: { model: 'mobilenet_v3_large', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('ssdlite320_mobilenet_v3_large_coco-a79551df.pth', 21.3)],
  paramCount: 3_440_060,
});
