// Ultralytics' RandomPerspective: a random rotation, scale, shear, translation and perspective of
// the image (and its boxes) about its centre, onto an output `border` pixels larger on each side
// (negative: smaller; a mosaic sets -imgsz/2, cropping its 2·imgsz canvas back to imgsz). Boxes
// are clipped to the output and box_candidates drops those the warp squashed or cut away.
import * as torch from '@iris/torch';
import type { Rng } from '../data/rng.js';
import { getDimensions } from './functional/image.js';
import { boxCandidates, perspectiveBoxes, perspectiveMatrix, warpPerspective, type BoxCandidatesOptions, type PerspectiveParams } from './functional/perspective.js';
import { clampBoundingBoxes } from './functional/boxes.js';
import { imageOf, isSample, onImageAndBoxes, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

export interface RandomPerspectiveOptions {
  /** Rotation range ±degrees (default 0). */
  degrees?: number;
  /** Translation range ±fraction of the output size (default 0.1). */
  translate?: number;
  /** Scale range 1 ± scale (default 0.5). */
  scale?: number;
  /** Shear range ±degrees (default 0). */
  shear?: number;
  /** Perspective range ± (default 0; Ultralytics suggests at most 0.001). */
  perspective?: number;
  /** Pixels added on each side of the output (default 0); a sample's `mosaicBorder` overrides it. */
  border?: number;
  /** The fill of pixels from outside the image, in its scale (default 114). */
  fill?: number;
  /** box_candidates' thresholds (Ultralytics': whThr 2, arThr 100, areaThr 0.1). */
  candidates?: BoxCandidatesOptions;
}

/** What RandomPerspective draws and derives for one input. */
export interface RandomPerspectiveParams extends PerspectiveParams {
  /** Row-major 3x3 M, mapping input pixels to output pixels. */
  matrix: number[];
  /** The output [width, height]. */
  size: [number, number];
  border: number;
}

/** A sample after Mosaic: its canvas is 2·imgsz, and RandomPerspective crops `mosaicBorder` (negative) from each side. */
export type MosaicSample = { mosaicBorder?: number };

export function RandomPerspective(options: RandomPerspectiveOptions = {}) {
  const { degrees = 0, translate = 0.1, scale = 0.5, shear = 0, perspective = 0, border = 0, fill = 114, candidates = {} } = options;
  for (const [name, value] of Object.entries({ degrees, translate, scale, shear, perspective })) {
    if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`RandomPerspective: ${name} must be a number >= 0, got ${value}`);
  }
  if (!Number.isInteger(border)) throw new RangeError(`RandomPerspective: border must be a whole number of pixels, got ${border}`);
  /** Ultralytics' eight draws, in its order: perspective x, y; angle; scale; shear x, y; translation x, y. */
  const getParams = (input: TransformInput, rng: Rng): RandomPerspectiveParams => {
    const [, h, w] = getDimensions(imageOf(input));
    const b = (input as MosaicSample).mosaicBorder ?? border;
    const size: [number, number] = [w + 2 * b, h + 2 * b];
    if (!(size[0] > 0 && size[1] > 0)) throw new RangeError(`RandomPerspective: border ${b} leaves no output of a ${w}x${h} image`);
    const params: PerspectiveParams = {
      perspective: [rng.uniform(-perspective, perspective), rng.uniform(-perspective, perspective)],
      angle: rng.uniform(-degrees, degrees),
      scale: rng.uniform(1 - scale, 1 + scale),
      shear: [rng.uniform(-shear, shear), rng.uniform(-shear, shear)],
      translate: [rng.uniform(0.5 - translate, 0.5 + translate), rng.uniform(0.5 - translate, 0.5 + translate)],
    };
    return { ...params, matrix: perspectiveMatrix([h, w], size, params), size, border: b };
  };
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const params = getParams(input, rng);
    const identity = params.matrix.every((v, k) => v === (k % 4 === 0 ? 1 : 0));
    const out = onImageAndBoxes(
      'RandomPerspective',
      input,
      (img) => (params.border === 0 && identity ? img : warpPerspective(img, params.matrix, params.size, { fill })),
      (boxes) =>
        torch.tidy(() => {
          const moved = clampBoundingBoxes(perspectiveBoxes(boxes, params.matrix), [params.size[1], params.size[0]]);
          // box_candidates compares with the boxes before, scaled as the image was.
          return { boxes: moved, keep: boxCandidates(boxes.mul(params.scale), moved, candidates) };
        }),
    );
    if (!isSample(out)) return out;
    const { mosaicBorder: _, ...rest } = out as I & MosaicSample;
    return rest as I;
  };
  return withProps(apply, { degrees, translate, scale, shear, perspective, border, fill, getParams });
}
