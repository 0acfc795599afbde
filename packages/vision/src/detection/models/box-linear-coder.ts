// torchvision's BoxLinearCoder (models/detection/_utils.py), FCOS's box parametrisation: the
// distances from an anchor's centre to the four sides of a box, optionally in units of the anchor's size.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export class BoxLinearCoder {
  /** @param normalizeBySize divide the distances by the anchor's width and height (FCOS's default) */
  constructor(readonly normalizeBySize = true) {}

  /** [..., 4] (w, h, w, h) of xyxy boxes. */
  private static sizes(boxes: Tensor): Tensor {
    const w = boxes.select(-1, 2).sub(boxes.select(-1, 0));
    const h = boxes.select(-1, 3).sub(boxes.select(-1, 1));
    return torch.stack([w, h, w, h], -1);
  }

  /**
   * @param referenceBoxes [..., 4] xyxy anchors
   * @param proposals [..., 4] xyxy boxes to encode
   * @returns [..., 4] (left, top, right, bottom) distances from the anchors' centres
   */
  encode(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    return torch.tidy(() => {
      const ctrX = referenceBoxes.select(-1, 0).add(referenceBoxes.select(-1, 2)).mul(0.5);
      const ctrY = referenceBoxes.select(-1, 1).add(referenceBoxes.select(-1, 3)).mul(0.5);
      const targets = torch.stack(
        [ctrX.sub(proposals.select(-1, 0)), ctrY.sub(proposals.select(-1, 1)), proposals.select(-1, 2).sub(ctrX), proposals.select(-1, 3).sub(ctrY)],
        -1,
      );
      return this.normalizeBySize ? targets.div(BoxLinearCoder.sizes(referenceBoxes)) : targets;
    });
  }

  /**
   * @param relCodes [..., 4] encoded distances
   * @param boxes [..., 4] xyxy anchors (same leading shape)
   * @returns [..., 4] xyxy boxes
   */
  decode(relCodes: Tensor, boxes: Tensor): Tensor {
    return torch.tidy(() => {
      const ref = boxes.to(relCodes.dtype);
      const ctrX = ref.select(-1, 0).add(ref.select(-1, 2)).mul(0.5);
      const ctrY = ref.select(-1, 1).add(ref.select(-1, 3)).mul(0.5);
      const codes = this.normalizeBySize ? relCodes.mul(BoxLinearCoder.sizes(ref)) : relCodes;
      return torch.stack([ctrX.sub(codes.select(-1, 0)), ctrY.sub(codes.select(-1, 1)), ctrX.add(codes.select(-1, 2)), ctrY.add(codes.select(-1, 3))], -1);
    });
  }
}
