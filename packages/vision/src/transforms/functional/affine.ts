// Rotation and affine warps of [..., C, H, W] tensors as torchvision 0.14 does them: an inverse
// affine matrix about the image centre, a sampling grid, grid_sample, and a mask for the fill colour.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { assertInterpolation, castSqueezeIn, castSqueezeOut, computeDtype, getDimensions, type InterpolationMode } from './image.js';

const F = nn.functional;

/** A fill colour for pixels from outside the image: one value, or one per channel; null leaves them 0 without the fill mask. */
export type Fill = number | number[] | null;

// Python's math.radians / math.degrees multiply by these constants.
const DEG_TO_RAD = Math.PI / 180;
export const RAD_TO_DEG = 180 / Math.PI;

/**
 * The 2x3 matrix (row-major, 6 numbers) of the affine map about `center` (pixels relative to the
 * image centre): rotation by `angle` degrees, `translate`, `scale` and `shear` degrees; by default
 * its inverse, which maps output pixels to input ones as grid sampling needs.
 */
export function getInverseAffineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number], inverted = true): number[] {
  const rot = angle * DEG_TO_RAD;
  const sx = shear[0] * DEG_TO_RAD;
  const sy = shear[1] * DEG_TO_RAD;
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  let matrix: number[];
  if (inverted) {
    matrix = [d, -b, 0.0, -c, a, 0.0].map((x) => x / scale);
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty);
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty);
    matrix[2] += cx;
    matrix[5] += cy;
  } else {
    matrix = [a, b, 0.0, c, d, 0.0].map((x) => x * scale);
    matrix[2] += matrix[0] * -cx + matrix[1] * -cy;
    matrix[5] += matrix[3] * -cx + matrix[4] * -cy;
    matrix[2] += cx + tx;
    matrix[5] += cy + ty;
  }
  return matrix;
}

/** The sampling grid [1, oh, ow, 2] for an inverse affine `theta` [1, 2, 3], normalised by the input size (w, h). */
function genAffineGrid(theta: Tensor, w: number, h: number, ow: number, oh: number): Tensor {
  const d = 0.5;
  // linspace in the default dtype, then theta's, as torchvision's copy_ into the base grid does.
  const x = torch.linspace(-ow * 0.5 + d, ow * 0.5 + d - 1, ow, { device: theta.device }).to(theta.dtype);
  const y = torch.linspace(-oh * 0.5 + d, oh * 0.5 + d - 1, oh, { device: theta.device }).to(theta.dtype);
  const baseGrid = torch.stack([x.expand([oh, ow]), y.unsqueeze(-1).expand([oh, ow]), torch.ones([oh, ow], { dtype: theta.dtype, device: theta.device })], -1);
  const rescaledTheta = theta.transpose(1, 2).div(torch.tensor([0.5 * w, 0.5 * h], { dtype: theta.dtype, device: theta.device }));
  return baseGrid.view([1, oh * ow, 3]).bmm(rescaledTheta).view([1, oh, ow, 2]);
}

function assertGridInputs(fn: string, img: Tensor, interpolation: string, fill: Fill): InterpolationMode {
  const channels = getDimensions(img)[0];
  if (Array.isArray(fill) && fill.length > 1 && fill.length !== channels) {
    throw new RangeError(`${fn}: fill has ${fill.length} values but the image has ${channels} channels; give one value or one per channel`);
  }
  return assertInterpolation(fn, interpolation, ['nearest', 'bilinear']);
}

/** grid_sample of the image at `grid`; with a fill, a ones channel marks the pixels that came from inside. */
function applyGridTransform(img: Tensor, grid: Tensor, mode: InterpolationMode, fill: Fill): Tensor {
  const { img: input, ...squeezed } = castSqueezeIn(img, [grid.dtype]);
  let x = input;
  const [n, , h, w] = x.shape;
  if (n > 1) grid = grid.expand([n, grid.shape[1], grid.shape[2], grid.shape[3]]);
  if (fill !== null) x = torch.cat([x, torch.ones([n, 1, h, w], { dtype: x.dtype, device: x.device })], 1);
  x = F.gridSample(x, grid, { mode: mode as 'nearest' | 'bilinear', paddingMode: 'zeros', alignCorners: false });
  if (fill !== null) {
    const c = x.shape[1] - 1;
    const mask = x.narrow(1, c, 1).expand([x.shape[0], c, x.shape[2], x.shape[3]]);
    x = x.narrow(1, 0, c);
    const fillList = Array.isArray(fill) ? fill : [fill];
    const fillImg = torch.tensor(fillList, { dtype: x.dtype, device: x.device }).view([1, fillList.length, 1, 1]).expandAs(x);
    x = mode === 'nearest' ? torch.where(mask.lt(0.5), fillImg, x) : x.mul(mask).add(mask.neg().add(1).mul(fillImg));
  }
  return castSqueezeOut(x, squeezed);
}

/** (width, height) of the box holding the whole image after the affine map `matrix` (rotate's expand). */
export function computeAffineOutputSize(matrix: number[], w: number, h: number): [number, number] {
  return torch.tidy(() => {
    const pts = torch.tensor([
      [-0.5 * w, -0.5 * h, 1.0],
      [-0.5 * w, 0.5 * h, 1.0],
      [0.5 * w, 0.5 * h, 1.0],
      [0.5 * w, -0.5 * h, 1.0],
    ]);
    const theta = torch.tensor(matrix).view([2, 3]);
    const newPts = torch.matmul(pts, theta.t());
    const offset = torch.tensor([w * 0.5, h * 0.5]);
    const minVals = newPts.minDim(0)[0].add(offset);
    const maxVals = newPts.maxDim(0)[0].add(offset);
    // Truncating to 1e-4 keeps a ceil of 1e-15 above an integer from adding a pixel.
    const tol = 1e-4;
    const cmax = maxVals.div(tol).trunc().mul(tol).ceil();
    const cmin = minVals.div(tol).trunc().mul(tol).floor();
    const size = cmax.sub(cmin).toFlatArray();
    return [Math.trunc(size[0]), Math.trunc(size[1])];
  });
}

/** Pixels relative to the image centre, as torchvision's tensor path passes a centre. */
function centerOffset(img: Tensor, center: [number, number] | undefined): [number, number] {
  if (center === undefined) return [0, 0];
  const [, height, width] = getDimensions(img);
  return [center[0] - width * 0.5, center[1] - height * 0.5];
}

export interface RotateOptions {
  /** 'nearest' (default) or 'bilinear'. */
  interpolation?: InterpolationMode;
  /** Grow the output to hold the whole rotated image (for rotation about the centre). */
  expand?: boolean;
  /** The centre of rotation [x, y] in pixels from the top-left corner (default: the image centre). */
  center?: [number, number];
  fill?: Fill;
}

/** Rotates counter-clockwise by `angle` degrees, as torchvision's F.rotate on a tensor. */
export function rotate(img: Tensor, angle: number, options: RotateOptions = {}): Tensor {
  const fill = options.fill ?? null;
  const interpolation = assertGridInputs('rotate', img, options.interpolation ?? 'nearest', fill);
  return torch.tidy(() => {
    const matrix = getInverseAffineMatrix(centerOffset(img, options.center), -angle, [0, 0], 1.0, [0, 0]);
    const [, h, w] = getDimensions(img);
    const [ow, oh] = options.expand ? computeAffineOutputSize(matrix, w, h) : [w, h];
    const theta = torch.tensor(matrix, { dtype: computeDtype(img), device: img.device }).reshape([1, 2, 3]);
    return applyGridTransform(img, genAffineGrid(theta, w, h, ow, oh), interpolation, fill);
  });
}

export interface AffineOptions {
  /** 'nearest' (default) or 'bilinear'. */
  interpolation?: InterpolationMode;
  fill?: Fill;
  /** The centre [x, y] in pixels from the top-left corner (default: the image centre). */
  center?: [number, number];
}

/**
 * torchvision's F.affine on a tensor: rotation by `angle` degrees (clockwise-positive as in
 * torchvision), translation in pixels, scale, and shear in degrees (a number shears x only).
 */
export function affine(img: Tensor, angle: number, translate: [number, number], scale: number, shear: number | number[], options: AffineOptions = {}): Tensor {
  if (translate.length !== 2) throw new RangeError(`affine: translate must be [dx, dy], got [${translate}]`);
  if (!(scale > 0)) throw new RangeError(`affine: scale must be positive, got ${scale}`);
  const shears: [number, number] = typeof shear === 'number' ? [shear, 0] : shear.length === 1 ? [shear[0], shear[0]] : shear.length === 2 ? [shear[0], shear[1]] : badShear(shear);
  const fill = options.fill ?? null;
  const interpolation = assertGridInputs('affine', img, options.interpolation ?? 'nearest', fill);
  return torch.tidy(() => {
    const matrix = getInverseAffineMatrix(centerOffset(img, options.center), angle, translate, scale, shears);
    const [, h, w] = getDimensions(img);
    const theta = torch.tensor(matrix, { dtype: computeDtype(img), device: img.device }).reshape([1, 2, 3]);
    return applyGridTransform(img, genAffineGrid(theta, w, h, w, h), interpolation, fill);
  });
}

function badShear(shear: number[]): never {
  throw new RangeError(`affine: shear must be a number or 1 or 2 numbers (degrees), got [${shear}]`);
}
