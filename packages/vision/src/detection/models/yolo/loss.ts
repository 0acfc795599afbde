// Ultralytics' YOLOv8 / YOLO11 detection loss (ultralytics/utils/loss.py v8DetectionLoss with
// BboxLoss and DFLoss, 8.3.x): task-aligned targets (assigner.ts), BCE on every class logit,
// 1 - CIoU on the positives and distribution focal loss on their DFL bins, both weighted by the
// positives' target scores, each normalised by the sum of all target scores.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { bbox2dist, dist2bbox, makeAnchors } from './anchors.js';
import { TaskAlignedAssigner, type TaskAlignedAssignment } from './assigner.js';
import type { Detect } from './blocks.js';
import { bboxCiou } from './box-iou.js';
import { catLevels } from './yolo.js';

const F = nn.functional;

/** Ultralytics' loss gains (default.yaml box 7.5, cls 0.5, dfl 1.5). */
export interface YoloLossHyp {
  box?: number;
  cls?: number;
  dfl?: number;
}

/** One image's ground truth, in the network input's pixels (after letterbox / augmentation). */
export interface YoloLossTarget {
  /** [N, 4] xyxy */
  boxes: Tensor;
  /** [N] int64, 0-based class indices */
  classes: Tensor;
}

/**
 * Each term is Ultralytics' gain-weighted component times the batch size, so their sum is what
 * v8DetectionLoss returns as the loss to back-propagate (`loss.sum() * batch_size`); divide a
 * term by the batch size for the per-image numbers Ultralytics logs (box_loss, cls_loss, dfl_loss).
 */
export interface YoloLosses {
  loss_box: Tensor;
  loss_cls: Tensor;
  loss_dfl: Tensor;
}

export interface YoloDetectionLossOptions {
  /** Positives per box for the assigner (default 10, Ultralytics' tal_topk). */
  topk?: number;
}

export class YoloDetectionLoss {
  readonly nc: number;
  readonly regMax: number;
  readonly stride: number[];
  readonly hyp: Required<YoloLossHyp>;
  readonly assigner: TaskAlignedAssigner;

  constructor(detect: Detect, hyp: YoloLossHyp = {}, options: YoloDetectionLossOptions = {}) {
    this.nc = detect.nc;
    this.regMax = detect.regMax;
    this.stride = [...detect.stride];
    this.hyp = { box: hyp.box ?? 7.5, cls: hyp.cls ?? 0.5, dfl: hyp.dfl ?? 1.5 };
    for (const [k, v] of Object.entries(this.hyp)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`YoloDetectionLoss: gain ${k} should be a finite number >= 0, got ${v}`);
    }
    this.assigner = new TaskAlignedAssigner({ topk: options.topk ?? 10, numClasses: this.nc, alpha: 0.5, beta: 6.0 });
  }

  /**
   * @param levels Detect's training outputs, per level [B, 4 * regMax + nc, H_i, W_i]
   * @param targets one per image
   * @param imageSize the input's [h, w]; checked against the levels (stride 8 * the first level's size)
   */
  forward(levels: Tensor[], targets: YoloLossTarget[], imageSize?: [number, number]): YoloLosses {
    return torch.tidy(() => {
      const { predDistri, predScores, predBboxes, anchorPoints, strideTensor, assignment } = this.prepare(levels, targets, imageSize);
      const { targetBboxes, targetScores, fgMask } = assignment;
      const bs = levels[0].shape[0];
      // max(sum, 1): a batch without positives divides by 1.
      const targetScoresSum = targetScores.sum().clamp(1);
      const lossCls = F.binaryCrossEntropyWithLogits(predScores, targetScores.to(predScores.dtype), { reduction: 'none' }).sum().div(targetScoresSum);

      // Over the positives only (none: empty sums, the 0 of Ultralytics' skipped branch).
      const weight = targetScores.sum(-1).index([fgMask]).unsqueeze(-1);
      const targetCells = targetBboxes.div(strideTensor);
      const iou = bboxCiou(predBboxes.index([fgMask]), targetCells.index([fgMask]));
      const lossIou = iou.neg().add(1).mul(weight).sum().div(targetScoresSum);
      let lossDfl: Tensor;
      if (this.regMax > 1) {
        const targetLtrb = bbox2dist(anchorPoints, targetCells, this.regMax - 1);
        const dfl = dfLoss(predDistri.index([fgMask]).view([-1, this.regMax]), targetLtrb.index([fgMask]), this.regMax);
        lossDfl = dfl.mul(weight).sum().div(targetScoresSum);
      } else {
        lossDfl = torch.zeros([], { dtype: lossIou.dtype, device: lossIou.device });
      }
      return {
        loss_box: lossIou.mul(this.hyp.box).mul(bs),
        loss_cls: lossCls.mul(this.hyp.cls).mul(bs),
        loss_dfl: lossDfl.mul(this.hyp.dfl).mul(bs),
      };
    });
  }

  /** The assigner's targets for these outputs, as forward computes them (for inspection and plots). */
  assign(levels: Tensor[], targets: YoloLossTarget[], imageSize?: [number, number]): TaskAlignedAssignment {
    return torch.tidy(() => this.prepare(levels, targets, imageSize).assignment);
  }

  private prepare(levels: Tensor[], targets: YoloLossTarget[], imageSize?: [number, number]) {
    const [bs, , h0, w0] = this.checkLevels(levels);
    if (imageSize && (imageSize[0] !== h0 * this.stride[0] || imageSize[1] !== w0 * this.stride[0])) {
      throw new RangeError(`YoloDetectionLoss: imageSize [${imageSize.join(', ')}] but the levels come from a [${h0 * this.stride[0]}, ${w0 * this.stride[0]}] input; boxes must be in the network input's pixels`);
    }
    this.checkTargets(targets, bs);
    const [predDistriRaw, predScoresRaw] = catLevels(levels).splitWithSizes([4 * this.regMax, this.nc], 1);
    const predDistri = predDistriRaw.permute([0, 2, 1]).contiguous();
    const predScores = predScoresRaw.permute([0, 2, 1]).contiguous();
    const { anchorPoints, strideTensor } = makeAnchors(levels, this.stride, 0.5);
    const { gtLabels, gtBboxes } = padTargets(targets, predScores.device);
    // Ultralytics' padding test: a row is a box when its coordinates sum above 0.
    const maskGt = gtBboxes.sum(2, { keepdim: true }).gt(0).to(gtBboxes.dtype);
    const predBboxes = this.bboxDecode(anchorPoints, predDistri);
    const assignment = this.assigner.forward(
      predScores.detach().sigmoid(),
      predBboxes.detach().mul(strideTensor).to(gtBboxes.dtype),
      anchorPoints.mul(strideTensor),
      gtLabels,
      gtBboxes,
      maskGt,
    );
    return { predDistri, predScores, predBboxes, anchorPoints, strideTensor, assignment };
  }

  /**
   * Expected distance per side from the softmax over the DFL bins, then xyxy in grid cells.
   * @param predDist [B, A, 4 * regMax]
   */
  bboxDecode(anchorPoints: Tensor, predDist: Tensor): Tensor {
    return torch.tidy(() => {
      if (this.regMax === 1) return dist2bbox(predDist, anchorPoints, false);
      const [b, a] = predDist.shape;
      const proj = torch.arange(0, this.regMax, 1, { dtype: predDist.dtype, device: predDist.device });
      const dist = predDist.view([b, a, 4, this.regMax]).softmax(3).matmul(proj);
      return dist2bbox(dist, anchorPoints, false);
    });
  }

  private checkLevels(levels: Tensor[]): number[] {
    if (!Array.isArray(levels) || levels.length !== this.stride.length) {
      throw new RangeError(`YoloDetectionLoss: expected Detect's ${this.stride.length} training outputs (one per stride ${this.stride.join('/')}), got ${Array.isArray(levels) ? levels.length : typeof levels}`);
    }
    const no = 4 * this.regMax + this.nc;
    const [bs, , h0, w0] = levels[0].shape;
    levels.forEach((l, i) => {
      const want = [bs, no, (h0 * this.stride[0]) / this.stride[i], (w0 * this.stride[0]) / this.stride[i]];
      if (l.shape.join() !== want.join()) {
        throw new RangeError(`YoloDetectionLoss: level ${i} should be [${want.join(', ')}] (4 * regMax ${this.regMax} + nc ${this.nc} channels, stride ${this.stride[i]}), got [${l.shape.join(', ')}]`);
      }
    });
    return levels[0].shape;
  }

  private checkTargets(targets: YoloLossTarget[], bs: number): void {
    if (!Array.isArray(targets) || targets.length !== bs) throw new RangeError(`YoloDetectionLoss: ${bs} images but ${Array.isArray(targets) ? targets.length : 'no'} targets; give one { boxes, classes } per image`);
    targets.forEach((t, i) => {
      if (!(t?.boxes instanceof torch.Tensor) || t.boxes.ndim !== 2 || t.boxes.shape[1] !== 4) {
        throw new RangeError(`YoloDetectionLoss: targets[${i}].boxes should be a [N, 4] xyxy Tensor, got ${t?.boxes instanceof torch.Tensor ? `[${t.boxes.shape.join(', ')}]` : typeof t?.boxes}`);
      }
      const n = t.boxes.shape[0];
      if (!(t.classes instanceof torch.Tensor) || t.classes.shape.join() !== String(n)) {
        throw new RangeError(`YoloDetectionLoss: targets[${i}].classes should be a [${n}] Tensor (one class per box), got ${t.classes instanceof torch.Tensor ? `[${t.classes.shape.join(', ')}]` : typeof t.classes}`);
      }
      if (n === 0) return;
      if (t.classes.isFloatingPoint()) throw new TypeError(`YoloDetectionLoss: targets[${i}].classes should be integer class indices (int64), got ${t.classes.dtype}`);
      const bad = torch.tidy(() => t.classes.lt(0).logicalOr(t.classes.ge(this.nc)).nonzero());
      if (bad.shape[0] > 0) {
        const j = bad.toFlatArray()[0];
        bad.dispose();
        throw new RangeError(`YoloDetectionLoss: targets[${i}].classes[${j}] is ${t.classes.toFlatArray()[j]}, outside 0..${this.nc - 1} (0-based classes of a ${this.nc}-class Detect)`);
      }
      bad.dispose();
      const finite = torch.tidy(() => t.boxes.isfinite().all().item());
      if (!finite) throw new RangeError(`YoloDetectionLoss: targets[${i}].boxes has a NaN or infinite coordinate`);
    });
  }
}

/**
 * Per-image boxes padded with zero rows to the largest count, as v8DetectionLoss.preprocess lays
 * them out (order within an image kept).
 * @returns gtLabels [B, n, 1] int64, gtBboxes [B, n, 4] float32
 */
function padTargets(targets: YoloLossTarget[], device: string): { gtLabels: Tensor; gtBboxes: Tensor } {
  const n = Math.max(0, ...targets.map((t) => t.boxes.shape[0]));
  const pad = (t: Tensor, rows: number) => (rows === 0 ? t : F.pad(t, [0, 0, 0, rows]));
  const boxes = targets.map((t) => pad(t.boxes.to({ dtype: 'float32', device }), n - t.boxes.shape[0]));
  const labels = targets.map((t) => pad(t.classes.to({ dtype: 'int64', device }).unsqueeze(-1), n - t.classes.shape[0]));
  return { gtLabels: torch.stack(labels, 0), gtBboxes: torch.stack(boxes, 0) };
}

/**
 * Distribution focal loss (Li et al., GFL): cross-entropy towards the two bins around each
 * target distance, weighted by closeness, averaged over the four sides.
 * @param predDist [P * 4, regMax] logits
 * @param target [P, 4] distances in cells
 * @returns [P, 1]
 */
function dfLoss(predDist: Tensor, target: Tensor, regMax: number): Tensor {
  return torch.tidy(() => {
    const t = target.clamp(0, regMax - 1 - 0.01);
    const tl = t.to('int64');
    const tr = tl.add(1);
    const wl = tr.sub(t);
    const wr = wl.neg().add(1);
    const ce = (bins: Tensor) => F.crossEntropy(predDist, bins.view([-1]), { reduction: 'none' }).view(tl.shape);
    return ce(tl).mul(wl).add(ce(tr).mul(wr)).mean(-1, { keepdim: true });
  });
}
