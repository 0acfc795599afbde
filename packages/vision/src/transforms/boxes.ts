// Transforms of a detection sample's boxes alone (torchvision v2's ClampBoundingBoxes,
// SanitizeBoundingBoxes, ConvertBoundingBoxFormat); a plain image passes through unchanged.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions } from './functional/image.js';
import { clampBoundingBoxes, convertBoundingBoxFormat, sanitizeBoundingBoxesMask, type BoxFormat, type SanitizeOptions } from './functional/boxes.js';
import { checkSample, filterPerBox, isSample, onImageAndBoxes, type DetectionSample, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

/** Clips the boxes to the image: x in [0, width], y in [0, height]. */
export function ClampBoundingBoxes() {
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I => onImageAndBoxes('ClampBoundingBoxes', input, (img) => img, (boxes, before) => clampBoundingBoxes(boxes, before));
  return withProps(apply, {});
}

/**
 * Drops the boxes narrower or lower than minSize (default 1 pixel), smaller than minArea (default
 * 1), or outside the image, with their labels and every other per-box field (see filterPerBox).
 */
export function SanitizeBoundingBoxes(options: SanitizeOptions = {}) {
  const minSize = options.minSize ?? 1;
  const minArea = options.minArea ?? 1;
  if (!(minSize > 0)) throw new RangeError(`SanitizeBoundingBoxes: minSize must be positive, got ${minSize}`);
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I => {
    if (!isSample(input)) return input;
    const n = checkSample('SanitizeBoundingBoxes', input);
    const [, h, w] = getDimensions(input.image);
    const target = input.target;
    return torch.tidy(() => {
      const format = target.boxFormat ?? 'xyxy';
      const xyxy = format === 'xyxy' ? target.boxes : convertBoundingBoxFormat(target.boxes, format, 'xyxy');
      const keep = sanitizeBoundingBoxesMask(xyxy, [h, w], { minSize, minArea });
      return { ...(input as DetectionSample), target: filterPerBox(target, keep, n) };
    }) as I;
  };
  return withProps(apply, { minSize, minArea });
}

/** Re-expresses the boxes in `format` and records it in target.boxFormat; later transforms keep that format. */
export function ConvertBoundingBoxFormat(format: BoxFormat) {
  if (!['xyxy', 'xywh', 'cxcywh'].includes(format)) throw new RangeError(`ConvertBoundingBoxFormat: format must be 'xyxy', 'xywh' or 'cxcywh', got '${format}'`);
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I => {
    if (!isSample(input)) return input;
    checkSample('ConvertBoundingBoxFormat', input);
    const from = input.target.boxFormat ?? 'xyxy';
    const boxes: Tensor = from === format ? input.target.boxes : convertBoundingBoxFormat(input.target.boxes, from, format);
    return { ...(input as DetectionSample), target: { ...input.target, boxes, boxFormat: format } } as I;
  };
  return withProps(apply, { format });
}
