// torchvision.ops.roi_align: RoI Align (Mask R-CNN) by torchvision's own kernel
// (torchvision::roi_align, with its autograd and, in a CUDA build, CUDA kernels).
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { roiTensor, pair, type RoiBoxes } from './roi-format.js';

export interface RoiAlignOptions {
  /** Maps box coordinates to the input's: 0.25 for a feature map at 1/4 of the image (default 1). */
  spatialScale?: number;
  /** Sampling points per bin side; <= 0 adapts to the box size (ceil(roi size / output size)) (default -1). */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel for an exact pixel model, as Detectron2 (default false, the legacy behaviour). */
  aligned?: boolean;
}

/**
 * Average-pools each box of `input` into `outputSize` bins by bilinear sampling.
 * @param input [N, C, H, W]
 * @param boxes Tensor[K, 5] (image index, x1, y1, x2, y2) or one Tensor[L, 4] per image
 * @param outputSize bins, as [height, width] or one number for both
 * @returns [K, C, outputSize[0], outputSize[1]]
 */
export function roiAlign(input: Tensor, boxes: RoiBoxes, outputSize: number | readonly number[], options: RoiAlignOptions = {}): Tensor {
  const [height, width] = pair(outputSize, 'roiAlign');
  const { rois, owned } = roiTensor(boxes, 'roiAlign');
  try {
    return torch.ops.torchvision.roiAlign(input, rois, options.spatialScale ?? 1, height, width, options.samplingRatio ?? -1, options.aligned ?? false);
  } finally {
    if (owned) rois.dispose();
  }
}

/** torchvision.ops.RoIAlign: `roiAlign` with fixed settings. */
export class RoIAlign extends nn.Module {
  constructor(
    readonly outputSize: number | readonly number[],
    readonly spatialScale: number,
    readonly samplingRatio: number,
    readonly aligned = false,
  ) {
    super();
    pair(outputSize, 'RoIAlign');
  }

  /** @param input [N, C, H, W] @param rois Tensor[K, 5] or one Tensor[L, 4] per image */
  forward(input: Tensor, rois: RoiBoxes): Tensor {
    return roiAlign(input, rois, this.outputSize, { spatialScale: this.spatialScale, samplingRatio: this.samplingRatio, aligned: this.aligned });
  }

  /** torchvision's repr. */
  override toString(): string {
    return `RoIAlign(output_size=${nn.pyRepr(this.outputSize)}, spatial_scale=${nn.pyFloat(this.spatialScale)}, sampling_ratio=${this.samplingRatio}, aligned=${nn.pyRepr(this.aligned)})`;
  }
}
