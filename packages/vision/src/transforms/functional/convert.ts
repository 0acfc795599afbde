// Dtype conversion, normalisation and erasing of image tensors (torchvision's
// convert_image_dtype, normalize and erase).
import * as torch from '@iris/torch';
import { isFloatingPoint, type Tensor, type DType } from '@iris/torch';
import { getDimensions, maxValue } from './image.js';

/**
 * torchvision's convert_image_dtype: integer to float divides by the integer maximum (uint8 255
 * -> 1.0); float to integer multiplies by max + 1 - 1e-3 and truncates; integers rescale by powers of two.
 */
export function toDtype(image: Tensor, dtype: DType = 'float32'): Tensor {
  if (image.dtype === dtype) return image;
  return torch.tidy(() => {
    if (image.isFloatingPoint()) {
      if (isFloatingPoint(dtype)) return image.to(dtype);
      if ((image.dtype === 'float32' && (dtype === 'int32' || dtype === 'int64')) || (image.dtype === 'float64' && dtype === 'int64')) {
        throw new RangeError(`toDtype: the cast from ${image.dtype} to ${dtype} cannot be performed safely (the scaled values do not fit the float's mantissa)`);
      }
      // max + 1 - eps spreads [0, 1] evenly over the integers; only 1.0 itself maps to max.
      return image.mul(maxValue(dtype) + 1.0 - 1e-3).to(dtype);
    }
    const inputMax = maxValue(image.dtype);
    if (isFloatingPoint(dtype)) return image.to(dtype).div(inputMax);
    const outputMax = maxValue(dtype);
    if (inputMax > outputMax) {
      // Floor division by an exact power of two, in float64 (exact below 2^53).
      const factor = Math.floor((inputMax + 1) / (outputMax + 1));
      return image.to('float64').div(factor).floor().to(dtype);
    }
    const factor = Math.floor((outputMax + 1) / (inputMax + 1));
    return image.to(dtype).mul(factor);
  });
}

/** (x - mean) / std per channel of a float image [..., C, H, W]; `inplace` writes into `tensor`. */
export function normalize(tensor: Tensor, mean: number[], std: number[], options: { inplace?: boolean } = {}): Tensor {
  getDimensions(tensor);
  if (!tensor.isFloatingPoint()) throw new TypeError(`normalize: expected a float image, got ${tensor.dtype}; convert it first with toDtype(image, 'float32')`);
  if (tensor.ndim < 3) throw new RangeError(`normalize: expected an image [..., C, H, W], got shape [${tensor.shape}]`);
  return torch.tidy(() => {
    const out = options.inplace ? tensor : tensor.clone();
    const meanT = torch.tensor(mean, { dtype: out.dtype, device: out.device });
    const stdT = torch.tensor(std, { dtype: out.dtype, device: out.device });
    if (stdT.eq(0).any().item()) throw new RangeError(`normalize: std [${std}] has a zero after conversion to ${out.dtype}, which would divide by zero`);
    return out.sub_(meanT.view([-1, 1, 1])).div_(stdT.view([-1, 1, 1]));
  });
}

/** Overwrites rows top..top+height, columns left..left+width with `value` (broadcast to [C, height, width]). */
export function erase(img: Tensor, top: number, left: number, height: number, width: number, value: Tensor | number, options: { inplace?: boolean } = {}): Tensor {
  getDimensions(img);
  return torch.tidy(() => {
    const out = options.inplace ? img : img.clone();
    const region = out.slice({ dim: -2, start: top, end: top + height }).slice({ dim: -1, start: left, end: left + width });
    if (typeof value === 'number') region.fill_(value);
    else region.copy_(value);
    return out;
  });
}
