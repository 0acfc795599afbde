// Random erasing (Zhong et al. 2017), as torchvision.transforms.RandomErasing; a detection sample's
// boxes stay (as in transforms v2), even where the erased box covers an object.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions, pyRound } from './functional/image.js';
import { erase } from './functional/convert.js';
import { imageOf, onImage, type TransformInput } from './sample.js';
import { checkProbability, checkRange, withProps } from './transform.js';

export interface RandomErasingOptions {
  /** Probability of erasing (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image (default [0.02, 0.33]). */
  scale?: [number, number];
  /** Range of the erased box's aspect ratio, sampled log-uniformly (default [0.3, 3.3]). */
  ratio?: [number, number];
  /** The fill: a number, one per channel, or 'random' for standard normal noise (default 0). */
  value?: number | number[] | 'random';
  inplace?: boolean;
}

export interface ErasingParams {
  top: number;
  left: number;
  height: number;
  width: number;
  /** Broadcast into [C, height, width]. */
  value: Tensor;
}

/** Erases a random box; getParams gives null when nothing is erased (probability 1 - p, or no box fitted in 10 tries). */
export function RandomErasing(options: RandomErasingOptions = {}) {
  const p = checkProbability('RandomErasing', options.p ?? 0.5);
  const scale = checkRange('RandomErasing', 'scale', options.scale ?? [0.02, 0.33]);
  const ratio = checkRange('RandomErasing', 'ratio', options.ratio ?? [0.3, 3.3]);
  if (scale[0] < 0 || scale[1] > 1) throw new RangeError(`RandomErasing: scale must lie within [0, 1], got [${scale}]`);
  const value = options.value ?? 0;
  if (typeof value === 'string' && value !== 'random') throw new RangeError(`RandomErasing: value must be a number, a list or 'random', got '${value}'`);
  const inplace = options.inplace ?? false;
  const values = typeof value === 'number' ? [value] : value === 'random' ? null : value;
  const getParams = (input: TransformInput, rng: Rng): ErasingParams | null => {
    if (!(rng.random() < p)) return null;
    const [c, imgH, imgW] = getDimensions(imageOf(input));
    if (values !== null && values.length !== 1 && values.length !== c) {
      throw new RangeError(`RandomErasing: value must have 1 or ${c} (the image's channels) numbers, got [${values}]`);
    }
    const area = imgH * imgW;
    const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const eraseArea = area * rng.uniform(scale[0], scale[1]);
      const aspectRatio = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
      const h = pyRound(Math.sqrt(eraseArea * aspectRatio));
      const w = pyRound(Math.sqrt(eraseArea / aspectRatio));
      if (!(h < imgH && w < imgW)) continue;
      const v =
        values === null
          ? torch.tensor(Float32Array.from({ length: c * h * w }, () => rng.normal()), { shape: [c, h, w] })
          : torch.tensor(values, { dtype: 'float64' }).view([-1, 1, 1]);
      return { top: rng.int(0, imgH - h + 1), left: rng.int(0, imgW - w + 1), height: h, width: w, value: v };
    }
    return null;
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const params = getParams(input, rng);
    if (params === null) return input;
    const { top, left, height, width, value: v } = params;
    const out = onImage(input, (img) => erase(img, top, left, height, width, v.to({ device: img.device }), { inplace }));
    v.dispose();
    return out;
  };
  return withProps(apply, { p, scale, ratio, value, inplace, getParams });
}
