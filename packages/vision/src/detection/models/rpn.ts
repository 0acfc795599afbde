// torchvision's region proposal network (models/detection/rpn.py): a small conv head scores every
// anchor for objectness and regresses it; the best-scoring decoded boxes per level survive NMS as
// proposals. In training it matches anchors to the ground truth and returns its two losses.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes } from '../../ops/index.js';
import { Conv2dNormActivation } from '../../layers/conv-norm-activation.js';
import { AnchorGenerator } from './anchor-utils.js';
import { BalancedPositiveNegativeSampler } from './balanced-sampler.js';
import { BoxCoder } from './box-coder.js';
import type { ImageList } from './image-list.js';
import { Matcher } from './matcher.js';
import type { DetectionTarget } from './registry.js';

const F = nn.functional;

/** What the RPN needs from its head: per level, objectness logits [N, A, H, W] and box offsets [N, A·4, H, W]. */
export interface RPNHeadModule extends nn.Module {
  forward(x: Tensor[]): [Tensor[], Tensor[]];
}

/** A 3x3 conv (convDepth of them in v2), then per anchor one objectness logit and four box offsets, on every level. */
export class RPNHead extends nn.Module implements RPNHeadModule {
  conv: nn.Sequential;
  clsLogits: nn.Conv2d;
  bboxPred: nn.Conv2d;

  constructor(inChannels: number, numAnchors: number, convDepth = 1) {
    super();
    const convs: nn.Module[] = [];
    for (let i = 0; i < convDepth; i++) convs.push(new Conv2dNormActivation(inChannels, inChannels, { kernelSize: 3, normLayer: null }));
    this.conv = new nn.Sequential(...convs);
    this.clsLogits = new nn.Conv2d(inChannels, numAnchors, 1, { stride: 1 });
    this.bboxPred = new nn.Conv2d(inChannels, numAnchors * 4, 1, { stride: 1 });
    torch.noGrad(() => {
      for (const layer of this.modules()) {
        if (!(layer instanceof nn.Conv2d)) continue;
        nn.init.normal_(layer.weight, 0, 0.01);
        if (layer.bias) nn.init.constant_(layer.bias, 0);
      }
    });
  }

  /**
   * @param x per level, [N, C, H, W]
   * @returns per level, objectness logits [N, A, H, W] and box offsets [N, A·4, H, W]
   */
  forward(x: Tensor[]): [Tensor[], Tensor[]] {
    const logits: Tensor[] = [];
    const bboxReg: Tensor[] = [];
    for (const feature of x) {
      const t = this.conv.call(feature);
      logits.push(this.clsLogits.call(t));
      bboxReg.push(this.bboxPred.call(t));
    }
    return [logits, bboxReg];
  }
}

/** [N, A·C, H, W] → [N, H·W·A, C]: the anchors' order (cell-major, then anchor). */
export function permuteAndFlatten(layer: Tensor, n: number, c: number, h: number, w: number): Tensor {
  return layer.view([n, -1, c, h, w]).permute([0, 3, 4, 1, 2]).reshape([n, -1, c]);
}

/**
 * Flattens per-level head outputs into one row per anchor, levels concatenated as the anchors are.
 * @returns class scores [N·sum(H·W·A), C] and box offsets [N·sum(H·W·A), 4]
 */
export function concatBoxPredictionLayers(boxCls: Tensor[], boxRegression: Tensor[]): [Tensor, Tensor] {
  return torch.tidy(() => {
    const cls: Tensor[] = [];
    const reg: Tensor[] = [];
    boxCls.forEach((clsPerLevel, i) => {
      const [n, axc, h, w] = clsPerLevel.shape;
      const a = boxRegression[i].shape[1] / 4;
      cls.push(permuteAndFlatten(clsPerLevel, n, axc / a, h, w));
      reg.push(permuteAndFlatten(boxRegression[i], n, 4, h, w));
    });
    return [torch.cat(cls, 1).flatten(0, -2), torch.cat(reg, 1).reshape([-1, 4])];
  });
}

/** A count for training and one for testing (torchvision's dict(training=..., testing=...)). */
export interface TrainTest {
  training: number;
  testing: number;
}

export interface RegionProposalNetworkOptions {
  /** Anchors with IoU >= this with a ground-truth box are positives (default 0.7). */
  fgIouThresh?: number;
  /** Anchors whose best IoU is below this are negatives (default 0.3). */
  bgIouThresh?: number;
  /** Anchors sampled per image for the losses (default 256). */
  batchSizePerImage?: number;
  /** Positive share of them (default 0.5). */
  positiveFraction?: number;
  /** Top-scoring anchors kept per level before NMS (default 2000 / 1000). */
  preNmsTopN?: TrainTest;
  /** Proposals kept per image after NMS (default 2000 / 1000). */
  postNmsTopN?: TrainTest;
  /** IoU threshold of the per-level NMS (default 0.7). */
  nmsThresh?: number;
  /** Proposals with objectness probability below this are dropped (default 0). */
  scoreThresh?: number;
}

export class RegionProposalNetwork extends nn.Module {
  anchorGenerator: AnchorGenerator;
  head: RPNHeadModule;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly preNmsTopNs: TrainTest;
  readonly postNmsTopNs: TrainTest;
  nmsThresh: number;
  scoreThresh: number;
  /** Proposals smaller than this (pixels) on a side are dropped. */
  minSize = 1e-3;

  constructor(anchorGenerator: AnchorGenerator, head: RPNHeadModule, options: RegionProposalNetworkOptions = {}) {
    super();
    this.anchorGenerator = anchorGenerator;
    this.head = head;
    this.proposalMatcher = new Matcher(options.fgIouThresh ?? 0.7, options.bgIouThresh ?? 0.3, true);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(options.batchSizePerImage ?? 256, options.positiveFraction ?? 0.5);
    this.preNmsTopNs = options.preNmsTopN ?? { training: 2000, testing: 1000 };
    this.postNmsTopNs = options.postNmsTopN ?? { training: 2000, testing: 1000 };
    this.nmsThresh = options.nmsThresh ?? 0.7;
    this.scoreThresh = options.scoreThresh ?? 0;
  }

  preNmsTopN(): number {
    return this.training ? this.preNmsTopNs.training : this.preNmsTopNs.testing;
  }

  postNmsTopN(): number {
    return this.training ? this.postNmsTopNs.training : this.postNmsTopNs.testing;
  }

  /**
   * @param anchors per image, [A, 4]
   * @returns per image, anchor labels [A] float (1 object, 0 background, -1 ignored) and the matched ground-truth boxes [A, 4]
   */
  assignTargetsToAnchors(anchors: Tensor[], targets: DetectionTarget[]): [Tensor[], Tensor[]] {
    return torch.tidy(() => {
      const labels: Tensor[] = [];
      const matchedGtBoxes: Tensor[] = [];
      anchors.forEach((anchorsPerImage, i) => {
        const gtBoxes = targets[i].boxes;
        if (gtBoxes.numel() === 0) {
          // A background image: every anchor is a negative.
          matchedGtBoxes.push(torch.zeros(anchorsPerImage.shape, { dtype: 'float32', device: anchorsPerImage.device }));
          labels.push(torch.zeros([anchorsPerImage.shape[0]], { dtype: 'float32', device: anchorsPerImage.device }));
          return;
        }
        const matchedIdxs = this.proposalMatcher.call(boxIou(gtBoxes, anchorsPerImage));
        // Clamped: with one ground-truth box the negative codes would index out of bounds.
        matchedGtBoxes.push(gtBoxes.index([matchedIdxs.clamp(0)]));
        const labelsPerImage = matchedIdxs.ge(0).to('float32');
        labelsPerImage.maskedFill_(matchedIdxs.eq(Matcher.BELOW_LOW_THRESHOLD), 0);
        labelsPerImage.maskedFill_(matchedIdxs.eq(Matcher.BETWEEN_THRESHOLDS), -1);
        labels.push(labelsPerImage);
      });
      return [labels, matchedGtBoxes];
    });
  }

  /** Per image, the indices of the preNmsTopN best anchors of each level (as columns of the flattened objectness). */
  getTopNIdx(objectness: Tensor, numAnchorsPerLevel: number[]): Tensor {
    return torch.tidy(() => {
      const r: Tensor[] = [];
      let offset = 0;
      for (const ob of objectness.splitWithSizes(numAnchorsPerLevel, 1)) {
        const numAnchors = ob.shape[1];
        const [, topNIdx] = ob.topk(Math.min(this.preNmsTopN(), numAnchors), 1);
        r.push(topNIdx.add(offset));
        offset += numAnchors;
      }
      return torch.cat(r, 1);
    });
  }

  /**
   * Keeps, per image, the best anchors of each level, clipped to the image, without tiny or
   * low-scoring boxes, after NMS within each level, at most postNmsTopN.
   * @param proposals [N, A, 4] decoded anchors
   * @param objectness [N·A] logits
   * @returns per image, boxes [K, 4] and objectness probabilities [K]
   */
  filterProposals(proposals: Tensor, objectness: Tensor, imageShapes: [number, number][], numAnchorsPerLevel: number[]): [Tensor[], Tensor[]] {
    return torch.tidy(() => {
      const numImages = proposals.shape[0];
      const device = proposals.device;
      // No gradient flows through the choice of proposals.
      const scoresAll = objectness.detach().reshape([numImages, -1]);
      const levelsAll = torch
        .cat(numAnchorsPerLevel.map((n, idx) => torch.full([n], idx, { dtype: 'int64', device })), 0)
        .reshape([1, -1])
        .expandAs(scoresAll);
      const topNIdx = this.getTopNIdx(scoresAll, numAnchorsPerLevel);
      const batchIdx = torch.arange(0, numImages, 1, { dtype: 'int64', device }).unsqueeze(1);
      const topScores = scoresAll.index([batchIdx, topNIdx]).sigmoid();
      const topLevels = levelsAll.index([batchIdx, topNIdx]);
      const topProposals = proposals.index([batchIdx, topNIdx]);
      const finalBoxes: Tensor[] = [];
      const finalScores: Tensor[] = [];
      for (let i = 0; i < numImages; i++) {
        let boxes = clipBoxesToImage(topProposals.select(0, i), imageShapes[i]);
        let scores = topScores.select(0, i);
        let lvl = topLevels.select(0, i);
        let keep = removeSmallBoxes(boxes, this.minSize);
        [boxes, scores, lvl] = [boxes.index([keep]), scores.index([keep]), lvl.index([keep])];
        // >= for backwards compatibility, as torchvision.
        keep = scores.ge(this.scoreThresh).nonzero().view([-1]);
        [boxes, scores, lvl] = [boxes.index([keep]), scores.index([keep]), lvl.index([keep])];
        keep = batchedNms(boxes, scores, lvl, this.nmsThresh);
        keep = keep.narrow(0, 0, Math.min(this.postNmsTopN(), keep.shape[0]));
        finalBoxes.push(boxes.index([keep]));
        finalScores.push(scores.index([keep]));
      }
      return [finalBoxes, finalScores];
    });
  }

  /**
   * Objectness BCE over the sampled anchors, and smooth-L1 (beta 1/9) box loss over the sampled
   * positives divided by the number sampled.
   * @param objectness [sum A, 1] logits @param predBboxDeltas [sum A, 4]
   */
  computeLoss(objectness: Tensor, predBboxDeltas: Tensor, labels: Tensor[], regressionTargets: Tensor[]): [Tensor, Tensor] {
    return torch.tidy(() => {
      const [sampledPos, sampledNeg] = this.fgBgSampler.call(labels);
      const posInds = torch.cat(sampledPos, 0).nonzero().view([-1]);
      const negInds = torch.cat(sampledNeg, 0).nonzero().view([-1]);
      const sampledInds = torch.cat([posInds, negInds], 0);
      const flatObjectness = objectness.flatten();
      const allLabels = torch.cat(labels, 0);
      const allTargets = torch.cat(regressionTargets, 0);
      const boxLoss = F.smoothL1Loss(predBboxDeltas.index([posInds]), allTargets.index([posInds]), { beta: 1 / 9, reduction: 'sum' }).div(sampledInds.numel());
      const objectnessLoss = F.binaryCrossEntropyWithLogits(flatObjectness.index([sampledInds]), allLabels.index([sampledInds]));
      return [objectnessLoss, boxLoss];
    });
  }

  /**
   * @param features the backbone's feature maps, by name, shallow to deep (all are used)
   * @param targets per image, needed in training
   * @returns per image, proposals [K, 4] in the batch's pixels; in training, loss_objectness and loss_rpn_box_reg
   */
  forward(images: ImageList, features: Map<string, Tensor>, targets?: DetectionTarget[]): [Tensor[], Record<string, Tensor>] {
    return torch.tidy(() => {
      const featureList = [...features.values()];
      const [objectnessPerLevel, deltasPerLevel] = this.head.call(featureList);
      const anchors = this.anchorGenerator.call(images, featureList);
      const numImages = anchors.length;
      const numAnchorsPerLevel = objectnessPerLevel.map((o) => o.shape[1] * o.shape[2] * o.shape[3]);
      const [objectness, predBboxDeltas] = concatBoxPredictionLayers(objectnessPerLevel, deltasPerLevel);
      // Faster R-CNN does not backpropagate through the proposals.
      const proposals = this.boxCoder.decode(predBboxDeltas.detach(), anchors).view([numImages, -1, 4]);
      const [boxes] = this.filterProposals(proposals, objectness, images.imageSizes, numAnchorsPerLevel);
      const losses: Record<string, Tensor> = {};
      if (this.training) {
        if (!targets) throw new Error('RegionProposalNetwork: targets are needed in training mode');
        const [labels, matchedGtBoxes] = this.assignTargetsToAnchors(anchors, targets);
        const regressionTargets = this.boxCoder.encode(matchedGtBoxes, anchors);
        const [lossObjectness, lossRpnBoxReg] = this.computeLoss(objectness, predBboxDeltas, labels, regressionTargets);
        losses.loss_objectness = lossObjectness;
        losses.loss_rpn_box_reg = lossRpnBoxReg;
      }
      return [boxes, losses];
    });
  }
}
