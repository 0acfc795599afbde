// Ultralytics' LetterBox: resize keeping the aspect ratio, then pad with grey 114 to a fixed shape
// (or only to the next multiple of the stride), with the ratio and padding kept so predictions on
// the letterboxed image map back onto the original (unletterboxBoxes, Ultralytics' scale_boxes).
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, pyRound, type InterpolationMode } from './functional/image.js';
import { pad, resize } from './functional/geometry.js';
import { clampBoundingBoxes } from './functional/boxes.js';
import { imageOf, isSample, onImageAndBoxes, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

export interface LetterboxOptions {
  /** The output [height, width], or a square side (default 640). */
  newShape?: number | [number, number];
  /** Pad only to the next multiple of `stride` (the minimum rectangle) instead of to newShape (default false). */
  auto?: boolean;
  /** Stretch to newShape without keeping the aspect ratio, and without padding (default false). */
  scaleFill?: boolean;
  /** Allow enlarging (default true; false only shrinks, as Ultralytics' validation does). */
  scaleup?: boolean;
  /** Centre the image (default true), else place it at the top-left. */
  center?: boolean;
  stride?: number;
  /** The padding value in the image's scale (default 114, Ultralytics' grey for uint8 images). */
  paddingValue?: number;
  interpolation?: InterpolationMode;
  /** Antialiased resizing (default false: cv2's INTER_LINEAR, which Ultralytics uses, does not antialias). */
  antialias?: boolean;
}

/** How a letterbox maps original pixels: x' = x * ratio[0] + pad[0], y' = y * ratio[1] + pad[1]. */
export interface LetterboxParams {
  /** [width ratio, height ratio] (equal unless scaleFill). */
  ratio: [number, number];
  /** [left, top] padding in pixels. */
  pad: [number, number];
  /** [right, bottom] padding in pixels. */
  padEnd: [number, number];
  /** [height, width] of the image before. */
  originalSize: [number, number];
  /** [height, width] of the resized image before padding. */
  resizedSize: [number, number];
}

function checkOptions(options: LetterboxOptions): Required<Omit<LetterboxOptions, 'newShape'>> & { newShape: [number, number] } {
  const shape = options.newShape ?? 640;
  const newShape: [number, number] = typeof shape === 'number' ? [shape, shape] : [shape[0], shape[1]];
  if (!newShape.every((s) => Number.isInteger(s) && s > 0)) throw new RangeError(`Letterbox: newShape must be a positive integer or [height, width] of them, got ${JSON.stringify(shape)}`);
  const stride = options.stride ?? 32;
  if (!(Number.isInteger(stride) && stride > 0)) throw new RangeError(`Letterbox: stride must be a positive integer, got ${stride}`);
  return {
    newShape,
    auto: options.auto ?? false,
    scaleFill: options.scaleFill ?? false,
    scaleup: options.scaleup ?? true,
    center: options.center ?? true,
    stride,
    paddingValue: options.paddingValue ?? 114,
    interpolation: options.interpolation ?? 'bilinear',
    antialias: options.antialias ?? false,
  };
}

/** Ultralytics' arithmetic for an image of [height, width]: the scale, the resized size and the padding. */
export function letterboxParams(imageSize: [number, number], options: LetterboxOptions = {}): LetterboxParams {
  const o = checkOptions(options);
  const [h, w] = imageSize;
  const [nh, nw] = o.newShape;
  let r = Math.min(nh / h, nw / w);
  if (!o.scaleup) r = Math.min(r, 1.0);
  let ratio: [number, number] = [r, r];
  let unpad: [number, number] = [pyRound(w * r), pyRound(h * r)];
  let dw = nw - unpad[0];
  let dh = nh - unpad[1];
  if (o.auto) {
    dw = ((dw % o.stride) + o.stride) % o.stride;
    dh = ((dh % o.stride) + o.stride) % o.stride;
  } else if (o.scaleFill) {
    dw = 0;
    dh = 0;
    unpad = [nw, nh];
    ratio = [nw / w, nh / h];
  }
  if (o.center) {
    dw /= 2;
    dh /= 2;
  }
  // The 0.1 nudges put an odd pixel of padding at the bottom and right.
  const top = o.center ? pyRound(dh - 0.1) : 0;
  const bottom = pyRound(dh + 0.1);
  const left = o.center ? pyRound(dw - 0.1) : 0;
  const right = pyRound(dw + 0.1);
  return { ratio, pad: [left, top], padEnd: [right, bottom], originalSize: [h, w], resizedSize: [unpad[1], unpad[0]] };
}

/** Letterboxes an image [C, H, W]: the result and the mapping, for unletterboxBoxes. */
export function letterbox(img: Tensor, options: LetterboxOptions = {}): { image: Tensor; params: LetterboxParams } {
  const o = checkOptions(options);
  const [, h, w] = getDimensions(img);
  const params = letterboxParams([h, w], options);
  const image = torch.tidy(() => {
    const resized = params.resizedSize[0] === h && params.resizedSize[1] === w ? img : resize(img, params.resizedSize, { interpolation: o.interpolation, antialias: o.antialias });
    const [left, top] = params.pad;
    const [right, bottom] = params.padEnd;
    return left + top + right + bottom === 0 ? resized : pad(resized, [left, top, right, bottom], { fill: o.paddingValue });
  });
  return { image, params };
}

/** xyxy boxes of the original image moved onto its letterbox. */
export function letterboxBoxes(boxes: Tensor, params: LetterboxParams): Tensor {
  const [rw, rh] = params.ratio;
  const [left, top] = params.pad;
  return torch.tidy(() => boxes.mul(torch.tensor([rw, rh, rw, rh], { dtype: boxes.dtype, device: boxes.device })).add(torch.tensor([left, top, left, top], { dtype: boxes.dtype, device: boxes.device })));
}

/** xyxy boxes predicted on a letterboxed image mapped back onto the original, clipped to it (Ultralytics' scale_boxes). */
export function unletterboxBoxes(boxes: Tensor, params: LetterboxParams): Tensor {
  const [rw, rh] = params.ratio;
  const [left, top] = params.pad;
  return torch.tidy(() => {
    const shifted = boxes.sub(torch.tensor([left, top, left, top], { dtype: boxes.dtype, device: boxes.device }));
    return clampBoundingBoxes(shifted.div(torch.tensor([rw, rh, rw, rh], { dtype: boxes.dtype, device: boxes.device })), params.originalSize);
  });
}

/**
 * The Letterbox transform: an image becomes its letterbox; a sample's boxes move with it and the
 * sample gains `letterbox: LetterboxParams` (getParams gives the same for any input).
 */
export function Letterbox(options: LetterboxOptions = {}) {
  const o = checkOptions(options);
  const getParams = (input: TransformInput): LetterboxParams => {
    const [, h, w] = getDimensions(imageOf(input));
    return letterboxParams([h, w], options);
  };
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I => {
    const params = getParams(input);
    const out = onImageAndBoxes('Letterbox', input, (img) => letterbox(img, options).image, (boxes) => letterboxBoxes(boxes, params));
    return (isSample(out) ? { ...out, letterbox: params } : out) as I;
  };
  return withProps(apply, { ...o, getParams });
}
