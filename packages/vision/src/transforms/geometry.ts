// Resizing, cropping and flipping transforms (torchvision.transforms' Resize, CenterCrop, Pad,
// RandomCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip).
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, pyRound, type InterpolationMode } from './functional/image.js';
import { centerCrop, crop, hflip, pad, parsePadding, resize, resizedCrop, setupSize, vflip, type PaddingMode, type ResizeOptions } from './functional/geometry.js';
import { checkProbability, checkRange, withProps } from './transform.js';

/** A crop box: rows top..top+height, columns left..left+width. */
export interface CropParams {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Resizes to [h, w], or the shorter side to `size` keeping the aspect ratio (see F.resize). */
export function Resize(size: number | number[], options: ResizeOptions = {}) {
  const interpolation = options.interpolation ?? 'bilinear';
  const antialias = options.antialias ?? false;
  return withProps((img: Tensor) => resize(img, size, { interpolation, maxSize: options.maxSize, antialias }), { size, interpolation, maxSize: options.maxSize, antialias });
}

/** The centre crop of `size` ([h, w] or a number), zero-padding an image that is smaller. */
export function CenterCrop(size: number | number[]) {
  const cropSize = setupSize('CenterCrop', size);
  return withProps((img: Tensor) => centerCrop(img, cropSize), { size: cropSize });
}

/** Pads every side (see F.pad for the forms of `padding` and the modes). */
export function Pad(padding: number | number[], options: { fill?: number; paddingMode?: PaddingMode } = {}) {
  parsePadding(padding);
  const fill = options.fill ?? 0;
  const paddingMode = options.paddingMode ?? 'constant';
  return withProps((img: Tensor) => pad(img, padding, { fill, paddingMode }), { padding, fill, paddingMode });
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
  const getParams = (img: Tensor, rng: Rng): CropParams => {
    let [, h, w] = getDimensions(img);
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
  return withProps(
    (img: Tensor, rng: Rng) => {
      const { top, left, height, width } = getParams(img, rng);
      return torch.tidy(() => crop(padded(img), top, left, height, width));
    },
    { size: [th, tw] as [number, number], padding, padIfNeeded, fill, paddingMode, getParams },
  );
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
  const getParams = (img: Tensor, rng: Rng): CropParams => {
    const [, height, width] = getDimensions(img);
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
  return withProps(
    (img: Tensor, rng: Rng) => {
      const { top, left, height, width } = getParams(img, rng);
      return resizedCrop(img, top, left, height, width, outSize, { interpolation, antialias });
    },
    { size: outSize, scale, ratio, interpolation, antialias, getParams },
  );
}

function randomFlip(fn: string, flip: (img: Tensor) => Tensor, options: { p?: number }) {
  const p = checkProbability(fn, options.p ?? 0.5);
  const getParams = (_img: Tensor, rng: Rng): { flip: boolean } => ({ flip: rng.random() < p });
  return withProps((img: Tensor, rng: Rng) => (getParams(img, rng).flip ? flip(img) : img), { p, getParams });
}

/** Mirrors left-right with probability p (default 0.5). */
export function RandomHorizontalFlip(options: { p?: number } = {}) {
  return randomFlip('RandomHorizontalFlip', hflip, options);
}

/** Mirrors top-bottom with probability p (default 0.5). */
export function RandomVerticalFlip(options: { p?: number } = {}) {
  return randomFlip('RandomVerticalFlip', vflip, options);
}
