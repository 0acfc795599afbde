// Dtype and value transforms (torchvision.transforms' ConvertImageDtype, as ToDtype, and Normalize);
// a detection sample's target passes through.
import type { DType } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { normalize, toDtype } from './functional/convert.js';
import { onImage, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

/** Converts the image dtype, rescaling values: uint8 [0, 255] to float [0, 1] and back (torchvision's ConvertImageDtype). */
export function ToDtype(dtype: DType = 'float32') {
  return withProps(<I extends TransformInput>(input: I, _rng?: Rng): I => onImage(input, (img) => toDtype(img, dtype)), { dtype });
}

/** (x - mean) / std per channel, for float images. */
export function Normalize(mean: number[], std: number[], options: { inplace?: boolean } = {}) {
  if (mean.length !== std.length) throw new RangeError(`Normalize: mean [${mean}] and std [${std}] must have one value per channel each`);
  const inplace = options.inplace ?? false;
  return withProps(<I extends TransformInput>(input: I, _rng?: Rng): I => onImage(input, (img) => normalize(img, mean, std, { inplace })), { mean, std, inplace });
}
