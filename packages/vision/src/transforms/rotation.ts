// Random rotations and affine warps (torchvision.transforms' RandomRotation and RandomAffine). A
// detection sample's boxes become the boxes enclosing their transformed corners, as transforms v2 does.
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, pyRound, type InterpolationMode } from './functional/image.js';
import { affine, rotate } from './functional/affine.js';
import { affineBoundingBoxes, rotateBoundingBoxes } from './functional/boxes.js';
import { imageOf, onImageAndBoxes, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

/** torchvision's _setup_angle: x becomes [-x, x]; a list must have one of `sizes` lengths. */
function setupAngle(fn: string, name: string, x: number | number[], sizes: number[] = [2]): number[] {
  if (typeof x === 'number') {
    if (x < 0) throw new RangeError(`${fn}: ${name} as a single number must be non-negative (it means [-${name}, ${name}]), got ${x}`);
    return [-x, x];
  }
  if (!sizes.includes(x.length)) throw new RangeError(`${fn}: ${name} must be a number or a list of ${sizes.join(' or ')} numbers, got [${x}]`);
  return x.slice();
}

/** The transforms' fill (a number or one per channel) as the per-channel list torchvision passes for tensors. */
function channelFill(img: Tensor, fill: number | number[]): number[] {
  return typeof fill === 'number' ? new Array(getDimensions(img)[0]).fill(fill) : fill;
}

export interface RandomRotationOptions {
  interpolation?: InterpolationMode;
  expand?: boolean;
  /** [x, y] in pixels from the top-left corner (default: the image centre). */
  center?: [number, number];
  /** The colour outside the rotated image (default 0). */
  fill?: number | number[];
}

/** Rotates by an angle uniform in `degrees` ([min, max], or d for [-d, d]). */
export function RandomRotation(degrees: number | [number, number], options: RandomRotationOptions = {}) {
  const range = setupAngle('RandomRotation', 'degrees', degrees);
  const interpolation = options.interpolation ?? 'nearest';
  const expand = options.expand ?? false;
  const fill = options.fill ?? 0;
  const getParams = (_input: TransformInput, rng: Rng): { angle: number } => ({ angle: rng.uniform(range[0], range[1]) });
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const { angle } = getParams(input, rng);
    return onImageAndBoxes(
      'RandomRotation',
      input,
      (img) => rotate(img, angle, { interpolation, expand, center: options.center, fill: channelFill(img, fill) }),
      (boxes, before) => rotateBoundingBoxes(boxes, before, angle, { expand, center: options.center }).boxes,
    );
  };
  return withProps(apply, { degrees: range, interpolation, expand, center: options.center, fill, getParams });
}

export interface RandomAffineOptions {
  /** Maximum |dx|, |dy| as fractions of the width and height. */
  translate?: [number, number];
  /** [min, max] scale factor. */
  scale?: [number, number];
  /** Degrees: s for x in [-s, s]; [min, max] for x; [xmin, xmax, ymin, ymax] for both. */
  shear?: number | number[];
  interpolation?: InterpolationMode;
  fill?: number | number[];
  center?: [number, number];
}

export interface AffineParams {
  angle: number;
  translate: [number, number];
  scale: number;
  shear: [number, number];
}

/** A random affine warp: rotation in `degrees`, and optionally translation, scale and shear. */
export function RandomAffine(degrees: number | [number, number], options: RandomAffineOptions = {}) {
  const range = setupAngle('RandomAffine', 'degrees', degrees);
  const { translate, scale, center } = options;
  if (translate && (translate.length !== 2 || translate.some((t) => !(t >= 0 && t <= 1)))) {
    throw new RangeError(`RandomAffine: translate must be [fx, fy] fractions in [0, 1], got [${translate}]`);
  }
  if (scale && (scale.length !== 2 || scale.some((s) => !(s > 0)))) throw new RangeError(`RandomAffine: scale must be [min, max] positive factors, got [${scale}]`);
  const shear = options.shear === undefined ? null : setupAngle('RandomAffine', 'shear', options.shear, [2, 4]);
  const interpolation = options.interpolation ?? 'nearest';
  const fill = options.fill ?? 0;
  const getParams = (input: TransformInput, rng: Rng): AffineParams => {
    const [, height, width] = getDimensions(imageOf(input));
    const angle = rng.uniform(range[0], range[1]);
    let t: [number, number] = [0, 0];
    if (translate) {
      const maxDx = translate[0] * width;
      const maxDy = translate[1] * height;
      t = [pyRound(rng.uniform(-maxDx, maxDx)), pyRound(rng.uniform(-maxDy, maxDy))];
    }
    const s = scale ? rng.uniform(scale[0], scale[1]) : 1.0;
    const sh: [number, number] = [0, 0];
    if (shear) {
      sh[0] = rng.uniform(shear[0], shear[1]);
      if (shear.length === 4) sh[1] = rng.uniform(shear[2], shear[3]);
    }
    return { angle, translate: t, scale: s, shear: sh };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const p = getParams(input, rng);
    return onImageAndBoxes(
      'RandomAffine',
      input,
      (img) => affine(img, p.angle, p.translate, p.scale, p.shear, { interpolation, fill: channelFill(img, fill), center }),
      (boxes, before) => affineBoundingBoxes(boxes, before, p.angle, p.translate, p.scale, p.shear, { center }).boxes,
    );
  };
  return withProps(apply, { degrees: range, translate, scale, shear, interpolation, fill, center, getParams });
}
