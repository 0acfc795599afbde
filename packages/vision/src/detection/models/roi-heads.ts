// torchvision's RoI heads for boxes (models/detection/roi_heads.py): pool each proposal's features,
// classify it and refine its box per class; in training, match proposals (ground truth included)
// to the targets, sample them and return fastrcnn_loss; in eval, per-class NMS of the decoded boxes.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes } from '../../ops/index.js';
import { BalancedPositiveNegativeSampler } from './balanced-sampler.js';
import { BoxCoder } from './box-coder.js';
import { Matcher } from './matcher.js';
import type { Detection, DetectionTarget } from './registry.js';

const F = nn.functional;

/**
 * Cross-entropy over all sampled proposals, and smooth-L1 (beta 1/9) on the positives' offsets for
 * their ground-truth class, divided by the number of sampled proposals.
 * @param classLogits [K, numClasses] @param boxRegression [K, numClasses·4]
 * @param labels per image, [K_i] int64 @param regressionTargets per image, [K_i, 4]
 */
export function fastrcnnLoss(classLogits: Tensor, boxRegression: Tensor, labels: Tensor[], regressionTargets: Tensor[]): [Tensor, Tensor] {
  return torch.tidy(() => {
    const allLabels = torch.cat(labels, 0);
    const allTargets = torch.cat(regressionTargets, 0);
    const classificationLoss = F.crossEntropy(classLogits, allLabels);
    const posInds = allLabels.gt(0).nonzero().view([-1]);
    const labelsPos = allLabels.index([posInds]);
    const n = classLogits.shape[0];
    const perClass = boxRegression.reshape([n, boxRegression.shape[boxRegression.ndim - 1] / 4, 4]);
    const boxLoss = F.smoothL1Loss(perClass.index([posInds, labelsPos]), allTargets.index([posInds]), { beta: 1 / 9, reduction: 'sum' });
    return [classificationLoss, boxLoss.div(allLabels.numel())];
  });
}

export interface RoIHeadsOptions {
  /** Proposals with IoU >= this with a ground-truth box are foreground (default 0.5). */
  fgIouThresh?: number;
  /** Proposals whose best IoU is below this are background (default 0.5). */
  bgIouThresh?: number;
  /** Proposals sampled per image for the losses (default 512). */
  batchSizePerImage?: number;
  /** Foreground share of them (default 0.25). */
  positiveFraction?: number;
  /** The box coder's (wx, wy, ww, wh) (default (10, 10, 5, 5)). */
  bboxRegWeights?: [number, number, number, number];
  /** Detections scoring at or below this are dropped (default 0.05). */
  scoreThresh?: number;
  /** IoU threshold of the per-class NMS (default 0.5). */
  nmsThresh?: number;
  /** At most this many detections per image (default 100). */
  detectionsPerImg?: number;
}

/** What RoIHeads needs from its pooler: torchvision's MultiScaleRoIAlign call. */
export interface RoIPooler extends nn.Module {
  forward(features: Map<string, Tensor>, boxes: Tensor[], imageShapes: [number, number][]): Tensor;
}

export class RoIHeads extends nn.Module {
  boxRoiPool: RoIPooler;
  boxHead: nn.Module;
  boxPredictor: nn.Module;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly boxCoder: BoxCoder;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;

  /**
   * @param boxRoiPool features of each proposal (MultiScaleRoIAlign)
   * @param boxHead pooled features → a vector per proposal (TwoMLPHead, FastRCNNConvFCHead)
   * @param boxPredictor vector → class logits [K, C] and per-class offsets [K, 4·C] (FastRCNNPredictor)
   */
  constructor(boxRoiPool: RoIPooler, boxHead: nn.Module, boxPredictor: nn.Module, options: RoIHeadsOptions = {}) {
    super();
    this.boxRoiPool = boxRoiPool;
    this.boxHead = boxHead;
    this.boxPredictor = boxPredictor;
    this.proposalMatcher = new Matcher(options.fgIouThresh ?? 0.5, options.bgIouThresh ?? 0.5, false);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(options.batchSizePerImage ?? 512, options.positiveFraction ?? 0.25);
    this.boxCoder = new BoxCoder(options.bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = options.scoreThresh ?? 0.05;
    this.nmsThresh = options.nmsThresh ?? 0.5;
    this.detectionsPerImg = options.detectionsPerImg ?? 100;
  }

  /**
   * @returns per image, the matched ground-truth index of each proposal [K] (clamped to >= 0) and its
   *   label [K] int64 (0 background, -1 ignored)
   */
  assignTargetsToProposals(proposals: Tensor[], gtBoxes: Tensor[], gtLabels: Tensor[]): [Tensor[], Tensor[]] {
    return torch.tidy(() => {
      const matchedIdxs: Tensor[] = [];
      const labels: Tensor[] = [];
      proposals.forEach((proposalsInImage, i) => {
        const options = { dtype: 'int64' as const, device: proposalsInImage.device };
        if (gtBoxes[i].numel() === 0) {
          // A background image: every proposal is background.
          matchedIdxs.push(torch.zeros([proposalsInImage.shape[0]], options));
          labels.push(torch.zeros([proposalsInImage.shape[0]], options));
          return;
        }
        const matched = this.proposalMatcher.call(boxIou(gtBoxes[i], proposalsInImage));
        const clamped = matched.clamp(0);
        const labelsInImage = gtLabels[i].index([clamped]).to('int64');
        labelsInImage.maskedFill_(matched.eq(Matcher.BELOW_LOW_THRESHOLD), 0);
        labelsInImage.maskedFill_(matched.eq(Matcher.BETWEEN_THRESHOLDS), -1);
        matchedIdxs.push(clamped);
        labels.push(labelsInImage);
      });
      return [matchedIdxs, labels];
    });
  }

  /** Per image, the indices of the proposals the sampler chose. */
  subsample(labels: Tensor[]): Tensor[] {
    return torch.tidy(() => {
      const [pos, neg] = this.fgBgSampler.call(labels);
      return pos.map((p, i) => p.logicalOr(neg[i]).nonzero().view([-1]));
    });
  }

  /** Appends each image's ground-truth boxes to its proposals, so every object has a perfect proposal. */
  addGtProposals(proposals: Tensor[], gtBoxes: Tensor[]): Tensor[] {
    return proposals.map((p, i) => torch.cat([p, gtBoxes[i]], 0));
  }

  checkTargets(targets: DetectionTarget[] | undefined): asserts targets is DetectionTarget[] {
    if (!targets) throw new Error('RoIHeads: targets are needed in training mode');
    targets.forEach((t, i) => {
      if (!t.boxes) throw new Error(`RoIHeads: targets[${i}] has no boxes`);
      if (!t.labels) throw new Error(`RoIHeads: targets[${i}] has no labels`);
    });
  }

  /** @returns the sampled proposals, their matched ground-truth indices, labels and regression targets, per image */
  selectTrainingSamples(proposals: Tensor[], targets: DetectionTarget[] | undefined): [Tensor[], Tensor[], Tensor[], Tensor[]] {
    this.checkTargets(targets);
    return torch.tidy(() => {
      const dtype = proposals[0].dtype;
      const device = proposals[0].device;
      const gtBoxes = targets.map((t) => t.boxes.to(dtype));
      const gtLabels = targets.map((t) => t.labels);
      const withGt = this.addGtProposals(proposals, gtBoxes);
      const [matchedIdxs, labels] = this.assignTargetsToProposals(withGt, gtBoxes, gtLabels);
      const sampledInds = this.subsample(labels);
      const sampledProposals = withGt.map((p, i) => p.index([sampledInds[i]]));
      const sampledLabels = labels.map((l, i) => l.index([sampledInds[i]]));
      const sampledMatched = matchedIdxs.map((m, i) => m.index([sampledInds[i]]));
      const matchedGtBoxes = sampledMatched.map((m, i) => {
        const boxes = gtBoxes[i].numel() === 0 ? torch.zeros([1, 4], { dtype, device }) : gtBoxes[i];
        return boxes.index([m]);
      });
      const regressionTargets = this.boxCoder.encode(matchedGtBoxes, sampledProposals);
      return [sampledProposals, sampledMatched, sampledLabels, regressionTargets];
    });
  }

  /**
   * Decodes each proposal's per-class boxes, clips them, and keeps per image the class-wise NMS
   * survivors above scoreThresh, at most detectionsPerImg.
   * @param classLogits [K, C] @param boxRegression [K, 4·C]
   */
  postprocessDetections(classLogits: Tensor, boxRegression: Tensor, proposals: Tensor[], imageShapes: [number, number][]): [Tensor[], Tensor[], Tensor[]] {
    return torch.tidy(() => {
      const device = classLogits.device;
      const numClasses = classLogits.shape[classLogits.ndim - 1];
      const boxesPerImage = proposals.map((p) => p.shape[0]);
      const predBoxes = this.boxCoder.decode(boxRegression, proposals);
      const predScores = F.softmax(classLogits, -1);
      const boxesList = predBoxes.splitWithSizes(boxesPerImage, 0);
      const scoresList = predScores.splitWithSizes(boxesPerImage, 0);
      const allBoxes: Tensor[] = [];
      const allScores: Tensor[] = [];
      const allLabels: Tensor[] = [];
      boxesList.forEach((boxesInImage, i) => {
        let boxes = clipBoxesToImage(boxesInImage, imageShapes[i]);
        let scores = scoresList[i];
        let labels = torch.arange(0, numClasses, 1, { dtype: 'int64', device }).view([1, -1]).expandAs(scores);
        // Class 0 is background; every other class's box is a candidate of its own.
        boxes = boxes.slice({ dim: 1, start: 1 }).reshape([-1, 4]);
        scores = scores.slice({ dim: 1, start: 1 }).reshape([-1]);
        labels = labels.slice({ dim: 1, start: 1 }).reshape([-1]);
        let keep = scores.gt(this.scoreThresh).nonzero().view([-1]);
        [boxes, scores, labels] = [boxes.index([keep]), scores.index([keep]), labels.index([keep])];
        keep = removeSmallBoxes(boxes, 1e-2);
        [boxes, scores, labels] = [boxes.index([keep]), scores.index([keep]), labels.index([keep])];
        keep = batchedNms(boxes, scores, labels, this.nmsThresh);
        keep = keep.narrow(0, 0, Math.min(this.detectionsPerImg, keep.shape[0]));
        allBoxes.push(boxes.index([keep]));
        allScores.push(scores.index([keep]));
        allLabels.push(labels.index([keep]));
      });
      return [allBoxes, allScores, allLabels];
    });
  }

  /**
   * @param features the backbone's feature maps by name
   * @param proposals per image, [K_i, 4] from the RPN
   * @param imageShapes per image, (height, width) inside the batch
   * @returns eval: detections per image (in the batch's pixels); training: loss_classifier and loss_box_reg
   */
  forward(features: Map<string, Tensor>, proposals: Tensor[], imageShapes: [number, number][], targets?: DetectionTarget[]): [Detection[], Record<string, Tensor>] {
    if (targets) {
      targets.forEach((t, i) => {
        if (!['float32', 'float64', 'float16'].includes(t.boxes.dtype)) throw new TypeError(`RoIHeads: targets[${i}].boxes should be floating point, got ${t.boxes.dtype}`);
        if (t.labels.dtype !== 'int64') throw new TypeError(`RoIHeads: targets[${i}].labels should be int64, got ${t.labels.dtype}`);
      });
    }
    return torch.tidy(() => {
      let labels: Tensor[] | null = null;
      let regressionTargets: Tensor[] | null = null;
      let rois = proposals;
      if (this.training) [rois, , labels, regressionTargets] = this.selectTrainingSamples(proposals, targets);
      const boxFeatures = this.boxHead.call(this.boxRoiPool.call(features, rois, imageShapes));
      const [classLogits, boxRegression] = this.boxPredictor.call(boxFeatures) as [Tensor, Tensor];
      if (this.training) {
        const [lossClassifier, lossBoxReg] = fastrcnnLoss(classLogits, boxRegression, labels!, regressionTargets!);
        return [[], { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg }];
      }
      const [boxes, scores, detLabels] = this.postprocessDetections(classLogits, boxRegression, rois, imageShapes);
      return [boxes.map((b, i) => ({ boxes: b, labels: detLabels[i], scores: scores[i] })), {}];
    });
  }
}
