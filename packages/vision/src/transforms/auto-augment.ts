// Learned and random augmentation policies on uint8 images, as torchvision 0.14's autoaugment.py:
// AutoAugment (Cubuk et al. 2018), RandAugment (Cubuk et al. 2019), TrivialAugmentWide (Müller &
// Hutter 2021). Like torchvision's, they expect uint8 images (posterize and equalize need them).
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, type InterpolationMode } from './functional/image.js';
import { affine, rotate, RAD_TO_DEG, type Fill } from './functional/affine.js';
import { adjustBrightness, adjustContrast, adjustSaturation, adjustSharpness, autocontrast, equalize, invert, posterize, solarize } from './functional/color.js';
import { imageOf, imageOnly, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

export type AugmentOpName =
  | 'Identity'
  | 'ShearX'
  | 'ShearY'
  | 'TranslateX'
  | 'TranslateY'
  | 'Rotate'
  | 'Brightness'
  | 'Color'
  | 'Contrast'
  | 'Sharpness'
  | 'Posterize'
  | 'Solarize'
  | 'AutoContrast'
  | 'Equalize'
  | 'Invert';

/** torchvision's _apply_op: one augmentation at a (signed) magnitude. */
export function applyOp(img: Tensor, op: AugmentOpName, magnitude: number, interpolation: InterpolationMode, fill: Fill): Tensor {
  switch (op) {
    case 'ShearX':
      return affine(img, 0, [0, 0], 1, [Math.atan(magnitude) * RAD_TO_DEG, 0], { interpolation, fill, center: [0, 0] });
    case 'ShearY':
      return affine(img, 0, [0, 0], 1, [0, Math.atan(magnitude) * RAD_TO_DEG], { interpolation, fill, center: [0, 0] });
    case 'TranslateX':
      return affine(img, 0, [Math.trunc(magnitude), 0], 1, [0, 0], { interpolation, fill });
    case 'TranslateY':
      return affine(img, 0, [0, Math.trunc(magnitude)], 1, [0, 0], { interpolation, fill });
    case 'Rotate':
      return rotate(img, magnitude, { interpolation, fill });
    case 'Brightness':
      return adjustBrightness(img, 1.0 + magnitude);
    case 'Color':
      return adjustSaturation(img, 1.0 + magnitude);
    case 'Contrast':
      return adjustContrast(img, 1.0 + magnitude);
    case 'Sharpness':
      return adjustSharpness(img, 1.0 + magnitude);
    case 'Posterize':
      return posterize(img, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(img, magnitude);
    case 'AutoContrast':
      return autocontrast(img);
    case 'Equalize':
      return equalize(img);
    case 'Invert':
      return invert(img);
    case 'Identity':
      return img;
    default:
      throw new RangeError(`applyOp: unknown augmentation '${op as string}'`);
  }
}

/** An op's magnitude bins (null: the op has no magnitude) and whether a random sign applies. */
interface OpSpace {
  op: AugmentOpName;
  bins: number[] | null;
  signed: boolean;
}

/** torch.linspace's float32 values, as torchvision's magnitude tables hold them. */
function linspace(start: number, end: number, steps: number): number[] {
  return torch.tidy(() => torch.linspace(start, end, steps).toFlatArray());
}

/** 8 - round(arange(n) / ((n - 1) / levels)): bits from 8 down to 8 - levels. */
function posterizeBins(numBins: number, levels: number): number[] {
  return torch.tidy(() => torch.arange(0, numBins, 1, { dtype: 'int64' }).div((numBins - 1) / levels).round().to('int32').toFlatArray().map((v) => 8 - v));
}

/** RandAugment's and AutoAugment's ops (translations up to 150/331 of the image size). */
function randAugmentSpace(numBins: number, [height, width]: [number, number], withIdentity: boolean, withInvert: boolean): OpSpace[] {
  const space: OpSpace[] = [
    ...(withIdentity ? [{ op: 'Identity' as const, bins: null, signed: false }] : []),
    { op: 'ShearX', bins: linspace(0.0, 0.3, numBins), signed: true },
    { op: 'ShearY', bins: linspace(0.0, 0.3, numBins), signed: true },
    { op: 'TranslateX', bins: linspace(0.0, (150.0 / 331.0) * width, numBins), signed: true },
    { op: 'TranslateY', bins: linspace(0.0, (150.0 / 331.0) * height, numBins), signed: true },
    { op: 'Rotate', bins: linspace(0.0, 30.0, numBins), signed: true },
    { op: 'Brightness', bins: linspace(0.0, 0.9, numBins), signed: true },
    { op: 'Color', bins: linspace(0.0, 0.9, numBins), signed: true },
    { op: 'Contrast', bins: linspace(0.0, 0.9, numBins), signed: true },
    { op: 'Sharpness', bins: linspace(0.0, 0.9, numBins), signed: true },
    { op: 'Posterize', bins: posterizeBins(numBins, 4), signed: false },
    { op: 'Solarize', bins: linspace(255.0, 0.0, numBins), signed: false },
    { op: 'AutoContrast', bins: null, signed: false },
    { op: 'Equalize', bins: null, signed: false },
  ];
  if (withInvert) space.push({ op: 'Invert', bins: null, signed: false });
  return space;
}

/** TrivialAugmentWide's wider ranges. */
function trivialAugmentSpace(numBins: number): OpSpace[] {
  return [
    { op: 'Identity', bins: null, signed: false },
    { op: 'ShearX', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'ShearY', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'TranslateX', bins: linspace(0.0, 32.0, numBins), signed: true },
    { op: 'TranslateY', bins: linspace(0.0, 32.0, numBins), signed: true },
    { op: 'Rotate', bins: linspace(0.0, 135.0, numBins), signed: true },
    { op: 'Brightness', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'Color', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'Contrast', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'Sharpness', bins: linspace(0.0, 0.99, numBins), signed: true },
    { op: 'Posterize', bins: posterizeBins(numBins, 6), signed: false },
    { op: 'Solarize', bins: linspace(255.0, 0.0, numBins), signed: false },
    { op: 'AutoContrast', bins: null, signed: false },
    { op: 'Equalize', bins: null, signed: false },
  ];
}

/** The op space for the image's size, made once per size (translations scale with it). */
function spaceFor<T>(cache: Map<string, T>, img: Tensor, make: (size: [number, number]) => T): T {
  const [, height, width] = getDimensions(img);
  const key = `${height}x${width}`;
  let space = cache.get(key);
  if (space === undefined) {
    space = make([height, width]);
    cache.set(key, space);
  }
  return space;
}

/** One sampled augmentation: the op, its signed magnitude, and the draws that chose them. */
export interface AugmentOp {
  op: AugmentOpName;
  magnitude: number;
  opIndex: number;
  /** The magnitude bin, or null for ops without a magnitude. */
  magnitudeBin: number | null;
  /** Whether the magnitude was negated; null for unsigned ops. */
  negate: boolean | null;
}

export interface AugmentOptions {
  /** 'nearest' (default) or 'bilinear', for the geometric ops. */
  interpolation?: InterpolationMode;
  /** The colour the geometric ops bring in from outside (default: none, i.e. 0 without the fill mask). */
  fill?: number | number[] | null;
}

function channelFill(img: Tensor, fill: number | number[] | null): Fill {
  return typeof fill === 'number' ? new Array(getDimensions(img)[0]).fill(fill) : fill;
}

function applyAll(img: Tensor, ops: AugmentOp[], interpolation: InterpolationMode, fill: number | number[] | null): Tensor {
  return torch.tidy(() => ops.reduce((x, o) => applyOp(x, o.op, o.magnitude, interpolation, channelFill(img, fill)), img));
}

/** One op chosen uniformly from the wide op set, at a uniformly chosen magnitude bin with a random sign. */
export function TrivialAugmentWide(options: AugmentOptions & { numMagnitudeBins?: number } = {}) {
  const numMagnitudeBins = options.numMagnitudeBins ?? 31;
  const interpolation = options.interpolation ?? 'nearest';
  const fill = options.fill ?? null;
  const space = trivialAugmentSpace(numMagnitudeBins);
  const getParams = (_input: TransformInput, rng: Rng): AugmentOp => {
    const opIndex = rng.int(0, space.length);
    const { op, bins, signed } = space[opIndex];
    const magnitudeBin = bins === null ? null : rng.int(0, bins.length);
    const negate = signed ? rng.int(0, 2) === 1 : null;
    const magnitude = (magnitudeBin === null ? 0.0 : (bins as number[])[magnitudeBin]) * (negate ? -1.0 : 1.0);
    return { op, magnitude, opIndex, magnitudeBin, negate };
  };
  return withProps(<I extends TransformInput>(input: I, rng: Rng): I => imageOnly('TrivialAugmentWide', input, (img) => applyAll(img, [getParams(img, rng)], interpolation, fill)), {
    numMagnitudeBins,
    interpolation,
    fill,
    getParams,
  });
}

/** `numOps` ops chosen uniformly (with repeats), each at the fixed `magnitude` bin with a random sign. */
export function RandAugment(options: AugmentOptions & { numOps?: number; magnitude?: number; numMagnitudeBins?: number } = {}) {
  const numOps = options.numOps ?? 2;
  const magnitude = options.magnitude ?? 9;
  const numMagnitudeBins = options.numMagnitudeBins ?? 31;
  if (!(Number.isInteger(magnitude) && magnitude >= 0 && magnitude < numMagnitudeBins)) {
    throw new RangeError(`RandAugment: magnitude must be a bin index in [0, ${numMagnitudeBins - 1}] (numMagnitudeBins ${numMagnitudeBins}), got ${magnitude}`);
  }
  const interpolation = options.interpolation ?? 'nearest';
  const fill = options.fill ?? null;
  const spaces = new Map<string, OpSpace[]>();
  const getParams = (input: TransformInput, rng: Rng): AugmentOp[] => {
    const space = spaceFor(spaces, imageOf(input), (size) => randAugmentSpace(numMagnitudeBins, size, true, false));
    return Array.from({ length: numOps }, () => {
      const opIndex = rng.int(0, space.length);
      const { op, bins, signed } = space[opIndex];
      const negate = signed ? rng.int(0, 2) === 1 : null;
      const m = (bins === null ? 0.0 : bins[magnitude]) * (negate ? -1.0 : 1.0);
      return { op, magnitude: m, opIndex, magnitudeBin: bins === null ? null : magnitude, negate };
    });
  };
  return withProps(<I extends TransformInput>(input: I, rng: Rng): I => imageOnly('RandAugment', input, (img) => applyAll(img, getParams(img, rng), interpolation, fill)), {
    numOps,
    magnitude,
    numMagnitudeBins,
    interpolation,
    fill,
    getParams,
  });
}

export type AutoAugmentPolicy = 'imagenet' | 'cifar10' | 'svhn';

type SubPolicy = [[AugmentOpName, number, number | null], [AugmentOpName, number, number | null]];

// torchvision 0.14's policies: pairs of (op, probability, magnitude bin of 10).
const POLICIES: Record<AutoAugmentPolicy, SubPolicy[]> = {
  imagenet: [
    [['Posterize', 0.4, 8], ['Rotate', 0.6, 9]],
    [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
    [['Posterize', 0.6, 7], ['Posterize', 0.6, 6]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
    [['Equalize', 0.4, null], ['Rotate', 0.8, 8]],
    [['Solarize', 0.6, 3], ['Equalize', 0.6, null]],
    [['Posterize', 0.8, 5], ['Equalize', 1.0, null]],
    [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
    [['Equalize', 0.6, null], ['Posterize', 0.4, 6]],
    [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
    [['Rotate', 0.4, 9], ['Equalize', 0.6, null]],
    [['Equalize', 0.0, null], ['Equalize', 0.8, null]],
    [['Invert', 0.6, null], ['Equalize', 1.0, null]],
    [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
    [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
    [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
    [['Sharpness', 0.4, 7], ['Invert', 0.6, null]],
    [['ShearX', 0.6, 5], ['Equalize', 1.0, null]],
    [['Color', 0.4, 0], ['Equalize', 0.6, null]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
    [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Invert', 0.6, null], ['Equalize', 1.0, null]],
    [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
  ],
  cifar10: [
    [['Invert', 0.1, null], ['Contrast', 0.2, 6]],
    [['Rotate', 0.7, 2], ['TranslateX', 0.3, 9]],
    [['Sharpness', 0.8, 1], ['Sharpness', 0.9, 3]],
    [['ShearY', 0.5, 8], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.5, null], ['Equalize', 0.9, null]],
    [['ShearY', 0.2, 7], ['Posterize', 0.3, 7]],
    [['Color', 0.4, 3], ['Brightness', 0.6, 7]],
    [['Sharpness', 0.3, 9], ['Brightness', 0.7, 9]],
    [['Equalize', 0.6, null], ['Equalize', 0.5, null]],
    [['Contrast', 0.6, 7], ['Sharpness', 0.6, 5]],
    [['Color', 0.7, 7], ['TranslateX', 0.5, 8]],
    [['Equalize', 0.3, null], ['AutoContrast', 0.4, null]],
    [['TranslateY', 0.4, 3], ['Sharpness', 0.2, 6]],
    [['Brightness', 0.9, 6], ['Color', 0.2, 8]],
    [['Solarize', 0.5, 2], ['Invert', 0.0, null]],
    [['Equalize', 0.2, null], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.2, null], ['Equalize', 0.6, null]],
    [['Color', 0.9, 9], ['Equalize', 0.6, null]],
    [['AutoContrast', 0.8, null], ['Solarize', 0.2, 8]],
    [['Brightness', 0.1, 3], ['Color', 0.7, 0]],
    [['Solarize', 0.4, 5], ['AutoContrast', 0.9, null]],
    [['TranslateY', 0.9, 9], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.9, null], ['Solarize', 0.8, 3]],
    [['Equalize', 0.8, null], ['Invert', 0.1, null]],
    [['TranslateY', 0.7, 9], ['AutoContrast', 0.9, null]],
  ],
  svhn: [
    [['ShearX', 0.9, 4], ['Invert', 0.2, null]],
    [['ShearY', 0.9, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.6, null], ['Solarize', 0.6, 6]],
    [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Equalize', 0.6, null], ['Rotate', 0.9, 3]],
    [['ShearX', 0.9, 4], ['AutoContrast', 0.8, null]],
    [['ShearY', 0.9, 8], ['Invert', 0.4, null]],
    [['ShearY', 0.9, 5], ['Solarize', 0.2, 6]],
    [['Invert', 0.9, null], ['AutoContrast', 0.8, null]],
    [['Equalize', 0.6, null], ['Rotate', 0.9, 3]],
    [['ShearX', 0.9, 4], ['Solarize', 0.3, 3]],
    [['ShearY', 0.8, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.9, null], ['TranslateY', 0.6, 6]],
    [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Contrast', 0.3, 3], ['Rotate', 0.8, 4]],
    [['Invert', 0.8, null], ['TranslateY', 0.0, 2]],
    [['ShearY', 0.7, 6], ['Solarize', 0.4, 8]],
    [['Invert', 0.6, null], ['Rotate', 0.8, 4]],
    [['ShearY', 0.3, 7], ['TranslateX', 0.9, 3]],
    [['ShearX', 0.1, 6], ['Invert', 0.6, null]],
    [['Solarize', 0.7, 2], ['TranslateY', 0.6, 7]],
    [['ShearY', 0.8, 4], ['Invert', 0.8, null]],
    [['ShearX', 0.7, 9], ['TranslateY', 0.8, 3]],
    [['ShearY', 0.8, 5], ['AutoContrast', 0.7, null]],
    [['ShearX', 0.7, 2], ['Invert', 0.1, null]],
  ],
};

export interface AutoAugmentParams {
  policyIndex: number;
  /** The two uniform draws deciding whether each op of the sub-policy runs (it runs when draw <= its probability). */
  probs: [number, number];
  /** The two sign draws: 0 negates a signed op's magnitude. */
  signs: [number, number];
  /** The ops that run, in order. */
  ops: AugmentOp[];
}

/** One of the policy's 25 sub-policies, each op of it applied with its probability. */
export function AutoAugment(options: AugmentOptions & { policy?: AutoAugmentPolicy } = {}) {
  const policy = options.policy ?? 'imagenet';
  const policies = POLICIES[policy];
  if (!policies) throw new RangeError(`AutoAugment: policy must be 'imagenet', 'cifar10' or 'svhn', got '${policy}'`);
  const interpolation = options.interpolation ?? 'nearest';
  const fill = options.fill ?? null;
  const spaces = new Map<string, Map<AugmentOpName, OpSpace & { index: number }>>();
  const getParams = (input: TransformInput, rng: Rng): AutoAugmentParams => {
    const policyIndex = rng.int(0, policies.length);
    const probs: [number, number] = [rng.random(), rng.random()];
    const signs: [number, number] = [rng.int(0, 2), rng.int(0, 2)];
    const space = spaceFor(spaces, imageOf(input), (size) => new Map(randAugmentSpace(10, size, false, true).map((s, i) => [s.op, { ...s, index: i }])));
    const ops: AugmentOp[] = [];
    policies[policyIndex].forEach(([op, p, magnitudeBin], i) => {
      if (!(probs[i] <= p)) return;
      const { bins, signed, index } = space.get(op)!;
      const negate = signed ? signs[i] === 0 : null;
      const m = (magnitudeBin === null || bins === null ? 0.0 : bins[magnitudeBin]) * (negate ? -1.0 : 1.0);
      ops.push({ op, magnitude: m, opIndex: index, magnitudeBin, negate });
    });
    return { policyIndex, probs, signs, ops };
  };
  return withProps(<I extends TransformInput>(input: I, rng: Rng): I => imageOnly('AutoAugment', input, (img) => applyAll(img, getParams(img, rng).ops, interpolation, fill)), {
    policy,
    interpolation,
    fill,
    getParams,
  });
}
