// torchvision's GeneralizedRCNN (models/detection/generalized_rcnn.py): transform → backbone → RPN →
// RoI heads → boxes back in the input images' pixels. Faster R-CNN is this with its parts.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { RegionProposalNetwork } from './rpn.js';
import type { RoIHeads } from './roi-heads.js';
import type { GeneralizedRCNNTransform } from './transform.js';
import type { Detection, DetectionTarget } from './registry.js';

/** A detection backbone: an image batch to feature maps by name (or one map), all with `outChannels` channels. */
export interface DetectionBackbone extends nn.Module {
  readonly outChannels: number;
  forward(x: Tensor): Map<string, Tensor> | Tensor;
}

export class GeneralizedRCNN extends nn.Module {
  transform: GeneralizedRCNNTransform;
  backbone: DetectionBackbone;
  rpn: RegionProposalNetwork;
  roiHeads: RoIHeads;

  constructor(backbone: DetectionBackbone, rpn: RegionProposalNetwork, roiHeads: RoIHeads, transform: GeneralizedRCNNTransform) {
    super();
    this.transform = transform;
    this.backbone = backbone;
    this.rpn = rpn;
    this.roiHeads = roiHeads;
  }

  /**
   * @param images [C, H, W] float images in [0, 1], each its own size
   * @param targets per image, boxes [K, 4] xyxy in its pixels and labels [K] int64; needed in training
   * @returns eval: per image `{ boxes, scores, labels }` in its pixels; training: the loss dict
   *   (loss_classifier, loss_box_reg, loss_objectness, loss_rpn_box_reg)
   */
  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | Record<string, Tensor> {
    if (this.training) {
      if (!targets) throw new Error(`${this.constructor.name}: targets are needed in training mode (or call .eval() to detect)`);
      targets.forEach((t, i) => {
        if (!(t.boxes instanceof torch.Tensor)) throw new TypeError(`${this.constructor.name}: targets[${i}].boxes should be a Tensor`);
        if (t.boxes.ndim !== 2 || t.boxes.shape[1] !== 4) throw new RangeError(`${this.constructor.name}: targets[${i}].boxes should be [N, 4], got shape [${t.boxes.shape}]`);
      });
    }
    const originalImageSizes = images.map((img, i) => {
      if (img.ndim < 2) throw new RangeError(`${this.constructor.name}: images[${i}] should be [C, H, W], got shape [${img.shape}]`);
      return img.shape.slice(-2) as [number, number];
    });
    return torch.tidy(() => {
      const [imageList, resizedTargets] = this.transform.call(images, targets);
      if (resizedTargets) checkDegenerateBoxes(resizedTargets);
      const out = this.backbone.call(imageList.tensors);
      const features = out instanceof torch.Tensor ? new Map([['0', out]]) : out;
      const [proposals, proposalLosses] = this.rpn.call(imageList, features, resizedTargets);
      const [detections, detectorLosses] = this.roiHeads.call(features, proposals, imageList.imageSizes, resizedTargets);
      if (this.training) return { ...detectorLosses, ...proposalLosses };
      return this.transform.postprocess(detections, imageList.imageSizes, originalImageSizes);
    });
  }
}

/** torchvision's check: every target box has positive width and height (after resizing). */
function checkDegenerateBoxes(targets: DetectionTarget[]): void {
  targets.forEach((target, i) => {
    const boxes = target.boxes;
    const degenerate = torch.tidy(() => boxes.slice({ dim: 1, start: 2 }).le(boxes.slice({ dim: 1, end: 2 })).toFlatArray());
    const k = degenerate.findIndex((v) => v !== 0);
    if (k < 0) return;
    const box = torch.tidy(() => boxes.select(0, Math.floor(k / 2)).toFlatArray());
    throw new RangeError(`All bounding boxes should have positive height and width. Found invalid box [${box.join(', ')}] for target at index ${i}.`);
  });
}
