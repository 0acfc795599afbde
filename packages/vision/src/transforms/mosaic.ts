// Ultralytics' Mosaic (2x2): a sample and the three of its `mix` (MosaicDataset lists them, the
// DataLoader loads them) placed around a random centre on a 2·imgsz grey canvas, their boxes
// moved with them, clipped to the canvas, empty ones dropped. The result carries `mosaicBorder`,
// which RandomPerspective uses to crop the canvas back to imgsz. ResizeLongSide is Ultralytics'
// load_image resize that every image gets first.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions } from './functional/image.js';
import { pad, resize } from './functional/geometry.js';
import { clampBoundingBoxes, convertBoundingBoxFormat, resizeBoundingBoxes } from './functional/boxes.js';
import { checkSample, filterPerBox, isSample, onImageAndBoxes, type DetectionSample, type DetectionTarget, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

/** A sample with the images to combine with it, as the DataLoader passes a MosaicDataset's samples. */
export type MixSample = DetectionSample & { mix?: DetectionSample[] };

/** [height, width] of an image whose longer side becomes `size`: Ultralytics' load_image (sides rounded up, at most size). */
export function longSideSize(imageSize: [number, number], size: number): [number, number] {
  const [h0, w0] = imageSize;
  const r = size / Math.max(h0, w0);
  if (r === 1) return [h0, w0];
  return [Math.min(Math.ceil(h0 * r), size), Math.min(Math.ceil(w0 * r), size)];
}

/** Resizes so the longer side is `size` (bilinear, as cv2.INTER_LINEAR), keeping the aspect ratio; boxes scale with it. */
export function ResizeLongSide(size: number) {
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`ResizeLongSide: size must be a positive integer, got ${size}`);
  const apply = <I extends TransformInput>(input: I, _rng?: Rng): I =>
    onImageAndBoxes(
      'ResizeLongSide',
      input,
      (img) => {
        const [, h, w] = getDimensions(img);
        const [nh, nw] = longSideSize([h, w], size);
        return nh === h && nw === w ? img : resize(img, [nh, nw], { interpolation: 'bilinear', antialias: false });
      },
      resizeBoundingBoxes,
    );
  return withProps(apply, { size });
}

/** Where one image of a mosaic goes: `placed` on the canvas, `source` of the image, both [x1, y1, x2, y2]; boxes move by `offset` [x, y]. */
export interface MosaicTile {
  placed: [number, number, number, number];
  source: [number, number, number, number];
  offset: [number, number];
}

/**
 * Ultralytics' _mosaic4 layout for images of [height, width] `sizes` (4) around `center` [xc, yc]
 * on a 2·imgsz canvas: top-left, top-right, bottom-left, bottom-right, each touching the centre.
 */
export function mosaicLayout(center: [number, number], sizes: Array<[number, number]>, imgsz: number): MosaicTile[] {
  const [xc, yc] = center;
  const s2 = 2 * imgsz;
  return sizes.map(([h, w], i): MosaicTile => {
    let a: [number, number, number, number];
    let b: [number, number, number, number];
    if (i === 0) {
      a = [Math.max(xc - w, 0), Math.max(yc - h, 0), xc, yc];
      b = [w - (a[2] - a[0]), h - (a[3] - a[1]), w, h];
    } else if (i === 1) {
      a = [xc, Math.max(yc - h, 0), Math.min(xc + w, s2), yc];
      b = [0, h - (a[3] - a[1]), Math.min(w, a[2] - a[0]), h];
    } else if (i === 2) {
      a = [Math.max(xc - w, 0), yc, xc, Math.min(s2, yc + h)];
      b = [w - (a[2] - a[0]), 0, w, Math.min(a[3] - a[1], h)];
    } else {
      a = [xc, yc, Math.min(xc + w, s2), Math.min(s2, yc + h)];
      b = [0, 0, Math.min(w, a[2] - a[0]), Math.min(a[3] - a[1], h)];
    }
    return { placed: a, source: b, offset: [a[0] - b[0], a[1] - b[1]] };
  });
}

const NOT_PER_BOX = new Set(['boxFormat', 'imageId']);

/** The per-box fields of a target: tensors whose first dimension is its box count. */
function perBoxKeys(target: DetectionTarget): string[] {
  const n = target.boxes.shape[0];
  return Object.entries(target)
    .filter(([key, v]) => key !== 'boxes' && !NOT_PER_BOX.has(key) && v instanceof torch.Tensor && v.ndim >= 1 && v.shape[0] === n)
    .map(([key]) => key);
}

export interface MosaicOptions {
  /** The training image size; the canvas is 2·imgsz square (default 640). */
  imgsz?: number;
  /** The canvas grey, in the images' scale (default 114). */
  fill?: number;
}

/** Combines a sample with the three of its `mix`; a sample without a mix passes unchanged. */
export function Mosaic(options: MosaicOptions = {}) {
  const { imgsz = 640, fill = 114 } = options;
  if (!(Number.isInteger(imgsz) && imgsz > 0)) throw new RangeError(`Mosaic: imgsz must be a positive integer, got ${imgsz}`);
  // Python's -imgsz // 2 floors: -ceil(imgsz / 2).
  const border = -Math.ceil(imgsz / 2);
  /** The centre [xc, yc] on the canvas, uniform in [-border, 2·imgsz + border), y drawn first as Ultralytics does. */
  const getParams = (_input: unknown, rng: Rng): { center: [number, number] } => {
    const yc = Math.trunc(rng.uniform(-border, 2 * imgsz + border));
    const xc = Math.trunc(rng.uniform(-border, 2 * imgsz + border));
    return { center: [xc, yc] };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    if (!isSample(input) || !(input as MixSample).mix) return input;
    const { mix, ...own } = input as MixSample;
    if (mix!.length !== 3) throw new RangeError(`Mosaic: a 2x2 mosaic needs 3 more images in sample.mix, got ${mix!.length}`);
    const tiles: DetectionSample[] = [own, ...mix!];
    tiles.forEach((t, k) => checkSample(`Mosaic (image ${k})`, t));
    const channels = getDimensions(own.image)[0];
    const other = tiles.findIndex((t) => getDimensions(t.image)[0] !== channels || t.image.dtype !== own.image.dtype);
    if (other >= 0) throw new TypeError(`Mosaic: image ${other} is ${tiles[other].image.dtype} [${tiles[other].image.shape}] but the first is ${own.image.dtype} [${own.image.shape}]; decode all with the same mode`);
    const { center } = getParams(input, rng);
    const layout = mosaicLayout(center, tiles.map((t) => getDimensions(t.image).slice(1) as [number, number]), imgsz);
    return torch.tidy(() => {
      const s2 = 2 * imgsz;
      const [xc, yc] = center;
      // Each image's part fills one quadrant from the centre outwards; grey pads the rest of it.
      const quadrant = (k: number): Tensor => {
        const { placed: a, source: b } = layout[k];
        const part = tiles[k].image.slice({ dim: -2, start: b[1], end: b[3] }).slice({ dim: -1, start: b[0], end: b[2] });
        const [x0, y0, x1, y1] = [k % 2 === 0 ? 0 : xc, k < 2 ? 0 : yc, k % 2 === 0 ? xc : s2, k < 2 ? yc : s2];
        return pad(part, [a[0] - x0, a[1] - y0, x1 - a[2], y1 - a[3]], { fill });
      };
      const image = torch.cat([torch.cat([quadrant(0), quadrant(1)], -1), torch.cat([quadrant(2), quadrant(3)], -1)], -2);
      const keys = perBoxKeys(own.target);
      const xyxy = tiles.map((t, k) => {
        const format = t.target.boxFormat ?? 'xyxy';
        const boxes = format === 'xyxy' ? t.target.boxes : convertBoundingBoxFormat(t.target.boxes, format, 'xyxy');
        const [dx, dy] = layout[k].offset;
        return boxes.add(torch.tensor([dx, dy, dx, dy], { dtype: boxes.dtype }));
      });
      const boxes = clampBoundingBoxes(torch.cat(xyxy, 0), [s2, s2]);
      const fields: Record<string, Tensor> = {};
      for (const key of keys) {
        const parts = tiles.map((t, k) => {
          const value = (t.target as unknown as Record<string, unknown>)[key];
          if (!(value instanceof torch.Tensor) || value.shape[0] !== t.target.boxes.shape[0]) throw new TypeError(`Mosaic: image ${k}'s target has no per-box '${key}' like the first image's; give all images the same fields`);
          return value;
        });
        fields[key] = torch.cat(parts, 0);
      }
      const format = own.target.boxFormat ?? 'xyxy';
      const merged = { ...own.target, ...fields, boxes: format === 'xyxy' ? boxes : convertBoundingBoxFormat(boxes, 'xyxy', format) };
      // Boxes wholly off the canvas are empty after clipping (Ultralytics' remove_zero_area_boxes).
      const keep = boxes.select(1, 2).sub(boxes.select(1, 0)).mul(boxes.select(1, 3).sub(boxes.select(1, 1))).gt(0);
      const target = filterPerBox(merged, keep, boxes.shape[0]);
      return { ...own, image, target, mosaicBorder: border } as unknown as I;
    });
  };
  return withProps(apply, { imgsz, fill, border, getParams });
}
