// Ultralytics' TaskAlignedAssigner (ultralytics/utils/tal.py, 8.3.x; TOOD, arXiv:2108.07755):
// each ground-truth box takes as positives the top-k anchor points inside it by the alignment
// metric score^alpha * CIoU^beta; an anchor claimed by several boxes goes to the one it overlaps
// most; the one-hot class targets are scaled per box so its best-aligned anchor gets its best
// CIoU. Ultralytics fills per-pair tensors through boolean masks; here every pair is computed and
// masked with `where`, which gives the same values without a host round trip.
// Versions: the math is the same from 8.1 through 8.3 (candidates strictly inside by eps 1e-9,
// CIoU overlaps clamped at 0); 8.3 only adds a CPU retry on CUDA out-of-memory. 8.4 (YOLO26)
// widens small boxes' candidate regions to a stride and adds a second top-k (`topk2`); not here.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { bboxCiou } from './box-iou.js';

export interface TaskAlignedAssignerOptions {
  /** Positives per ground-truth box (default 10, v8DetectionLoss' tal_topk; the class default in tal.py is 13). */
  topk?: number;
  numClasses: number;
  /** Exponent of the class score in the metric (default 0.5, as v8DetectionLoss builds it). */
  alpha?: number;
  /** Exponent of the CIoU in the metric (default 6). */
  beta?: number;
  /** Keeps the score normalisation finite (default 1e-9). */
  eps?: number;
}

/** Per image and anchor point. */
export interface TaskAlignedAssignment {
  /** [B, A] int64: the assigned box's class (the first box's for background anchors; use fgMask). */
  targetLabels: Tensor;
  /** [B, A, 4] xyxy, in the units of gtBboxes. */
  targetBboxes: Tensor;
  /** [B, A, numClasses]: one-hot of the class times the normalised alignment, 0 for background. */
  targetScores: Tensor;
  /** [B, A] bool: the anchor is a positive. */
  fgMask: Tensor;
  /** [B, A] int64: index of the assigned box in its image's padded list. */
  targetGtIdx: Tensor;
}

export class TaskAlignedAssigner {
  readonly topk: number;
  readonly numClasses: number;
  /** Background class index, used for targetLabels when no image has a box (tal.py's bg_idx). */
  readonly bgIdx: number;
  readonly alpha: number;
  readonly beta: number;
  readonly eps: number;

  constructor(options: TaskAlignedAssignerOptions) {
    const { topk = 10, numClasses, alpha = 0.5, beta = 6.0, eps = 1e-9 } = options;
    if (!Number.isInteger(topk) || topk < 1) throw new RangeError(`TaskAlignedAssigner: topk should be a positive integer, got ${topk}`);
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`TaskAlignedAssigner: numClasses should be a positive integer, got ${numClasses}`);
    this.topk = topk;
    this.numClasses = numClasses;
    this.bgIdx = numClasses;
    this.alpha = alpha;
    this.beta = beta;
    this.eps = eps;
  }

  /**
   * @param pdScores [B, A, C] class probabilities (sigmoid of the logits)
   * @param pdBboxes [B, A, 4] predicted xyxy boxes, in the units of gtBboxes
   * @param ancPoints [A, 2] anchor points, same units
   * @param gtLabels [B, n, 1] classes of each image's boxes, padded to the largest count n
   * @param gtBboxes [B, n, 4] xyxy, zero rows for padding
   * @param maskGt [B, n, 1] 1 for real boxes, 0 for padding
   */
  forward(pdScores: Tensor, pdBboxes: Tensor, ancPoints: Tensor, gtLabels: Tensor, gtBboxes: Tensor, maskGt: Tensor): TaskAlignedAssignment {
    const [bs, na, nc] = pdScores.shape;
    const nMaxBoxes = gtBboxes.shape[1];
    this.check(pdScores, pdBboxes, ancPoints, gtLabels, gtBboxes, maskGt);
    return torch.noGrad(() =>
      torch.tidy(() => {
        const device = pdScores.device;
        if (nMaxBoxes === 0) {
          // tal.py returns these values as float tensors; the dtypes here are the ones its other path returns.
          return {
            targetLabels: torch.full([bs, na], this.bgIdx, { dtype: 'int64', device }),
            targetBboxes: torch.zerosLike(pdBboxes),
            targetScores: torch.zerosLike(pdScores),
            fgMask: torch.zeros([bs, na], { dtype: 'bool', device }),
            targetGtIdx: torch.zeros([bs, na], { dtype: 'int64', device }),
          };
        }
        const labels = gtLabels.to('int64');
        const mask = maskGt.to(pdBboxes.dtype);
        const { maskPos: candidates, alignMetric, overlaps } = this.getPosMask(pdScores, pdBboxes, labels, gtBboxes, ancPoints, mask);
        const { targetGtIdx, fgMask, maskPos } = selectHighestOverlaps(candidates, overlaps);
        const { targetLabels, targetBboxes, targetScores } = this.getTargets(labels, gtBboxes, targetGtIdx, fgMask, nc);
        // Per box: its best-aligned positive gets the box's best CIoU, the others proportionally less.
        const aligned = alignMetric.mul(maskPos);
        const posAlignMetrics = aligned.amax({ dim: -1, keepdim: true });
        const posOverlaps = overlaps.mul(maskPos).amax({ dim: -1, keepdim: true });
        const normAlignMetric = aligned.mul(posOverlaps).div(posAlignMetrics.add(this.eps)).amax({ dim: -2 }).unsqueeze(-1);
        return { targetLabels, targetBboxes, targetScores: targetScores.mul(normAlignMetric), fgMask: fgMask.gt(0), targetGtIdx };
      }),
    );
  }

  private check(pdScores: Tensor, pdBboxes: Tensor, ancPoints: Tensor, gtLabels: Tensor, gtBboxes: Tensor, maskGt: Tensor): void {
    const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;
    if (pdScores.ndim !== 3 || pdScores.shape[2] !== this.numClasses) throw new RangeError(`TaskAlignedAssigner: pdScores should be [B, A, ${this.numClasses}], got ${shape(pdScores)}`);
    const [bs, na] = pdScores.shape;
    if (pdBboxes.shape.join() !== [bs, na, 4].join()) throw new RangeError(`TaskAlignedAssigner: pdBboxes should be [${bs}, ${na}, 4] like pdScores, got ${shape(pdBboxes)}`);
    if (ancPoints.shape.join() !== [na, 2].join()) throw new RangeError(`TaskAlignedAssigner: ancPoints should be [${na}, 2], got ${shape(ancPoints)}`);
    if (gtBboxes.ndim !== 3 || gtBboxes.shape[0] !== bs || gtBboxes.shape[2] !== 4) throw new RangeError(`TaskAlignedAssigner: gtBboxes should be [${bs}, n, 4], got ${shape(gtBboxes)}`);
    const n = gtBboxes.shape[1];
    for (const [name, t] of [['gtLabels', gtLabels], ['maskGt', maskGt]] as const) {
      if (t.shape.join() !== [bs, n, 1].join()) throw new RangeError(`TaskAlignedAssigner: ${name} should be [${bs}, ${n}, 1] like gtBboxes, got ${shape(t)}`);
    }
    if (n > 0 && na < this.topk) throw new RangeError(`TaskAlignedAssigner: ${na} anchor points are fewer than topk ${this.topk}; use a larger input or a smaller topk`);
  }

  /** Candidates: anchor points inside a real box and among its top-k by alignment. All [B, n, A]. */
  private getPosMask(pdScores: Tensor, pdBboxes: Tensor, gtLabels: Tensor, gtBboxes: Tensor, ancPoints: Tensor, maskGt: Tensor): { maskPos: Tensor; alignMetric: Tensor; overlaps: Tensor } {
    const maskInGts = selectCandidatesInGts(ancPoints, gtBboxes).to(pdBboxes.dtype);
    const { alignMetric, overlaps } = this.getBoxMetrics(pdScores, pdBboxes, gtLabels, gtBboxes, maskInGts.mul(maskGt));
    const maskTopk = this.selectTopkCandidates(alignMetric, maskGt);
    return { maskPos: maskTopk.mul(maskInGts).mul(maskGt), alignMetric, overlaps };
  }

  /** score^alpha * CIoU^beta and the CIoU (clamped at 0), for the pairs in `mask`, 0 elsewhere. */
  private getBoxMetrics(pdScores: Tensor, pdBboxes: Tensor, gtLabels: Tensor, gtBboxes: Tensor, mask: Tensor): { alignMetric: Tensor; overlaps: Tensor } {
    const [bs, na] = pdScores.shape;
    const n = gtBboxes.shape[1];
    const pairs = mask.gt(0);
    // Each box's class probability at every anchor: pd_scores[b, :, label].
    const scores = pdScores.permute([0, 2, 1]).gather(1, gtLabels.expand([bs, n, na]));
    const bboxScores = torch.where(pairs, scores, 0);
    const ciou = bboxCiou(gtBboxes.unsqueeze(2), pdBboxes.unsqueeze(1)).squeezeDim(-1).clamp(0);
    const overlaps = torch.where(pairs, ciou, 0);
    return { alignMetric: bboxScores.pow(this.alpha).mul(overlaps.pow(this.beta)), overlaps };
  }

  /**
   * One-hot of each real box's top-k anchors by metric. Ties (e.g. several zero metrics) fall
   * as libtorch's topk breaks them, the same kernel Ultralytics calls.
   * @param maskGt [B, n, 1]
   */
  private selectTopkCandidates(metrics: Tensor, maskGt: Tensor): Tensor {
    const [, topkIdxs] = metrics.topk(this.topk, -1, true);
    // Padding rows point all k picks at anchor 0; counting them and dropping counts > 1 clears them, as tal.py does.
    const idxs = topkIdxs.maskedFill(maskGt.expand([-1, -1, this.topk]).gt(0).logicalNot(), 0);
    const counts = torch.zerosLike(metrics).scatterAdd(-1, idxs, torch.onesLike(idxs, { dtype: metrics.dtype }));
    return counts.maskedFill(counts.gt(1), 0);
  }

  /** The assigned box's class, box and one-hot score per anchor. */
  private getTargets(gtLabels: Tensor, gtBboxes: Tensor, targetGtIdx: Tensor, fgMask: Tensor, nc: number): { targetLabels: Tensor; targetBboxes: Tensor; targetScores: Tensor } {
    const [bs, na] = targetGtIdx.shape;
    const targetLabels = gtLabels.squeezeDim(-1).gather(1, targetGtIdx).clamp(0);
    const targetBboxes = gtBboxes.gather(1, targetGtIdx.unsqueeze(-1).expand([bs, na, 4]));
    const oneHot = torch.oneHot(targetLabels, { numClasses: nc }).to(fgMask.dtype);
    return { targetLabels, targetBboxes, targetScores: torch.where(fgMask.unsqueeze(-1).gt(0), oneHot, 0) };
  }
}

/**
 * Which anchor points lie strictly inside which boxes (every side more than eps away).
 * @param xyCenters [A, 2]
 * @param gtBboxes [B, n, 4]
 * @returns [B, n, A] bool
 */
export function selectCandidatesInGts(xyCenters: Tensor, gtBboxes: Tensor, eps = 1e-9): Tensor {
  return torch.tidy(() => {
    const [lt, rb] = gtBboxes.unsqueeze(2).chunk(2, -1);
    const deltas = torch.cat([xyCenters.sub(lt), rb.sub(xyCenters)], -1);
    return deltas.amin({ dim: -1 }).gt(eps);
  });
}

/**
 * An anchor that is a candidate of several boxes keeps only the box it overlaps most (over all
 * boxes of the image, as tal.py takes the argmax).
 * @param maskPos [B, n, A]
 * @param overlaps [B, n, A]
 * @returns targetGtIdx [B, A], fgMask [B, A] (float 0/1), maskPos [B, n, A]
 */
export function selectHighestOverlaps(maskPos: Tensor, overlaps: Tensor): { targetGtIdx: Tensor; fgMask: Tensor; maskPos: Tensor } {
  return torch.tidy(() => {
    const n = maskPos.shape[1];
    const multi = maskPos.sum(-2).unsqueeze(1).gt(1).expand([-1, n, -1]);
    const maxOverlapsIdx = overlaps.argmax(1, true);
    const isMaxOverlaps = torch.zerosLike(maskPos).scatter(1, maxOverlapsIdx, torch.onesLike(maxOverlapsIdx, { dtype: maskPos.dtype }));
    const resolved = torch.where(multi, isMaxOverlaps, maskPos);
    return { targetGtIdx: resolved.argmax(-2), fgMask: resolved.sum(-2), maskPos: resolved };
  });
}
