// Ultralytics' complete IoU (ultralytics/utils/metrics.py bbox_iou(..., xywh=False, CIoU=True)).
// It differs from torchvision's (ops/boxes.ts completeBoxIou): eps 1e-7 is added to both heights,
// to the union and to the enclosing diagonal, and alpha's denominator is v - iou + (1 + eps).
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

/**
 * Elementwise CIoU of xyxy boxes, broadcast over leading dimensions; alpha carries no gradient.
 * @param box1 [..., 4]
 * @param box2 [..., 4]
 * @returns [..., 1]
 */
export function bboxCiou(box1: Tensor, box2: Tensor, eps = 1e-7): Tensor {
  for (const [name, b] of [['box1', box1], ['box2', box2]] as const) {
    if (b.ndim === 0 || b.shape[b.ndim - 1] !== 4) throw new RangeError(`bboxCiou: ${name} must be [..., 4] xyxy boxes, got shape [${b.shape.join(', ')}]`);
  }
  return torch.tidy(() => {
    const [b1x1, b1y1, b1x2, b1y2] = box1.chunk(4, -1);
    const [b2x1, b2y1, b2x2, b2y2] = box2.chunk(4, -1);
    const w1 = b1x2.sub(b1x1);
    const h1 = b1y2.sub(b1y1).add(eps);
    const w2 = b2x2.sub(b2x1);
    const h2 = b2y2.sub(b2y1).add(eps);
    const inter = b1x2.minimum(b2x2).sub(b1x1.maximum(b2x1)).clamp(0).mul(b1y2.minimum(b2y2).sub(b1y1.maximum(b2y1)).clamp(0));
    const union = w1.mul(h1).add(w2.mul(h2)).sub(inter).add(eps);
    const iou = inter.div(union);
    const cw = b1x2.maximum(b2x2).sub(b1x1.minimum(b2x1));
    const ch = b1y2.maximum(b2y2).sub(b1y1.minimum(b2y1));
    const c2 = cw.pow(2).add(ch.pow(2)).add(eps);
    const rho2 = b2x1.add(b2x2).sub(b1x1).sub(b1x2).pow(2).add(b2y1.add(b2y2).sub(b1y1).sub(b1y2).pow(2)).div(4);
    const v = w2.div(h2).atan().sub(w1.div(h1).atan()).pow(2).mul(4 / Math.PI ** 2);
    const alpha = torch.noGrad(() => v.div(v.sub(iou).add(1 + eps)));
    return iou.sub(rho2.div(c2).add(v.mul(alpha)));
  });
}
