// Colour and tone adjustments of [..., C, H, W] tensors, with torchvision 0.14's tensor arithmetic:
// integer images are blended in float32 and truncated back (not rounded), as torchvision does.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { asFloat, assertAtLeast3d, assertChannels, castSqueezeIn, castSqueezeOut, computeDtype, getDimensions } from './image.js';

const F = nn.functional;

function bound(img: Tensor): number {
  return img.isFloatingPoint() ? 1.0 : 255.0;
}

/** ratio * img1 + (1 - ratio) * img2, clamped to the image range, in img1's dtype. */
function blend(img1: Tensor, img2: Tensor, ratio: number): Tensor {
  return asFloat(img1).mul(ratio).add(asFloat(img2).mul(1.0 - ratio)).clamp(0, bound(img1)).to(img1.dtype);
}

/** ITU-R 601-2 luma (0.2989 R + 0.587 G + 0.114 B), repeated to 3 channels if asked. */
export function rgbToGrayscale(img: Tensor, numOutputChannels: 1 | 3 = 1): Tensor {
  assertAtLeast3d('rgbToGrayscale', img);
  assertChannels('rgbToGrayscale', img, [1, 3]);
  if (numOutputChannels !== 1 && numOutputChannels !== 3) throw new RangeError(`rgbToGrayscale: numOutputChannels must be 1 or 3, got ${numOutputChannels}`);
  return torch.tidy(() => {
    let gray: Tensor;
    if (img.shape[img.ndim - 3] === 3) {
      const [r, g, b] = [0, 1, 2].map((c) => asFloat(img.select(-3, c)));
      gray = r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).to(img.dtype).unsqueeze(-3);
    } else {
      gray = img.clone();
    }
    return numOutputChannels === 3 ? gray.expand(img.shape) : gray;
  });
}

function nonNegative(fn: string, name: string, factor: number): void {
  if (!(factor >= 0)) throw new RangeError(`${fn}: ${name} must be non-negative, got ${factor}`);
}

/** Blends with black: 0 gives black, 1 the original. */
export function adjustBrightness(img: Tensor, brightnessFactor: number): Tensor {
  nonNegative('adjustBrightness', 'brightnessFactor', brightnessFactor);
  assertChannels('adjustBrightness', img, [1, 3]);
  return torch.tidy(() => blend(img, torch.zerosLike(img), brightnessFactor));
}

/** Blends with the mean grey level: 0 gives solid grey, 1 the original. */
export function adjustContrast(img: Tensor, contrastFactor: number): Tensor {
  nonNegative('adjustContrast', 'contrastFactor', contrastFactor);
  assertChannels('adjustContrast', img, [1, 3]);
  return torch.tidy(() => {
    const dtype = computeDtype(img);
    const gray = getDimensions(img)[0] === 3 ? rgbToGrayscale(img) : img;
    const mean = gray.to(dtype).mean([-3, -2, -1], { keepdim: true });
    return blend(img, mean, contrastFactor);
  });
}

/** Blends with the grayscale image: 0 gives grey, 1 the original, 2 doubles the saturation. */
export function adjustSaturation(img: Tensor, saturationFactor: number): Tensor {
  nonNegative('adjustSaturation', 'saturationFactor', saturationFactor);
  assertChannels('adjustSaturation', img, [1, 3]);
  if (getDimensions(img)[0] === 1) return img;
  return torch.tidy(() => blend(img, rgbToGrayscale(img), saturationFactor));
}

/** Shifts the hue by `hueFactor` turns of the HSV colour wheel (in [-0.5, 0.5]). */
export function adjustHue(img: Tensor, hueFactor: number): Tensor {
  if (!(hueFactor >= -0.5 && hueFactor <= 0.5)) throw new RangeError(`adjustHue: hueFactor must be in [-0.5, 0.5], got ${hueFactor}`);
  assertChannels('adjustHue', img, [1, 3]);
  if (getDimensions(img)[0] === 1) return img;
  return torch.tidy(() => {
    const x = img.dtype === 'uint8' ? img.to('float32').div(255.0) : img;
    const hsv = rgbToHsv(x);
    const h = hsv.select(-3, 0).add(hueFactor).remainder(1.0);
    const rgb = hsvToRgb(torch.stack([h, hsv.select(-3, 1), hsv.select(-3, 2)], -3));
    return img.dtype === 'uint8' ? rgb.mul(255.0).to('uint8') : rgb;
  });
}

/** RGB to HSV, each in [0, 1] (Pillow's algorithm, as torchvision's _rgb2hsv). */
function rgbToHsv(img: Tensor): Tensor {
  const [r, g, b] = [0, 1, 2].map((c) => img.select(-3, c));
  const maxc = img.maxDim(-3)[0];
  const minc = img.minDim(-3)[0];
  // Where max == min, S and H are 0; replacing the divisors by 1 there avoids NaNs.
  const eqc = maxc.eq(minc);
  const cr = maxc.sub(minc);
  const ones = torch.onesLike(maxc);
  const s = cr.div(torch.where(eqc, ones, maxc));
  const crDivisor = torch.where(eqc, ones, cr);
  const rc = maxc.sub(r).div(crDivisor);
  const gc = maxc.sub(g).div(crDivisor);
  const bc = maxc.sub(b).div(crDivisor);
  const hr = maxc.eq(r).mul(bc.sub(gc));
  const hg = maxc.eq(g).logicalAnd(maxc.ne(r)).mul(rc.add(2.0).sub(bc));
  const hb = maxc.ne(g).logicalAnd(maxc.ne(r)).mul(gc.add(4.0).sub(rc));
  // h / 6 + 1 lies in (0, 2), where remainder and torchvision's fmod agree.
  const h = hr.add(hg).add(hb).div(6.0).add(1.0).remainder(1.0);
  return torch.stack([h, s, maxc], -3);
}

function hsvToRgb(img: Tensor): Tensor {
  const [h, s, v] = [0, 1, 2].map((c) => img.select(-3, c));
  const h6 = h.mul(6.0);
  const iFloat = h6.floor();
  const f = h6.sub(iFloat);
  const p = v.mul(s.neg().add(1.0)).clamp(0.0, 1.0);
  const q = v.mul(s.mul(f).neg().add(1.0)).clamp(0.0, 1.0);
  const t = v.mul(s.mul(f.neg().add(1.0)).neg().add(1.0)).clamp(0.0, 1.0);
  const i = iFloat.to('int32').remainder(6);
  const mask = i.unsqueeze(-3).eq(torch.arange(6, undefined, 1, { dtype: 'int64', device: i.device }).view([-1, 1, 1]));
  const a1 = torch.stack([v, q, p, p, t, v], -3);
  const a2 = torch.stack([t, v, v, q, p, p], -3);
  const a3 = torch.stack([p, p, t, v, v, q], -3);
  const a4 = torch.stack([a1, a2, a3], -4);
  return torch.einsum('...ijk, ...xijk -> ...xjk', [mask.to(img.dtype), a4]);
}

/** 1 - x for float images, 255 - x for uint8. */
export function invert(img: Tensor): Tensor {
  assertAtLeast3d('invert', img);
  assertChannels('invert', img, [1, 3]);
  return torch.tidy(() => torch.tensor([bound(img)], { dtype: img.dtype, device: img.device }).reshape([]).sub(img));
}

/** Keeps the `bits` high bits of each uint8 value. */
export function posterize(img: Tensor, bits: number): Tensor {
  if (!(Number.isInteger(bits) && bits >= 0 && bits <= 8)) throw new RangeError(`posterize: bits must be an integer in [0, 8], got ${bits}`);
  assertAtLeast3d('posterize', img);
  if (img.dtype !== 'uint8') throw new TypeError(`posterize: only uint8 images are supported, got ${img.dtype}; posterize before converting the dtype`);
  assertChannels('posterize', img, [1, 3]);
  if (bits === 0) return torch.zerosLike(img);
  // x & ~(2^k - 1), as x - x mod 2^k (uint8 has no bitwise ops in the op table).
  return torch.tidy(() => img.sub(img.remainder(2 ** (8 - bits))));
}

/** Inverts the values at or above `threshold`. */
export function solarize(img: Tensor, threshold: number): Tensor {
  assertAtLeast3d('solarize', img);
  assertChannels('solarize', img, [1, 3]);
  if (threshold > bound(img)) {
    throw new RangeError(`solarize: threshold ${threshold} is above the ${img.dtype} image's maximum ${bound(img)}; uint8 images take thresholds up to 255, float ones up to 1`);
  }
  return torch.tidy(() => torch.where(img.ge(threshold), invert(img), img));
}

/** A 3x3 smoothing of the image's interior (PIL's SMOOTH kernel), the border left as it was. */
function blurredDegenerateImage(img: Tensor): Tensor {
  const dtype = computeDtype(img);
  const c = img.shape[img.ndim - 3];
  const kernel = torch.tensor([1, 1, 1, 1, 5, 1, 1, 1, 1], { dtype, device: img.device }).view([3, 3]).div(13).expand([c, 1, 3, 3]);
  const { img: x, ...squeezed } = castSqueezeIn(img, [kernel.dtype]);
  const blurred = castSqueezeOut(F.conv2d(x, kernel, { groups: c }), squeezed);
  const result = img.clone();
  result.slice({ dim: -2, start: 1, end: -1 }).slice({ dim: -1, start: 1, end: -1 }).copy_(blurred);
  return result;
}

/** Blends with a smoothed image: 0 blurs, 1 is the original, 2 sharpens. */
export function adjustSharpness(img: Tensor, sharpnessFactor: number): Tensor {
  nonNegative('adjustSharpness', 'sharpnessFactor', sharpnessFactor);
  assertChannels('adjustSharpness', img, [1, 3]);
  const [, h, w] = getDimensions(img);
  if (w <= 2 || h <= 2) return img;
  return torch.tidy(() => blend(img, blurredDegenerateImage(img), sharpnessFactor));
}

/** Stretches each channel's values to the full range [0, max]. */
export function autocontrast(img: Tensor): Tensor {
  assertAtLeast3d('autocontrast', img);
  assertChannels('autocontrast', img, [1, 3]);
  return torch.tidy(() => {
    const dtype = computeDtype(img);
    let minimum = img.amin({ dim: [-2, -1], keepdim: true }).to(dtype);
    const maximum = img.amax({ dim: [-2, -1], keepdim: true }).to(dtype);
    // Python's `bound / t` is t.reciprocal() * bound in PyTorch.
    let scale = maximum.sub(minimum).reciprocal().mul(bound(img));
    const constant = scale.isfinite().logicalNot();
    minimum = minimum.maskedFill(constant, 0);
    scale = scale.maskedFill(constant, 1);
    return asFloat(img).sub(minimum).mul(scale).clamp(0, bound(img)).to(img.dtype);
  });
}

/** Histogram equalisation of each channel of a uint8 image (or batch), as torchvision's tensor equalize. */
export function equalize(img: Tensor): Tensor {
  if (img.ndim < 3 || img.ndim > 4) throw new TypeError(`equalize: expected [C, H, W] or [N, C, H, W], got shape [${img.shape}]`);
  if (img.dtype !== 'uint8') throw new TypeError(`equalize: only uint8 images are supported, got ${img.dtype}; equalize before converting the dtype`);
  assertChannels('equalize', img, [1, 3]);
  return torch.tidy(() => {
    const single = (x: Tensor): Tensor => torch.stack(Array.from({ length: x.shape[0] }, (_, c) => scaleChannel(x.select(0, c))));
    if (img.ndim === 3) return single(img);
    return torch.stack(Array.from({ length: img.shape[0] }, (_, n) => single(img.select(0, n))));
  });
}

function scaleChannel(channel: Tensor): Tensor {
  const indices = channel.flatten().to('int64');
  const hist = torch.zeros([256], { dtype: 'int64', device: channel.device }).scatterAdd(0, indices, torch.onesLike(indices)).toFlatArray();
  const nonzero = hist.filter((v) => v !== 0);
  const step = Math.floor(nonzero.slice(0, -1).reduce((a, b) => a + b, 0) / 255);
  if (step === 0) return channel;
  // The look-up table shifted by one bin: lut[0] = 0, lut[k] from the cumulative count below k.
  const lut = new Uint8Array(256);
  let cumulative = 0;
  for (let k = 0; k < 255; k++) {
    cumulative += hist[k];
    lut[k + 1] = Math.min(255, Math.floor((cumulative + Math.floor(step / 2)) / step));
  }
  return torch.tensor(lut, { device: channel.device }).indexSelect(0, indices).view(channel.shape);
}
