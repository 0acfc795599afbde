// The detection recipes' own transforms, as torchvision 0.14's references/detection/transforms.py
// has them (RandomIoUCrop, RandomZoomOut, RandomPhotometricDistort, ScaleJitter, FixedSizeCrop,
// RandomShortestSize), with the same parameters and the same sequence of random draws, each
// torch.rand / torch.randint / torch.randperm taken from the sample's Rng instead.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, type InterpolationMode } from './functional/image.js';
import { crop, pad, resize, setupSize, type PaddingMode } from './functional/geometry.js';
import { cropBoundingBoxes, padBoundingBoxes, resizeBoundingBoxes } from './functional/boxes.js';
import { checkSample, imageOf, isSample, onImage, onImageAndBoxes, type DetectionSample, type TransformInput } from './sample.js';
import { ColorJitter, type ColorJitterParams } from './color.js';
import { checkProbability, checkRange, withProps } from './transform.js';

/** The references' check: a [C, H, W] image (an [H, W] one gains its channel). */
function asChw(fn: string, img: Tensor): Tensor {
  if (img.ndim === 2) return img.unsqueeze(0);
  if (img.ndim !== 3) throw new TypeError(`${fn}: the image should be [C, H, W] or [H, W], got shape [${img.shape}]`);
  return img;
}

function chwInput<I extends TransformInput>(fn: string, input: I): I {
  if (input instanceof torch.Tensor) return asChw(fn, input) as I;
  const sample = input as DetectionSample;
  const image = asChw(fn, imageOf(sample));
  return (image === sample.image ? input : { ...sample, image }) as I;
}

/** A pixel-filled canvas [C, h, w] of `fill` per channel (cast to the image's dtype, as torch.tensor(fill, dtype) does). */
function canvas(img: Tensor, height: number, width: number, fill: number[]): Tensor {
  const c = getDimensions(img)[0];
  if (fill.length !== 1 && fill.length !== c) throw new RangeError(`fill has ${fill.length} values but the image has ${c} channels; give one value or one per channel`);
  return torch.tidy(() => {
    const values = torch.tensor(fill, { dtype: img.dtype, device: img.device }).view([-1, 1, 1]);
    return values.expand([c, height, width]).contiguous();
  });
}

/** `img` placed at (top, left) on a canvas of `fill`, as the references paint their padding. */
function padWithFill(img: Tensor, left: number, top: number, right: number, bottom: number, fill: number[]): Tensor {
  const [, h, w] = getDimensions(img);
  return torch.tidy(() => {
    const out = canvas(img, top + h + bottom, left + w + right, fill);
    out.slice({ dim: -2, start: top, end: top + h }).slice({ dim: -1, start: left, end: left + w }).copy_(img);
    return out;
  });
}

export interface RandomIoUCropOptions {
  /** The crop's sides as fractions of the image's, each in [minScale, maxScale] (default 0.3, 1). */
  minScale?: number;
  maxScale?: number;
  /** The crop's width / height range (default 0.5, 2). */
  minAspectRatio?: number;
  maxAspectRatio?: number;
  /** The least IoU one kept box must have with the crop, one option drawn per round; >= 1 leaves the sample as it is (default [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]). */
  samplerOptions?: number[];
  /** Crop tries per drawn option (default 40). */
  trials?: number;
}

export interface IoUCropParams {
  /** The IoU option of the round that ended the search. */
  minJaccardOverlap: number;
  /** The crop, or null when the option left the sample as it is. */
  crop: { top: number; left: number; height: number; width: number } | null;
  /** [N] which boxes have their centre strictly inside the crop: the ones kept. */
  keep: boolean[] | null;
}

/** IEEE single rounding when the boxes are float32, so the centre and IoU tests decide as torchvision's float32 tensors do. */
function rounding(boxes: Tensor): (x: number) => number {
  return boxes.dtype === 'float32' ? Math.fround : (x) => x;
}

/**
 * SSD's crop (Liu et al. 2016): rounds draw a minimum IoU; within a round, up to `trials` crops
 * of random scale and position are tried until one holds the centre of some box and overlaps
 * one of those by at least that IoU. Keeps the boxes centred inside, clipped to the crop.
 */
export function RandomIoUCrop(options: RandomIoUCropOptions = {}) {
  const minScale = options.minScale ?? 0.3;
  const maxScale = options.maxScale ?? 1.0;
  const minAspectRatio = options.minAspectRatio ?? 0.5;
  const maxAspectRatio = options.maxAspectRatio ?? 2.0;
  const samplerOptions = options.samplerOptions ?? [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0];
  const trials = options.trials ?? 40;
  checkRange('RandomIoUCrop', 'the scale range [minScale, maxScale]', [minScale, maxScale]);
  if (samplerOptions.length === 0) throw new RangeError('RandomIoUCrop: samplerOptions must hold at least one IoU option');

  const getParams = (input: TransformInput, rng: Rng): IoUCropParams => {
    if (!isSample(input)) throw new TypeError('RandomIoUCrop: needs a detection sample { image, target: { boxes, labels } } (the crop is chosen by its boxes)');
    const n = checkSample('RandomIoUCrop', input);
    const [, origH, origW] = getDimensions(asChw('RandomIoUCrop', input.image));
    const f = rounding(input.target.boxes);
    const b = input.target.boxes.toFlatArray();
    for (;;) {
      const minJaccardOverlap = samplerOptions[rng.int(0, samplerOptions.length)];
      if (minJaccardOverlap >= 1.0) return { minJaccardOverlap, crop: null, keep: null };
      for (let trial = 0; trial < trials; trial++) {
        const newW = Math.trunc(origW * (minScale + (maxScale - minScale) * rng.random()));
        const newH = Math.trunc(origH * (minScale + (maxScale - minScale) * rng.random()));
        const aspectRatio = newW / newH;
        if (!(minAspectRatio <= aspectRatio && aspectRatio <= maxAspectRatio)) continue;
        const left = Math.trunc((origW - newW) * rng.random());
        const top = Math.trunc((origH - newH) * rng.random());
        const right = left + newW;
        const bottom = top + newH;
        if (left === right || top === bottom) continue;
        const keep: boolean[] = [];
        let best = -Infinity;
        const cropArea = f(f(right - left) * f(bottom - top));
        for (let i = 0; i < n; i++) {
          const [x1, y1, x2, y2] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
          const cx = f(0.5 * f(x1 + x2));
          const cy = f(0.5 * f(y1 + y2));
          keep.push(left < cx && cx < right && top < cy && cy < bottom);
          if (!keep[i]) continue;
          // torchvision.ops.box_iou in the boxes' precision.
          const area = f(f(x2 - x1) * f(y2 - y1));
          const iw = Math.max(f(Math.min(x2, right) - Math.max(x1, left)), 0);
          const ih = Math.max(f(Math.min(y2, bottom) - Math.max(y1, top)), 0);
          const inter = f(iw * ih);
          best = Math.max(best, f(inter / f(f(area + cropArea) - inter)));
        }
        if (!keep.includes(true)) continue;
        if (best < f(minJaccardOverlap)) continue;
        return { minJaccardOverlap, crop: { top, left, height: newH, width: newW }, keep };
      }
    }
  };

  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const sample = chwInput('RandomIoUCrop', input);
    const { crop: box, keep } = getParams(sample, rng);
    if (box === null || keep === null) return sample;
    const { top, left, height, width } = box;
    return onImageAndBoxes(
      'RandomIoUCrop',
      sample,
      (img) => crop(img, top, left, height, width),
      (boxes) => ({ boxes: cropBoundingBoxes(boxes, top, left, height, width), keep: torch.tensor(keep, { dtype: 'bool', device: boxes.device }) }),
    );
  };
  return withProps(apply, { minScale, maxScale, minAspectRatio, maxAspectRatio, samplerOptions, trials, getParams });
}

export interface RandomZoomOutOptions {
  /** The canvas colour, one value per channel in the image's scale (default [0, 0, 0]). */
  fill?: number[];
  /** The canvas side as a multiple of the image's (default [1, 4]). */
  sideRange?: [number, number];
  /** Probability of zooming out (default 0.5). */
  p?: number;
}

export interface ZoomOutParams {
  /** Padding on each side; null when the sample is left as it is. */
  padding: { left: number; top: number; right: number; bottom: number } | null;
}

/** SSD's zoom-out: with probability p, places the image at a random spot of a canvas up to sideRange[1] times its size. */
export function RandomZoomOut(options: RandomZoomOutOptions = {}) {
  const fill = options.fill ?? [0.0, 0.0, 0.0];
  const sideRange = options.sideRange ?? [1.0, 4.0];
  if (sideRange[0] < 1.0 || sideRange[0] > sideRange[1]) throw new RangeError(`RandomZoomOut: sideRange must be [min, max] with 1 <= min <= max, got [${sideRange}]`);
  const p = checkProbability('RandomZoomOut', options.p ?? 0.5);

  const getParams = (input: TransformInput, rng: Rng): ZoomOutParams => {
    if (rng.random() >= p) return { padding: null };
    const [, origH, origW] = getDimensions(asChw('RandomZoomOut', imageOf(input)));
    const r = sideRange[0] + rng.random() * (sideRange[1] - sideRange[0]);
    const canvasWidth = Math.trunc(origW * r);
    const canvasHeight = Math.trunc(origH * r);
    const left = Math.trunc((canvasWidth - origW) * rng.random());
    const top = Math.trunc((canvasHeight - origH) * rng.random());
    return { padding: { left, top, right: canvasWidth - (left + origW), bottom: canvasHeight - (top + origH) } };
  };

  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const chw = chwInput('RandomZoomOut', input);
    const { padding } = getParams(chw, rng);
    if (padding === null) return chw;
    const { left, top, right, bottom } = padding;
    return onImageAndBoxes(
      'RandomZoomOut',
      chw,
      (img) => padWithFill(img, left, top, right, bottom, fill),
      (boxes) => padBoundingBoxes(boxes, left, top),
    );
  };
  return withProps(apply, { fill, sideRange, p, getParams });
}

export interface RandomPhotometricDistortOptions {
  contrast?: [number, number];
  saturation?: [number, number];
  hue?: [number, number];
  brightness?: [number, number];
  /** The probability of each of the five distortions (default 0.5). */
  p?: number;
}

export interface PhotometricDistortParams {
  /** The 7 uniform draws: brightness, contrast-before, contrast (before), saturation, hue, contrast (after), channel permutation. */
  r: number[];
  brightness: ColorJitterParams | null;
  contrast: ColorJitterParams | null;
  saturation: ColorJitterParams | null;
  hue: ColorJitterParams | null;
  /** The channel order, when permuted. */
  permutation: number[] | null;
}

/**
 * SSD's colour distortion: brightness, contrast (before or after the rest, at even odds),
 * saturation, hue and a channel permutation, each with probability p. Boxes stay.
 */
export function RandomPhotometricDistort(options: RandomPhotometricDistortOptions = {}) {
  const p = checkProbability('RandomPhotometricDistort', options.p ?? 0.5);
  const brightness = ColorJitter({ brightness: options.brightness ?? [0.875, 1.125] });
  const contrast = ColorJitter({ contrast: options.contrast ?? [0.5, 1.5] });
  const hue = ColorJitter({ hue: options.hue ?? [-0.05, 0.05] });
  const saturation = ColorJitter({ saturation: options.saturation ?? [0.5, 1.5] });

  /** Draws in torchvision's order: torch.rand(7), then each applied jitter's own draws, then the permutation. */
  const getParams = (input: TransformInput, rng: Rng): PhotometricDistortParams => {
    const channels = getDimensions(imageOf(input))[0];
    const r = Array.from({ length: 7 }, () => rng.random());
    const contrastBefore = r[1] < 0.5;
    const params: PhotometricDistortParams = { r, brightness: null, contrast: null, saturation: null, hue: null, permutation: null };
    if (r[0] < p) params.brightness = brightness.getParams(input, rng);
    if (contrastBefore && r[2] < p) params.contrast = contrast.getParams(input, rng);
    if (r[3] < p) params.saturation = saturation.getParams(input, rng);
    if (r[4] < p) params.hue = hue.getParams(input, rng);
    if (!contrastBefore && r[5] < p) params.contrast = contrast.getParams(input, rng);
    if (r[6] < p) params.permutation = Array.from(rng.permutation(channels));
    return params;
  };

  const distort = (img: Tensor, q: PhotometricDistortParams): Tensor =>
    torch.tidy(() => {
      const contrastBefore = q.r[1] < 0.5;
      let x = img;
      if (q.brightness) x = brightness.apply(x, q.brightness);
      if (contrastBefore && q.contrast) x = contrast.apply(x, q.contrast);
      if (q.saturation) x = saturation.apply(x, q.saturation);
      if (q.hue) x = hue.apply(x, q.hue);
      if (!contrastBefore && q.contrast) x = contrast.apply(x, q.contrast);
      if (q.permutation) x = x.indexSelect(-3, torch.tensor(q.permutation, { dtype: 'int64', device: x.device }));
      return x;
    });

  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const chw = chwInput('RandomPhotometricDistort', input);
    const q = getParams(chw, rng);
    return onImage(chw, (img) => distort(img, q));
  };
  return withProps(apply, { p, getParams });
}

/** The references' resize of a sample to [newH, newW]: the image by F.resize, the boxes' x by newW / w and y by newH / h. */
function resizeTo<I extends TransformInput>(fn: string, input: I, size: [number, number], interpolation: InterpolationMode, antialias: boolean): I {
  return onImageAndBoxes(fn, input, (img) => resize(img, size, { interpolation, antialias }), resizeBoundingBoxes);
}

export interface ScaleJitterOptions {
  /** The scale factor range (default [0.1, 2]). */
  scaleRange?: [number, number];
  interpolation?: InterpolationMode;
  /** Antialiased resizing (default false, torchvision 0.14's tensor default). */
  antialias?: boolean;
}

/**
 * Large-scale jitter (Ghiasi et al. 2021): resizes so the image fits `targetSize` [h, w], times a
 * factor uniform in scaleRange (the references compare height with targetSize[1] and width with
 * targetSize[0]; the same for the square sizes they use).
 */
export function ScaleJitter(targetSize: [number, number], options: ScaleJitterOptions = {}) {
  const scaleRange = checkRange('ScaleJitter', 'scaleRange', options.scaleRange ?? [0.1, 2.0]);
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = options.antialias ?? false;
  const getParams = (input: TransformInput, rng: Rng): { scale: number; size: [number, number] } => {
    const [, origH, origW] = getDimensions(asChw('ScaleJitter', imageOf(input)));
    const scale = scaleRange[0] + rng.random() * (scaleRange[1] - scaleRange[0]);
    const r = Math.min(targetSize[1] / origH, targetSize[0] / origW) * scale;
    return { scale, size: [Math.trunc(origH * r), Math.trunc(origW * r)] };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const chw = chwInput('ScaleJitter', input);
    return resizeTo('ScaleJitter', chw, getParams(chw, rng).size, interpolation, antialias);
  };
  return withProps(apply, { targetSize, scaleRange, interpolation, antialias, getParams });
}

export interface FixedSizeCropOptions {
  /** The padding colour: a number, or one per channel (default 0). */
  fill?: number | number[];
  paddingMode?: PaddingMode;
}

/**
 * A crop of `size` [h, w] (or a square) at a random position (one draw for both axes, as the
 * references), zero- or fill-padded at the bottom and right where the image is smaller; boxes
 * are clipped and the empty ones dropped with their labels.
 */
export function FixedSizeCrop(size: number | number[], options: FixedSizeCropOptions = {}) {
  const [cropHeight, cropWidth] = setupSize('FixedSizeCrop', size);
  const fill = options.fill ?? 0;
  const paddingMode = options.paddingMode ?? 'constant';
  const getParams = (input: TransformInput, rng: Rng): { top: number; left: number; height: number; width: number } | null => {
    const [, height, width] = getDimensions(imageOf(input));
    const newHeight = Math.min(height, cropHeight);
    const newWidth = Math.min(width, cropWidth);
    if (newHeight === height && newWidth === width) return null;
    const r = rng.random();
    return { top: Math.trunc(Math.max(height - cropHeight, 0) * r), left: Math.trunc(Math.max(width - cropWidth, 0) * r), height: newHeight, width: newWidth };
  };
  const padRightBottom = (img: Tensor, right: number, bottom: number): Tensor =>
    typeof fill === 'number' || paddingMode !== 'constant' ? pad(img, [0, 0, right, bottom], { fill: typeof fill === 'number' ? fill : 0, paddingMode }) : padWithFill(img, 0, 0, right, bottom, fill);
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const window = getParams(input, rng);
    let out = input;
    if (window !== null) {
      const { top, left, height, width } = window;
      out = onImageAndBoxes(
        'FixedSizeCrop',
        out,
        (img) => crop(img, top, left, height, width),
        (boxes) =>
          torch.tidy(() => {
            const cropped = cropBoundingBoxes(boxes, top, left, height, width);
            const keep = cropped.select(1, 0).lt(cropped.select(1, 2)).logicalAnd(cropped.select(1, 1).lt(cropped.select(1, 3)));
            return { boxes: cropped, keep };
          }),
      );
    }
    const [, h, w] = getDimensions(imageOf(out));
    const padBottom = Math.max(cropHeight - h, 0);
    const padRight = Math.max(cropWidth - w, 0);
    if (padBottom === 0 && padRight === 0) return out;
    return onImageAndBoxes('FixedSizeCrop', out, (img) => padRightBottom(img, padRight, padBottom), (boxes) => boxes);
  };
  return withProps(apply, { size: [cropHeight, cropWidth] as [number, number], fill, paddingMode, getParams });
}

/** Multi-scale training: the shorter side becomes one of `minSize` (drawn uniformly), unless that makes the longer exceed maxSize. */
export function RandomShortestSize(minSize: number | number[], maxSize: number, options: { interpolation?: InterpolationMode; antialias?: boolean } = {}) {
  const sizes = typeof minSize === 'number' ? [minSize] : minSize.slice();
  if (sizes.length === 0) throw new RangeError('RandomShortestSize: minSize must give at least one size');
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = options.antialias ?? false;
  const getParams = (input: TransformInput, rng: Rng): { minSize: number; size: [number, number] } => {
    const [, origH, origW] = getDimensions(imageOf(input));
    const chosen = sizes[rng.int(0, sizes.length)];
    const r = Math.min(chosen / Math.min(origH, origW), maxSize / Math.max(origH, origW));
    return { minSize: chosen, size: [Math.trunc(origH * r), Math.trunc(origW * r)] };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => resizeTo('RandomShortestSize', input, getParams(input, rng).size, interpolation, antialias);
  return withProps(apply, { minSize: sizes, maxSize, interpolation, antialias, getParams });
}
