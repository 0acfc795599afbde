// torchvision's GeneralizedRCNNTransform (models/detection/transform.py): normalise, resize so the
// short side is minSize (the long side at most maxSize), pad into one batch, and map detections back.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { ImageList } from './image-list.js';
import type { Detection, DetectionTarget } from './registry.js';

const F = nn.functional;

export interface GeneralizedRCNNTransformOptions {
  /** Pad height and width up to a multiple of this (default 32, the backbone's total stride). */
  sizeDivisible?: number;
  /** Resize every image to exactly (width, height) instead (torchvision's fixed_size). */
  fixedSize?: [number, number];
  /** Leave images at their size in training (torchvision's _skip_resize). */
  skipResize?: boolean;
}

/**
 * The scale torchvision's _resize_image_and_masks computes, in float32 as it does:
 * min(minSize / short side, maxSize / long side), where Python's `float / tensor` is
 * `tensor.reciprocal() * float`. (Rounding float64 results of one float32 operation to float32 is exact.)
 */
export function resizeScale(height: number, width: number, minSize: number, maxSize: number): number {
  const f = Math.fround;
  return Math.min(f(f(1 / Math.min(height, width)) * f(minSize)), f(f(1 / Math.max(height, width)) * f(maxSize)));
}

/**
 * Resizes one image as torchvision's detection transform does: bilinear, with the scale factor
 * and recompute_scale_factor, so the output size is floor(size · scale) and the kernel maps
 * pixels with input / output.
 * @param image [C, H, W]
 */
export function resizeImage(image: Tensor, minSize: number, maxSize: number, fixedSize?: [number, number]): Tensor {
  return torch.tidy(() => {
    const batch = image.unsqueeze(0);
    const [height, width] = image.shape.slice(-2);
    const resized = fixedSize
      ? F.interpolate(batch, { size: [fixedSize[1], fixedSize[0]], mode: 'bilinear', alignCorners: false })
      : F.interpolate(batch, { scaleFactor: resizeScale(height, width, minSize, maxSize), mode: 'bilinear', recomputeScaleFactor: true, alignCorners: false });
    return resized.squeezeDim(0);
  });
}

/**
 * Scales xyxy boxes from an image of `originalSize` (height, width) to one of `newSize`, with
 * torchvision's float32 ratios.
 * @param boxes [K, 4]
 */
export function resizeBoxes(boxes: Tensor, originalSize: [number, number], newSize: [number, number]): Tensor {
  return torch.tidy(() => {
    const ratioHeight = Math.fround(Math.fround(newSize[0]) / Math.fround(originalSize[0]));
    const ratioWidth = Math.fround(Math.fround(newSize[1]) / Math.fround(originalSize[1]));
    const ratios = torch.tensor([ratioWidth, ratioHeight, ratioWidth, ratioHeight], { dtype: boxes.dtype, device: boxes.device });
    return boxes.mul(ratios);
  });
}

export class GeneralizedRCNNTransform extends nn.Module {
  /** Training picks one of these at random per image (multi-scale training); eval uses the last. */
  readonly minSize: number[];
  readonly sizeDivisible: number;
  readonly fixedSize: [number, number] | undefined;
  readonly skipResize: boolean;

  constructor(
    minSize: number | number[],
    readonly maxSize: number,
    readonly imageMean: [number, number, number] | number[],
    readonly imageStd: [number, number, number] | number[],
    options: GeneralizedRCNNTransformOptions = {},
  ) {
    super();
    this.minSize = Array.isArray(minSize) ? minSize : [minSize];
    if (this.minSize.length === 0) throw new RangeError('GeneralizedRCNNTransform: minSize should list at least one size');
    this.sizeDivisible = options.sizeDivisible ?? 32;
    this.fixedSize = options.fixedSize;
    this.skipResize = options.skipResize ?? false;
  }

  /**
   * @param images [C, H, W] float images, each its own size
   * @param targets per image, boxes in its pixels (copied, never changed in place)
   * @returns the normalised, resized, padded batch with each image's size, and the targets' boxes resized with them
   */
  forward(images: Tensor[], targets?: DetectionTarget[]): [ImageList, DetectionTarget[] | undefined] {
    if (targets && targets.length !== images.length) {
      throw new RangeError(`GeneralizedRCNNTransform: ${images.length} images but ${targets.length} targets; give one target per image`);
    }
    const resized: Tensor[] = [];
    const newTargets: DetectionTarget[] | undefined = targets ? [] : undefined;
    images.forEach((image, i) => {
      if (image.dim() !== 3) throw new RangeError(`GeneralizedRCNNTransform: images[${i}] should be [C, H, W], got shape [${image.shape}]`);
      const [out, target] = this.resize(this.normalize(image), targets?.[i]);
      resized.push(out);
      if (newTargets && target) newTargets.push(target);
    });
    const imageSizes = resized.map((img) => img.shape.slice(-2) as [number, number]);
    return [new ImageList(this.batchImages(resized, this.sizeDivisible), imageSizes), newTargets];
  }

  /** @param image [C, H, W] float in [0, 1] */
  normalize(image: Tensor): Tensor {
    if (!image.isFloatingPoint()) {
      throw new TypeError(`GeneralizedRCNNTransform: images should be floating point in [0, 1], got ${image.dtype}; convert with .float().div(255)`);
    }
    return torch.tidy(() => {
      const options = { dtype: image.dtype, device: image.device };
      const mean = torch.tensor(this.imageMean as number[], options).view([-1, 1, 1]);
      const std = torch.tensor(this.imageStd as number[], options).view([-1, 1, 1]);
      return image.sub(mean).div(std);
    });
  }

  /** torchvision's torch_choice: draws from the global generator as torchvision does, so seeded runs agree. */
  torchChoice(k: number[]): number {
    const draw = torch.empty([1]);
    try {
      return k[Math.trunc(draw.uniform_({ from: 0, to: k.length }).item())];
    } finally {
      draw.dispose();
    }
  }

  /** @param image [C, H, W] @param target its boxes, resized with it */
  resize(image: Tensor, target?: DetectionTarget): [Tensor, DetectionTarget | undefined] {
    const [height, width] = image.shape.slice(-2);
    if (this.training && this.skipResize) return [image, target];
    const size = this.training ? this.torchChoice(this.minSize) : this.minSize[this.minSize.length - 1];
    const out = resizeImage(image, size, this.maxSize, this.fixedSize);
    if (!target) return [out, undefined];
    if (target.masks || target.keypoints) {
      throw new Error('GeneralizedRCNNTransform: targets with masks or keypoints are not supported yet (Faster R-CNN uses boxes and labels)');
    }
    return [out, { ...target, boxes: resizeBoxes(target.boxes, [height, width], out.shape.slice(-2) as [number, number]) }];
  }

  /**
   * Pads every image (bottom and right, with zeros) to the largest height and width, rounded up
   * to a multiple of `sizeDivisible`, and stacks them.
   * @returns [N, C, H, W]
   */
  batchImages(images: Tensor[], sizeDivisible = 32): Tensor {
    if (images.length === 0) throw new RangeError('GeneralizedRCNNTransform: no images to batch');
    const maxSize = images[0].shape.slice();
    for (const img of images.slice(1)) img.shape.forEach((s, d) => (maxSize[d] = Math.max(maxSize[d], s)));
    maxSize[1] = Math.ceil(maxSize[1] / sizeDivisible) * sizeDivisible;
    maxSize[2] = Math.ceil(maxSize[2] / sizeDivisible) * sizeDivisible;
    // One zero batch with each image copied into its corner, as torchvision's: padding each image and
    // stacking the copies writes the batch three times (~4x slower for two 800x1088 images).
    return torch.tidy(() => {
      const batched = torch.zeros([images.length, ...maxSize], { dtype: images[0].dtype, device: images[0].device });
      images.forEach((img, i) => {
        const [c, h, w] = img.shape;
        batched.select(0, i).narrow(0, 0, c).narrow(1, 0, h).narrow(2, 0, w).copy_(img);
      });
      return batched;
    });
  }

  /**
   * Maps detections from the resized images back to the input images (boxes only; eval mode).
   * @param imageShapes (height, width) the model saw
   * @param originalImageSizes (height, width) of the input images
   */
  postprocess(result: Detection[], imageShapes: [number, number][], originalImageSizes: [number, number][]): Detection[] {
    if (this.training) return result;
    return result.map((pred, i) => ({ ...pred, boxes: resizeBoxes(pred.boxes, imageShapes[i], originalImageSizes[i]) }));
  }

  override extraRepr(): string {
    return `Normalize(mean=[${this.imageMean}], std=[${this.imageStd}]), Resize(min_size=(${this.minSize}), max_size=${this.maxSize}, mode='bilinear')`;
  }
}
