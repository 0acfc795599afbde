// torchvision.ops' box regression losses (0.14): generalized, distance and complete IoU losses
// between matched pairs of (x1, y1, x2, y2) boxes, elementwise over Tensor[N, 4] or Tensor[4].
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { upcastNonFloat } from './boxes.js';
import { checkReduction, type LossReduction } from './focal-loss.js';

export interface BoxLossOptions {
  /** 'none' (default), 'mean' or 'sum'. */
  reduction?: LossReduction;
  /** Keeps divisions finite (default 1e-7). */
  eps?: number;
}

function coords(boxes: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return [0, 1, 2, 3].map((i) => boxes.select(-1, i)) as [Tensor, Tensor, Tensor, Tensor];
}

function checkPair(fn: string, boxes1: Tensor, boxes2: Tensor): void {
  for (const [name, b] of [['boxes1', boxes1], ['boxes2', boxes2]] as const) {
    if (b.ndim === 0 || b.shape[b.ndim - 1] !== 4) throw new RangeError(`${fn}: ${name} must be a Tensor[N, 4] or Tensor[4] of (x1, y1, x2, y2), got shape [${b.shape.join(', ')}]`);
  }
  if (boxes1.shape.join() !== boxes2.shape.join()) throw new RangeError(`${fn}: boxes1 [${boxes1.shape.join(', ')}] and boxes2 [${boxes2.shape.join(', ')}] must have the same shape (one pair per row)`);
}

/** torchvision's _loss_inter_union: intersection (0 where the boxes do not overlap) and union of each pair. */
function lossInterUnion(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const [x1, y1, x2, y2] = coords(boxes1);
  const [x1g, y1g, x2g, y2g] = coords(boxes2);
  const xkis1 = torch.maximum(x1, x1g);
  const ykis1 = torch.maximum(y1, y1g);
  const xkis2 = torch.minimum(x2, x2g);
  const ykis2 = torch.minimum(y2, y2g);
  const intsctk = torch.zerosLike(x1);
  const mask = ykis2.gt(ykis1).logicalAnd(xkis2.gt(xkis1));
  // One pair (Tensor[4]): Python indexes a 0-dim tensor by a 0-dim mask through a unit dimension.
  const view = (t: Tensor) => (mask.ndim === 0 ? t.unsqueeze(0) : t);
  const indices = [view(mask)];
  const pick = (t: Tensor) => view(t).index(indices);
  view(intsctk).indexPut_(indices, pick(xkis2).sub(pick(xkis1)).mul(pick(ykis2).sub(pick(ykis1))));
  const unionk = x2.sub(x1).mul(y2.sub(y1)).add(x2g.sub(x1g).mul(y2g.sub(y1g))).sub(intsctk);
  return [intsctk, unionk];
}

/** The smallest enclosing box's corners. */
function enclosing(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const [x1, y1, x2, y2] = coords(boxes1);
  const [x1g, y1g, x2g, y2g] = coords(boxes2);
  return [torch.minimum(x1, x1g), torch.minimum(y1, y1g), torch.maximum(x2, x2g), torch.maximum(y2, y2g)];
}

function reduce(loss: Tensor, reduction: LossReduction): Tensor {
  if (reduction === 'mean') return loss.numel() > 0 ? loss.mean() : loss.sum().mul(0.0);
  if (reduction === 'sum') return loss.sum();
  return loss;
}

/**
 * 1 - GIoU: the IoU loss plus a penalty, non-zero when the boxes do not overlap, that grows with
 * their smallest enclosing box (https://arxiv.org/abs/1902.09630).
 */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  checkPair('generalizedBoxIouLoss', boxes1, boxes2);
  const reduction = checkReduction('generalizedBoxIouLoss', options.reduction ?? 'none');
  const eps = options.eps ?? 1e-7;
  return torch.tidy(() => {
    const b1 = upcastNonFloat(boxes1);
    const b2 = upcastNonFloat(boxes2);
    const [intsctk, unionk] = lossInterUnion(b1, b2);
    const iouk = intsctk.div(unionk.add(eps));
    const [xc1, yc1, xc2, yc2] = enclosing(b1, b2);
    const areaC = xc2.sub(xc1).mul(yc2.sub(yc1));
    const miouk = iouk.sub(areaC.sub(unionk).div(areaC.add(eps)));
    return reduce(miouk.neg().add(1), reduction);
  });
}

/** torchvision's _diou_iou_loss: [1 - DIoU, IoU] per pair. */
function diouIouLoss(boxes1: Tensor, boxes2: Tensor, eps: number): [Tensor, Tensor] {
  const [intsct, union] = lossInterUnion(boxes1, boxes2);
  const iou = intsct.div(union.add(eps));
  const [xc1, yc1, xc2, yc2] = enclosing(boxes1, boxes2);
  const diagonalDistanceSquared = xc2.sub(xc1).pow(2).add(yc2.sub(yc1).pow(2)).add(eps);
  const [x1, y1, x2, y2] = coords(boxes1);
  const [x1g, y1g, x2g, y2g] = coords(boxes2);
  const xp = x2.add(x1).div(2);
  const yp = y2.add(y1).div(2);
  const xg = x1g.add(x2g).div(2);
  const yg = y1g.add(y2g).div(2);
  const centersDistanceSquared = xp.sub(xg).pow(2).add(yp.sub(yg).pow(2));
  return [iou.neg().add(1).add(centersDistanceSquared.div(diagonalDistanceSquared)), iou];
}

/** 1 - DIoU: the IoU loss plus the squared centre distance over the enclosing box's squared diagonal (https://arxiv.org/abs/1911.08287). */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  checkPair('distanceBoxIouLoss', boxes1, boxes2);
  const reduction = checkReduction('distanceBoxIouLoss', options.reduction ?? 'none');
  return torch.tidy(() => reduce(diouIouLoss(upcastNonFloat(boxes1), upcastNonFloat(boxes2), options.eps ?? 1e-7)[0], reduction));
}

/**
 * 1 - CIoU: the distance IoU loss plus an aspect-ratio term whose weight alpha carries no
 * gradient (https://arxiv.org/abs/1911.08287). As torchvision 0.14, the distance term always uses
 * eps 1e-7; `eps` only enters alpha.
 */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  checkPair('completeBoxIouLoss', boxes1, boxes2);
  const reduction = checkReduction('completeBoxIouLoss', options.reduction ?? 'none');
  const eps = options.eps ?? 1e-7;
  return torch.tidy(() => {
    const b1 = upcastNonFloat(boxes1);
    const b2 = upcastNonFloat(boxes2);
    const [diouLoss, iou] = diouIouLoss(b1, b2, 1e-7);
    const [x1, y1, x2, y2] = coords(b1);
    const [x1g, y1g, x2g, y2g] = coords(b2);
    const wPred = x2.sub(x1);
    const hPred = y2.sub(y1);
    const wGt = x2g.sub(x1g);
    const hGt = y2g.sub(y1g);
    const v = wGt.div(hGt).atan().sub(wPred.div(hPred).atan()).pow(2).mul(4 / Math.PI ** 2);
    const alpha = torch.noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return reduce(diouLoss.add(alpha.mul(v)), reduction);
  });
}
