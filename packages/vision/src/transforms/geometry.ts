// Resizing, cropping and flipping transforms (torchvision.transforms' Resize, CenterCrop, Pad,
// RandomCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip). Given a detection
// sample they move its boxes with the image, as transforms v2 does.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, pyRound, type InterpolationMode } from './functional/image.js';
import { centerCrop, crop, hflip, pad, parsePadding, resize, resizedCrop, setupSize, vflip, type PaddingMode, type ResizeOptions } from './functional/geometry.js';
import { cropBoundingBoxes, horizontalFlipBoundingBoxes, padBoundingBoxes, resizeBoundingBoxes, verticalFlipBoundingBoxes } from './functional/boxes.js';
import { imageOf, onImageAndBoxes, type TransformInput } from './sample.js';
import { checkProbability, checkRange, withProps } from './transform.js';

/** A crop box: rows top..top+height, columns left..left+width. */
export interface CropParams {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Resizes to [h, w], or the shorter side to `size` keeping the aspect ratio (see F.resize); boxes scale with the image. */
export function Resize(size: number | number[], options: ResizeOptions = {}) {
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = options.antialias ?? false;
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I =>
    onImageAndBoxes('Resize', input, (img) => resize(img, size, { interpolation, maxSize: options.maxSize, antialias }), resizeBoundingBoxes);
  return withProps(apply, { size, interpolation, maxSize: options.maxSize, antialias });
}

/**
 * [top, left] of F.centerCrop's window relative to the image, what the boxes subtract: negative
 * where the image is zero-padded first (by floor((c - n) / 2) before it), as the image kernel does.
 */
function centerCropOffset(height: number, width: number, cropHeight: number, cropWidth: number): [number, number] {
  const axis = (n: number, c: number): number => (c > n ? -Math.floor((c - n) / 2) : pyRound((n - c) / 2));
  return [axis(height, cropHeight), axis(width, cropWidth)];
}

/** The centre crop of `size` ([h, w] or a number), zero-padding an image that is smaller. */
export function CenterCrop(size: number | number[]) {
  const cropSize = setupSize('CenterCrop', size);
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I =>
    onImageAndBoxes('CenterCrop', input, (img) => centerCrop(img, cropSize), (boxes, [h, w]) => {
      const [top, left] = centerCropOffset(h, w, cropSize[0], cropSize[1]);
      return cropBoundingBoxes(boxes, top, left, cropSize[0], cropSize[1]);
    });
  return withProps(apply, { size: cropSize });
}

/** Pads every side (see F.pad for the forms of `padding` and the modes); boxes shift by the left and top padding. */
export function Pad(padding: number | number[], options: { fill?: number; paddingMode?: PaddingMode } = {}) {
  const [left, , top] = parsePadding(padding);
  const fill = options.fill ?? 0;
  const paddingMode = options.paddingMode ?? 'constant';
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I => onImageAndBoxes('Pad', input, (img) => pad(img, padding, { fill, paddingMode }), (boxes) => padBoundingBoxes(boxes, left, top));
  return withProps(apply, { padding, fill, paddingMode });
}

export interface RandomCropOptions {
  /** Padding added before cropping (see F.pad). */
  padding?: number | number[];
  /** Pad a side that is shorter than the crop (by the shortfall on both ends, as torchvision does). */
  padIfNeeded?: boolean;
  fill?: number;
  paddingMode?: PaddingMode;
}

/** A crop of `size` at a uniformly random position, after optional padding. */
export function RandomCrop(size: number | number[], options: RandomCropOptions = {}) {
  const [th, tw] = setupSize('RandomCrop', size);
  const padding = options.padding ?? null;
  const padIfNeeded = options.padIfNeeded ?? false;
  const fill = options.fill ?? 0;
  const paddingMode = options.paddingMode ?? 'constant';
  /** The crop box in the coordinates of the padded image (padding, then padIfNeeded). */
  const getParams = (input: TransformInput, rng: Rng): CropParams => {
    let [, h, w] = getDimensions(imageOf(input));
    if (padding !== null) {
      const [left, right, top, bottom] = parsePadding(padding);
      h += top + bottom;
      w += left + right;
    }
    if (padIfNeeded && w < tw) w += 2 * (tw - w);
    if (padIfNeeded && h < th) h += 2 * (th - h);
    if (h < th || w < tw) throw new RangeError(`RandomCrop: the crop [${th}, ${tw}] is larger than the (padded) image [${h}, ${w}]; pass padIfNeeded: true or a smaller size`);
    if (w === tw && h === th) return { top: 0, left: 0, height: h, width: w };
    return { top: rng.int(0, h - th + 1), left: rng.int(0, w - tw + 1), height: th, width: tw };
  };
  const padded = (img: Tensor): Tensor => {
    let x = padding === null ? img : pad(img, padding, { fill, paddingMode });
    const [, height, width] = getDimensions(x);
    if (padIfNeeded && width < tw) x = pad(x, [tw - width, 0], { fill, paddingMode });
    if (padIfNeeded && height < th) x = pad(x, [0, th - height], { fill, paddingMode });
    return x;
  };
  /** [left, top] of what `padded` adds before the crop, for an image of [h, w]: what the boxes shift by. */
  const padOffset = (h: number, w: number): [number, number] => {
    let [left, top] = [0, 0];
    if (padding !== null) {
      const [l, r, t, b] = parsePadding(padding);
      [left, top, w, h] = [l, t, w + l + r, h + t + b];
    }
    if (padIfNeeded && w < tw) left += tw - w;
    if (padIfNeeded && h < th) top += th - h;
    return [left, top];
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const { top, left, height, width } = getParams(input, rng);
    return onImageAndBoxes(
      'RandomCrop',
      input,
      (img) => torch.tidy(() => crop(padded(img), top, left, height, width)),
      (boxes, [h, w]) => {
        const [padLeft, padTop] = padOffset(h, w);
        return cropBoundingBoxes(boxes, top - padTop, left - padLeft, height, width);
      },
    );
  };
  return withProps(apply, { size: [th, tw] as [number, number], padding, padIfNeeded, fill, paddingMode, getParams });
}

export interface RandomResizedCropOptions {
  /** The range of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale?: [number, number];
  /** The range of the crop's width / height (default [3/4, 4/3]), sampled log-uniformly. */
  ratio?: [number, number];
  interpolation?: InterpolationMode;
  /** See F.resize (default false). */
  antialias?: boolean;
}

/** A crop of random area and aspect ratio, resized to `size` (the Inception-style training crop). */
export function RandomResizedCrop(size: number | number[], options: RandomResizedCropOptions = {}) {
  const outSize = setupSize('RandomResizedCrop', size);
  const scale = checkRange('RandomResizedCrop', 'scale', options.scale ?? [0.08, 1.0]);
  const ratio = checkRange('RandomResizedCrop', 'ratio', options.ratio ?? [3.0 / 4.0, 4.0 / 3.0]);
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = options.antialias ?? false;
  /** torchvision's sampler: 10 tries at a box inside the image, else the largest centred box within the ratio range. */
  const getParams = (input: TransformInput, rng: Rng): CropParams => {
    const [, height, width] = getDimensions(imageOf(input));
    const area = height * width;
    const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * rng.uniform(scale[0], scale[1]);
      const aspectRatio = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
      const w = pyRound(Math.sqrt(targetArea * aspectRatio));
      const h = pyRound(Math.sqrt(targetArea / aspectRatio));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        return { top: rng.int(0, height - h + 1), left: rng.int(0, width - w + 1), height: h, width: w };
      }
    }
    const inRatio = width / height;
    let [w, h] = [width, height];
    if (inRatio < ratio[0]) h = pyRound(w / ratio[0]);
    else if (inRatio > ratio[1]) w = pyRound(h * ratio[1]);
    return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const { top, left, height, width } = getParams(input, rng);
    return onImageAndBoxes(
      'RandomResizedCrop',
      input,
      (img) => resizedCrop(img, top, left, height, width, outSize, { interpolation, antialias }),
      (boxes, _before, after) => torch.tidy(() => resizeBoundingBoxes(cropBoundingBoxes(boxes, top, left, height, width), [height, width], after)),
    );
  };
  return withProps(apply, { size: outSize, scale, ratio, interpolation, antialias, getParams });
}

function randomFlip(fn: string, flip: (img: Tensor) => Tensor, flipBoxes: (boxes: Tensor, canvasSize: [number, number]) => Tensor, options: { p?: number }) {
  const p = checkProbability(fn, options.p ?? 0.5);
  const getParams = (_input: TransformInput, rng: Rng): { flip: boolean } => ({ flip: rng.random() < p });
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => (getParams(input, rng).flip ? onImageAndBoxes(fn, input, flip, flipBoxes) : input);
  return withProps(apply, { p, getParams });
}

/** Mirrors left-right with probability p (default 0.5), boxes too. */
export function RandomHorizontalFlip(options: { p?: number } = {}) {
  return randomFlip('RandomHorizontalFlip', hflip, horizontalFlipBoundingBoxes, options);
}

/** Mirrors top-bottom with probability p (default 0.5), boxes too. */
export function RandomVerticalFlip(options: { p?: number } = {}) {
  return randomFlip('RandomVerticalFlip', vflip, verticalFlipBoundingBoxes, options);
}
