// torchvision.ops._utils for the RoI ops: boxes arrive as Tensor[K, 5] (batch index, x1, y1, x2,
// y2) or as one Tensor[L, 4] per image, and the kernels take the first form.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

/** Tensor[K, 5] with each box's image index first, or a list of Tensor[L, 4], one per image. */
export type RoiBoxes = Tensor | readonly Tensor[];

/** torchvision's check_roi_boxes_shape, naming the function. */
export function checkRoiBoxes(boxes: RoiBoxes, fn: string): void {
  if (Array.isArray(boxes)) {
    boxes.forEach((b: Tensor, i: number) => {
      if (b.ndim !== 2 || b.shape[1] !== 4) throw new RangeError(`${fn}: boxes[${i}] must be a Tensor[L, 4] of (x1, y1, x2, y2) boxes for image ${i}, got shape [${b.shape.join(', ')}]`);
    });
    return;
  }
  const t = boxes as Tensor;
  if (!(t instanceof torch.Tensor)) throw new TypeError(`${fn}: boxes must be a Tensor[K, 5] or a list of Tensor[L, 4]`);
  if (t.ndim !== 2 || t.shape[1] !== 5) throw new RangeError(`${fn}: boxes must be a Tensor[K, 5] of (image index, x1, y1, x2, y2), or a list of Tensor[L, 4] per image; got shape [${t.shape.join(', ')}]`);
}

/**
 * torchvision's convert_boxes_to_roi_format: one Tensor[K, 5], the image index of each box
 * first, in the boxes' dtype. A new tensor; the caller owns it.
 */
export function convertBoxesToRoiFormat(boxes: readonly Tensor[]): Tensor {
  return torch.tidy(() => {
    const concat = boxes.length === 1 ? boxes[0] : torch.cat([...boxes], 0);
    const ids = boxes.map((b, i) => torch.fullLike(b.slice({ dim: 1, start: 0, end: 1 }), i));
    return torch.cat([ids.length === 1 ? ids[0] : torch.cat(ids, 0), concat], 1);
  });
}

/** `boxes` as Tensor[K, 5], and whether it was made here (so the caller disposes it). */
export function roiTensor(boxes: RoiBoxes, fn: string): { rois: Tensor; owned: boolean } {
  checkRoiBoxes(boxes, fn);
  return Array.isArray(boxes) ? { rois: convertBoxesToRoiFormat(boxes), owned: true } : { rois: boxes as Tensor, owned: false };
}

/** PyTorch's _pair: one number for both sides, or [height, width]. */
export function pair(size: number | readonly number[], fn: string, what = 'outputSize'): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size.length === 1 ? [size[0], size[0]] : size;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0) || (typeof size !== 'number' && size.length > 2)) {
    throw new RangeError(`${fn}: ${what} must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  }
  return [h, w];
}
