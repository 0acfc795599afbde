// Dtype and value transforms (torchvision.transforms' ConvertImageDtype, as ToDtype, and Normalize).
import type { Tensor, DType } from '@iris/torch';
import { normalize, toDtype } from './functional/convert.js';
import { withProps } from './transform.js';

/** Converts the image dtype, rescaling values: uint8 [0, 255] to float [0, 1] and back (torchvision's ConvertImageDtype). */
export function ToDtype(dtype: DType = 'float32') {
  return withProps((img: Tensor) => toDtype(img, dtype), { dtype });
}

/** (x - mean) / std per channel, for float images. */
export function Normalize(mean: number[], std: number[], options: { inplace?: boolean } = {}) {
  if (mean.length !== std.length) throw new RangeError(`Normalize: mean [${mean}] and std [${std}] must have one value per channel each`);
  const inplace = options.inplace ?? false;
  return withProps((img: Tensor) => normalize(img, mean, std, { inplace }), { mean, std, inplace });
}
