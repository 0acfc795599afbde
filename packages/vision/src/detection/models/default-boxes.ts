// SSD's default boxes (Liu et al. 2016, section 2.2 and page 6), as torchvision's DefaultBoxGenerator
// computes them: per feature map k, boxes of scale s_k and sqrt(s_k·s_k+1) at ratio 1, plus a pair
// per aspect ratio, centred on each cell, in [x1, y1, x2, y2] image pixels.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import type { ImageList } from './image-list.js';

export interface DefaultBoxGeneratorOptions {
  /** s_min of the scales' linear estimate, when `scales` is not given (default 0.15). */
  minRatio?: number;
  /** s_max of the scales' linear estimate (default 0.9). */
  maxRatio?: number;
  /** One scale per feature map plus one (the last is only used for s'_k); default estimated from min/max ratio. */
  scales?: number[];
  /** Pixels between cell centres per feature map (SSD300's 8, 16, 32, 64, 100, 300); default from the grid size. */
  steps?: number[];
  /** Clip the relative widths and heights to [0, 1] (default true). */
  clip?: boolean;
}

export class DefaultBoxGenerator extends nn.Module {
  readonly aspectRatios: number[][];
  readonly steps: number[] | null;
  readonly clip: boolean;
  readonly scales: number[];
  /** Per feature map, the [w, h] pairs relative to the image, as plain numbers (torchvision's _wh_pairs). */
  private readonly whPairs: number[][][];

  /** @param aspectRatios per feature map, the aspect ratios besides 1 ([[2], [2, 3], ...]) */
  constructor(aspectRatios: number[][], options: DefaultBoxGeneratorOptions = {}) {
    super();
    const { minRatio = 0.15, maxRatio = 0.9, scales, steps, clip = true } = options;
    if (steps && steps.length !== aspectRatios.length) {
      throw new RangeError(`DefaultBoxGenerator: aspectRatios (${aspectRatios.length}) and steps (${steps.length}) should have the same length`);
    }
    const numOutputs = aspectRatios.length;
    if (scales && scales.length < numOutputs + 1) {
      throw new RangeError(`DefaultBoxGenerator: scales needs ${numOutputs + 1} entries (one per feature map and one more), got ${scales.length}`);
    }
    this.aspectRatios = aspectRatios;
    this.steps = steps ?? null;
    this.clip = clip;
    if (scales) this.scales = scales;
    else if (numOutputs > 1) {
      const range = maxRatio - minRatio;
      this.scales = [...Array.from({ length: numOutputs }, (_, k) => minRatio + (range * k) / (numOutputs - 1.0)), 1.0];
    } else this.scales = [minRatio, maxRatio];
    this.whPairs = aspectRatios.map((ratios, k) => {
      const sK = this.scales[k];
      const sPrimeK = Math.sqrt(this.scales[k] * this.scales[k + 1]);
      const pairs = [
        [sK, sK],
        [sPrimeK, sPrimeK],
      ];
      for (const ar of ratios) {
        const sqAr = Math.sqrt(ar);
        pairs.push([sK * sqAr, sK / sqAr], [sK / sqAr, sK * sqAr]);
      }
      return pairs;
    });
  }

  /** 2 boxes at ratio 1 plus 2 per aspect ratio, per feature map. */
  numAnchorsPerLocation(): number[] {
    return this.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /** @returns [sum of H_k·W_k·A_k, 4] boxes as (cx, cy, w, h) relative to the image */
  private gridDefaultBoxes(gridSizes: [number, number][], imageSize: [number, number]): Tensor {
    const boxes = gridSizes.map(([h, w], k) => {
      const [yFk, xFk] = this.steps ? [imageSize[0] / this.steps[k], imageSize[1] / this.steps[k]] : [h, w];
      const shiftsX = torch.arange(0, w).add(0.5).div(xFk);
      const shiftsY = torch.arange(0, h).add(0.5).div(yFk);
      const shiftX = shiftsX.unsqueeze(0).expand([h, w]).reshape([-1]);
      const shiftY = shiftsY.unsqueeze(1).expand([h, w]).reshape([-1]);
      const pairs = this.whPairs[k];
      const shifts = torch.stack(pairs.flatMap(() => [shiftX, shiftY]), -1).reshape([-1, 2]);
      let wh = torch.tensor(pairs, { dtype: 'float32' });
      if (this.clip) wh = wh.clamp(0, 1);
      return torch.cat([shifts, wh.repeat([h * w, 1])], 1);
    });
    return torch.cat(boxes, 0);
  }

  /**
   * @param imageList the batch the features were computed from (its padded size scales the boxes)
   * @param featureMaps [N, C, H_k, W_k] per level
   * @returns per image, [sum of H_k·W_k·A_k, 4] default boxes in xyxy pixels of the padded batch
   */
  forward(imageList: ImageList, featureMaps: Tensor[]): Tensor[] {
    return torch.tidy(() => {
      const gridSizes = featureMaps.map((f) => [f.shape[2], f.shape[3]] as [number, number]);
      const [height, width] = imageList.tensors.shape.slice(-2);
      const cxcywh = this.gridDefaultBoxes(gridSizes, [height, width]).to({ device: featureMaps[0].device, dtype: featureMaps[0].dtype });
      const xySize = torch.tensor([width, height], { dtype: 'int64', device: featureMaps[0].device });
      const centres = cxcywh.narrow(1, 0, 2);
      const halfSizes = cxcywh.narrow(1, 2, 2).mul(0.5);
      const xyxy = torch.cat([centres.sub(halfSizes).mul(xySize), centres.add(halfSizes).mul(xySize)], -1);
      return imageList.imageSizes.map(() => xyxy);
    });
  }

  /** torchvision's repr (scales are floats there, aspect ratios and steps ints). */
  override toString(): string {
    const list = (xs: unknown[], float = false): string => `[${xs.map((x) => (Array.isArray(x) ? list(x) : float && Number.isInteger(x) ? (x as number).toFixed(1) : String(x))).join(', ')}]`;
    return `DefaultBoxGenerator(aspect_ratios=${list(this.aspectRatios)}, clip=${this.clip ? 'True' : 'False'}, scales=${list(this.scales, true)}, steps=${this.steps ? list(this.steps) : 'None'})`;
  }
}
