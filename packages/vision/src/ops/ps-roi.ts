// torchvision.ops.ps_roi_align / ps_roi_pool: position-sensitive RoI pooling (R-FCN, Light-Head
// R-CNN) by torchvision's kernels. Bin (i, j) of output channel c reads input channel
// (c · outH + i) · outW + j, so C must be a multiple of outH · outW.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { roiTensor, pair, type RoiBoxes } from './roi-format.js';

function checkChannels(fn: string, input: Tensor, height: number, width: number): void {
  const channels = input.shape[1];
  if (input.ndim !== 4 || channels % (height * width) !== 0) {
    throw new RangeError(`${fn}: input must be [N, C, H, W] with C a multiple of outputSize ${height}×${width} = ${height * width}, got shape [${input.shape.join(', ')}]`);
  }
}

/**
 * @param input [N, C, H, W], C = C' · outH · outW
 * @param boxes Tensor[K, 5] or one Tensor[L, 4] per image
 * @returns [K, C', outH, outW]
 */
export function psRoiAlign(input: Tensor, boxes: RoiBoxes, outputSize: number | readonly number[], options: { spatialScale?: number; samplingRatio?: number } = {}): Tensor {
  const [height, width] = pair(outputSize, 'psRoiAlign');
  checkChannels('psRoiAlign', input, height, width);
  const { rois, owned } = roiTensor(boxes, 'psRoiAlign');
  try {
    const [output, channelMapping] = torch.ops.torchvision.psRoiAlign(input, rois, options.spatialScale ?? 1, height, width, options.samplingRatio ?? -1);
    channelMapping.dispose();
    return output;
  } finally {
    if (owned) rois.dispose();
  }
}

/**
 * @param input [N, C, H, W], C = C' · outH · outW
 * @returns [K, C', outH, outW]
 */
export function psRoiPool(input: Tensor, boxes: RoiBoxes, outputSize: number | readonly number[], spatialScale = 1): Tensor {
  const [height, width] = pair(outputSize, 'psRoiPool');
  checkChannels('psRoiPool', input, height, width);
  const { rois, owned } = roiTensor(boxes, 'psRoiPool');
  try {
    const [output, channelMapping] = torch.ops.torchvision.psRoiPool(input, rois, spatialScale, height, width);
    channelMapping.dispose();
    return output;
  } finally {
    if (owned) rois.dispose();
  }
}

/** torchvision.ops.PSRoIAlign. */
export class PSRoIAlign extends nn.Module {
  constructor(
    readonly outputSize: number | readonly number[],
    readonly spatialScale: number,
    readonly samplingRatio: number,
  ) {
    super();
    pair(outputSize, 'PSRoIAlign');
  }

  forward(input: Tensor, rois: RoiBoxes): Tensor {
    return psRoiAlign(input, rois, this.outputSize, { spatialScale: this.spatialScale, samplingRatio: this.samplingRatio });
  }
}

/** torchvision.ops.PSRoIPool. */
export class PSRoIPool extends nn.Module {
  constructor(
    readonly outputSize: number | readonly number[],
    readonly spatialScale: number,
  ) {
    super();
    pair(outputSize, 'PSRoIPool');
  }

  forward(input: Tensor, rois: RoiBoxes): Tensor {
    return psRoiPool(input, rois, this.outputSize, this.spatialScale);
  }
}
