// Bounding-box kernels of the geometric transforms, as torchvision's transforms v2 has them
// (resize_bounding_boxes, horizontal_flip_bounding_boxes, crop_bounding_boxes, affine_bounding_boxes, ...):
// boxes [N, 4] in pixels, xyxy unless a format is named, canvas sizes as [height, width].
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { boxConvert, clipBoxesToImage, type BoxFormat } from '../../ops/boxes.js';
import { getInverseAffineMatrix, computeAffineOutputSize } from './affine.js';

/** 'xyxy' corners (torchvision's), 'xywh' top-left corner and size (COCO's), 'cxcywh' centre and size (YOLO's, unnormalised). */
export type { BoxFormat };

function checkBoxes(fn: string, boxes: Tensor): void {
  if (boxes.ndim < 1 || boxes.shape[boxes.ndim - 1] !== 4) throw new TypeError(`${fn}: boxes must be [..., 4], got shape [${boxes.shape}]`);
}

/** The four coordinates along the last dimension. */
function unbind(boxes: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return [0, 1, 2, 3].map((i) => boxes.select(-1, i)) as [Tensor, Tensor, Tensor, Tensor];
}

/** One value per coordinate (x, y, x, y), in the boxes' dtype, to broadcast against [..., 4]. */
function perCoordinate(boxes: Tensor, x: number, y: number): Tensor {
  return torch.tensor([x, y, x, y], { dtype: boxes.dtype, device: boxes.device });
}

/** Boxes re-expressed in another format (torchvision.ops.box_convert; a copy when the formats are equal). */
export function convertBoundingBoxFormat(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  return boxConvert(boxes, inFmt, outFmt);
}

/** xyxy boxes clipped to the canvas [height, width]: x in [0, width], y in [0, height] (torchvision.ops.clip_boxes_to_image). */
export function clampBoundingBoxes(boxes: Tensor, canvasSize: [number, number]): Tensor {
  return clipBoxesToImage(boxes, canvasSize);
}

/** xyxy boxes of a canvas [h, w] resized to `newSize` [h', w']: x scaled by w'/w, y by h'/h. */
export function resizeBoundingBoxes(boxes: Tensor, canvasSize: [number, number], newSize: [number, number]): Tensor {
  checkBoxes('resizeBoundingBoxes', boxes);
  const [h, w] = canvasSize;
  const [nh, nw] = newSize;
  if (nh === h && nw === w) return boxes;
  return torch.tidy(() => boxes.mul(perCoordinate(boxes, nw / w, nh / h)));
}

/** xyxy boxes mirrored left-right in a canvas [h, w]: x1' = w - x2, x2' = w - x1. */
export function horizontalFlipBoundingBoxes(boxes: Tensor, canvasSize: [number, number]): Tensor {
  checkBoxes('horizontalFlipBoundingBoxes', boxes);
  const w = canvasSize[1];
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = unbind(boxes);
    return torch.stack([x2.neg().add(w), y1, x1.neg().add(w), y2], -1);
  });
}

/** xyxy boxes mirrored top-bottom in a canvas [h, w]: y1' = h - y2, y2' = h - y1. */
export function verticalFlipBoundingBoxes(boxes: Tensor, canvasSize: [number, number]): Tensor {
  checkBoxes('verticalFlipBoundingBoxes', boxes);
  const h = canvasSize[0];
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = unbind(boxes);
    return torch.stack([x1, y2.neg().add(h), x2, y1.neg().add(h)], -1);
  });
}

/** xyxy boxes in the crop rows top..top+height, columns left..left+width, clipped to it (negative offsets pad). */
export function cropBoundingBoxes(boxes: Tensor, top: number, left: number, height: number, width: number): Tensor {
  checkBoxes('cropBoundingBoxes', boxes);
  return torch.tidy(() => clampBoundingBoxes(boxes.sub(perCoordinate(boxes, left, top)), [height, width]));
}

/** xyxy boxes of an image padded by `left` columns and `top` rows. */
export function padBoundingBoxes(boxes: Tensor, left: number, top: number): Tensor {
  checkBoxes('padBoundingBoxes', boxes);
  if (left === 0 && top === 0) return boxes;
  return torch.tidy(() => boxes.add(perCoordinate(boxes, left, top)));
}

export interface AffineBoxesOptions {
  /** The centre [x, y] in pixels from the top-left corner (default: the canvas centre). */
  center?: [number, number];
  /** The canvas grows to hold the whole transformed image (rotate's expand): boxes shift with it. */
  expand?: boolean;
}

/**
 * torchvision v2's affine_bounding_boxes: each xyxy box's four corners through the affine map
 * (angle clockwise-positive as F.affine, translate in pixels, scale, shear [x, y] degrees), the
 * box enclosing them, clipped to the (possibly expanded) canvas, which is returned with them.
 */
export function affineBoundingBoxes(
  boxes: Tensor,
  canvasSize: [number, number],
  angle: number,
  translate: [number, number],
  scale: number,
  shear: [number, number],
  options: AffineBoxesOptions = {},
): { boxes: Tensor; canvasSize: [number, number] } {
  checkBoxes('affineBoundingBoxes', boxes);
  const [h, w] = canvasSize;
  const center = options.center ?? [w * 0.5, h * 0.5];
  let outSize: [number, number] = [h, w];
  if (options.expand) {
    // As the image kernel sizes its canvas: the inverse map about the centre relative to the image's.
    const [ow, oh] = computeAffineOutputSize(getInverseAffineMatrix([center[0] - w * 0.5, center[1] - h * 0.5], angle, translate, scale, shear), w, h);
    outSize = [oh, ow];
  }
  if (boxes.numel() === 0) return { boxes, canvasSize: outSize };
  const out = torch.tidy(() => {
    const dtype = boxes.dtype;
    const matrixT = torch.tensor(getInverseAffineMatrix(center, angle, translate, scale, shear, false), { dtype, device: boxes.device }).reshape([2, 3]).t();
    // Corners top-left, top-right, bottom-right, bottom-left of each box, as homogeneous points.
    const corners = boxes.reshape([-1, 4]).indexSelect(1, torch.tensor([0, 1, 2, 1, 2, 3, 0, 3], { dtype: 'int64', device: boxes.device })).reshape([-1, 2]);
    const points = torch.cat([corners, torch.ones([corners.shape[0], 1], { dtype, device: boxes.device })], -1);
    const moved = torch.matmul(points, matrixT).reshape([-1, 4, 2]);
    let enclosing = torch.cat([moved.amin({ dim: 1 }), moved.amax({ dim: 1 })], 1);
    if (options.expand) {
      const frame = torch.tensor([[0, 0, 1], [0, h, 1], [w, h, 1], [w, 0, 1]], { dtype, device: boxes.device });
      const topLeft = torch.matmul(frame, matrixT).amin({ dim: 0, keepdim: true });
      enclosing = enclosing.sub(topLeft.repeat([1, 2]));
    }
    return clampBoundingBoxes(enclosing, outSize).reshape(boxes.shape);
  });
  return { boxes: out, canvasSize: outSize };
}

/** Boxes rotated with F.rotate's image (counter-clockwise degrees): the affine kernel at -angle. */
export function rotateBoundingBoxes(boxes: Tensor, canvasSize: [number, number], angle: number, options: AffineBoxesOptions = {}): { boxes: Tensor; canvasSize: [number, number] } {
  return affineBoundingBoxes(boxes, canvasSize, -angle, [0, 0], 1.0, [0, 0], options);
}

export interface SanitizeOptions {
  /** The least width and height a box keeps (default 1 pixel). */
  minSize?: number;
  /** The least area a box keeps (default 1 square pixel). */
  minArea?: number;
}

/**
 * torchvision v2's SanitizeBoundingBoxes test, [N] bool: true for the xyxy boxes at least
 * minSize wide and high, of at least minArea, with no negative coordinate and inside the canvas.
 */
export function sanitizeBoundingBoxesMask(boxes: Tensor, canvasSize: [number, number], options: SanitizeOptions = {}): Tensor {
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new TypeError(`sanitizeBoundingBoxesMask: boxes must be [N, 4], got shape [${boxes.shape}]`);
  const minSize = options.minSize ?? 1;
  const minArea = options.minArea ?? 1;
  const [h, w] = canvasSize;
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = unbind(boxes);
    const ws = x2.sub(x1);
    const hs = y2.sub(y1);
    const conditions = [ws.ge(minSize), hs.ge(minSize), ws.mul(hs).ge(minArea), boxes.amin({ dim: -1 }).ge(0), x1.le(w), x2.le(w), y1.le(h), y2.le(h)];
    return conditions.reduce((a, b) => a.logicalAnd(b));
  });
}
