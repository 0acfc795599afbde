// Colour transforms (torchvision.transforms' ColorJitter, Grayscale, RandomGrayscale); a detection
// sample's target passes through.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions } from './functional/image.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, rgbToGrayscale } from './functional/color.js';
import { imageOf, onImage, type TransformInput } from './sample.js';
import { checkProbability, withProps } from './transform.js';

/** torchvision's ColorJitter._check_input: v means [center - v, center + v]; a range at exactly the centre means off (null). */
function jitterRange(name: string, value: number | [number, number], center: number, bound: [number, number], clipFirstOnZero: boolean): [number, number] | null {
  let range: [number, number];
  if (typeof value === 'number') {
    if (value < 0) throw new RangeError(`ColorJitter: ${name} as a single number must be non-negative, got ${value}`);
    range = [center - value, center + value];
    if (clipFirstOnZero) range[0] = Math.max(range[0], 0);
  } else {
    range = [value[0], value[1]];
  }
  // torchvision checks a number's range only when the adjustment fails; this checks it here.
  if ((typeof value !== 'number' && value.length !== 2) || !(bound[0] <= range[0] && range[0] <= range[1] && range[1] <= bound[1])) {
    throw new RangeError(`ColorJitter: ${name} must be a number or [min, max] within [${bound}], got ${JSON.stringify(value)}`);
  }
  return range[0] === center && range[1] === center ? null : range;
}

export interface ColorJitterOptions {
  /** Factor range, or b for [max(0, 1 - b), 1 + b]. */
  brightness?: number | [number, number];
  contrast?: number | [number, number];
  saturation?: number | [number, number];
  /** Hue shift range within [-0.5, 0.5], or h for [-h, h]. */
  hue?: number | [number, number];
}

export interface ColorJitterParams {
  /** The order of the adjustments: 0 brightness, 1 contrast, 2 saturation, 3 hue. */
  order: number[];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/** Random brightness, contrast, saturation and hue changes, applied in a random order. */
export function ColorJitter(options: ColorJitterOptions = {}) {
  const brightness = jitterRange('brightness', options.brightness ?? 0, 1, [0, Infinity], true);
  const contrast = jitterRange('contrast', options.contrast ?? 0, 1, [0, Infinity], true);
  const saturation = jitterRange('saturation', options.saturation ?? 0, 1, [0, Infinity], true);
  const hue = jitterRange('hue', options.hue ?? 0, 0, [-0.5, 0.5], false);
  const sample = (rng: Rng, range: [number, number] | null): number | null => (range === null ? null : rng.uniform(range[0], range[1]));
  const getParams = (_input: TransformInput, rng: Rng): ColorJitterParams => {
    const order = Array.from(rng.permutation(4));
    return { order, brightness: sample(rng, brightness), contrast: sample(rng, contrast), saturation: sample(rng, saturation), hue: sample(rng, hue) };
  };
  const apply = (img: Tensor, p: ColorJitterParams): Tensor =>
    torch.tidy(() => {
      for (const fnId of p.order) {
        if (fnId === 0 && p.brightness !== null) img = adjustBrightness(img, p.brightness);
        else if (fnId === 1 && p.contrast !== null) img = adjustContrast(img, p.contrast);
        else if (fnId === 2 && p.saturation !== null) img = adjustSaturation(img, p.saturation);
        else if (fnId === 3 && p.hue !== null) img = adjustHue(img, p.hue);
      }
      return img;
    });
  return withProps(<I extends TransformInput>(input: I, rng: Rng): I => onImage(input, (img) => apply(img, getParams(img, rng))), { brightness, contrast, saturation, hue, getParams, apply });
}

/** Converts RGB to grayscale, with 1 or 3 (equal) output channels. */
export function Grayscale(options: { numOutputChannels?: 1 | 3 } = {}) {
  const numOutputChannels = options.numOutputChannels ?? 1;
  return withProps(<I extends TransformInput>(input: I, _rng?: Rng): I => onImage(input, (img) => rgbToGrayscale(img, numOutputChannels)), { numOutputChannels });
}

/**
 * torchvision's v2 `RGB()`: a 1-channel image becomes 3 equal channels, an RGB one stays as it is
 * (e.g. Fashion-MNIST for a backbone that a detector will use on colour images).
 */
export function RGB() {
  return withProps(<I extends TransformInput>(input: I, _rng?: Rng): I =>
    onImage(input, (img) => {
      const c = img.shape[img.ndim - 3];
      if (c === 3) return img;
      if (c !== 1) throw new RangeError(`RGB: expected an image with 1 or 3 channels, got ${c}`);
      const shape = [...img.shape];
      shape[img.ndim - 3] = 3;
      return img.expand(shape).contiguous();
    }), {});
}

/** Converts to grayscale with probability p (default 0.1), keeping the number of channels. */
export function RandomGrayscale(options: { p?: number } = {}) {
  const p = checkProbability('RandomGrayscale', options.p ?? 0.1);
  const getParams = (_input: TransformInput, rng: Rng): { grayscale: boolean } => ({ grayscale: rng.random() < p });
  const apply = <I extends TransformInput>(input: I, rng: Rng): I =>
    getParams(input, rng).grayscale ? onImage(input, (img) => rgbToGrayscale(img, getDimensions(imageOf(input))[0] as 1 | 3)) : input;
  return withProps(apply, { p, getParams });
}
