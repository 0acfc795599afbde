// RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection"), as torchvision 0.14's
// models/detection/retinanet.py defines it: ResNet-50 FPN P3–P7 → 4-conv classification and
// regression towers shared over levels → 9 anchors per cell; focal loss, L1 (v1) or GIoU (v2) box
// loss; per-level top-k, batched NMS. Property names are torchvision's, so its COCO state dicts load.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { Conv2dNormActivation, type NormLayer } from '../../layers/conv-norm-activation.js';
import { batchedNms, boxIou, clipBoxesToImage, generalizedBoxIouLoss, sigmoidFocalLoss, LastLevelP6P7 } from '../../ops/index.js';
import { createModel } from '../../models/create.js';
import type { ResNet } from '../../models/resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import { frozenBatchNorm2d, replaceBatchNorm, resnetFpnExtractor, validateTrainableLayers } from './backbone-utils.js';
import { overwriteEps } from './faster-rcnn.js';
import { BoxCoder } from './box-coder.js';
import { Matcher } from './matcher.js';
import { cocoWeights, registerDetector, type Detection, type DetectionTarget, type Detector, type DetectorOptions, type DetectorWeightsSpec } from './registry.js';
import { backboneTag, checkDegenerateBoxes, checkTargets, featureList, oneStageOptions, upgradeFpnKeys } from './one-stage.js';
import { permuteAndFlatten } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';

const F = nn.functional;

/** [N, A·K, H, W] → [N, H·W·A, K]: a cell's anchors together, cells row-major, as torchvision's heads permute. */
export function permuteToNHWAK(x: Tensor, k: number): Tensor {
  const [n, , h, w] = x.shape;
  return permuteAndFlatten(x, n, k, h, w);
}

/** Outputs of a dense head: per image and anchor, class logits and 4 box deltas. */
export interface DenseHeadOutputs {
  /** [N, sum HWA, numClasses] */
  clsLogits: Tensor;
  /** [N, sum HWA, 4] */
  bboxRegression: Tensor;
}

/** Four 3x3 conv(-norm)-ReLU layers, as both RetinaNet towers have them. */
function tower(inChannels: number, normLayer: NormLayer | null): nn.Sequential {
  return new nn.Sequential(...Array.from({ length: 4 }, () => new Conv2dNormActivation(inChannels, inChannels, { normLayer })));
}

/** N(0, 0.01) weights and zero biases for the convs of `module`. */
function normalInit(module: nn.Module): void {
  for (const m of module.modules()) {
    if (m instanceof nn.Conv2d) {
      nn.init.normal_(m.weight, 0, 0.01);
      if (m.bias) nn.init.constant_(m.bias, 0);
    }
  }
}

/** torchvision's RetinaNetClassificationHead: a conv tower, then A·K logits per cell, biased to `priorProbability`. */
export class RetinaNetClassificationHead extends nn.Module {
  conv: nn.Sequential;
  clsLogits: nn.Conv2d;
  readonly numClasses: number;
  readonly numAnchors: number;

  constructor(inChannels: number, numAnchors: number, numClasses: number, options: { priorProbability?: number; normLayer?: NormLayer | null } = {}) {
    super();
    const { priorProbability = 0.01, normLayer = null } = options;
    this.conv = tower(inChannels, normLayer);
    torch.noGrad(() => normalInit(this.conv));
    this.clsLogits = new nn.Conv2d(inChannels, numAnchors * numClasses, 3, { stride: 1, padding: 1 });
    torch.noGrad(() => {
      nn.init.normal_(this.clsLogits.weight, 0, 0.01);
      // The focal loss paper's prior: every anchor starts as foreground with probability 0.01.
      nn.init.constant_(this.clsLogits.bias!, -Math.log((1 - priorProbability) / priorProbability));
    });
    this.numClasses = numClasses;
    this.numAnchors = numAnchors;
  }

  /** Sigmoid focal loss over the anchors that are not ignored, per positive, averaged over images. */
  computeLoss(targets: DetectionTarget[], headOutputs: DenseHeadOutputs, matchedIdxs: Tensor[]): Tensor {
    const losses = targets.map((target, i) => {
      const logits = headOutputs.clsLogits.select(0, i);
      const matched = matchedIdxs[i];
      const foreground = matched.ge(0);
      const numForeground = foreground.sum().item();
      const fgIdxs = foreground.nonzero().squeezeDim(1);
      const gtClassesTarget = torch.zerosLike(logits);
      gtClassesTarget.indexPut_([fgIdxs, target.labels.index([matched.index([fgIdxs])])], torch.tensor(1.0, { dtype: logits.dtype, device: logits.device }));
      const valid = matched.ne(Matcher.BETWEEN_THRESHOLDS);
      return sigmoidFocalLoss(logits.index([valid]), gtClassesTarget.index([valid]), { reduction: 'sum' }).div(Math.max(1, numForeground));
    });
    return sumAll(losses).div(targets.length);
  }

  /** @param x per level [N, C, H, W] @returns [N, sum HWA, numClasses] */
  forward(x: Tensor[]): Tensor {
    return torch.tidy(() => torch.cat(x.map((features) => permuteToNHWAK(this.clsLogits.call(this.conv.call(features)), this.numClasses)), 1));
  }
}

/** Which box loss the regression head uses: L1 on the deltas (v1), or GIoU on the decoded boxes (v2). */
export type BoxLossType = 'l1' | 'smooth_l1' | 'giou';

/** torchvision's RetinaNetRegressionHead: a conv tower, then 4·A box deltas per cell. */
export class RetinaNetRegressionHead extends nn.Module {
  conv: nn.Sequential;
  bboxReg: nn.Conv2d;
  readonly boxCoder = new BoxCoder([1.0, 1.0, 1.0, 1.0]);
  /** torchvision's _loss_type. */
  lossType: BoxLossType = 'l1';

  constructor(inChannels: number, numAnchors: number, options: { normLayer?: NormLayer | null } = {}) {
    super();
    this.conv = tower(inChannels, options.normLayer ?? null);
    this.bboxReg = new nn.Conv2d(inChannels, numAnchors * 4, 3, { stride: 1, padding: 1 });
    torch.noGrad(() => {
      nn.init.normal_(this.bboxReg.weight, 0, 0.01);
      nn.init.zeros_(this.bboxReg.bias!);
      normalInit(this.conv);
    });
  }

  /** The box loss over matched anchors, per positive, averaged over images. */
  computeLoss(targets: DetectionTarget[], headOutputs: DenseHeadOutputs, anchors: Tensor[], matchedIdxs: Tensor[]): Tensor {
    const losses = targets.map((target, i) => {
      const matched = matchedIdxs[i];
      const fgIdxs = matched.ge(0).nonzero().squeezeDim(1);
      const matchedGtBoxes = target.boxes.index([matched.index([fgIdxs])]);
      const regression = headOutputs.bboxRegression.select(0, i).index([fgIdxs]);
      const loss = boxLoss(this.lossType, this.boxCoder, anchors[i].index([fgIdxs]), matchedGtBoxes, regression);
      return loss.div(Math.max(1, fgIdxs.shape[0]));
    });
    return sumAll(losses).div(Math.max(1, targets.length));
  }

  /** @param x per level [N, C, H, W] @returns [N, sum HWA, 4] */
  forward(x: Tensor[]): Tensor {
    return torch.tidy(() => torch.cat(x.map((features) => permuteToNHWAK(this.bboxReg.call(this.conv.call(features)), 4)), 1));
  }
}

/** Sum of a list of scalars, left to right (torchvision's _sum). */
function sumAll(xs: Tensor[]): Tensor {
  return xs.slice(1).reduce((acc, x) => acc.add(x), xs[0]);
}

/** torchvision's _box_loss: L1 / smooth-L1 on encoded deltas, or GIoU on decoded boxes. */
export function boxLoss(type: BoxLossType, boxCoder: BoxCoder, anchors: Tensor, matchedGtBoxes: Tensor, regression: Tensor): Tensor {
  if (type === 'giou') return generalizedBoxIouLoss(boxCoder.decodeSingle(regression, anchors), matchedGtBoxes, { reduction: 'sum', eps: 1e-7 });
  const target = boxCoder.encodeSingle(matchedGtBoxes, anchors);
  return type === 'l1' ? F.l1Loss(regression, target, { reduction: 'sum' }) : F.smoothL1Loss(regression, target, { reduction: 'sum', beta: 1.0 });
}

/** torchvision's RetinaNetHead: the classification and regression towers. */
export class RetinaNetHead extends nn.Module {
  classificationHead: RetinaNetClassificationHead;
  regressionHead: RetinaNetRegressionHead;

  constructor(inChannels: number, numAnchors: number, numClasses: number, options: { normLayer?: NormLayer | null } = {}) {
    super();
    this.classificationHead = new RetinaNetClassificationHead(inChannels, numAnchors, numClasses, options);
    this.regressionHead = new RetinaNetRegressionHead(inChannels, numAnchors, options);
  }

  computeLoss(targets: DetectionTarget[], headOutputs: DenseHeadOutputs, anchors: Tensor[], matchedIdxs: Tensor[]): Record<string, Tensor> {
    return {
      classification: this.classificationHead.computeLoss(targets, headOutputs, matchedIdxs),
      bbox_regression: this.regressionHead.computeLoss(targets, headOutputs, anchors, matchedIdxs),
    };
  }

  forward(x: Tensor[]): DenseHeadOutputs {
    return { clsLogits: this.classificationHead.call(x), bboxRegression: this.regressionHead.call(x) };
  }
}

/** A backbone for the one-stage detectors: FPN levels in order, all with `outChannels` channels. */
export interface FpnBackbone extends nn.Module {
  forward(x: Tensor): Map<string, Tensor> | Tensor[] | Tensor;
  readonly outChannels: number;
}

export interface RetinaNetOptions {
  /** Shorter image side after resizing (default 800). */
  minSize?: number | number[];
  /** Longest side cap (default 1333). */
  maxSize?: number;
  imageMean?: number[];
  imageStd?: number[];
  /** Default: sizes 32..512 (×2^0, 2^1/3, 2^2/3) on P3..P7, ratios 0.5, 1, 2. */
  anchorGenerator?: AnchorGenerator;
  head?: RetinaNetHead;
  /** Default: Matcher(fgIouThresh, bgIouThresh, allowLowQualityMatches). */
  proposalMatcher?: Matcher;
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  fgIouThresh?: number;
  bgIouThresh?: number;
  /** Best-scoring (anchor, class) pairs kept per level before NMS (default 1000). */
  topkCandidates?: number;
  /** Pad to a multiple of this (default 32). */
  sizeDivisible?: number;
}

/** RetinaNetOptions a builder passes through from createDetector's options. */
export const RETINANET_OPTIONS = ['minSize', 'maxSize', 'imageMean', 'imageStd', 'detectionsPerImg', 'fgIouThresh', 'bgIouThresh', 'topkCandidates', 'sizeDivisible'] as const;

/** torchvision's _default_anchorgen: three octave scales per level from 32 to 512, three aspect ratios. */
export function defaultAnchorGenerator(): AnchorGenerator {
  const sizes = [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1.0 / 3)), Math.trunc(x * 2 ** (2.0 / 3))]);
  return new AnchorGenerator(sizes, sizes.map(() => [0.5, 1.0, 2.0]));
}

/** The per-level (or per-image) split of `[N, sum HWA, K]` head outputs, for postprocessing. */
export function splitLevels(t: Tensor, numAnchorsPerLevel: number[]): Tensor[] {
  return t.splitWithSizes(numAnchorsPerLevel, 1);
}

/** (anchor, class) pairs of a flattened [HWA·K] score vector: floor division and remainder by K, exactly. */
export function anchorAndLabel(flatIdxs: Tensor, numClasses: number): [Tensor, Tensor] {
  const labels = flatIdxs.remainder(numClasses);
  return [flatIdxs.sub(labels).double().div(numClasses).long(), labels];
}

/**
 * torchvision's RetinaNet. In train mode `forward(images, targets)` returns `{ classification, bbox_regression }`;
 * in eval mode `forward(images)` returns per image `{ boxes, scores, labels }` in its own pixels.
 */
export class RetinaNet extends nn.Module implements Detector {
  backbone: FpnBackbone;
  anchorGenerator: AnchorGenerator;
  head: RetinaNetHead;
  transform: GeneralizedRCNNTransform;
  readonly proposalMatcher: Matcher;
  readonly boxCoder = new BoxCoder([1.0, 1.0, 1.0, 1.0]);
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  topkCandidates: number;
  numClasses: number;
  private readonly headNorm: NormLayer | null;

  constructor(backbone: FpnBackbone, numClasses: number, options: RetinaNetOptions & { headNormLayer?: NormLayer | null } = {}) {
    super();
    const { minSize = 800, maxSize = 1333, imageMean = [0.485, 0.456, 0.406], imageStd = [0.229, 0.224, 0.225], scoreThresh = 0.05, nmsThresh = 0.5, detectionsPerImg = 300, fgIouThresh = 0.5, bgIouThresh = 0.4, topkCandidates = 1000 } = options;
    if (typeof backbone.outChannels !== 'number') throw new TypeError('RetinaNet: the backbone should have outChannels, the channels of every feature map (256 for an FPN)');
    this.backbone = backbone;
    this.anchorGenerator = options.anchorGenerator ?? defaultAnchorGenerator();
    this.headNorm = options.headNormLayer ?? null;
    this.head = options.head ?? new RetinaNetHead(backbone.outChannels, this.anchorGenerator.numAnchorsPerLocation()[0], numClasses);
    this.proposalMatcher = options.proposalMatcher ?? new Matcher(fgIouThresh, bgIouThresh, true);
    this.transform = new GeneralizedRCNNTransform(minSize, maxSize, imageMean, imageStd, { sizeDivisible: options.sizeDivisible ?? 32 });
    this.scoreThresh = scoreThresh;
    this.nmsThresh = nmsThresh;
    this.detectionsPerImg = detectionsPerImg;
    this.topkCandidates = topkCandidates;
    this.numClasses = numClasses;
  }

  /** A fresh head for `numClasses` (same norm and box loss); backbone and anchors stay. */
  replaceHead(numClasses: number): void {
    const lossType = this.head.regressionHead.lossType;
    this.head = new RetinaNetHead(this.backbone.outChannels, this.anchorGenerator.numAnchorsPerLocation()[0], numClasses, { normLayer: this.headNorm });
    this.head.regressionHead.lossType = lossType;
    this.numClasses = numClasses;
  }

  /**
   * torchvision's _load_from_state_dict upgrades for files saved before 0.13 (the COCO weights of
   * retinanet_resnet50_fpn): the heads' `conv.{2i}` (conv, ReLU pairs) become `conv.{i}.0`, the
   * FPN's `inner_blocks.{i}` `inner_blocks.{i}.0`.
   */
  adaptStateDict(stateDict: Map<string, Tensor>): Map<string, Tensor> {
    const legacy = /^(head\.(?:classification|regression)_head\.conv\.)(\d+)\.(weight|bias)$/;
    return upgradeFpnKeys(
      new Map(
        [...stateDict].map(([k, v]) => {
          const m = legacy.exec(k);
          return [m ? `${m[1]}${Number(m[2]) / 2}.0.${m[3]}` : k, v];
        }),
      ),
    );
  }

  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor> {
    if (this.training) checkTargets(targets, images.length, 'RetinaNet');
    const originalImageSizes = images.map((img) => img.shape.slice(-2) as [number, number]);
    return torch.tidy(() => {
      const [imageList, transformed] = this.transform.call(images, this.training ? targets : undefined);
      if (transformed) checkDegenerateBoxes(transformed, 'RetinaNet');
      const features = featureList(this.backbone.call(imageList.tensors));
      const headOutputs = this.head.call(features);
      const anchors = this.anchorGenerator.call(imageList, features);
      if (this.training) return this.computeLoss(transformed!, headOutputs, anchors);
      const hw = features.map((f) => f.shape[2] * f.shape[3]);
      const a = headOutputs.clsLogits.shape[1] / hw.reduce((x, y) => x + y, 0);
      const perLevel = hw.map((n) => n * a);
      const split = { clsLogits: splitLevels(headOutputs.clsLogits, perLevel), bboxRegression: splitLevels(headOutputs.bboxRegression, perLevel) };
      const detections = this.postprocessDetections(split, anchors.map((x) => x.splitWithSizes(perLevel, 0)), imageList.imageSizes);
      return this.transform.postprocess(detections, imageList.imageSizes, originalImageSizes);
    });
  }

  computeLoss(targets: DetectionTarget[], headOutputs: DenseHeadOutputs, anchors: Tensor[]): Record<string, Tensor> {
    const matchedIdxs = targets.map((t, i) =>
      t.boxes.numel() === 0 ? torch.full([anchors[i].shape[0]], -1, { dtype: 'int64', device: anchors[i].device }) : this.proposalMatcher.call(boxIou(t.boxes, anchors[i])),
    );
    return this.head.computeLoss(targets, headOutputs, anchors, matchedIdxs);
  }

  /** Per image and level: sigmoid scores over the threshold, top-k, decode and clip; then batched NMS over all levels. */
  postprocessDetections(headOutputs: { clsLogits: Tensor[]; bboxRegression: Tensor[] }, anchors: Tensor[][], imageShapes: [number, number][]): Detection[] {
    return imageShapes.map((imageShape, index) =>
      torch.tidy(() => {
        const boxes: Tensor[] = [];
        const scores: Tensor[] = [];
        const labels: Tensor[] = [];
        headOutputs.clsLogits.forEach((levelLogits, level) => {
          const logits = levelLogits.select(0, index);
          const numClasses = logits.shape[1];
          const allScores = logits.sigmoid().flatten();
          const keepIdxs = allScores.gt(this.scoreThresh);
          const candidates = keepIdxs.nonzero().squeezeDim(1);
          const [topScores, idxs] = allScores.index([keepIdxs]).topk(Math.min(this.topkCandidates, candidates.shape[0]));
          const [anchorIdxs, levelLabels] = anchorAndLabel(candidates.index([idxs]), numClasses);
          const decoded = this.boxCoder.decodeSingle(headOutputs.bboxRegression[level].select(0, index).index([anchorIdxs]), anchors[index][level].index([anchorIdxs]));
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

/**
 * torchvision's resnet50(weights=..., norm_layer=...) for a detector: its ImageNet weights when `tag`
 * is set, FrozenBatchNorm2d in place of BatchNorm2d when `frozen`.
 */
export function resnet50Backbone(tag: string | false, frozen: boolean): ResNet {
  const resnet = createModel('resnet50', tag === false ? {} : { pretrained: tag }) as ResNet;
  if (frozen) replaceBatchNorm(resnet, frozenBatchNorm2d);
  return resnet;
}

/** torchvision's retinanet_resnet50_fpn: FrozenBatchNorm2d when anything is pretrained, P6/P7 from P5. */
export function retinanetResnet50Fpn(options: DetectorOptions = {}, weights: DetectorWeightsSpec | null = null): RetinaNet {
  const { numClasses = 91, pretrained: _pretrained, pretrainedBackbone, trainableBackboneLayers, ...rest } = options;
  const settings = oneStageOptions<RetinaNetOptions>('retinanet_resnet50_fpn', rest, RETINANET_OPTIONS);
  const tag = backboneTag(pretrainedBackbone, weights, 'imagenet1k_v1');
  const isTrained = Boolean(weights) || tag !== false;
  const trainable = validateTrainableLayers(isTrained, trainableBackboneLayers, 5, 3);
  const resnet = resnet50Backbone(tag, isTrained);
  // P3..P5 from layer2..layer4 (P2 would give too many anchors), P6/P7 from P5.
  const backbone = resnetFpnExtractor(resnet, trainable, { returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
  return new RetinaNet(backbone, numClasses, settings);
}

/**
 * torchvision's retinanet_resnet50_fpn_v2 (the ATSS paper's improvements): trainable BatchNorm,
 * P6 from C5, GroupNorm in the head towers, GIoU box loss.
 */
export function retinanetResnet50FpnV2(options: DetectorOptions = {}, weights: DetectorWeightsSpec | null = null): RetinaNet {
  const { numClasses = 91, pretrained: _pretrained, pretrainedBackbone, trainableBackboneLayers, ...rest } = options;
  const settings = oneStageOptions<RetinaNetOptions>('retinanet_resnet50_fpn_v2', rest, RETINANET_OPTIONS);
  const tag = backboneTag(pretrainedBackbone, weights, 'imagenet1k_v1');
  const trainable = validateTrainableLayers(Boolean(weights) || tag !== false, trainableBackboneLayers, 5, 3);
  const resnet = resnet50Backbone(tag, false);
  const backbone = resnetFpnExtractor(resnet, trainable, { returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(2048, 256) });
  const anchorGenerator = defaultAnchorGenerator();
  const headNormLayer: NormLayer = (c) => new nn.GroupNorm(32, c);
  const head = new RetinaNetHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation()[0], numClasses, { normLayer: headNormLayer });
  head.regressionHead.lossType = 'giou';
  return new RetinaNet(backbone, numClasses, { ...settings, anchorGenerator, head, headNormLayer });
}

registerDetector({
  name: 'retinanet_resnet50_fpn',
  family: 'retinanet',
  build: (options, weights) => retinanetResnet50Fpn(options, weights),
  backbone: { model: 'resnet50', weights: 'imagenet1k_v1' },
  // Trained before torchvision's FrozenBatchNorm2d eps fix: its builder sets eps to 0 after loading.
  weights: [cocoWeights('retinanet_resnet50_fpn_coco-eeacb38b.pth', 36.4, { afterLoad: (model) => overwriteEps(model, 0.0) })],
  paramCount: 34_014_999,
});

registerDetector({
  name: 'retinanet_resnet50_fpn_v2',
  family: 'retinanet',
  build: (options, weights) => retinanetResnet50FpnV2(options, weights),
  backbone: { model: 'resnet50', weights: 'imagenet1k_v1' },
  weights: [cocoWeights('retinanet_resnet50_fpn_v2_coco-5905b1c5.pth', 41.5)],
  paramCount: 38_198_935,
});
