// Faster R-CNN (Ren et al. 2015) as torchvision 0.14 defines it (models/detection/faster_rcnn.py):
// the model, its box heads, and the four builders, registered for createDetector. Module names are
// torchvision's, so its COCO state dicts load strictly as they are.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { MultiScaleRoIAlign, FrozenBatchNorm2d } from '../../ops/index.js';
import { Conv2dNormActivation, type NormLayer } from '../../layers/conv-norm-activation.js';
import { createModel } from '../../models/index.js';
import type { ResNet } from '../../models/resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import { batchNorm2d, frozenBatchNorm2d, mobilenetExtractor, replaceBatchNorm, resnetFpnExtractor, validateTrainableLayers } from './backbone-utils.js';
import { GeneralizedRCNN, type DetectionBackbone } from './generalized-rcnn.js';
import { cocoWeights, registerDetector, type Detector, type DetectorOptions, type DetectorWeightsSpec } from './registry.js';
import { RoIHeads, type RoIPooler } from './roi-heads.js';
import { RegionProposalNetwork, RPNHead, type RPNHeadModule } from './rpn.js';
import { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './transform.js';
import { upgradeFpnKeys } from './one-stage.js';

const F = nn.functional;

/** torchvision's FasterRCNN arguments, in camelCase, with its defaults. */
export interface FasterRCNNOptions extends GeneralizedRCNNTransformOptions {
  /** Classes, background included; give this or boxPredictor. */
  numClasses?: number;
  /** Shorter side after resizing (default 800); several: one drawn per image in training. */
  minSize?: number | number[];
  /** Longest side cap (default 1333). */
  maxSize?: number;
  /** Per-channel normalisation (default ImageNet's). */
  imageMean?: number[];
  imageStd?: number[];
  /** Default: sizes 32..512, one per level, aspect ratios 0.5, 1, 2. */
  rpnAnchorGenerator?: AnchorGenerator;
  /** Default RPNHead(backbone.outChannels, anchors per location). */
  rpnHead?: RPNHeadModule;
  rpnPreNmsTopNTrain?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTrain?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnFgIouThresh?: number;
  rpnBgIouThresh?: number;
  rpnBatchSizePerImage?: number;
  rpnPositiveFraction?: number;
  rpnScoreThresh?: number;
  /** Default MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2). */
  boxRoiPool?: RoIPooler & { outputSize: [number, number] };
  /** Default TwoMLPHead(outChannels · 7 · 7, 1024). */
  boxHead?: nn.Module;
  /** Default FastRCNNPredictor(1024, numClasses). */
  boxPredictor?: nn.Module;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
  bboxRegWeights?: [number, number, number, number];
}

const FASTER_RCNN_OPTIONS = [
  'numClasses', 'minSize', 'maxSize', 'imageMean', 'imageStd', 'sizeDivisible', 'fixedSize', 'skipResize',
  'rpnAnchorGenerator', 'rpnHead', 'rpnPreNmsTopNTrain', 'rpnPreNmsTopNTest', 'rpnPostNmsTopNTrain', 'rpnPostNmsTopNTest',
  'rpnNmsThresh', 'rpnFgIouThresh', 'rpnBgIouThresh', 'rpnBatchSizePerImage', 'rpnPositiveFraction', 'rpnScoreThresh',
  'boxRoiPool', 'boxHead', 'boxPredictor', 'boxScoreThresh', 'boxNmsThresh', 'boxDetectionsPerImg', 'boxFgIouThresh',
  'boxBgIouThresh', 'boxBatchSizePerImage', 'boxPositiveFraction', 'bboxRegWeights',
] as const;

/** The FPN detectors' anchors: one size per level (32 to 512), aspect ratios 0.5, 1, 2. */
export function defaultAnchorGen(): AnchorGenerator {
  const sizes = [[32], [64], [128], [256], [512]];
  return new AnchorGenerator(sizes, sizes.map(() => [0.5, 1.0, 2.0]));
}

/** The box head of the FPN models: two fully connected layers with ReLU. */
export class TwoMLPHead extends nn.Module {
  fc6: nn.Linear;
  fc7: nn.Linear;

  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = new nn.Linear(inChannels, representationSize);
    this.fc7 = new nn.Linear(representationSize, representationSize);
  }

  /** @param x [K, C, 7, 7] pooled features @returns [K, representationSize] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => F.relu(this.fc7.call(F.relu(this.fc6.call(x.flatten(1))))));
  }
}

/** fasterrcnn_resnet50_fpn_v2's box head: convs (conv-norm-ReLU), flatten, then Linear-ReLU layers. */
export class FastRCNNConvFCHead extends nn.Sequential {
  /**
   * @param inputSize the pooled features' (C, H, W)
   * @param convLayers channels of each 3x3 conv
   * @param fcLayers features of each fully connected layer
   */
  constructor(inputSize: [number, number, number], convLayers: number[], fcLayers: number[], normLayer: NormLayer | null = null) {
    const [inChannels, inHeight, inWidth] = inputSize;
    const blocks: nn.Module[] = [];
    let previous = inChannels;
    for (const current of convLayers) {
      blocks.push(new Conv2dNormActivation(previous, current, { normLayer }));
      previous = current;
    }
    blocks.push(new nn.Flatten());
    previous = previous * inHeight * inWidth;
    for (const current of fcLayers) {
      blocks.push(new nn.Linear(previous, current), new nn.ReLU({ inplace: true }));
      previous = current;
    }
    super(...blocks);
    torch.noGrad(() => {
      for (const layer of this.modules()) {
        if (!(layer instanceof nn.Conv2d)) continue;
        nn.init.kaimingNormal_(layer.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (layer.bias) nn.init.zeros_(layer.bias);
      }
    });
  }
}

/** Class logits and per-class box offsets from each proposal's vector. */
export class FastRCNNPredictor extends nn.Module {
  clsScore: nn.Linear;
  bboxPred: nn.Linear;

  /** @param numClasses background included */
  constructor(inChannels: number, numClasses: number) {
    super();
    this.clsScore = new nn.Linear(inChannels, numClasses);
    this.bboxPred = new nn.Linear(inChannels, numClasses * 4);
  }

  /** @param x [K, C] (or [K, C, 1, 1]) @returns scores [K, numClasses] and offsets [K, numClasses·4] */
  forward(x: Tensor): [Tensor, Tensor] {
    if (x.ndim === 4 && (x.shape[2] !== 1 || x.shape[3] !== 1)) {
      throw new RangeError(`FastRCNNPredictor: x has the wrong shape [${x.shape}]; expected the last two dimensions to be [1, 1]`);
    }
    return torch.tidy(() => {
      const flat = x.flatten(1);
      return [this.clsScore.call(flat), this.bboxPred.call(flat)];
    });
  }
}

/**
 * torchvision's FasterRCNN: GeneralizedRCNN with an RPN over the backbone's maps and RoI Align box
 * heads. Images are [C, H, W] floats in [0, 1], each its own size.
 */
export class FasterRCNN extends GeneralizedRCNN implements Detector {
  constructor(backbone: DetectionBackbone, options: FasterRCNNOptions = {}) {
    if (typeof backbone?.outChannels !== 'number') {
      throw new TypeError('FasterRCNN: the backbone should have an outChannels property: the number of channels of its maps (the same for all levels)');
    }
    const o = options;
    if (o.numClasses !== undefined && o.boxPredictor) throw new RangeError('FasterRCNN: numClasses should be left out when boxPredictor is given');
    if (o.numClasses === undefined && !o.boxPredictor) throw new RangeError('FasterRCNN: give numClasses (background included), or a boxPredictor');
    const outChannels = backbone.outChannels;
    const anchorGenerator = o.rpnAnchorGenerator ?? defaultAnchorGen();
    const rpnHead = o.rpnHead ?? new RPNHead(outChannels, anchorGenerator.numAnchorsPerLocation()[0]);
    const rpn = new RegionProposalNetwork(anchorGenerator, rpnHead, {
      fgIouThresh: o.rpnFgIouThresh ?? 0.7,
      bgIouThresh: o.rpnBgIouThresh ?? 0.3,
      batchSizePerImage: o.rpnBatchSizePerImage ?? 256,
      positiveFraction: o.rpnPositiveFraction ?? 0.5,
      preNmsTopN: { training: o.rpnPreNmsTopNTrain ?? 2000, testing: o.rpnPreNmsTopNTest ?? 1000 },
      postNmsTopN: { training: o.rpnPostNmsTopNTrain ?? 2000, testing: o.rpnPostNmsTopNTest ?? 1000 },
      nmsThresh: o.rpnNmsThresh ?? 0.7,
      scoreThresh: o.rpnScoreThresh ?? 0,
    });
    const boxRoiPool = o.boxRoiPool ?? new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    const resolution = boxRoiPool.outputSize[0];
    const representationSize = 1024;
    const boxHead = o.boxHead ?? new TwoMLPHead(outChannels * resolution ** 2, representationSize);
    const boxPredictor = o.boxPredictor ?? new FastRCNNPredictor(representationSize, o.numClasses!);
    const roiHeads = new RoIHeads(boxRoiPool, boxHead, boxPredictor, {
      fgIouThresh: o.boxFgIouThresh ?? 0.5,
      bgIouThresh: o.boxBgIouThresh ?? 0.5,
      batchSizePerImage: o.boxBatchSizePerImage ?? 512,
      positiveFraction: o.boxPositiveFraction ?? 0.25,
      bboxRegWeights: o.bboxRegWeights,
      scoreThresh: o.boxScoreThresh ?? 0.05,
      nmsThresh: o.boxNmsThresh ?? 0.5,
      detectionsPerImg: o.boxDetectionsPerImg ?? 100,
    });
    const transform = new GeneralizedRCNNTransform(o.minSize ?? 800, o.maxSize ?? 1333, o.imageMean ?? [0.485, 0.456, 0.406], o.imageStd ?? [0.229, 0.224, 0.225], {
      sizeDivisible: o.sizeDivisible,
      fixedSize: o.fixedSize,
      skipResize: o.skipResize,
    });
    super(backbone, rpn, roiHeads, transform);
  }

  /** Classes of the box predictor, background included. */
  get numClasses(): number {
    const predictor = this.roiHeads.boxPredictor;
    if (predictor instanceof FastRCNNPredictor) return predictor.clsScore.outFeatures;
    throw new TypeError(`FasterRCNN: numClasses is unknown for a ${predictor.constructor.name} box predictor`);
  }

  /** torchvision's fine-tuning recipe: a fresh FastRCNNPredictor with the old one's input features. */
  replaceHead(numClasses: number): void {
    const old = this.roiHeads.boxPredictor;
    if (!(old instanceof FastRCNNPredictor)) throw new TypeError(`FasterRCNN.replaceHead: the box predictor is a ${old.constructor.name}, not a FastRCNNPredictor; assign roiHeads.boxPredictor yourself`);
    for (const p of old.parameters()) p.dispose();
    this.roiHeads.boxPredictor = new FastRCNNPredictor(old.clsScore.inFeatures, numClasses);
  }

  /** Files from before torchvision 0.13 name the RPN head's single conv 'rpn.head.conv.weight' (RPNHead version 1). */
  adaptStateDict(stateDict: Map<string, Tensor>): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [key, value] of stateDict) out.set(key.replace(/^rpn\.head\.conv\.(weight|bias)$/, 'rpn.head.conv.0.0.$1'), value);
    // The 2019 COCO file also predates FPN's Conv2dNormActivation blocks (inner_blocks.{i}.weight).
    return upgradeFpnKeys(out);
  }
}

/** torchvision's overwrite_eps: sets the eps of every FrozenBatchNorm2d (0 for the 2019 COCO weights, trained before eps existed). */
export function overwriteEps(model: nn.Module, eps: number): void {
  for (const m of model.modules()) if (m instanceof FrozenBatchNorm2d) (m as { eps: number }).eps = eps;
}

/** createDetector's options plus every FasterRCNN argument. */
export type FasterRCNNBuilderOptions = DetectorOptions & FasterRCNNOptions;

const BUILDER_OPTIONS = ['pretrained', 'pretrainedBackbone', 'trainableBackboneLayers', 'scoreThresh', 'nmsThresh', 'detectionsPerImage', ...FASTER_RCNN_OPTIONS];

/** FasterRCNN's options from a builder's: the registry's names mapped to torchvision's, its own defaults under the caller's. */
function fasterRcnnOptions(name: string, options: FasterRCNNBuilderOptions, defaults: FasterRCNNOptions = {}): FasterRCNNOptions {
  const unknown = Object.keys(options).filter((k) => !(BUILDER_OPTIONS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new RangeError(`${name}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; it takes ${BUILDER_OPTIONS.join(', ')}`);
  const { pretrained: _p, pretrainedBackbone: _b, trainableBackboneLayers: _t, scoreThresh, nmsThresh, detectionsPerImage, ...rest } = options;
  const mapped: FasterRCNNOptions = { ...defaults, ...definedOnly(rest as FasterRCNNOptions) };
  mapped.numClasses = options.numClasses ?? 91;
  mapped.boxScoreThresh = options.boxScoreThresh ?? scoreThresh ?? defaults.boxScoreThresh;
  mapped.boxNmsThresh = options.boxNmsThresh ?? nmsThresh ?? defaults.boxNmsThresh;
  mapped.boxDetectionsPerImg = options.boxDetectionsPerImg ?? detectionsPerImage ?? defaults.boxDetectionsPerImg;
  return mapped;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The ImageNet weights for the backbone, as torchvision's weights_backbone: none when COCO weights
 * follow, else the caller's choice (true: the tag torchvision's builder uses).
 */
function backboneWeights(defaultTag: string, options: DetectorOptions, weights: DetectorWeightsSpec | null): string | false {
  const chosen = weights ? false : (options.pretrainedBackbone ?? false);
  return chosen === true ? defaultTag : chosen;
}

function classifier(name: string, weights: string | false): nn.Module {
  return createModel(name, weights ? { pretrained: weights } : {});
}

/**
 * torchvision's fasterrcnn_resnet50_fpn: ResNet-50 (FrozenBatchNorm2d when pretrained) with an FPN
 * over layer1..layer4 and a max-pool level; 3 backbone stages train by default.
 * @param weights the COCO weights createDetector is about to load (null for none)
 */
export function fasterrcnnResnet50Fpn(options: FasterRCNNBuilderOptions = {}, weights: DetectorWeightsSpec | null = null): FasterRCNN {
  const modelOptions = fasterRcnnOptions('fasterrcnn_resnet50_fpn', options);
  const backboneTag = backboneWeights('imagenet1k_v1', options, weights);
  const isTrained = weights !== null || backboneTag !== false;
  const trainableLayers = validateTrainableLayers(isTrained, options.trainableBackboneLayers, 5, 3);
  const model = classifier('resnet50', backboneTag);
  if (isTrained) replaceBatchNorm(model, frozenBatchNorm2d);
  return new FasterRCNN(resnetFpnExtractor(model as ResNet, trainableLayers), modelOptions);
}

/**
 * torchvision's fasterrcnn_resnet50_fpn_v2 (Li et al. 2021): BatchNorm2d throughout (FPN included),
 * a two-conv RPN head and a four-conv, one-FC box head.
 */
export function fasterrcnnResnet50FpnV2(options: FasterRCNNBuilderOptions = {}, weights: DetectorWeightsSpec | null = null): FasterRCNN {
  fasterRcnnOptions('fasterrcnn_resnet50_fpn_v2', options); // refuses unknown options before anything is built
  const backboneTag = backboneWeights('imagenet1k_v1', options, weights);
  const trainableLayers = validateTrainableLayers(weights !== null || backboneTag !== false, options.trainableBackboneLayers, 5, 3);
  const model = classifier('resnet50', backboneTag);
  const backbone = resnetFpnExtractor(model as ResNet, trainableLayers, { normLayer: batchNorm2d });
  const rpnAnchorGenerator = defaultAnchorGen();
  const defaults: FasterRCNNOptions = {
    rpnAnchorGenerator,
    rpnHead: new RPNHead(backbone.outChannels, rpnAnchorGenerator.numAnchorsPerLocation()[0], 2),
    boxHead: new FastRCNNConvFCHead([backbone.outChannels, 7, 7], [256, 256, 256, 256], [1024], batchNorm2d),
  };
  return new FasterRCNN(backbone, fasterRcnnOptions('fasterrcnn_resnet50_fpn_v2', options, defaults));
}

/** torchvision's _fasterrcnn_mobilenet_v3_large_fpn: MobileNetV3-Large with an FPN over its last two stages, 5 anchor sizes per level. */
function fasterrcnnMobilenetV3LargeFpnWith(name: string, options: FasterRCNNBuilderOptions, weights: DetectorWeightsSpec | null, defaults: FasterRCNNOptions): FasterRCNN {
  const modelOptions = fasterRcnnOptions(name, options, defaults);
  const backboneTag = backboneWeights('imagenet1k_v1', options, weights);
  const isTrained = weights !== null || backboneTag !== false;
  const trainableLayers = validateTrainableLayers(isTrained, options.trainableBackboneLayers, 6, 3);
  const model = classifier('mobilenet_v3_large', backboneTag);
  // torchvision passes norm_layer to mobilenet_v3_large, which replaces its BatchNorm2d(eps=0.001) either way.
  replaceBatchNorm(model, isTrained ? frozenBatchNorm2d : batchNorm2d);
  const backbone = mobilenetExtractor(model as nn.Module & { features: nn.Sequential }, true, trainableLayers);
  const sizes = [0, 1, 2].map(() => [32, 64, 128, 256, 512]);
  return new FasterRCNN(backbone, { rpnAnchorGenerator: new AnchorGenerator(sizes, sizes.map(() => [0.5, 1.0, 2.0])), ...modelOptions });
}

/** torchvision's fasterrcnn_mobilenet_v3_large_fpn (rpnScoreThresh 0.05). */
export function fasterrcnnMobilenetV3LargeFpn(options: FasterRCNNBuilderOptions = {}, weights: DetectorWeightsSpec | null = null): FasterRCNN {
  return fasterrcnnMobilenetV3LargeFpnWith('fasterrcnn_mobilenet_v3_large_fpn', options, weights, { rpnScoreThresh: 0.05 });
}

/** torchvision's fasterrcnn_mobilenet_v3_large_320_fpn: 320-pixel images (max 640), 150 proposals before and after NMS at test time. */
export function fasterrcnnMobilenetV3Large320Fpn(options: FasterRCNNBuilderOptions = {}, weights: DetectorWeightsSpec | null = null): FasterRCNN {
  return fasterrcnnMobilenetV3LargeFpnWith('fasterrcnn_mobilenet_v3_large_320_fpn', options, weights, {
    minSize: 320,
    maxSize: 640,
    rpnPreNmsTopNTest: 150,
    rpnPostNmsTopNTest: 150,
    rpnScoreThresh: 0.05,
  });
}

registerDetector({
  name: 'fasterrcnn_resnet50_fpn',
  family: 'faster_rcnn',
  build: (options, weights) => fasterrcnnResnet50Fpn(options as FasterRCNNBuilderOptions, weights),
  backbone: { model: 'resnet50', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('fasterrcnn_resnet50_fpn_coco-258fb6c6.pth', 37.0, { afterLoad: (m) => overwriteEps(m, 0) })],
  paramCount: 41_755_286,
});
registerDetector({
  name: 'fasterrcnn_resnet50_fpn_v2',
  family: 'faster_rcnn',
  build: (options, weights) => fasterrcnnResnet50FpnV2(options as FasterRCNNBuilderOptions, weights),
  backbone: { model: 'resnet50', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth', 46.7)],
  paramCount: 43_712_278,
});
registerDetector({
  name: 'fasterrcnn_mobilenet_v3_large_fpn',
  family: 'faster_rcnn',
  build: (options, weights) => fasterrcnnMobilenetV3LargeFpn(options as FasterRCNNBuilderOptions, weights),
  backbone: { model: 'mobilenet_v3_large', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth', 32.8)],
  paramCount: 19_386_354,
});
registerDetector({
  name: 'fasterrcnn_mobilenet_v3_large_320_fpn',
  family: 'faster_rcnn',
  build: (options, weights) => fasterrcnnMobilenetV3Large320Fpn(options as FasterRCNNBuilderOptions, weights),
  backbone: { model: 'mobilenet_v3_large', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth', 22.8)],
  paramCount: 19_386_354,
});
