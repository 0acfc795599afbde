// Ultralytics' detection recipe (v8_transforms, the hyperparameters of cfg/default.yaml) for uint8
// images in detection samples: each image resized to imgsz on its longer side; a mosaic of four
// when the sample brings three more in `mix` (MosaicDataset), else a letterbox to imgsz; random
// perspective (scale and translation by default), HSV, flips; then float in [0, 1] at
// imgsz x imgsz. Mosaic's probability and close_mosaic belong to MosaicDataset, which decides per
// (seed, epoch, index) whether a sample comes with partners. JSON-able options, so a worker
// re-creates the preset from a TransformSpec (yoloPresetTrainSpec).
import * as torch from '@iris/torch';
import type { Rng } from '../data/rng.js';
import type { TransformSpec } from '../data/transform.js';
import { ToDtype } from './convert.js';
import { RandomHorizontalFlip, RandomVerticalFlip } from './geometry.js';
import { RandomHSV } from './hsv.js';
import { Letterbox } from './letterbox.js';
import { Mosaic, ResizeLongSide, type MixSample } from './mosaic.js';
import { RandomPerspective } from './perspective.js';
import { isSample, type DetectionSample, type TransformInput } from './sample.js';

export interface YoloPresetTrainOptions {
  /** Training image size (default 640). */
  imgsz?: number;
  /** Rotation ±degrees (default 0). */
  degrees?: number;
  /** Translation ±fraction (default 0.1). */
  translate?: number;
  /** Scale gain, 1 ± scale (default 0.5). */
  scale?: number;
  /** Shear ±degrees (default 0). */
  shear?: number;
  /** Perspective ± (default 0). */
  perspective?: number;
  /** Hue gain (default 0.015). */
  hsvH?: number;
  /** Saturation gain (default 0.7). */
  hsvS?: number;
  /** Value gain (default 0.4). */
  hsvV?: number;
  /** Up-down flip probability (default 0). */
  flipud?: number;
  /** Left-right flip probability (default 0.5). */
  fliplr?: number;
}

/** Ultralytics' cfg/default.yaml values of the options. */
export const YOLO_TRAIN_DEFAULTS: Required<YoloPresetTrainOptions> = { imgsz: 640, degrees: 0, translate: 0.1, scale: 0.5, shear: 0, perspective: 0, hsvH: 0.015, hsvS: 0.7, hsvV: 0.4, flipud: 0, fliplr: 0.5 };

/** Takes a detection sample (with `mix` from a MosaicDataset, or alone) and returns { image: float32 [C, imgsz, imgsz], target }. */
export function YoloPresetTrain(options: YoloPresetTrainOptions = {}) {
  const o = { ...YOLO_TRAIN_DEFAULTS, ...options };
  const load = ResizeLongSide(o.imgsz);
  const mosaic = Mosaic({ imgsz: o.imgsz });
  const letterbox = Letterbox({ newShape: o.imgsz });
  const perspective = RandomPerspective({ degrees: o.degrees, translate: o.translate, scale: o.scale, shear: o.shear, perspective: o.perspective });
  const hsv = RandomHSV({ hgain: o.hsvH, sgain: o.hsvS, vgain: o.hsvV });
  const flipud = RandomVerticalFlip({ p: o.flipud });
  const fliplr = RandomHorizontalFlip({ p: o.fliplr });
  const toFloat = ToDtype('float32');
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    if (!isSample(input)) throw new TypeError('YoloPresetTrain: expected a detection sample { image, target: { boxes, labels } }');
    return torch.tidy(() => {
      const { mix, image, target } = input as MixSample;
      const own = load({ image, target }, rng);
      let x: DetectionSample = mix ? mosaic({ ...own, mix: mix.map((m) => load(m, rng)) }, rng) : letterbox(own);
      x = fliplr(flipud(hsv(perspective(x, rng), rng), rng), rng);
      x = toFloat(x);
      return { image: x.image, target: x.target } as I;
    });
  };
  return Object.assign(apply, { options: o });
}

/**
 * Ultralytics' validation transform: a letterbox to imgsz (the sample gains `letterbox`, which
 * maps predictions back onto the original), then float in [0, 1]. Ultralytics resizes the longer
 * side first (rounding up) and letterboxes without enlarging; one letterbox from the original
 * differs from that by at most a pixel of size.
 */
export function YoloPresetEval(options: { imgsz?: number } = {}) {
  const letterbox = Letterbox({ newShape: options.imgsz ?? 640 });
  const toFloat = ToDtype('float32');
  return <I extends TransformInput>(input: I, rng?: Rng): I => torch.tidy(() => toFloat(letterbox(input, rng), rng!));
}

/** The TransformSpec that makes YoloPresetTrain(options) in DataLoader worker threads. */
export function yoloPresetTrainSpec(options: YoloPresetTrainOptions = {}): TransformSpec {
  return { module: new URL('./yolo-presets.js', import.meta.url).href, export: 'YoloPresetTrain', options };
}

/** The same recipes under camelCase function names. */
export const yoloPresetTrain = YoloPresetTrain;
export const yoloPresetEval = YoloPresetEval;
