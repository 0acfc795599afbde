// SSD (Liu et al. 2016), as torchvision 0.14's models/detection/ssd.py defines it: backbone feature
// maps → per-map conv heads → default boxes → (train) SSDMatcher + smooth-L1 and cross-entropy with
// 3:1 hard-negative mining, (eval) softmax scores, per-class top-k and batched NMS. Property names
// are torchvision's, so its COCO state dicts load as they are. ssd300_vgg16 is registered here.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { createModel } from '../../models/create.js';
import { VGG } from '../../models/vgg.js';
import { batchedNms, boxIou, clipBoxesToImage, nms } from '../../ops/index.js';
import { validateTrainableLayers } from './backbone-utils.js';
import { BoxCoder } from './box-coder.js';
import { DefaultBoxGenerator } from './default-boxes.js';
import { Matcher } from './matcher.js';
import { backboneTag, checkDegenerateBoxes, checkTargets, featureList, oneStageOptions } from './one-stage.js';
import { cocoWeights, registerDetector, type Detection, type DetectionTarget, type Detector, type DetectorOptions, type DetectorWeightsSpec } from './registry.js';
import { permuteAndFlatten } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';

const F = nn.functional;

/** torchvision's _xavier_init: Xavier-uniform weights and zero biases for every conv in `module`. */
function xavierInit(module: nn.Module): void {
  torch.noGrad(() => {
    for (const m of module.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.xavierUniform_(m.weight);
        if (m.bias) nn.init.constant_(m.bias, 0);
      }
    }
  });
}

/** The outputs of an SSD head: per image and default box, 4 box deltas and the class logits. */
export interface SSDHeadOutputs {
  /** [N, sum HWA, 4] */
  bboxRegression: Tensor;
  /** [N, sum HWA, numClasses] */
  clsLogits: Tensor;
}

/** One module per feature map; each output [N, A·K, H, W] becomes [N, H·W·A, K] and all are concatenated. */
export class SSDScoringHead extends nn.Module {
  constructor(
    public moduleList: nn.ModuleList,
    readonly numColumns: number,
  ) {
    super();
  }

  /** @param x one [N, C_k, H_k, W_k] map per module @returns [N, sum H_k·W_k·A_k, numColumns] */
  forward(x: Tensor[]): Tensor {
    if (x.length !== this.moduleList.length) throw new RangeError(`${this.constructor.name}: got ${x.length} feature maps, it has ${this.moduleList.length} heads`);
    return torch.tidy(() => {
      const results = x.map((features, i) => {
        const out = this.moduleList.at(i).call(features) as Tensor;
        const [n, , h, w] = out.shape;
        return permuteAndFlatten(out, n, this.numColumns, h, w);
      });
      return torch.cat(results, 1);
    });
  }
}

export class SSDClassificationHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[], numClasses: number) {
    const clsLogits = new nn.ModuleList(inChannels.map((c, i) => new nn.Conv2d(c, numClasses * numAnchors[i], 3, { padding: 1 })));
    xavierInit(clsLogits);
    super(clsLogits, numClasses);
  }
}

export class SSDRegressionHead extends SSDScoringHead {
  constructor(inChannels: number[], numAnchors: number[]) {
    const bboxReg = new nn.ModuleList(inChannels.map((c, i) => new nn.Conv2d(c, 4 * numAnchors[i], 3, { padding: 1 })));
    xavierInit(bboxReg);
    super(bboxReg, 4);
  }
}

/** A head with a classification and a regression part, each run on every feature map. */
export interface SSDHeadModule extends nn.Module {
  forward(x: Tensor[]): SSDHeadOutputs;
}

/** torchvision's SSDHead: a 3x3 conv per feature map for the class logits, another for the box deltas. */
export class SSDHead extends nn.Module implements SSDHeadModule {
  classificationHead: SSDScoringHead;
  regressionHead: SSDScoringHead;

  constructor(inChannels: number[], numAnchors: number[], numClasses: number) {
    super();
    this.classificationHead = new SSDClassificationHead(inChannels, numAnchors, numClasses);
    this.regressionHead = new SSDRegressionHead(inChannels, numAnchors);
  }

  forward(x: Tensor[]): SSDHeadOutputs {
    return { bboxRegression: this.regressionHead.call(x), clsLogits: this.classificationHead.call(x) };
  }
}

/**
 * torchvision's SSDMatcher: the Matcher with one threshold and no low-quality matches, after which
 * each ground-truth box also claims the default box it overlaps best.
 */
export class SSDMatcher extends Matcher {
  constructor(threshold: number) {
    super(threshold, threshold, false);
  }

  /** @param matchQualityMatrix [M ground truths, N default boxes] @returns [N] int64: gt index, or -1 / -2 */
  override call(matchQualityMatrix: Tensor): Tensor {
    const matches = super.call(matchQualityMatrix);
    torch.tidy(() => {
      const [, highestQualityPredForeachGt] = matchQualityMatrix.maxDim(1);
      matches.indexPut_([highestQualityPredForeachGt], torch.arange(0, highestQualityPredForeachGt.shape[0], 1, { dtype: 'int64', device: matches.device }));
    });
    return matches;
  }
}

/** A backbone for SSD: feature maps shallow to deep, and their channels (torchvision reads them with a dummy forward). */
export interface SSDBackbone extends nn.Module {
  forward(x: Tensor): Tensor[] | Map<string, Tensor> | Tensor;
  readonly outChannels?: number[];
}

export interface SSDOptions {
  /** Mean and std of the input normalisation (default ImageNet's). */
  imageMean?: number[];
  imageStd?: number[];
  /** Default: an SSDHead over the backbone's channels. */
  head?: SSDHeadModule;
  /** Detections scoring below this are dropped (default 0.01). */
  scoreThresh?: number;
  /** IoU threshold of the per-class NMS (default 0.45). */
  nmsThresh?: number;
  /** Detections kept per image after NMS (default 200). */
  detectionsPerImg?: number;
  /** IoU at which a default box matches a ground-truth box in training (default 0.5). */
  iouThresh?: number;
  /** Best-scoring boxes per class kept before NMS (default 400). */
  topkCandidates?: number;
  /** Positives' share of the classification loss's samples: 0.25 mines 3 negatives per positive. */
  positiveFraction?: number;
  /** How replaceHead builds a head for other classes (default an SSDHead; SSDlite passes its own). */
  headFactory?: (inChannels: number[], numAnchors: number[], numClasses: number) => SSDHeadModule;
}

/** torchvision's retrieve_out_channels: the channels of each feature map for a zero image of `size` (W, H). */
export function retrieveOutChannels(model: nn.Module, size: [number, number]): number[] {
  const training = model.training;
  model.eval();
  try {
    return torch.tidy(() => torch.noGrad(() => featureList(model.call(torch.zeros([1, 3, size[1], size[0]], { device: model.parameters()[0]?.device })) as Tensor[]).map((f) => f.shape[1])));
  } finally {
    model.train(training);
  }
}

/**
 * torchvision's SSD. In train mode `forward(images, targets)` returns `{ bbox_regression, classification }`;
 * in eval mode `forward(images)` returns per image `{ boxes, scores, labels }` in its own pixels.
 */
export class SSD extends nn.Module implements Detector {
  backbone: SSDBackbone;
  anchorGenerator: DefaultBoxGenerator;
  head: SSDHeadModule;
  transform: GeneralizedRCNNTransform;
  readonly boxCoder = new BoxCoder([10.0, 10.0, 5.0, 5.0]);
  readonly proposalMatcher: Matcher;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  topkCandidates: number;
  readonly negToPosRatio: number;
  numClasses: number;
  /** Channels of the backbone's maps, default boxes per location and the head's builder, for replaceHead. */
  private readonly headShape: { inChannels: number[]; numAnchors: number[]; factory: NonNullable<SSDOptions['headFactory']> };

  /**
   * @param size (W, H) every image is resized to
   * @param numClasses classes, background included
   */
  constructor(backbone: SSDBackbone, anchorGenerator: DefaultBoxGenerator, size: [number, number], numClasses: number, options: SSDOptions = {}) {
    super();
    const { imageMean = [0.485, 0.456, 0.406], imageStd = [0.229, 0.224, 0.225], scoreThresh = 0.01, nmsThresh = 0.45, detectionsPerImg = 200, iouThresh = 0.5, topkCandidates = 400, positiveFraction = 0.25 } = options;
    this.backbone = backbone;
    this.anchorGenerator = anchorGenerator;
    const inChannels = backbone.outChannels ?? retrieveOutChannels(backbone, size);
    const numAnchors = anchorGenerator.numAnchorsPerLocation();
    if (inChannels.length !== numAnchors.length) {
      throw new RangeError(`SSD: the backbone gives ${inChannels.length} feature maps but the anchor generator has aspect ratios for ${numAnchors.length}`);
    }
    const factory = options.headFactory ?? ((c: number[], a: number[], k: number) => new SSDHead(c, a, k));
    this.headShape = { inChannels, numAnchors, factory };
    this.head = options.head ?? factory(inChannels, numAnchors, numClasses);
    this.proposalMatcher = new SSDMatcher(iouThresh);
    this.transform = new GeneralizedRCNNTransform(Math.min(...size), Math.max(...size), imageMean, imageStd, { sizeDivisible: 1, fixedSize: size });
    this.scoreThresh = scoreThresh;
    this.nmsThresh = nmsThresh;
    this.detectionsPerImg = detectionsPerImg;
    this.topkCandidates = topkCandidates;
    this.negToPosRatio = (1.0 - positiveFraction) / positiveFraction;
    this.numClasses = numClasses;
  }

  /** A fresh head (of the kind it was built with) for `numClasses`; the backbone and the default boxes stay. */
  replaceHead(numClasses: number): void {
    const { inChannels, numAnchors, factory } = this.headShape;
    this.head = factory(inChannels, numAnchors, numClasses);
    this.numClasses = numClasses;
  }

  /**
   * @param images [C, H, W] per image, values in [0, 1]
   * @param targets per image `{ boxes [N, 4] xyxy, labels [N] int64 }` (train mode)
   */
  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor> {
    if (this.training) checkTargets(targets, images.length, 'SSD');
    const originalImageSizes = images.map((img) => img.shape.slice(-2) as [number, number]);
    return torch.tidy(() => {
      const [imageList, transformed] = this.transform.call(images, this.training ? targets : undefined);
      if (transformed) checkDegenerateBoxes(transformed, 'SSD');
      const features = featureList(this.backbone.call(imageList.tensors));
      const headOutputs = this.head.call(features);
      const anchors = this.anchorGenerator.call(imageList, features);
      if (this.training) {
        const matchedIdxs = transformed!.map((t, i) =>
          t.boxes.numel() === 0 ? torch.full([anchors[i].shape[0]], -1, { dtype: 'int64', device: anchors[i].device }) : this.proposalMatcher.call(boxIou(t.boxes, anchors[i])),
        );
        return this.computeLoss(transformed!, headOutputs, anchors, matchedIdxs);
      }
      const detections = this.postprocessDetections(headOutputs, anchors, imageList.imageSizes);
      return this.transform.postprocess(detections, imageList.imageSizes, originalImageSizes);
    });
  }

  /** Smooth-L1 over matched boxes and cross-entropy over positives plus the 3x hardest negatives, both per positive. */
  computeLoss(targets: DetectionTarget[], headOutputs: SSDHeadOutputs, anchors: Tensor[], matchedIdxs: Tensor[]): Record<string, Tensor> {
    const { bboxRegression, clsLogits } = headOutputs;
    let numForeground = 0;
    const bboxLoss: Tensor[] = [];
    const clsTargets: Tensor[] = [];
    targets.forEach((target, i) => {
      const matched = matchedIdxs[i];
      const foregroundIdxs = matched.ge(0).nonzero().squeezeDim(1);
      const foregroundMatchedIdxs = matched.index([foregroundIdxs]);
      numForeground += foregroundMatchedIdxs.numel();
      const matchedGtBoxes = target.boxes.index([foregroundMatchedIdxs]);
      const regression = bboxRegression.select(0, i).index([foregroundIdxs]);
      const targetRegression = this.boxCoder.encodeSingle(matchedGtBoxes, anchors[i].index([foregroundIdxs]));
      bboxLoss.push(F.smoothL1Loss(regression, targetRegression, { reduction: 'sum' }));
      const gtClassesTarget = torch.zeros([clsLogits.shape[1]], { dtype: target.labels.dtype, device: target.labels.device });
      gtClassesTarget.indexPut_([foregroundIdxs], target.labels.index([foregroundMatchedIdxs]));
      clsTargets.push(gtClassesTarget);
    });
    const clsTarget = torch.stack(clsTargets);
    const numClasses = clsLogits.shape[2];
    const clsLoss = F.crossEntropy(clsLogits.view([-1, numClasses]), clsTarget.view([-1]), { reduction: 'none' }).view(clsTarget.shape);
    // Hard negative mining: per image, the negatives with the highest loss, negToPosRatio per positive.
    const foregroundMask = clsTarget.gt(0);
    const numNegative = foregroundMask.sum(1, { keepdim: true }).mul(this.negToPosRatio);
    const negativeLoss = clsLoss.detach().maskedFill(foregroundMask, -Infinity);
    const [, idx] = negativeLoss.sort(1, true);
    const backgroundMask = idx.sort(1)[1].lt(numNegative);
    const n = Math.max(1, numForeground);
    return {
      bbox_regression: torch.stack(bboxLoss).sum().div(n),
      classification: clsLoss.index([foregroundMask]).sum().add(clsLoss.index([backgroundMask]).sum()).div(n),
    };
  }

  /** Per image: decode, clip, per class score threshold and top-k, batched NMS, best detectionsPerImg. */
  postprocessDetections(headOutputs: SSDHeadOutputs, imageAnchors: Tensor[], imageShapes: [number, number][]): Detection[] {
    const predScores = F.softmax(headOutputs.clsLogits, -1);
    const numClasses = predScores.shape[2];
    return imageShapes.map((imageShape, i) =>
      torch.tidy(() => {
        const boxes = clipBoxesToImage(this.boxCoder.decodeSingle(headOutputs.bboxRegression.select(0, i), imageAnchors[i]), imageShape);
        const scores = predScores.select(0, i);
        // Per class the candidates' box indices, and one gather of the boxes after the loop: the
        // same candidates in the same order as torchvision's, with fewer and cheaper ops per class
        // (with 91 classes the loop's per-op cost counts).
        const imageBoxIdxs: Tensor[] = [];
        const imageScores: Tensor[] = [];
        const imageLabels: Tensor[] = [];
        const counts: number[] = [];
        for (let label = 1; label < numClasses; label++) {
          const score = scores.select(1, label);
          const keepIdxs = score.gt(this.scoreThresh).nonzero().view([-1]);
          const [topScores, idxs] = score.index([keepIdxs]).topk(Math.min(this.topkCandidates, keepIdxs.shape[0]));
          imageBoxIdxs.push(keepIdxs.index([idxs]));
          imageScores.push(topScores);
          imageLabels.push(torch.full([topScores.shape[0]], label, { dtype: 'int64', device: topScores.device }));
          counts.push(topScores.shape[0]);
        }
        const allBoxes = boxes.index([torch.cat(imageBoxIdxs, 0)]);
        const allScores = torch.cat(imageScores, 0);
        const allLabels = torch.cat(imageLabels, 0);
        const keep = this.batchedNmsByClass(allBoxes, allScores, allLabels, counts).slice({ dim: 0, end: this.detectionsPerImg });
        return { boxes: allBoxes.index([keep]), scores: allScores.index([keep]), labels: allLabels.index([keep]) };
      }),
    );
  }

  /**
   * batchedNms of candidates already grouped by class (`counts[c]` consecutive rows each). Where
   * batchedNms runs one NMS per class (over 4000 coordinates on the CPU, 20000 on a GPU), each group
   * goes to nms as it is instead of being found again by comparing every label with each class (a
   * third of SSDlite's postprocess); the kept indices and their order are batchedNms's.
   * @returns int64 indices of the kept candidates, by decreasing score
   */
  private batchedNmsByClass(boxes: Tensor, scores: Tensor, labels: Tensor, counts: number[]): Tensor {
    if (boxes.numel() <= (boxes.device === 'cpu' ? 4000 : 20000)) return batchedNms(boxes, scores, labels, this.nmsThresh);
    return torch.tidy(() => {
      const kept: Tensor[] = [];
      let offset = 0;
      for (const count of counts) {
        if (count > 0) kept.push(nms(boxes.narrow(0, offset, count), scores.narrow(0, offset, count), this.nmsThresh).add(offset));
        offset += count;
      }
      // In index order, then by decreasing score, as batchedNms orders them (ties included).
      const [keepIndices] = torch.cat(kept, 0).sort(0);
      const [, order] = scores.index([keepIndices]).sort(-1, true);
      return keepIndices.index([order]);
    });
  }
}

/**
 * torchvision's SSDFeatureExtractorVGG: VGG's features to conv4_3 (L2-normalised and rescaled by a
 * learned per-channel weight initialised to 20), then conv5 with the atrous FC6/FC7, then the extra
 * stride-2 blocks of the paper's Fig. 2 (one more for SSD512).
 */
export class SSDFeatureExtractorVGG extends nn.Module implements SSDBackbone {
  scaleWeight: nn.Parameter;
  features: nn.Sequential;
  extra: nn.ModuleList;
  readonly outChannels: number[];

  /** @param backbone VGG's `features` (batch norm or not) */
  constructor(backbone: nn.Sequential, highres: boolean) {
    super();
    const layers = [...backbone];
    const pools = layers.flatMap((m, i) => (m instanceof nn.MaxPool2d ? [i] : []));
    if (pools.length !== 5) throw new RangeError(`SSDFeatureExtractorVGG: expected VGG features with 5 max-pools, got ${pools.length}`);
    const [, , maxpool3, maxpool4] = pools;
    // ceil_mode on maxpool3 gives the paper's 38x38 conv4_3 map for 300x300 inputs.
    layers[maxpool3] = new nn.MaxPool2d(2, { stride: 2, ceilMode: true });
    this.scaleWeight = new nn.Parameter(torch.ones([512]).mul(20));
    this.features = new nn.Sequential(...layers.slice(0, maxpool4));
    const block = (inC: number, midC: number, outC: number, conv: { kernel: number; stride?: number; padding?: number }): nn.Sequential =>
      new nn.Sequential(
        new nn.Conv2d(inC, midC, 1),
        new nn.ReLU({ inplace: true }),
        new nn.Conv2d(midC, outC, conv.kernel, { stride: conv.stride ?? 1, padding: conv.padding ?? 0 }),
        new nn.ReLU({ inplace: true }),
      );
    const extra = new nn.ModuleList([
      block(1024, 256, 512, { kernel: 3, padding: 1, stride: 2 }), // conv8_2
      block(512, 128, 256, { kernel: 3, padding: 1, stride: 2 }), // conv9_2
      block(256, 128, 256, { kernel: 3 }), // conv10_2
      block(256, 128, 256, { kernel: 3 }), // conv11_2
    ]);
    if (highres) extra.append(block(256, 128, 256, { kernel: 4 })); // conv12_2, SSD512
    xavierInit(extra);
    const fc = new nn.Sequential(
      new nn.MaxPool2d(3, { stride: 1, padding: 1, ceilMode: false }), // the modified pool5
      new nn.Conv2d(512, 1024, 3, { padding: 6, dilation: 6 }), // FC6, atrous
      new nn.ReLU({ inplace: true }),
      new nn.Conv2d(1024, 1024, 1), // FC7
      new nn.ReLU({ inplace: true }),
    );
    xavierInit(fc);
    extra.insert(0, new nn.Sequential(...layers.slice(maxpool4, -1), fc)); // conv5_3, without pool5
    this.extra = extra;
    this.outChannels = [512, 1024, 512, 256, 256, 256, ...(highres ? [256] : [])];
  }

  /** @param x [N, 3, H, W] @returns conv4_3 (rescaled), FC7 and the extra blocks' maps */
  forward(x: Tensor): Tensor[] {
    let h = this.features.call(x);
    const output = [this.scaleWeight.view([1, -1, 1, 1]).mul(F.normalize(h))];
    for (const block of this.extra) {
      h = block.call(h) as Tensor;
      output.push(h);
    }
    return output;
  }
}

/**
 * torchvision's _vgg_extractor: freezes all but the last `trainableLayers` of VGG's 5 stages, then
 * wraps its features for SSD.
 */
export function vggExtractor(backbone: VGG, highres: boolean, trainableLayers: number): SSDFeatureExtractorVGG {
  const layers = [...backbone.features];
  const stageIndices = [0, ...layers.flatMap((m, i) => (m instanceof nn.MaxPool2d ? [i] : [])).slice(0, -1)];
  const numStages = stageIndices.length;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > numStages) {
    throw new RangeError(`trainableBackboneLayers should be in the range [0, ${numStages}], got ${trainableLayers}`);
  }
  const freezeBefore = trainableLayers === 0 ? layers.length : stageIndices[numStages - trainableLayers];
  for (const m of layers.slice(0, freezeBefore)) for (const p of m.parameters()) p.requiresGrad_(false);
  return new SSDFeatureExtractorVGG(backbone.features, highres);
}

export interface SSD300Options extends DetectorOptions, Omit<SSDOptions, 'head' | 'headFactory'> {}

/** SSDOptions a builder passes through from createDetector's options. */
export const SSD_OPTIONS = ['imageMean', 'imageStd', 'detectionsPerImg', 'iouThresh', 'topkCandidates', 'positiveFraction'] as const;

/** SSD's options from a builder's; its input size is fixed, so minSize / maxSize are refused, as torchvision refuses them. */
export function ssdOptions(name: string, options: Record<string, unknown>): SSDOptions {
  if (options.minSize !== undefined || options.maxSize !== undefined) {
    throw new RangeError(`${name}: the input size is fixed, so minSize and maxSize do not apply; resize images yourself to change what it sees`);
  }
  return oneStageOptions<SSDOptions>(name, options, SSD_OPTIONS);
}

/**
 * torchvision's ssd300_vgg16: VGG-16 features, default boxes over 6 maps at steps 8..300, 300x300
 * inputs scaled as the amdegroot backbone was trained (0-255 minus the mean).
 */
export function ssd300Vgg16(options: SSD300Options = {}, weights: DetectorWeightsSpec | null = null): SSD {
  const { numClasses = 91, pretrained: _pretrained, pretrainedBackbone, trainableBackboneLayers, ...rest } = options;
  const settings = ssdOptions('ssd300_vgg16', rest);
  const tag = backboneTag(pretrainedBackbone, weights, 'imagenet1k_features');
  const trainable = validateTrainableLayers(Boolean(weights) || tag !== false, trainableBackboneLayers, 5, 4);
  const vgg = createModel('vgg16', tag === false ? {} : { pretrained: tag }) as VGG;
  const backbone = vggExtractor(vgg, false, trainable);
  // The classifier (102M parameters) is not part of SSD: free it now rather than at the next GC.
  for (const p of vgg.classifier.parameters()) p.dispose();
  const anchorGenerator = new DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], {
    scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
    steps: [8, 16, 32, 64, 100, 300],
  });
  return new SSD(backbone, anchorGenerator, [300, 300], numClasses, {
    imageMean: [0.48235, 0.45882, 0.40784],
    imageStd: [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0],
    ...settings,
  });
}

registerDetector({
  name: 'ssd300_vgg16',
  family: 'ssd',
  build: (options, weights) => ssd300Vgg16(options, weights),
  backbone: { model: 'vgg16', weights: 'imagenet1k_features' },
  weights: [cocoWeights('ssd300_vgg16_coco-b556d3b4.pth', 25.1)],
  paramCount: 35_641_826,
});
