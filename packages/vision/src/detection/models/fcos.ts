// FCOS (Tian et al. 2019/2020), as torchvision 0.14's models/detection/fcos.py defines it: one
// anchor point per FPN cell (P3–P7), GroupNorm conv towers predicting class logits, (l, t, r, b)
// distances and centerness; in training, centre sampling (radius 1.5 strides) with per-level size
// ranges, focal + GIoU + centerness BCE losses. Property names are torchvision's, so its COCO state dicts load.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { NormLayer } from '../../layers/conv-norm-activation.js';
import { batchedNms, clipBoxesToImage, generalizedBoxIouLoss, sigmoidFocalLoss, LastLevelP6P7 } from '../../ops/index.js';
import { AnchorGenerator } from './anchor-utils.js';
import { resnetFpnExtractor, validateTrainableLayers } from './backbone-utils.js';
import { BoxLinearCoder } from './box-linear-coder.js';
import { cocoWeights, registerDetector, type Detection, type DetectionTarget, type Detector, type DetectorOptions, type DetectorWeightsSpec } from './registry.js';
import { backboneTag, checkDegenerateBoxes, checkTargets, featureList, oneStageOptions, upgradeFpnKeys } from './one-stage.js';
import { anchorAndLabel, permuteToNHWAK, resnet50Backbone, splitLevels, type FpnBackbone } from './retinanet.js';
import { GeneralizedRCNNTransform } from './transform.js';

const F = nn.functional;

/** Outputs of FCOS's head: per image and anchor point. */
export interface FCOSHeadOutputs {
  /** [N, sum HW, numClasses] */
  clsLogits: Tensor;
  /** [N, sum HW, 4] (l, t, r, b) in anchor sizes, after ReLU */
  bboxRegression: Tensor;
  /** [N, sum HW, 1] centerness logits */
  bboxCtrness: Tensor;
}

/** `numConvs` × (3x3 conv with bias, norm, ReLU), flat as torchvision's (conv.0, conv.1, conv.2, conv.3, ...). */
function tower(inChannels: number, numConvs: number, normLayer: NormLayer): nn.Sequential {
  const layers: nn.Module[] = [];
  for (let i = 0; i < numConvs; i++) layers.push(new nn.Conv2d(inChannels, inChannels, 3, { stride: 1, padding: 1 }), normLayer(inChannels), new nn.ReLU());
  return new nn.Sequential(...layers);
}

/** N(0, 0.01) weights and zero biases for the tower's convs (its direct children, as torchvision loops). */
function initTower(conv: nn.Sequential): void {
  for (const layer of conv) {
    if (layer instanceof nn.Conv2d) {
      nn.init.normal_(layer.weight, 0, 0.01);
      nn.init.constant_(layer.bias!, 0);
    }
  }
}

const groupNorm32: NormLayer = (c) => new nn.GroupNorm(32, c);

export interface FCOSTowerOptions {
  numConvs?: number;
  /** Default GroupNorm with 32 groups. */
  normLayer?: NormLayer;
}

/** torchvision's FCOSClassificationHead: a conv tower and K logits per point, biased to `priorProbability`. */
export class FCOSClassificationHead extends nn.Module {
  readonly numClasses: number;
  readonly numAnchors: number;
  conv: nn.Sequential;
  clsLogits: nn.Conv2d;

  constructor(inChannels: number, numAnchors: number, numClasses: number, options: FCOSTowerOptions & { priorProbability?: number } = {}) {
    super();
    const { numConvs = 4, priorProbability = 0.01, normLayer = groupNorm32 } = options;
    this.numClasses = numClasses;
    this.numAnchors = numAnchors;
    this.conv = tower(inChannels, numConvs, normLayer);
    torch.noGrad(() => initTower(this.conv));
    this.clsLogits = new nn.Conv2d(inChannels, numAnchors * numClasses, 3, { stride: 1, padding: 1 });
    torch.noGrad(() => {
      nn.init.normal_(this.clsLogits.weight, 0, 0.01);
      nn.init.constant_(this.clsLogits.bias!, -Math.log((1 - priorProbability) / priorProbability));
    });
  }

  /** @param x per level [N, C, H, W] @returns [N, sum HWA, numClasses] */
  forward(x: Tensor[]): Tensor {
    return torch.tidy(() => torch.cat(x.map((features) => permuteToNHWAK(this.clsLogits.call(this.conv.call(features)), this.numClasses)), 1));
  }
}

/** torchvision's FCOSRegressionHead: one conv tower for the box distances (ReLU'd) and the centerness logit. */
export class FCOSRegressionHead extends nn.Module {
  conv: nn.Sequential;
  bboxReg: nn.Conv2d;
  bboxCtrness: nn.Conv2d;

  constructor(inChannels: number, numAnchors: number, options: FCOSTowerOptions = {}) {
    super();
    const { numConvs = 4, normLayer = groupNorm32 } = options;
    this.conv = tower(inChannels, numConvs, normLayer);
    this.bboxReg = new nn.Conv2d(inChannels, numAnchors * 4, 3, { stride: 1, padding: 1 });
    this.bboxCtrness = new nn.Conv2d(inChannels, numAnchors, 3, { stride: 1, padding: 1 });
    torch.noGrad(() => {
      for (const layer of [this.bboxReg, this.bboxCtrness]) {
        nn.init.normal_(layer.weight, 0, 0.01);
        nn.init.zeros_(layer.bias!);
      }
      initTower(this.conv);
    });
  }

  /** @param x per level [N, C, H, W] @returns [N, sum HWA, 4] distances and [N, sum HWA, 1] centerness logits */
  forward(x: Tensor[]): [Tensor, Tensor] {
    return torch.tidy(() => {
      const regression: Tensor[] = [];
      const ctrness: Tensor[] = [];
      for (const features of x) {
        const bboxFeature = this.conv.call(features);
        regression.push(permuteToNHWAK(F.relu(this.bboxReg.call(bboxFeature)), 4));
        ctrness.push(permuteToNHWAK(this.bboxCtrness.call(bboxFeature), 1));
      }
      return [torch.cat(regression, 1), torch.cat(ctrness, 1)];
    });
  }
}

/** torchvision's FCOSHead: the two towers and FCOS's three losses. */
export class FCOSHead extends nn.Module {
  readonly boxCoder = new BoxLinearCoder(true);
  classificationHead: FCOSClassificationHead;
  regressionHead: FCOSRegressionHead;

  constructor(inChannels: number, numAnchors: number, numClasses: number, numConvs = 4) {
    super();
    this.classificationHead = new FCOSClassificationHead(inChannels, numAnchors, numClasses, { numConvs });
    this.regressionHead = new FCOSRegressionHead(inChannels, numAnchors, { numConvs });
  }

  /**
   * Focal loss over every point, GIoU over the positives' decoded boxes, and BCE of the centerness
   * against sqrt(min(l,r)/max(l,r) · min(t,b)/max(t,b)) of the matched box, each per positive.
   * @param matchedIdxs per image, [sum HW] matched gt index or -1
   */
  computeLoss(targets: DetectionTarget[], headOutputs: FCOSHeadOutputs, anchors: Tensor[], matchedIdxs: Tensor[]): Record<string, Tensor> {
    const { clsLogits, bboxRegression, bboxCtrness } = headOutputs;
    const gtClasses: Tensor[] = [];
    const gtBoxes: Tensor[] = [];
    targets.forEach((target, i) => {
      const matched = matchedIdxs[i];
      const n = matched.shape[0];
      let classes: Tensor;
      let boxes: Tensor;
      if (target.labels.shape[0] === 0) {
        classes = torch.zeros([n], { dtype: target.labels.dtype, device: matched.device });
        boxes = torch.zeros([n, 4], { dtype: target.boxes.dtype, device: matched.device });
      } else {
        const clipped = matched.clamp(0);
        classes = target.labels.index([clipped]);
        boxes = target.boxes.index([clipped]);
      }
      gtClasses.push(classes.maskedFill(matched.lt(0), -1)); // background
      gtBoxes.push(boxes);
    });
    const allGtBoxes = torch.stack(gtBoxes);
    const allGtClasses = torch.stack(gtClasses);
    const allAnchors = torch.stack(anchors);
    const foreground = allGtClasses.ge(0);
    const numForeground = Math.max(1, foreground.sum().item());
    // One-hot targets for the positives' classes.
    const fgIdxs = foreground.nonzero();
    const oneHot = torch.zerosLike(clsLogits);
    oneHot.indexPut_([fgIdxs.select(1, 0), fgIdxs.select(1, 1), allGtClasses.index([foreground])], torch.tensor(1.0, { dtype: clsLogits.dtype, device: clsLogits.device }));
    const lossCls = sigmoidFocalLoss(clsLogits, oneHot, { reduction: 'sum' });
    const predBoxes = this.boxCoder.decode(bboxRegression, allAnchors);
    const lossBboxReg = generalizedBoxIouLoss(predBoxes.index([foreground]), allGtBoxes.index([foreground]), { reduction: 'sum' });
    const bboxRegTargets = this.boxCoder.encode(allAnchors, allGtBoxes);
    let gtCtrness: Tensor;
    if (bboxRegTargets.shape[0] === 0) gtCtrness = torch.zeros(bboxRegTargets.shape.slice(0, -1), { dtype: bboxRegTargets.dtype, device: bboxRegTargets.device });
    else {
      const pick = (cols: number[]) => bboxRegTargets.indexSelect(-1, torch.tensor(cols, { dtype: 'int64', device: bboxRegTargets.device }));
      const leftRight = pick([0, 2]);
      const topBottom = pick([1, 3]);
      const ratio = (t: Tensor) => t.amin({ dim: -1 }).div(t.amax({ dim: -1 }));
      gtCtrness = ratio(leftRight).mul(ratio(topBottom)).sqrt();
    }
    const predCenterness = bboxCtrness.squeezeDim(2);
    const lossCtrness = F.binaryCrossEntropyWithLogits(predCenterness.index([foreground]), gtCtrness.index([foreground]), { reduction: 'sum' });
    return {
      classification: lossCls.div(numForeground),
      bbox_regression: lossBboxReg.div(numForeground),
      bbox_ctrness: lossCtrness.div(numForeground),
    };
  }

  forward(x: Tensor[]): FCOSHeadOutputs {
    const clsLogits = this.classificationHead.call(x);
    const [bboxRegression, bboxCtrness] = this.regressionHead.call(x);
    return { clsLogits, bboxRegression, bboxCtrness };
  }
}

export interface FCOSOptions {
  minSize?: number | number[];
  maxSize?: number;
  imageMean?: number[];
  imageStd?: number[];
  /** One anchor per cell, its size the level's stride (default 8, 16, 32, 64, 128 for P3..P7). */
  anchorGenerator?: AnchorGenerator;
  head?: FCOSHead;
  /** A point is a positive of a box only within this many strides of the box's centre (default 1.5). */
  centerSamplingRadius?: number;
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  topkCandidates?: number;
  sizeDivisible?: number;
}

/** FCOSOptions a builder passes through from createDetector's options. */
export const FCOS_OPTIONS = ['minSize', 'maxSize', 'imageMean', 'imageStd', 'detectionsPerImg', 'centerSamplingRadius', 'topkCandidates', 'sizeDivisible'] as const;

/**
 * torchvision's FCOS. In train mode `forward(images, targets)` returns `{ classification, bbox_regression,
 * bbox_ctrness }`; in eval mode `forward(images)` returns per image `{ boxes, scores, labels }` in its own pixels.
 */
export class FCOS extends nn.Module implements Detector {
  backbone: FpnBackbone;
  anchorGenerator: AnchorGenerator;
  head: FCOSHead;
  readonly boxCoder = new BoxLinearCoder(true);
  transform: GeneralizedRCNNTransform;
  centerSamplingRadius: number;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  topkCandidates: number;
  numClasses: number;

  constructor(backbone: FpnBackbone, numClasses: number, options: FCOSOptions = {}) {
    super();
    const { minSize = 800, maxSize = 1333, imageMean = [0.485, 0.456, 0.406], imageStd = [0.229, 0.224, 0.225], centerSamplingRadius = 1.5, scoreThresh = 0.2, nmsThresh = 0.6, detectionsPerImg = 100, topkCandidates = 1000 } = options;
    if (typeof backbone.outChannels !== 'number') throw new TypeError('FCOS: the backbone should have outChannels, the channels of every feature map (256 for an FPN)');
    this.backbone = backbone;
    this.anchorGenerator = options.anchorGenerator ?? new AnchorGenerator([[8], [16], [32], [64], [128]], [[1.0], [1.0], [1.0], [1.0], [1.0]]);
    if (this.anchorGenerator.numAnchorsPerLocation()[0] !== 1) {
      throw new RangeError(`FCOS: the anchor generator should give one anchor per location, it gives ${this.anchorGenerator.numAnchorsPerLocation()[0]}`);
    }
    this.head = options.head ?? new FCOSHead(backbone.outChannels, 1, numClasses);
    this.transform = new GeneralizedRCNNTransform(minSize, maxSize, imageMean, imageStd, { sizeDivisible: options.sizeDivisible ?? 32 });
    this.centerSamplingRadius = centerSamplingRadius;
    this.scoreThresh = scoreThresh;
    this.nmsThresh = nmsThresh;
    this.detectionsPerImg = detectionsPerImg;
    this.topkCandidates = topkCandidates;
    this.numClasses = numClasses;
  }

  /** A fresh head for `numClasses`; the backbone stays. */
  replaceHead(numClasses: number): void {
    this.head = new FCOSHead(this.backbone.outChannels, 1, numClasses);
    this.numClasses = numClasses;
  }

  /** torchvision's FPN key upgrade for files saved before 0.13, such as fcos_resnet50_fpn's COCO weights. */
  adaptStateDict(stateDict: Map<string, Tensor>): Map<string, Tensor> {
    return upgradeFpnKeys(stateDict);
  }

  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor> {
    if (this.training) checkTargets(targets, images.length, 'FCOS');
    const originalImageSizes = images.map((img) => img.shape.slice(-2) as [number, number]);
    return torch.tidy(() => {
      const [imageList, transformed] = this.transform.call(images, this.training ? targets : undefined);
      if (transformed) checkDegenerateBoxes(transformed, 'FCOS');
      const features = featureList(this.backbone.call(imageList.tensors));
      const headOutputs = this.head.call(features);
      const anchors = this.anchorGenerator.call(imageList, features);
      const numAnchorsPerLevel = features.map((f) => f.shape[2] * f.shape[3]);
      if (this.training) return this.computeLoss(transformed!, headOutputs, anchors, numAnchorsPerLevel);
      const split = {
        clsLogits: splitLevels(headOutputs.clsLogits, numAnchorsPerLevel),
        bboxRegression: splitLevels(headOutputs.bboxRegression, numAnchorsPerLevel),
        bboxCtrness: splitLevels(headOutputs.bboxCtrness, numAnchorsPerLevel),
      };
      const detections = this.postprocessDetections(split, anchors.map((a) => a.splitWithSizes(numAnchorsPerLevel, 0)), imageList.imageSizes);
      return this.transform.postprocess(detections, imageList.imageSizes, originalImageSizes);
    });
  }

  /**
   * FCOS's assignment: a point matches a box when it lies inside it, within centerSamplingRadius
   * strides of its centre, and the box's largest distance from it is in the level's range
   * (4..8 strides; no lower bound on the first level, no upper on the last); among several, the smallest box.
   */
  computeLoss(targets: DetectionTarget[], headOutputs: FCOSHeadOutputs, anchors: Tensor[], numAnchorsPerLevel: number[]): Record<string, Tensor> {
    const matchedIdxs = targets.map((target, i) => {
      const anchorsPerImage = anchors[i];
      if (target.boxes.numel() === 0) return torch.full([anchorsPerImage.shape[0]], -1, { dtype: 'int64', device: anchorsPerImage.device });
      const gtBoxes = target.boxes;
      const gtCenters = gtBoxes.narrow(1, 0, 2).add(gtBoxes.narrow(1, 2, 2)).div(2);
      const anchorCenters = anchorsPerImage.narrow(1, 0, 2).add(anchorsPerImage.narrow(1, 2, 2)).div(2);
      const anchorSizes = anchorsPerImage.select(1, 2).sub(anchorsPerImage.select(1, 0));
      let pairwiseMatch = anchorCenters.unsqueeze(1).sub(gtCenters.unsqueeze(0)).abs().amax({ dim: 2 }).lt(anchorSizes.unsqueeze(1).mul(this.centerSamplingRadius));
      const x = anchorCenters.select(1, 0).unsqueeze(1);
      const y = anchorCenters.select(1, 1).unsqueeze(1);
      const [x0, y0, x1, y1] = [0, 1, 2, 3].map((c) => gtBoxes.select(1, c).unsqueeze(0));
      const pairwiseDist = torch.stack([x.sub(x0), y.sub(y0), x1.sub(x), y1.sub(y)], 2);
      pairwiseMatch = pairwiseMatch.logicalAnd(pairwiseDist.amin({ dim: 2 }).gt(0));
      const n = anchorSizes.shape[0];
      const first = numAnchorsPerLevel[0];
      const last = numAnchorsPerLevel[numAnchorsPerLevel.length - 1];
      const on = { dtype: anchorSizes.dtype, device: anchorSizes.device };
      const range = (start: number, end: number) => torch.arange(start, end, 1, { dtype: 'int64', device: on.device });
      const lowerBound = anchorSizes.mul(4).indexPut([range(0, first)], torch.tensor(0, on));
      const upperBound = anchorSizes.mul(8).indexPut([range(n - last, n)], torch.tensor(Infinity, on));
      const maxDist = pairwiseDist.amax({ dim: 2 });
      pairwiseMatch = pairwiseMatch.logicalAnd(maxDist.gt(lowerBound.unsqueeze(1))).logicalAnd(maxDist.lt(upperBound.unsqueeze(1)));
      // The smallest matching box wins: its 1e8 - area is the largest.
      const gtAreas = gtBoxes.select(1, 2).sub(gtBoxes.select(1, 0)).mul(gtBoxes.select(1, 3).sub(gtBoxes.select(1, 1)));
      const weighted = pairwiseMatch.to('float32').mul(gtAreas.unsqueeze(0).neg().add(1e8));
      const [minValues, matchedIdx] = weighted.maxDim(1);
      return matchedIdx.maskedFill(minValues.lt(1e-5), -1);
    });
    return this.head.computeLoss(targets, headOutputs, anchors, matchedIdxs);
  }

  /** Per image and level: sqrt(sigmoid(class) · sigmoid(centerness)) over the threshold, top-k, decode, clip; then batched NMS. */
  postprocessDetections(headOutputs: { clsLogits: Tensor[]; bboxRegression: Tensor[]; bboxCtrness: Tensor[] }, anchors: Tensor[][], imageShapes: [number, number][]): Detection[] {
    return imageShapes.map((imageShape, index) =>
      torch.tidy(() => {
        const boxes: Tensor[] = [];
        const scores: Tensor[] = [];
        const labels: Tensor[] = [];
        headOutputs.clsLogits.forEach((levelLogits, level) => {
          const logits = levelLogits.select(0, index);
          const numClasses = logits.shape[1];
          const allScores = logits.sigmoid().mul(headOutputs.bboxCtrness[level].select(0, index).sigmoid()).sqrt().flatten();
          const keepIdxs = allScores.gt(this.scoreThresh);
          const candidates = keepIdxs.nonzero().squeezeDim(1);
          const [topScores, idxs] = allScores.index([keepIdxs]).topk(Math.min(this.topkCandidates, candidates.shape[0]));
          const [anchorIdxs, levelLabels] = anchorAndLabel(candidates.index([idxs]), numClasses);
          const decoded = this.boxCoder.decode(headOutputs.bboxRegression[level].select(0, index).index([anchorIdxs]), anchors[index][level].index([anchorIdxs]));
          boxes.push(clipBoxesToImage(decoded, imageShape));
          scores.push(topScores);
          labels.push(levelLabels);
        });
        const allBoxes = torch.cat(boxes, 0);
        const allScores = torch.cat(scores, 0);
        const allLabels = torch.cat(labels, 0);
        const keep = batchedNms(allBoxes, allScores, allLabels, this.nmsThresh).slice({ dim: 0, end: this.detectionsPerImg });
        return { boxes: allBoxes.index([keep]), scores: allScores.index([keep]), labels: allLabels.index([keep]) };
      }),
    );
  }
}

/** torchvision's fcos_resnet50_fpn: FrozenBatchNorm2d when anything is pretrained, P6/P7 from P5. */
export function fcosResnet50Fpn(options: DetectorOptions = {}, weights: DetectorWeightsSpec | null = null): FCOS {
  const { numClasses = 91, pretrained: _pretrained, pretrainedBackbone, trainableBackboneLayers, ...rest } = options;
  const settings = oneStageOptions<FCOSOptions>('fcos_resnet50_fpn', rest, FCOS_OPTIONS);
  const tag = backboneTag(pretrainedBackbone, weights, 'imagenet1k_v1');
  const isTrained = Boolean(weights) || tag !== false;
  const trainable = validateTrainableLayers(isTrained, trainableBackboneLayers, 5, 3);
  const resnet = resnet50Backbone(tag, isTrained);
  const backbone = resnetFpnExtractor(resnet, trainable, { returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
  return new FCOS(backbone, numClasses, settings);
}

registerDetector({
  name: 'fcos_resnet50_fpn',
  family: 'fcos',
  build: (options, weights) => fcosResnet50Fpn(options, weights),
  backbone: { model: 'resnet50', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('fcos_resnet50_fpn_coco-99b0c9b7.pth', 39.2)],
  paramCount: 32_269_600,
});
