// Ultralytics' RandomHSV: hue shifted, saturation and value scaled by random gains, through
// OpenCV's 8-bit HSV and lookup tables (functional/hsv.ts). Colour only; boxes stay.
import type { Rng } from '../data/rng.js';
import { adjustHsv } from './functional/hsv.js';
import { imageOf, onImage, type TransformInput } from './sample.js';
import { withProps } from './transform.js';

export interface RandomHSVOptions {
  /** Hue gain: a shift of up to ±hgain·180 of OpenCV's 180 hue steps (default 0.5; Ultralytics' hsv_h 0.015). */
  hgain?: number;
  /** Saturation gain: a factor in 1 ± sgain (default 0.5; hsv_s 0.7). */
  sgain?: number;
  /** Value gain: a factor in 1 ± vgain (default 0.5; hsv_v 0.4). */
  vgain?: number;
}

export function RandomHSV(options: RandomHSVOptions = {}) {
  const { hgain = 0.5, sgain = 0.5, vgain = 0.5 } = options;
  for (const [name, value] of Object.entries({ hgain, sgain, vgain })) {
    if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`RandomHSV: ${name} must be a number >= 0, got ${value}`);
  }
  const enabled = hgain > 0 || sgain > 0 || vgain > 0;
  // Three draws always (also with zero gains), so the draws after it do not depend on the gains.
  const getParams = (_input: TransformInput, rng: Rng): { gains: [number, number, number] } => ({
    gains: [rng.uniform(-1, 1) * hgain, rng.uniform(-1, 1) * sgain, rng.uniform(-1, 1) * vgain],
  });
  const apply = <I extends TransformInput>(input: I, rng: Rng): I => {
    const { gains } = getParams(input, rng);
    const img = imageOf(input);
    if (img.dtype !== 'uint8') throw new TypeError(`RandomHSV: expected a uint8 image (OpenCV's 8-bit HSV), got ${img.dtype}; apply it before ToDtype`);
    // Ultralytics changes 3-channel images only.
    if (!enabled || img.ndim !== 3 || img.shape[0] !== 3) return input;
    return onImage(input, (x) => adjustHsv(x, gains));
  };
  return withProps(apply, { hgain, sgain, vgain, getParams });
}
