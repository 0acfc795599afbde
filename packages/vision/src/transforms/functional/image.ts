// What torchvision's functional_tensor.py does around every op: image checks, the dimensions of
// a CHW (or NCHW) tensor, and the cast to float (and back, rounded) that kernels need.
import type { Tensor, DType } from '@iris/torch';
import { isFloatingPoint } from '@iris/torch';

export type InterpolationMode = 'nearest' | 'bilinear' | 'bicubic';

const interpolationModes: readonly InterpolationMode[] = ['nearest', 'bilinear', 'bicubic'];

/** [channels, height, width] of a [..., C, H, W] image (or [H, W], one channel). */
export function getDimensions(img: Tensor): [number, number, number] {
  const shape = img.shape;
  if (shape.length < 2) throw new TypeError(`expected an image tensor [..., C, H, W], got shape [${shape}]`);
  const channels = shape.length === 2 ? 1 : shape[shape.length - 3];
  return [channels, shape[shape.length - 2], shape[shape.length - 1]];
}

export function assertChannels(fn: string, img: Tensor, permitted: number[]): void {
  const c = getDimensions(img)[0];
  if (!permitted.includes(c)) {
    throw new TypeError(`${fn}: the image must have ${permitted.join(' or ')} channels, got ${c} (shape [${img.shape}])`);
  }
}

export function assertAtLeast3d(fn: string, img: Tensor): void {
  if (img.ndim < 3) throw new TypeError(`${fn}: expected an image [..., C, H, W] with at least 3 dimensions, got shape [${img.shape}]`);
}

export function assertInterpolation(fn: string, mode: string, allowed: readonly InterpolationMode[] = interpolationModes): InterpolationMode {
  if (!allowed.includes(mode as InterpolationMode)) {
    throw new RangeError(`${fn}: interpolation '${mode}' is not supported for tensors; use one of ${allowed.map((m) => `'${m}'`).join(', ')}`);
  }
  return mode as InterpolationMode;
}

/** The largest value of an image dtype: 255 for uint8, 1 for floats (torchvision's _max_value). */
export function maxValue(dtype: DType): number {
  switch (dtype) {
    case 'uint8':
      return 255;
    case 'int8':
      return 127;
    case 'int16':
      return 32767;
    case 'int32':
      return 2147483647;
    case 'int64':
      return 9223372036854775807;
    default:
      return 1;
  }
}

/** The dtype torchvision computes in: the image's own if floating, else float32. */
export function computeDtype(img: Tensor): DType {
  return img.isFloatingPoint() ? img.dtype : 'float32';
}

/** `img` in a floating dtype, as PyTorch promotes an integer tensor times a Python float. */
export function asFloat(img: Tensor): Tensor {
  return img.isFloatingPoint() ? img : img.to('float32');
}

export interface Squeezed {
  img: Tensor;
  needCast: boolean;
  needSqueeze: boolean;
  outDtype: DType;
}

/** torchvision's _cast_squeeze_in: NCHW, and a dtype the kernel takes (the first of `reqDtypes` if not). */
export function castSqueezeIn(img: Tensor, reqDtypes: DType[]): Squeezed {
  const needSqueeze = img.ndim < 4;
  let out = needSqueeze ? img.unsqueeze(0) : img;
  const outDtype = out.dtype;
  const needCast = !reqDtypes.includes(outDtype);
  if (needCast) out = out.to(reqDtypes[0]);
  return { img: out, needCast, needSqueeze, outDtype };
}

/** torchvision's _cast_squeeze_out: back to the input's rank and dtype, rounding before an integer cast. */
export function castSqueezeOut(img: Tensor, squeezed: Omit<Squeezed, 'img'>): Tensor {
  let out = squeezed.needSqueeze ? img.squeezeDim(0) : img;
  if (squeezed.needCast) {
    if (!isFloatingPoint(squeezed.outDtype)) out = out.round();
    out = out.to(squeezed.outDtype);
  }
  return out;
}

/** Python's round(): halves go to the even neighbour (round(2.5) == 2), and an integer has no sign of zero. */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}
