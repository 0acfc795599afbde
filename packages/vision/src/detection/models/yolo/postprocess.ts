// Ultralytics' detection post-processing, written from its formulas: anchor points and DFL decode
// (utils/tal.py make_anchors, dist2bbox; nn/modules/head.py Detect._inference) and the
// class-offset NMS of utils/nms.py non_max_suppression. The NMS kernel is torchvision's, as there.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { nms } from '../../../ops/index.js';
import type { Detect } from './blocks.js';
import { catLevels } from './yolo.js';
import { dist2bbox, makeAnchors } from './anchors.js';

/** (cx, cy, w, h) boxes [..., 4] to (x1, y1, x2, y2). */
export function xywh2xyxy(boxes: Tensor): Tensor {
  return torch.tidy(() => {
    const xy = boxes.narrow(-1, 0, 2);
    const half = boxes.narrow(-1, 2, 2).div(2);
    return torch.cat([xy.sub(half), xy.add(half)], -1);
  });
}

/**
 * Detect's inference output (Ultralytics' `_inference`): DFL expectation of each side, decoded
 * around the anchor points and scaled by the stride, then sigmoid class scores.
 * @param levels Detect's per-level outputs [B, 4 * regMax + nc, H_i, W_i]
 * @returns [B, 4 + nc, A]: (cx, cy, w, h) in input pixels, then nc class probabilities
 */
export function decodeDetect(detect: Detect, levels: Tensor[]): Tensor {
  if (levels.length !== detect.nl) throw new RangeError(`decodeDetect: Detect has ${detect.nl} levels, got ${levels.length} outputs`);
  return torch.tidy(() => {
    const x = catLevels(levels);
    const [box, cls] = x.splitWithSizes([detect.regMax * 4, detect.nc], 1);
    const { anchorPoints, strideTensor } = makeAnchors(levels, detect.stride, 0.5);
    const dbox = dist2bbox(detect.dfl.call(box) as Tensor, anchorPoints.transpose(0, 1).unsqueeze(0), true, 1).mul(strideTensor.transpose(0, 1));
    return torch.cat([dbox, cls.sigmoid()], 1);
  });
}

export interface NmsOptions {
  /** Candidates whose best class probability is at or below this are dropped (Ultralytics' conf; predict 0.25, val 0.001). */
  confThres?: number;
  /** IoU above which a lower-scoring box of the same class is suppressed (Ultralytics' iou, 0.7 for predict and val). */
  iouThres?: number;
  /** Keep only these class ids (0-based, Ultralytics'). */
  classes?: number[];
  /** One NMS over all classes instead of one per class. */
  agnostic?: boolean;
  /** A box may appear once per class above confThres (validation), instead of with its best class only. */
  multiLabel?: boolean;
  /** Detections kept per image (300). */
  maxDet?: number;
  /** Candidates passed to NMS, the best-scoring (30000). */
  maxNms?: number;
  /** Class offset that keeps classes apart in the one NMS call (7680 px). */
  maxWh?: number;
}

function checkThreshold(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`nonMaxSuppression: ${name} must be between 0 and 1, got ${value}`);
}

/**
 * Ultralytics' non_max_suppression for detection outputs (without its wall-clock time limit, so
 * results do not depend on the machine's speed).
 * @param prediction [B, 4 + nc, A] (cx, cy, w, h, class probabilities), as decodeDetect gives
 * @returns per image [N, 6]: x1, y1, x2, y2, confidence, class (0-based, as a float), by decreasing confidence
 */
export function nonMaxSuppression(prediction: Tensor, options: NmsOptions = {}): Tensor[] {
  const { confThres = 0.25, iouThres = 0.45, classes, agnostic = false, maxDet = 300, maxNms = 30000, maxWh = 7680 } = options;
  checkThreshold('confThres', confThres);
  checkThreshold('iouThres', iouThres);
  if (prediction.ndim !== 3 || prediction.shape[1] < 5) throw new RangeError(`nonMaxSuppression: prediction should be [B, 4 + nc, anchors], got [${prediction.shape.join(', ')}]`);
  const [bs, channels] = prediction.shape;
  const nc = channels - 4;
  const multiLabel = (options.multiLabel ?? false) && nc > 1;
  return torch.tidy(() => {
    const candidates = prediction.narrow(1, 4, nc).amax({ dim: 1 }).gt(confThres);
    const rows = prediction.transpose(-1, -2);
    const boxesAll = xywh2xyxy(rows.narrow(-1, 0, 4));
    const classFilter = classes && classes.length > 0 ? torch.tensor(classes, { dtype: prediction.dtype, device: prediction.device }) : null;
    const out: Tensor[] = [];
    for (let xi = 0; xi < bs; xi++) {
      out.push(
        torch.tidy(() => {
          const keep = candidates.select(0, xi);
          const box = boxesAll.select(0, xi).index([keep]);
          const cls = rows.select(0, xi).narrow(-1, 4, nc).index([keep]);
          if (box.shape[0] === 0) return torch.zeros([0, 6], { dtype: prediction.dtype, device: prediction.device });
          let x: Tensor;
          if (multiLabel) {
            const ij = cls.gt(confThres).nonzero();
            const i = ij.select(1, 0);
            const j = ij.select(1, 1);
            x = torch.cat([box.index([i]), cls.index([i, j]).unsqueeze(1), j.unsqueeze(1).to(prediction.dtype)], 1);
          } else {
            const [conf, j] = cls.maxDim(1, true);
            x = torch.cat([box, conf, j.to(prediction.dtype)], 1).index([conf.view([-1]).gt(confThres)]);
          }
          if (classFilter) x = x.index([x.narrow(1, 5, 1).eq(classFilter).sum(1).gt(0)]);
          if (x.shape[0] === 0) return torch.zeros([0, 6], { dtype: prediction.dtype, device: prediction.device });
          if (x.shape[0] > maxNms) x = x.index([x.select(1, 4).argsort({ descending: true }).narrow(0, 0, maxNms)]);
          const offset = x.narrow(1, 5, 1).mul(agnostic ? 0 : maxWh);
          const kept = nms(x.narrow(1, 0, 4).add(offset), x.select(1, 4).contiguous(), iouThres);
          return x.index([kept.narrow(0, 0, Math.min(maxDet, kept.shape[0]))]);
        }),
      );
    }
    return out;
  });
}

/** Splits NMS rows [N, 6] into boxes [N, 4], scores [N] and int64 class ids [N]. */
export function splitDetections(rows: Tensor): { boxes: Tensor; scores: Tensor; classes: Tensor } {
  return torch.tidy(() => ({ boxes: rows.narrow(1, 0, 4).contiguous(), scores: rows.select(1, 4).contiguous(), classes: rows.select(1, 5).to('int64') }));
}
