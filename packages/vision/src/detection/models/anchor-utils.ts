// torchvision's AnchorGenerator (models/detection/anchor_utils.py): at every feature-map cell, one
// anchor per (size, aspect ratio) of that level, centred on the cell's top-left corner in image pixels.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { ImageList } from './image-list.js';

export class AnchorGenerator extends nn.Module {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];
  /** Per level, [A, 4] zero-centred anchors, rounded as torchvision rounds them (half to even). */
  readonly cellAnchors: Tensor[];

  /**
   * @param sizes per feature level, the anchor sizes (sqrt of the area) in pixels; a flat list is one size per level
   * @param aspectRatios per level, height / width ratios; a flat list is used for every level
   */
  constructor(sizes: number[][] | number[] = [[128, 256, 512]], aspectRatios: number[][] | number[] = [[0.5, 1.0, 2.0]]) {
    super();
    this.sizes = sizes.map((s) => (Array.isArray(s) ? s : [s]));
    this.aspectRatios = Array.isArray(aspectRatios[0]) ? (aspectRatios as number[][]) : this.sizes.map(() => aspectRatios as number[]);
    if (this.sizes.length !== this.aspectRatios.length) {
      throw new RangeError(`AnchorGenerator: ${this.sizes.length} levels of sizes but ${this.aspectRatios.length} of aspect ratios; give one list of each per feature map`);
    }
    this.cellAnchors = this.sizes.map((s, i) => torch.keep(AnchorGenerator.generateAnchors(s, this.aspectRatios[i])));
  }

  /** [R·S, 4] anchors (x1, y1, x2, y2) around (0, 0): widths size / sqrt(ratio), heights size · sqrt(ratio). */
  static generateAnchors(scales: number[], aspectRatios: number[], dtype: torch.DType = 'float32'): Tensor {
    return torch.tidy(() => {
      const s = torch.tensor(scales, { dtype });
      const hRatios = torch.tensor(aspectRatios, { dtype }).sqrt();
      const wRatios = hRatios.reciprocal();
      const ws = wRatios.unsqueeze(1).mul(s.unsqueeze(0)).view([-1]);
      const hs = hRatios.unsqueeze(1).mul(s.unsqueeze(0)).view([-1]);
      return torch.stack([ws.neg(), hs.neg(), ws, hs], 1).div(2).round();
    });
  }

  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i].length);
  }

  /**
   * @param gridSizes per level, the feature map's (height, width)
   * @param strides per level, image pixels per feature cell (height, width)
   * @returns per level, [H·W·A, 4], cell-major (all anchors of cell 0, then cell 1, ...)
   */
  gridAnchors(gridSizes: [number, number][], strides: [number, number][], dtype: torch.DType = 'float32', device = 'cpu'): Tensor[] {
    if (gridSizes.length !== this.cellAnchors.length || strides.length !== this.cellAnchors.length) {
      throw new RangeError(
        `AnchorGenerator: ${gridSizes.length} feature maps but anchors for ${this.cellAnchors.length} levels; give sizes and aspect ratios for each feature map`,
      );
    }
    return torch.tidy(() =>
      gridSizes.map(([gridHeight, gridWidth], i) => {
        const [strideHeight, strideWidth] = strides[i];
        const base = this.cellAnchors[i].to({ dtype, device });
        // int32 shifts, as torchvision's, added to the anchors in their dtype.
        const shiftsX = torch.arange(0, gridWidth, 1, { dtype: 'int32', device }).mul(strideWidth);
        const shiftsY = torch.arange(0, gridHeight, 1, { dtype: 'int32', device }).mul(strideHeight);
        const shiftX = shiftsX.unsqueeze(0).expand([gridHeight, gridWidth]).reshape([-1]);
        const shiftY = shiftsY.unsqueeze(1).expand([gridHeight, gridWidth]).reshape([-1]);
        const shifts = torch.stack([shiftX, shiftY, shiftX, shiftY], 1);
        return shifts.view([-1, 1, 4]).add(base.view([1, -1, 4])).reshape([-1, 4]);
      }),
    );
  }

  /**
   * @param featureMaps per level, [N, C, H_l, W_l]
   * @returns per image, [sum_l H_l·W_l·A_l, 4] anchors in the batch's (padded) pixel coordinates
   */
  forward(imageList: ImageList, featureMaps: Tensor[]): Tensor[] {
    const [imageHeight, imageWidth] = imageList.tensors.shape.slice(-2);
    const gridSizes = featureMaps.map((f) => f.shape.slice(-2) as [number, number]);
    const strides = gridSizes.map(([h, w]): [number, number] => [Math.floor(imageHeight / h), Math.floor(imageWidth / w)]);
    return torch.tidy(() => {
      const perLevel = this.gridAnchors(gridSizes, strides, featureMaps[0].dtype, featureMaps[0].device);
      return imageList.imageSizes.map(() => torch.cat(perLevel, 0));
    });
  }
}
