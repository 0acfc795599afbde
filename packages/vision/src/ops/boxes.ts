// torchvision.ops.boxes (0.14): NMS, box conversion, clipping and the IoU family, with the same
// tensor operations in the same order, so values and gradients equal torchvision's. Boxes are
// (x1, y1, x2, y2) unless a format says otherwise.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';
const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** Throws unless `boxes` is [N, 4] (`what` names the function and argument). */
export function checkBoxes(boxes: Tensor, what: string): void {
  const shape = boxes.shape;
  if (shape.length !== 2 || shape[1] !== 4) throw new RangeError(`${what} must be a Tensor[N, 4] of (x1, y1, x2, y2) boxes, got shape [${shape.join(', ')}]`);
}

/** torchvision's _upcast: half floats to float32, small integers to int32, so products do not overflow. */
export function upcast(t: Tensor): Tensor {
  if (t.isFloatingPoint()) return t.dtype === 'float32' || t.dtype === 'float64' ? t : t.float();
  return t.dtype === 'int32' || t.dtype === 'int64' ? t : t.int();
}

/** torchvision's _upcast_non_float: everything but float32/float64 to float32 (the losses). */
export function upcastNonFloat(t: Tensor): Tensor {
  return t.dtype === 'float32' || t.dtype === 'float64' ? t : t.float();
}

/** The indices where a bool tensor is true, as `torch.where(mask)[0]`. */
function whereTrue(mask: Tensor): Tensor {
  return mask.nonzero().select(1, 0);
}

/**
 * Non-maximum suppression (torchvision::nms): drops every box whose IoU with a higher-scoring kept
 * box is above `iouThreshold`.
 * @param boxes [N, 4] (x1, y1, x2, y2)
 * @param scores [N]
 * @returns int64 indices of the kept boxes, by decreasing score
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkBoxes(boxes, 'nms: boxes');
  if (scores.ndim !== 1 || scores.shape[0] !== boxes.shape[0]) {
    throw new RangeError(`nms: scores must be a Tensor[N] with one score per box (N = ${boxes.shape[0]}), got shape [${scores.shape.join(', ')}]`);
  }
  return torch.ops.torchvision.nms(boxes, scores, iouThreshold);
}

/**
 * NMS per category: boxes of different `idxs` never suppress each other. As torchvision 0.14,
 * more than 4000 coordinates on the CPU (20000 on a GPU) run one NMS per category, fewer one NMS
 * over boxes offset by category so that categories cannot overlap.
 * @param boxes [N, 4]
 * @param scores [N]
 * @param idxs [N] integer category of each box
 * @returns int64 indices of the kept boxes, by decreasing score
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkBoxes(boxes, 'batchedNms: boxes');
  if (idxs.ndim !== 1 || idxs.shape[0] !== boxes.shape[0]) {
    throw new RangeError(`batchedNms: idxs must be a Tensor[N] with one category per box (N = ${boxes.shape[0]}), got shape [${idxs.shape.join(', ')}]`);
  }
  const limit = boxes.device === 'cpu' ? 4000 : 20000;
  return boxes.numel() > limit ? batchedNmsVanilla(boxes, scores, idxs, iouThreshold) : batchedNmsCoordinateTrick(boxes, scores, idxs, iouThreshold);
}

/** One NMS over all boxes, each shifted by category · (max coordinate + 1). */
export function batchedNmsCoordinateTrick(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  if (boxes.numel() === 0) return torch.empty([0], { dtype: 'int64', device: boxes.device });
  return torch.tidy(() => {
    const maxCoordinate = torch.amax(boxes);
    const offsets = idxs.to({ dtype: boxes.dtype, device: boxes.device }).mul(maxCoordinate.add(1));
    return nms(boxes.add(offsets.unsqueeze(1)), scores, iouThreshold);
  });
}

/** One NMS per category (Detectron2's way), merged and sorted by score. */
export function batchedNmsVanilla(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  return torch.tidy(() => {
    const keepMask = torch.zerosLike(scores, { dtype: 'bool' });
    const isTrue = torch.tensor(true, { device: scores.device });
    // The categories in increasing order, as torch.unique gives them (the order does not change the result).
    const classIds = [...new Set(idxs.toFlatArray())].sort((a, b) => a - b);
    for (const classId of classIds) {
      torch.tidy(() => {
        const current = whereTrue(idxs.eq(classId));
        const kept = nms(boxes.index([current]), scores.index([current]), iouThreshold);
        keepMask.indexPut_([current.index([kept])], isTrue);
      });
    }
    const keepIndices = whereTrue(keepMask);
    const [, order] = scores.index([keepIndices]).sort(-1, true);
    return keepIndices.index([order]);
  });
}

/**
 * Indices of the boxes whose width and height are both at least `minSize`.
 * @param boxes [N, 4]
 * @returns int64 [K]
 */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxes(boxes, 'removeSmallBoxes: boxes');
  return torch.tidy(() => {
    const ws = boxes.select(1, 2).sub(boxes.select(1, 0));
    const hs = boxes.select(1, 3).sub(boxes.select(1, 1));
    return whereTrue(ws.ge(minSize).logicalAnd(hs.ge(minSize)));
  });
}

/**
 * Clamps boxes into an image of `size` [height, width].
 * @param boxes [..., 4] (x1, y1, x2, y2)
 */
export function clipBoxesToImage(boxes: Tensor, size: readonly number[]): Tensor {
  if (boxes.ndim === 0 || boxes.shape[boxes.ndim - 1] !== 4) throw new RangeError(`clipBoxesToImage: boxes must be a Tensor[..., 4], got shape [${boxes.shape.join(', ')}]`);
  if (size.length !== 2) throw new RangeError(`clipBoxesToImage: size must be [height, width], got [${size.join(', ')}]`);
  const [height, width] = size;
  return torch.tidy(() => {
    const dim = boxes.ndim;
    const boxesX = boxes.slice({ dim: -1, start: 0, step: 2 }).clamp(0, width);
    const boxesY = boxes.slice({ dim: -1, start: 1, step: 2 }).clamp(0, height);
    return torch.stack([boxesX, boxesY], dim).reshape(boxes.shape);
  });
}

function unbindLast(boxes: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return [0, 1, 2, 3].map((i) => boxes.select(-1, i)) as [Tensor, Tensor, Tensor, Tensor];
}

function cxcywhToXyxy(boxes: Tensor): Tensor {
  const [cx, cy, w, h] = unbindLast(boxes);
  const halfW = w.mul(0.5);
  const halfH = h.mul(0.5);
  return torch.stack([cx.sub(halfW), cy.sub(halfH), cx.add(halfW), cy.add(halfH)], -1);
}

function xyxyToCxcywh(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = unbindLast(boxes);
  return torch.stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
}

function xywhToXyxy(boxes: Tensor): Tensor {
  const [x, y, w, h] = unbindLast(boxes);
  return torch.stack([x, y, x.add(w), y.add(h)], -1);
}

function xyxyToXywh(boxes: Tensor): Tensor {
  const [x1, y1, x2, y2] = unbindLast(boxes);
  return torch.stack([x1, y1, x2.sub(x1), y2.sub(y1)], -1);
}

/**
 * Converts boxes between 'xyxy' (corners), 'xywh' (top-left corner, size) and 'cxcywh' (centre, size).
 * @param boxes [..., 4]
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  for (const [name, fmt] of [['inFmt', inFmt], ['outFmt', outFmt]] as const) {
    if (!BOX_FORMATS.includes(fmt)) throw new RangeError(`boxConvert: ${name} '${fmt}' is not a box format; use one of ${BOX_FORMATS.map((f) => `'${f}'`).join(', ')}`);
  }
  if (boxes.ndim === 0 || boxes.shape[boxes.ndim - 1] !== 4) throw new RangeError(`boxConvert: boxes must be a Tensor[..., 4], got shape [${boxes.shape.join(', ')}]`);
  if (inFmt === outFmt) return boxes.clone();
  return torch.tidy(() => {
    const xyxy = inFmt === 'xyxy' ? boxes : inFmt === 'xywh' ? xywhToXyxy(boxes) : cxcywhToXyxy(boxes);
    if (outFmt === 'xyxy') return xyxy;
    return outFmt === 'xywh' ? xyxyToXywh(xyxy) : xyxyToCxcywh(xyxy);
  });
}

/**
 * Areas of (x1, y1, x2, y2) boxes (half floats computed in float32, as torchvision does).
 * @param boxes [N, 4]
 * @returns [N]
 */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes(boxes, 'boxArea: boxes');
  return torch.tidy(() => {
    const b = upcast(boxes);
    return b.select(1, 2).sub(b.select(1, 0)).mul(b.select(1, 3).sub(b.select(1, 1)));
  });
}

/** Pairwise intersection and union areas, [N, M] each. */
function boxInterUnion(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const area1 = boxArea(boxes1);
  const area2 = boxArea(boxes2);
  const b1 = boxes1.unsqueeze(1);
  const lt = torch.maximum(b1.slice({ dim: 2, start: 0, end: 2 }), boxes2.slice({ dim: 1, start: 0, end: 2 }));
  const rb = torch.minimum(b1.slice({ dim: 2, start: 2 }), boxes2.slice({ dim: 1, start: 2 }));
  const wh = upcast(rb.sub(lt)).clamp(0);
  const inter = wh.select(2, 0).mul(wh.select(2, 1));
  const union = area1.unsqueeze(1).add(area2).sub(inter);
  return [inter, union];
}

/** The smallest enclosing box's width and height per pair, [N, M, 2]. */
function enclosingWh(boxes1: Tensor, boxes2: Tensor): Tensor {
  const b1 = boxes1.unsqueeze(1);
  const lti = torch.minimum(b1.slice({ dim: 2, start: 0, end: 2 }), boxes2.slice({ dim: 1, start: 0, end: 2 }));
  const rbi = torch.maximum(b1.slice({ dim: 2, start: 2 }), boxes2.slice({ dim: 1, start: 2 }));
  return upcast(rbi.sub(lti)).clamp(0);
}

function checkPair(fn: string, boxes1: Tensor, boxes2: Tensor): void {
  checkBoxes(boxes1, `${fn}: boxes1`);
  checkBoxes(boxes2, `${fn}: boxes2`);
}

/**
 * Pairwise intersection over union (Jaccard index).
 * @param boxes1 [N, 4]
 * @param boxes2 [M, 4]
 * @returns [N, M]
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkPair('boxIou', boxes1, boxes2);
  return torch.tidy(() => {
    const [inter, union] = boxInterUnion(boxes1, boxes2);
    return inter.div(union);
  });
}

/**
 * Pairwise generalized IoU: IoU minus the share of the smallest enclosing box that the union leaves empty.
 * @returns [N, M]
 */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkPair('generalizedBoxIou', boxes1, boxes2);
  return torch.tidy(() => {
    const [inter, union] = boxInterUnion(boxes1, boxes2);
    const iou = inter.div(union);
    const whi = enclosingWh(boxes1, boxes2);
    const areai = whi.select(2, 0).mul(whi.select(2, 1));
    return iou.sub(areai.sub(union).div(areai));
  });
}

/** torchvision's _box_diou_iou: [distance IoU, IoU], [N, M] each. */
function boxDiouIou(boxes1: Tensor, boxes2: Tensor, eps: number): [Tensor, Tensor] {
  const [inter, union] = boxInterUnion(boxes1, boxes2);
  const iou = inter.div(union);
  const whi = enclosingWh(boxes1, boxes2);
  const diagonalDistanceSquared = whi.select(2, 0).pow(2).add(whi.select(2, 1).pow(2)).add(eps);
  const center = (b: Tensor, i: number) => b.select(1, i).add(b.select(1, i + 2)).div(2);
  const [xp, yp, xg, yg] = [center(boxes1, 0), center(boxes1, 1), center(boxes2, 0), center(boxes2, 1)];
  const centersDistanceSquared = upcast(xp.unsqueeze(1).sub(xg.unsqueeze(0))).pow(2).add(upcast(yp.unsqueeze(1).sub(yg.unsqueeze(0))).pow(2));
  return [iou.sub(centersDistanceSquared.div(diagonalDistanceSquared)), iou];
}

/**
 * Pairwise distance IoU: IoU minus the squared centre distance over the enclosing box's squared diagonal.
 * @returns [N, M]
 */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor {
  checkPair('distanceBoxIou', boxes1, boxes2);
  return torch.tidy(() => boxDiouIou(upcast(boxes1), upcast(boxes2), eps)[0]);
}

/**
 * Pairwise complete IoU: distance IoU minus an aspect-ratio term (its weight alpha taken without gradient).
 * @returns [N, M]
 */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor {
  checkPair('completeBoxIou', boxes1, boxes2);
  return torch.tidy(() => {
    const b1 = upcast(boxes1);
    const b2 = upcast(boxes2);
    const [diou, iou] = boxDiouIou(b1, b2, eps);
    const p = b1.unsqueeze(1);
    const wPred = p.select(2, 2).sub(p.select(2, 0));
    const hPred = p.select(2, 3).sub(p.select(2, 1));
    const wGt = b2.select(1, 2).sub(b2.select(1, 0));
    const hGt = b2.select(1, 3).sub(b2.select(1, 1));
    const v = wPred.div(hPred).atan().sub(wGt.div(hGt).atan()).pow(2).mul(4 / Math.PI ** 2);
    const alpha = torch.noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return diou.sub(alpha.mul(v));
  });
}

/**
 * The (x1, y1, x2, y2) box around each mask's non-zero pixels.
 * @param masks [N, H, W]
 * @returns float32 [N, 4]
 */
export function masksToBoxes(masks: Tensor): Tensor {
  if (masks.ndim !== 3) throw new RangeError(`masksToBoxes: masks must be a Tensor[N, H, W], got shape [${masks.shape.join(', ')}]`);
  if (masks.numel() === 0) return torch.zeros([0, 4], { device: masks.device, dtype: 'float32' });
  return torch.tidy(() => {
    const rows: Tensor[] = [];
    for (let i = 0; i < masks.shape[0]; i++) {
      const yx = masks.select(0, i).ne(0).nonzero();
      const [ys, xs] = [yx.select(1, 0), yx.select(1, 1)];
      rows.push(torch.stack([torch.amin(xs), torch.amin(ys), torch.amax(xs), torch.amax(ys)]).float());
    }
    return torch.stack(rows);
  });
}
