// Ultralytics' RandomHSV on uint8 RGB images: OpenCV's 8-bit RGB -> HSV (hue in [0, 180)), a
// lookup table per channel, and back. The conversions follow OpenCV's scalar code (integer tables
// with a 12-bit shift one way, float32 sectors the other), in a loop over the bytes.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

const HSV_SHIFT = 12;
const f32 = Math.fround;

/** OpenCV's cvRound / saturate_cast: halves to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// sdiv[v] = round((255 << 12) / v), hdiv[d] = round((180 << 12) / (6 d)), 0 at 0: OpenCV's tables.
const SDIV = Int32Array.from({ length: 256 }, (_, i) => (i === 0 ? 0 : roundHalfEven((255 << HSV_SHIFT) / i)));
const HDIV = Int32Array.from({ length: 256 }, (_, i) => (i === 0 ? 0 : roundHalfEven((180 << HSV_SHIFT) / (6 * i))));
// OpenCV's sector table: which of [v, v(1-s), v(1-sh), v(1-s(1-h))] is b, g, r.
const SECTOR_BGR = [
  [1, 3, 0],
  [1, 0, 2],
  [3, 0, 1],
  [0, 2, 1],
  [0, 1, 3],
  [2, 1, 0],
];

function checkRgbUint8(fn: string, img: Tensor): void {
  if (img.dtype !== 'uint8' || img.ndim !== 3 || img.shape[0] !== 3) throw new TypeError(`${fn}: expected a uint8 RGB image [3, H, W], got ${img.dtype} [${img.shape}]`);
}

/** A uint8 RGB image [3, H, W] as OpenCV's 8-bit HSV [3, H, W]: H in [0, 180), S and V in [0, 255]. */
export function rgbToHsv(img: Tensor): Tensor {
  checkRgbUint8('rgbToHsv', img);
  const src = torch.tidy(() => img.contiguous().dataSync()) as Uint8Array;
  const n = src.length / 3;
  const out = new Uint8Array(src.length);
  const half = 1 << (HSV_SHIFT - 1);
  for (let i = 0; i < n; i++) {
    const r = src[i];
    const g = src[n + i];
    const b = src[2 * n + i];
    const v = Math.max(r, g, b);
    const diff = v - Math.min(r, g, b);
    const s = (diff * SDIV[v] + half) >> HSV_SHIFT;
    // OpenCV's order of the max tests: red first, then green.
    const raw = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
    let h = (raw * HDIV[diff] + half) >> HSV_SHIFT;
    if (h < 0) h += 180;
    out[i] = h;
    out[n + i] = s;
    out[2 * n + i] = v;
  }
  return torch.tensor(out, { shape: img.shape });
}

/** OpenCV's 8-bit HSV [3, H, W] (H in [0, 180)) back to uint8 RGB, in float32 as OpenCV computes it. */
export function hsvToRgb(img: Tensor): Tensor {
  if (img.dtype !== 'uint8' || img.ndim !== 3 || img.shape[0] !== 3) throw new TypeError(`hsvToRgb: expected a uint8 HSV image [3, H, W], got ${img.dtype} [${img.shape}]`);
  const src = torch.tidy(() => img.contiguous().dataSync()) as Uint8Array;
  const n = src.length / 3;
  const out = new Uint8Array(src.length);
  const inv255 = f32(1 / 255);
  const hscale = f32(6 / 180);
  const tab = [0, 0, 0, 0];
  const toByte = (x: number) => Math.min(255, Math.max(0, roundHalfEven(f32(x * 255))));
  for (let i = 0; i < n; i++) {
    const s = f32(src[n + i] * inv255);
    const v = f32(src[2 * n + i] * inv255);
    let b = v;
    let g = v;
    let r = v;
    if (s !== 0) {
      let h = f32(src[i] * hscale) % 6;
      let sector = Math.floor(h);
      h = f32(h - sector);
      if (sector < 0 || sector >= 6) {
        sector = 0;
        h = 0;
      }
      tab[0] = v;
      tab[1] = f32(v * f32(1 - s));
      tab[2] = f32(v * f32(1 - f32(s * h)));
      tab[3] = f32(v * f32(1 - f32(s * f32(1 - h))));
      const [bi, gi, ri] = SECTOR_BGR[sector];
      b = tab[bi];
      g = tab[gi];
      r = tab[ri];
    }
    out[i] = toByte(r);
    out[n + i] = toByte(g);
    out[2 * n + i] = toByte(b);
  }
  return torch.tensor(out, { shape: img.shape });
}

/** Ultralytics' tables for gains r = [rh, rs, rv] (each a uniform draw in [-1, 1] times its gain): hue shifted by rh * 180 (mod 180), saturation and value scaled by 1 + r. */
export function hsvLuts(r: [number, number, number]): [Uint8Array, Uint8Array, Uint8Array] {
  const hue = new Uint8Array(256);
  const sat = new Uint8Array(256);
  const val = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    // numpy's float % takes the divisor's sign (fmod, then + 180 if negative); astype(uint8) truncates.
    let shifted = (x + r[0] * 180) % 180;
    if (shifted < 0) shifted += 180;
    hue[x] = Math.trunc(shifted);
    sat[x] = Math.trunc(Math.min(255, Math.max(0, x * (r[1] + 1))));
    val[x] = Math.trunc(Math.min(255, Math.max(0, x * (r[2] + 1))));
  }
  // Ultralytics keeps grey pixels grey (8.3.79): no saturation where there was none.
  sat[0] = 0;
  return [hue, sat, val];
}

/** Maps each HSV channel of a uint8 RGB image through its table: Ultralytics' RandomHSV for given gains. */
export function adjustHsv(img: Tensor, r: [number, number, number]): Tensor {
  checkRgbUint8('adjustHsv', img);
  const luts = hsvLuts(r);
  const hsv = rgbToHsv(img);
  const data = hsv.dataSync() as Uint8Array;
  hsv.dispose();
  const n = data.length / 3;
  for (let c = 0; c < 3; c++) {
    const lut = luts[c];
    for (let i = c * n; i < (c + 1) * n; i++) data[i] = lut[data[i]];
  }
  const mapped = torch.tensor(data, { shape: img.shape });
  const out = hsvToRgb(mapped);
  mapped.dispose();
  return out;
}
