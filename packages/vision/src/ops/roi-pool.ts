// torchvision.ops.roi_pool: RoI max pooling (Fast R-CNN) by torchvision's kernel (torchvision::roi_pool).
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { roiTensor, pair, type RoiBoxes } from './roi-format.js';

/**
 * Max-pools each box of `input` into `outputSize` bins.
 * @param input [N, C, H, W]
 * @param boxes Tensor[K, 5] (image index, x1, y1, x2, y2) or one Tensor[L, 4] per image
 * @param spatialScale maps box coordinates to the input's (default 1)
 * @returns [K, C, outputSize[0], outputSize[1]]
 */
export function roiPool(input: Tensor, boxes: RoiBoxes, outputSize: number | readonly number[], spatialScale = 1): Tensor {
  const [height, width] = pair(outputSize, 'roiPool');
  const { rois, owned } = roiTensor(boxes, 'roiPool');
  try {
    const [output, argmax] = torch.ops.torchvision.roiPool(input, rois, spatialScale, height, width);
    argmax.dispose();
    return output;
  } finally {
    if (owned) rois.dispose();
  }
}

/** torchvision.ops.RoIPool. */
export class RoIPool extends nn.Module {
  constructor(
    readonly outputSize: number | readonly number[],
    readonly spatialScale: number,
  ) {
    super();
    pair(outputSize, 'RoIPool');
  }

  forward(input: Tensor, rois: RoiBoxes): Tensor {
    return roiPool(input, rois, this.outputSize, this.spatialScale);
  }

  override toString(): string {
    return `RoIPool(output_size=${nn.pyRepr(this.outputSize)}, spatial_scale=${nn.pyFloat(this.spatialScale)})`;
  }
}
