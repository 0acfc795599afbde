// What a transform receives, as torchvision's transforms v2 dispatch on it: a plain image tensor
// (classification), or a detection sample { image, target: { boxes, labels, ... } }. Geometric
// transforms move a sample's boxes with its image (and drop the per-box fields of the boxes they
// drop); photometric ones change the image only. The boxes' canvas is always the sample's image.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions } from './functional/image.js';
import { convertBoundingBoxFormat, type BoxFormat } from './functional/boxes.js';

/** A detection target as the detection readers give it; other fields ride along. */
export interface DetectionTarget {
  /** [N, 4] float boxes in pixels of the sample's image, laid out as `boxFormat`. */
  boxes: Tensor;
  /** [N] int64 class indices. */
  labels: Tensor;
  /** The layout of `boxes` (default 'xyxy', torchvision's); ConvertBoundingBoxFormat changes it. */
  boxFormat?: BoxFormat;
  /** [N] the annotation's area (COCO: the segment's), carried along; transforms do not rescale it. */
  area?: Tensor;
  /** [N] 0/1 */
  iscrowd?: Tensor;
  imageId?: number;
}

export interface DetectionSample<T extends DetectionTarget = DetectionTarget> {
  /** [C, H, W] */
  image: Tensor;
  target: T;
}

export type TransformInput = Tensor | DetectionSample;

/** A transform that takes an image or a detection sample and returns the same kind. */
export interface DispatchTransform {
  <I extends TransformInput>(input: I, rng: Rng): I;
}

/** Fields never treated as per-box even when their first dimension happens to be N. */
const NOT_PER_BOX = new Set(['boxFormat', 'imageId']);

export function isSample(input: unknown): input is DetectionSample {
  return typeof input === 'object' && input !== null && !(input instanceof torch.Tensor) && 'image' in input && 'target' in input;
}

/** The image of an input: the tensor itself, or a sample's image. */
export function imageOf(input: TransformInput): Tensor {
  if (input instanceof torch.Tensor) return input;
  if (isSample(input)) return input.image;
  throw new TypeError(`expected an image tensor [C, H, W] or a detection sample { image, target: { boxes, labels } }, got ${describe(input)}`);
}

function describe(x: unknown): string {
  if (x === null || typeof x !== 'object') return String(x);
  return `an object with keys [${Object.keys(x).join(', ')}]`;
}

/** Checks a sample's image and target and returns its box count. */
export function checkSample(fn: string, sample: DetectionSample): number {
  const { image, target } = sample;
  if (!(image instanceof torch.Tensor)) throw new TypeError(`${fn}: sample.image must be a tensor [C, H, W], got ${describe(image)}`);
  getDimensions(image);
  if (typeof target !== 'object' || target === null) throw new TypeError(`${fn}: sample.target must be { boxes, labels, ... }, got ${String(target)}`);
  const { boxes } = target;
  if (!(boxes instanceof torch.Tensor) || boxes.ndim !== 2 || boxes.shape[1] !== 4) {
    throw new TypeError(`${fn}: target.boxes must be a tensor [N, 4], got ${boxes instanceof torch.Tensor ? `shape [${boxes.shape}]` : describe(boxes)}`);
  }
  if (!boxes.isFloatingPoint()) throw new TypeError(`${fn}: target.boxes must be floating point pixels, got ${boxes.dtype}; convert them with boxes.to('float32')`);
  const n = boxes.shape[0];
  if (target.labels !== undefined && (!(target.labels instanceof torch.Tensor) || target.labels.shape[0] !== n)) {
    throw new TypeError(`${fn}: target.labels must be a tensor [N] with one label per box (${n}), got ${target.labels instanceof torch.Tensor ? `shape [${target.labels.shape}]` : describe(target.labels)}`);
  }
  for (const key of ['masks', 'keypoints']) {
    if (key in target) throw new TypeError(`${fn}: target.${key} would not move with the image (Iris's transforms move boxes only); remove it before transforming`);
  }
  return n;
}

/** Applies `fn` to the image, leaving a sample's target as it is (the photometric transforms). */
export function onImage<I extends TransformInput>(input: I, fn: (img: Tensor) => Tensor): I {
  if (input instanceof torch.Tensor) return fn(input) as I;
  if (!isSample(input)) imageOf(input);
  const sample = input as DetectionSample;
  return { ...sample, image: fn(sample.image) } as I;
}

/** Refuses a sample, for transforms that cannot move boxes yet. */
export function imageOnly<I extends TransformInput>(fn: string, input: I, apply: (img: Tensor) => Tensor): I {
  if (isSample(input)) throw new TypeError(`${fn}: boxes are not moved by ${fn} yet; apply it to images only, or use box-aware transforms for detection samples`);
  return apply(imageOf(input)) as I;
}

/** What a geometric box op returns: the moved boxes, and optionally which of them to keep. */
export type BoxesResult = Tensor | { boxes: Tensor; keep: Tensor };

/**
 * Applies `image` to the image and, for a sample, `boxes` to its boxes in xyxy (converted from
 * and back to target.boxFormat) with the image's [height, width] before and after; a `keep` mask
 * drops those boxes and every per-box field with them.
 */
export function onImageAndBoxes<I extends TransformInput>(
  fn: string,
  input: I,
  image: (img: Tensor) => Tensor,
  boxes: (xyxy: Tensor, before: [number, number], after: [number, number]) => BoxesResult,
): I {
  if (input instanceof torch.Tensor) return image(input) as I;
  if (!isSample(input)) imageOf(input);
  const sample = input as DetectionSample;
  checkSample(fn, sample);
  return torch.tidy(() => {
    const [, h, w] = getDimensions(sample.image);
    const out = image(sample.image);
    const [, oh, ow] = getDimensions(out);
    const format = sample.target.boxFormat ?? 'xyxy';
    const xyxy = format === 'xyxy' ? sample.target.boxes : convertBoundingBoxFormat(sample.target.boxes, format, 'xyxy');
    const result = boxes(xyxy, [h, w], [oh, ow]);
    const moved = result instanceof torch.Tensor ? result : result.boxes;
    let target = { ...sample.target, boxes: format === 'xyxy' ? moved : convertBoundingBoxFormat(moved, 'xyxy', format) };
    if (!(result instanceof torch.Tensor)) target = filterPerBox(target, result.keep, sample.target.boxes.shape[0]);
    return { ...sample, image: out, target };
  }) as I;
}

/**
 * Keeps the boxes where `keep` [N] (bool) is true, and the same rows of every per-box field: a
 * tensor whose first dimension is N (labels, area, iscrowd, scores, ...), except imageId.
 */
export function filterPerBox<T extends DetectionTarget>(target: T, keep: Tensor, n: number): T {
  return torch.tidy(() => {
    const index = keep.nonzero().squeezeDim(1);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(target)) {
      const perBox = value instanceof torch.Tensor && value.ndim >= 1 && value.shape[0] === n && !NOT_PER_BOX.has(key);
      out[key] = perBox ? (value as Tensor).indexSelect(0, index) : value;
    }
    return out as T;
  });
}
