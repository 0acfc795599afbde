// torchvision's BoxCoder (models/detection/_utils.py): boxes as offsets from reference boxes,
// (dx, dy, dw, dh) scaled by per-coordinate weights, as in the R-CNN papers.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export class BoxCoder {
  /**
   * @param weights (wx, wy, ww, wh): (1, 1, 1, 1) for the RPN, (10, 10, 5, 5) for the RoI heads
   * @param bboxXformClip the largest dw/dh decoded, so exp() cannot overflow (log(1000/16): a box grows at most 62.5×)
   */
  constructor(
    readonly weights: [number, number, number, number],
    readonly bboxXformClip = Math.log(1000 / 16),
  ) {}

  /** Per image: the offsets of `proposals[i]` [K, 4] to their matched `referenceBoxes[i]` [K, 4]. */
  encode(referenceBoxes: Tensor[], proposals: Tensor[]): Tensor[] {
    return torch.tidy(() => {
      const sizes = referenceBoxes.map((b) => b.shape[0]);
      const targets = this.encodeSingle(torch.cat(referenceBoxes, 0), torch.cat(proposals, 0));
      return targets.splitWithSizes(sizes, 0);
    });
  }

  /**
   * @param referenceBoxes [K, 4] xyxy, the ground truth
   * @param proposals [K, 4] xyxy, the boxes the offsets start from
   * @returns [K, 4] (dx, dy, dw, dh)
   */
  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    return torch.tidy(() => {
      const [wx, wy, ww, wh] = this.weights;
      const column = (boxes: Tensor, i: number) => boxes.select(1, i).unsqueeze(1);
      const [px1, py1, px2, py2] = [0, 1, 2, 3].map((i) => column(proposals, i));
      const [gx1, gy1, gx2, gy2] = [0, 1, 2, 3].map((i) => column(referenceBoxes, i));
      const exWidths = px2.sub(px1);
      const exHeights = py2.sub(py1);
      const exCtrX = px1.add(exWidths.mul(0.5));
      const exCtrY = py1.add(exHeights.mul(0.5));
      const gtWidths = gx2.sub(gx1);
      const gtHeights = gy2.sub(gy1);
      const gtCtrX = gx1.add(gtWidths.mul(0.5));
      const gtCtrY = gy1.add(gtHeights.mul(0.5));
      // The same operation order as torchvision's encode_boxes, so float32 results are equal bit for bit.
      const dx = gtCtrX.sub(exCtrX).mul(wx).div(exWidths);
      const dy = gtCtrY.sub(exCtrY).mul(wy).div(exHeights);
      const dw = gtWidths.div(exWidths).log().mul(ww);
      const dh = gtHeights.div(exHeights).log().mul(wh);
      return torch.cat([dx, dy, dw, dh], 1);
    });
  }

  /**
   * @param relCodes [sum K_i, 4 · C] offsets (C boxes per reference box: one per class in the RoI heads)
   * @param boxes per image, [K_i, 4] reference boxes
   * @returns [sum K_i, C, 4] decoded xyxy boxes
   */
  decode(relCodes: Tensor, boxes: Tensor[]): Tensor {
    return torch.tidy(() => {
      const boxSum = boxes.reduce((n, b) => n + b.shape[0], 0);
      const codes = boxSum > 0 ? relCodes.reshape([boxSum, -1]) : relCodes;
      const pred = this.decodeSingle(codes, torch.cat(boxes, 0));
      return boxSum > 0 ? pred.reshape([boxSum, -1, 4]) : pred;
    });
  }

  /**
   * @param relCodes [K, 4 · C] (dx, dy, dw, dh) per box and class
   * @param boxes [K, 4] xyxy reference boxes
   * @returns [K, 4 · C] xyxy
   */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor {
    return torch.tidy(() => {
      const ref = boxes.to(relCodes.dtype);
      const widths = ref.select(1, 2).sub(ref.select(1, 0));
      const heights = ref.select(1, 3).sub(ref.select(1, 1));
      const ctrX = ref.select(1, 0).add(widths.mul(0.5)).unsqueeze(1);
      const ctrY = ref.select(1, 1).add(heights.mul(0.5)).unsqueeze(1);
      const [wx, wy, ww, wh] = this.weights;
      const every4th = (start: number) => relCodes.slice({ dim: 1, start, step: 4 });
      const dx = every4th(0).div(wx);
      const dy = every4th(1).div(wy);
      const dw = every4th(2).div(ww).clamp(null, this.bboxXformClip);
      const dh = every4th(3).div(wh).clamp(null, this.bboxXformClip);
      const predCtrX = dx.mul(widths.unsqueeze(1)).add(ctrX);
      const predCtrY = dy.mul(heights.unsqueeze(1)).add(ctrY);
      const halfW = dw.exp().mul(widths.unsqueeze(1)).mul(0.5);
      const halfH = dh.exp().mul(heights.unsqueeze(1)).mul(0.5);
      return torch.stack([predCtrX.sub(halfW), predCtrY.sub(halfH), predCtrX.add(halfW), predCtrY.add(halfH)], 2).flatten(1);
    });
  }
}
