// Ultralytics' RandomPerspective as functions: the 3x3 matrix M = T·S·R·P·C from the drawn
// parameters, the warp of an image by M (cv2.warpAffine / warpPerspective: output pixel x samples
// the input at M⁻¹x, pixel centres on integers, bilinear, a constant border), the boxes through
// their four corners, and box_candidates, which drops boxes the warp squashed or cut away.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { getDimensions } from './image.js';

const DEG_TO_RAD = Math.PI / 180;

/** The draws of one RandomPerspective (Ultralytics' affine_transform), in degrees and fractions. */
export interface PerspectiveParams {
  /** [x, y] perspective terms, P[2, 0] and P[2, 1]. */
  perspective: [number, number];
  /** Rotation in degrees (cv2.getRotationMatrix2D's angle: counter-clockwise on screen). */
  angle: number;
  scale: number;
  /** [x, y] shear in degrees. */
  shear: [number, number];
  /** [x, y] position of the image centre in the output, as fractions of its width and height (0.5 centres it). */
  translate: [number, number];
}

/** Row-major 3x3 product a·b. */
function matmul3(a: number[], b: number[]): number[] {
  const out = new Array<number>(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  return out;
}

/**
 * M (row-major 3x3) for an image of [height, width] warped onto an output of [width, height]
 * `outSize`: centre the image at the origin (C), perspective (P), rotate and scale (R), shear (S),
 * then move the centre to translate × outSize (T).
 */
export function perspectiveMatrix(imageSize: [number, number], outSize: [number, number], params: PerspectiveParams): number[] {
  const [h, w] = imageSize;
  const C = [1, 0, -w / 2, 0, 1, -h / 2, 0, 0, 1];
  const P = [1, 0, 0, 0, 1, 0, params.perspective[0], params.perspective[1], 1];
  const a = params.angle * DEG_TO_RAD;
  const alpha = params.scale * Math.cos(a);
  const beta = params.scale * Math.sin(a);
  const R = [alpha, beta, 0, -beta, alpha, 0, 0, 0, 1];
  const S = [1, Math.tan(params.shear[0] * DEG_TO_RAD), 0, Math.tan(params.shear[1] * DEG_TO_RAD), 1, 0, 0, 0, 1];
  const T = [1, 0, params.translate[0] * outSize[0], 0, 1, params.translate[1] * outSize[1], 0, 0, 1];
  return matmul3(T, matmul3(S, matmul3(R, matmul3(P, C))));
}

function isAffine(m: number[]): boolean {
  return m[6] === 0 && m[7] === 0 && m[8] === 1;
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const Cc = d * h - e * g;
  const det = a * A + b * B + c * Cc;
  if (det === 0) throw new RangeError('warpPerspective: the matrix is singular');
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), Cc, -(a * h - b * g), a * e - b * d].map((x) => x / det);
}

/** The inverse of an affine M, exactly affine (the 2x3 inverse cv2.warpAffine takes). */
function invertAffine(m: number[]): number[] {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (det === 0) throw new RangeError('warpPerspective: the matrix is singular');
  const [ia, ib, id, ie] = [e / det, -b / det, -d / det, a / det];
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f), 0, 0, 1];
}

/**
 * The image [C, H, W] warped by M onto [width, height] `size`: output pixel (x, y) is the input
 * bilinearly sampled at M⁻¹(x, y), `fill` outside (cv2.warpAffine / warpPerspective with
 * INTER_LINEAR and a constant border; cv2 rounds its weights to 1/32 pixel, this does not).
 */
export function warpPerspective(img: Tensor, matrix: number[], size: [number, number], options: { fill?: number } = {}): Tensor {
  const fill = options.fill ?? 114;
  const [, h, w] = getDimensions(img);
  if (img.ndim !== 3) throw new TypeError(`warpPerspective: expected an image [C, H, W], got shape [${img.shape}]`);
  const [ow, oh] = size;
  const inv = isAffine(matrix) ? invertAffine(matrix) : invert3(matrix);
  return torch.tidy(() => {
    const xs = torch.arange(0, ow, 1, { dtype: 'float64' }).view([1, ow]);
    const ys = torch.arange(0, oh, 1, { dtype: 'float64' }).view([oh, 1]);
    const row = (k: number) => xs.mul(inv[k]).add(ys.mul(inv[k + 1])).add(inv[k + 2]);
    let sx = row(0);
    let sy = row(3);
    if (!isAffine(inv)) {
      const sw = row(6);
      sx = sx.div(sw);
      sy = sy.div(sw);
    }
    // align_corners: -1 and 1 are the centres of the first and last pixels, as cv2's integer pixel grid.
    const gx = sx.mul(2 / Math.max(w - 1, 1)).sub(1);
    const gy = sy.mul(2 / Math.max(h - 1, 1)).sub(1);
    const grid = torch.stack([gx, gy], -1).unsqueeze(0).to('float32');
    // Sampling (img - fill) with zeros outside, then adding fill back, is bilinear with a constant border.
    const x = img.to('float32').sub(fill).unsqueeze(0);
    const out = nn.functional.gridSample(x, grid, { mode: 'bilinear', paddingMode: 'zeros', alignCorners: true }).add(fill).squeezeDim(0);
    return img.dtype === 'uint8' ? out.round().clamp(0, 255).to('uint8') : out.to(img.dtype);
  });
}

/** xyxy boxes [N, 4] through M: the box around the four moved corners (divided by w under perspective). */
export function perspectiveBoxes(boxes: Tensor, matrix: number[]): Tensor {
  const n = boxes.shape[0];
  const b = boxes.toFlatArray();
  const out = new Float32Array(n * 4);
  const affine = isAffine(matrix);
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = b.slice(i * 4, i * 4 + 4);
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [x, y] of [[x1, y1], [x2, y2], [x1, y2], [x2, y1]]) {
      const px = matrix[0] * x + matrix[1] * y + matrix[2];
      const py = matrix[3] * x + matrix[4] * y + matrix[5];
      const pw = affine ? 1 : matrix[6] * x + matrix[7] * y + matrix[8];
      xs.push(px / pw);
      ys.push(py / pw);
    }
    out.set([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], i * 4);
  }
  return torch.tensor(out, { shape: [n, 4] }).to(boxes.dtype);
}

export interface BoxCandidatesOptions {
  /** Least width and height in pixels (default 2). */
  whThr?: number;
  /** Largest aspect ratio, either way (default 100). */
  arThr?: number;
  /** Least area after / area before (default 0.1). */
  areaThr?: number;
  eps?: number;
}

/** Ultralytics' box_candidates: which boxes after [N, 4] (xyxy) are still objects, against the same boxes before, scaled as the image was. Returns bool [N]. */
export function boxCandidates(before: Tensor, after: Tensor, options: BoxCandidatesOptions = {}): Tensor {
  const { whThr = 2, arThr = 100, areaThr = 0.1, eps = 1e-16 } = options;
  return torch.tidy(() => {
    const w1 = before.select(1, 2).sub(before.select(1, 0));
    const h1 = before.select(1, 3).sub(before.select(1, 1));
    const w2 = after.select(1, 2).sub(after.select(1, 0));
    const h2 = after.select(1, 3).sub(after.select(1, 1));
    const ar = torch.maximum(w2.div(h2.add(eps)), h2.div(w2.add(eps)));
    return w2.gt(whThr).logicalAnd(h2.gt(whThr)).logicalAnd(w2.mul(h2).div(w1.mul(h1).add(eps)).gt(areaThr)).logicalAnd(ar.lt(arThr));
  });
}
