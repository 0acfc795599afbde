// Resizing, cropping, padding and flips of [..., C, H, W] tensors, as torchvision 0.14's
// functional.py and functional_tensor.py do them for tensors.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { assertInterpolation, castSqueezeIn, castSqueezeOut, getDimensions, pyRound, type InterpolationMode } from './image.js';

const F = nn.functional;

export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

/** (height, width) of an image resized to `size`: [h, w] exactly, or [s] / s for the shorter side (the longer one capped by maxSize). */
export function computeResizedOutputSize(imageSize: [number, number], size: number[], maxSize?: number): [number, number] {
  if (size.length === 1) {
    const [h, w] = imageSize;
    const [short, long] = w <= h ? [w, h] : [h, w];
    const requested = size[0];
    let newShort = requested;
    let newLong = Math.trunc((requested * long) / short);
    if (maxSize !== undefined) {
      if (maxSize <= requested) {
        throw new RangeError(`resize: maxSize ${maxSize} must be strictly greater than the requested size ${requested} of the smaller edge`);
      }
      if (newLong > maxSize) [newShort, newLong] = [Math.trunc((maxSize * newShort) / newLong), maxSize];
    }
    return w <= h ? [newLong, newShort] : [newShort, newLong];
  }
  return [size[0], size[1]];
}

export interface ResizeOptions {
  interpolation?: InterpolationMode;
  /** With a one-number size: the most the longer side may become. */
  maxSize?: number;
  /** Widen the filter when downscaling, as PIL does (bilinear/bicubic; default false, 0.14's tensor default). */
  antialias?: boolean;
}

/**
 * torchvision's F.resize: `size` [h, w] is the output size; a number (or [n]) is the shorter
 * side's, keeping the aspect ratio. Integer images are resized in float32 and rounded back.
 */
export function resize(img: Tensor, size: number | number[], options: ResizeOptions = {}): Tensor {
  const interpolation = assertInterpolation('resize', options.interpolation ?? 'bilinear');
  const antialias = options.antialias ?? false;
  if (antialias && interpolation === 'nearest') throw new RangeError("resize: antialias is supported for the 'bilinear' and 'bicubic' interpolations only");
  const sizes = typeof size === 'number' ? [size] : size;
  if (sizes.length !== 1 && sizes.length !== 2) throw new RangeError(`resize: size must be a number or 1 or 2 numbers, got [${sizes}]`);
  if (options.maxSize !== undefined && sizes.length !== 1) {
    throw new RangeError(`resize: maxSize applies only when size is the smaller edge's (one number), got size [${sizes}]`);
  }
  const [, h, w] = getDimensions(img);
  const [oh, ow] = computeResizedOutputSize([h, w], sizes, options.maxSize);
  if (oh === h && ow === w) return img;
  if (img.ndim < 3 || img.ndim > 4) throw new TypeError(`resize: expected [C, H, W] or [N, C, H, W], got shape [${img.shape}]`);
  return torch.tidy(() => {
    const { img: x, ...squeezed } = castSqueezeIn(img, ['float32', 'float64']);
    let out = F.interpolate(x, interpolation === 'nearest' ? { size: [oh, ow], mode: interpolation } : { size: [oh, ow], mode: interpolation, alignCorners: false, antialias });
    if (interpolation === 'bicubic' && squeezed.outDtype === 'uint8') out = out.clamp(0, 255);
    return castSqueezeOut(out, squeezed);
  });
}

/** Rows top..top+height and columns left..left+width; zero-padded where they leave the image. */
export function crop(img: Tensor, top: number, left: number, height: number, width: number): Tensor {
  const [, h, w] = getDimensions(img);
  const right = left + width;
  const bottom = top + height;
  if (left < 0 || top < 0 || right > w || bottom > h) {
    const paddingLtrb = [Math.max(-left + Math.min(0, right), 0), Math.max(-top + Math.min(0, bottom), 0), Math.max(right - Math.max(w, left), 0), Math.max(bottom - Math.max(h, top), 0)];
    return torch.tidy(() => pad(sliceHw(img, Math.max(top, 0), bottom, Math.max(left, 0), right), paddingLtrb, { fill: 0 }));
  }
  return sliceHw(img, top, bottom, left, right);
}

function sliceHw(img: Tensor, top: number, bottom: number, left: number, right: number): Tensor {
  return torch.tidy(() => img.slice({ dim: -2, start: top, end: bottom }).slice({ dim: -1, start: left, end: right }));
}

/** torchvision's _setup_size: a number is a square, [n] too, [h, w] as given. */
export function setupSize(fn: string, size: number | number[]): [number, number] {
  if (typeof size === 'number') return [Math.trunc(size), Math.trunc(size)];
  if (size.length === 1) return [size[0], size[0]];
  if (size.length !== 2) throw new RangeError(`${fn}: size must be a number or [height, width], got [${size}]`);
  return [size[0], size[1]];
}

/** The centre `size` ([h, w] or a number for a square); an image smaller than that is zero-padded first. */
export function centerCrop(img: Tensor, size: number | number[]): Tensor {
  const [cropHeight, cropWidth] = setupSize('centerCrop', size);
  return torch.tidy(() => {
    let [, imageHeight, imageWidth] = getDimensions(img);
    let x = img;
    if (cropWidth > imageWidth || cropHeight > imageHeight) {
      const paddingLtrb = [
        cropWidth > imageWidth ? Math.floor((cropWidth - imageWidth) / 2) : 0,
        cropHeight > imageHeight ? Math.floor((cropHeight - imageHeight) / 2) : 0,
        cropWidth > imageWidth ? Math.floor((cropWidth - imageWidth + 1) / 2) : 0,
        cropHeight > imageHeight ? Math.floor((cropHeight - imageHeight + 1) / 2) : 0,
      ];
      x = pad(x, paddingLtrb, { fill: 0 });
      [, imageHeight, imageWidth] = getDimensions(x);
      if (cropWidth === imageWidth && cropHeight === imageHeight) return x;
    }
    const cropTop = pyRound((imageHeight - cropHeight) / 2);
    const cropLeft = pyRound((imageWidth - cropWidth) / 2);
    return crop(x, cropTop, cropLeft, cropHeight, cropWidth);
  });
}

/** crop, then resize to `size` (RandomResizedCrop's op). */
export function resizedCrop(img: Tensor, top: number, left: number, height: number, width: number, size: number | number[], options: Omit<ResizeOptions, 'maxSize'> = {}): Tensor {
  return torch.tidy(() => resize(crop(img, top, left, height, width), size, options));
}

/** torchvision's padding forms: n (all sides), [n], [leftRight, topBottom] or [left, top, right, bottom]; returns [left, right, top, bottom]. */
export function parsePadding(padding: number | number[]): [number, number, number, number] {
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  switch (padding.length) {
    case 1:
      return [padding[0], padding[0], padding[0], padding[0]];
    case 2:
      return [padding[0], padding[0], padding[1], padding[1]];
    case 4:
      return [padding[0], padding[2], padding[1], padding[3]];
    default:
      throw new RangeError(`pad: padding must be a number or 1, 2 or 4 numbers, got ${padding.length}: [${padding}]`);
  }
}

export interface PadOptions {
  /** The value of 'constant' padding (default 0). */
  fill?: number;
  /** 'constant', 'edge' (repeat the border), 'reflect' (mirror without the border) or 'symmetric' (mirror with it). */
  paddingMode?: PaddingMode;
}

/** torchvision's F.pad for tensors; negative padding crops. */
export function pad(img: Tensor, padding: number | number[], options: PadOptions = {}): Tensor {
  const mode = options.paddingMode ?? 'constant';
  if (!['constant', 'edge', 'reflect', 'symmetric'].includes(mode)) {
    throw new RangeError(`pad: paddingMode must be 'constant', 'edge', 'reflect' or 'symmetric', got '${mode}'`);
  }
  const p = parsePadding(padding);
  getDimensions(img);
  if (mode === 'symmetric') return padSymmetric(img, p);
  return torch.tidy(() => {
    const needSqueeze = img.ndim < 4;
    let x = needSqueeze ? img.unsqueeze(0) : img;
    const outDtype = x.dtype;
    // Non-constant ATen pads lack integer kernels (pytorch#40763), so torchvision pads those in float32.
    const needCast = mode !== 'constant' && outDtype !== 'float32' && outDtype !== 'float64';
    if (needCast) x = x.to('float32');
    x = mode === 'constant' ? F.pad(x, p, { mode: 'constant', value: options.fill ?? 0 }) : F.pad(x, p, { mode: mode === 'edge' ? 'replicate' : 'reflect' });
    if (needSqueeze) x = x.squeezeDim(0);
    return needCast ? x.to(outDtype) : x;
  });
}

/** Mirror padding that repeats the edge pixel, by gathering rows and columns. */
function padSymmetric(img: Tensor, padding: [number, number, number, number]): Tensor {
  if (img.ndim !== 3 && img.ndim !== 4) throw new TypeError(`pad: symmetric padding needs [C, H, W] or [N, C, H, W], got shape [${img.shape}]`);
  return torch.tidy(() => {
    let x = img;
    let p = padding;
    if (p.some((v) => v < 0)) {
      const [cropLeft, cropRight, cropTop, cropBottom] = p.map((v) => -Math.min(v, 0));
      const [, h, w] = getDimensions(x);
      x = sliceHw(x, cropTop, h - cropBottom, cropLeft, w - cropRight);
      p = p.map((v) => Math.max(v, 0)) as [number, number, number, number];
    }
    const [, h, w] = getDimensions(x);
    const mirrored = (n: number, before: number, after: number): Tensor => {
      const indices: number[] = [];
      for (let i = before - 1; i >= 0; i--) indices.push(i);
      for (let i = 0; i < n; i++) indices.push(i);
      for (let i = 0; i < after; i++) indices.push(n - 1 - i);
      return torch.tensor(indices, { dtype: 'int64', device: img.device });
    };
    return x.indexSelect(-2, mirrored(h, p[2], p[3])).indexSelect(-1, mirrored(w, p[0], p[1]));
  });
}

export function hflip(img: Tensor): Tensor {
  getDimensions(img);
  return img.flip([-1]);
}

export function vflip(img: Tensor): Tensor {
  getDimensions(img);
  return img.flip([-2]);
}
