// Rasterizing one Fashion-MNIST scene in float RGB: a textured background, clutter (shapes and item
// fragments that are not objects), then 1–6 tinted items whose masks never overlap, so each box is
// tight to pixels that stay visible. Every choice comes from the scene's own Rng.
import type { Rng } from '../../data/rng.js';

/** An item pixel belongs to the item's mask when its (scaled) Fashion-MNIST value exceeds this. */
export const SCENE_MASK_THRESHOLD = 40;
/** Alpha rises from 0 at the threshold to 1 this many levels above it. */
export const SCENE_ALPHA_RAMP = 48;
/** An item pixel's color: tint × (SHADE_BASE + (1 − SHADE_BASE) × value / 255). */
export const SCENE_SHADE_BASE = 0.3;

/** Fashion-MNIST images [N, 28, 28] and labels [N]. */
export interface ItemSource {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface SceneObject {
  /** 1..10: the Fashion-MNIST class + 1. */
  categoryId: number;
  /** [x1, y1, x2, y2], pixel edges of the mask's extreme pixels. */
  box: [number, number, number, number];
  /** Mask pixels. */
  area: number;
  /** Which Fashion-MNIST image, where its 28x28 canvas was scaled to ([x, y, width, height]), and its tint. */
  source: { index: number; rect: [number, number, number, number]; tint: [number, number, number] };
}

export interface SceneOptions {
  size: number;
  /** Smallest and largest item side in pixels. */
  itemSize: [number, number];
  maxItems: number;
}

/** Renders one scene: HWC uint8 RGB pixels and its objects. */
export function renderScene(items: ItemSource, rng: Rng, options: SceneOptions): { pixels: Uint8Array; objects: SceneObject[] } {
  const S = options.size;
  const image = new Float32Array(S * S * 3);
  background(image, S, rng);
  clutter(image, S, items, rng);
  const owner = new Int16Array(S * S).fill(-1);
  const objects: SceneObject[] = [];
  const wanted = rng.int(1, options.maxItems + 1);
  for (let attempt = 0; objects.length < wanted && attempt < wanted * 30; attempt++) {
    const placed = placeItem(image, S, owner, objects, items, rng, options);
    if (placed) objects.push(placed);
  }
  // Uint8ClampedArray clamps and rounds (half to even) in one native pass.
  const clamped = Uint8ClampedArray.from(image);
  return { pixels: new Uint8Array(clamped.buffer), objects };
}

/**
 * Bilinear resize of a w0 x h0 plane to w x h, as torch.nn.functional.interpolate(mode='bilinear',
 * align_corners=False) computes it, so a test can redo it with torch.
 */
export function resizeBilinear(src: Uint8Array | Float32Array, w0: number, h0: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const axis = (n0: number, n: number) => {
    const i0 = new Int32Array(n);
    const i1 = new Int32Array(n);
    const t = new Float32Array(n);
    const scale = n0 / n;
    for (let d = 0; d < n; d++) {
      const s = Math.max((d + 0.5) * scale - 0.5, 0);
      i0[d] = Math.min(Math.floor(s), n0 - 1);
      i1[d] = Math.min(i0[d] + 1, n0 - 1);
      t[d] = s - i0[d];
    }
    return { i0, i1, t };
  };
  const xs = axis(w0, w);
  const ys = axis(h0, h);
  for (let y = 0; y < h; y++) {
    const r0 = ys.i0[y] * w0;
    const r1 = ys.i1[y] * w0;
    const ty = ys.t[y];
    for (let x = 0; x < w; x++) {
      const a = xs.i0[x];
      const b = xs.i1[x];
      const tx = xs.t[x];
      const top = src[r0 + a] * (1 - tx) + src[r0 + b] * tx;
      const bottom = src[r1 + a] * (1 - tx) + src[r1 + b] * tx;
      out[y * w + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

type Color = [number, number, number];

function randomColor(rng: Rng): Color {
  return [rng.int(0, 256), rng.int(0, 256), rng.int(0, 256)];
}

function luma(c: ArrayLike<number>, offset = 0): number {
  return 0.299 * c[offset] + 0.587 * c[offset + 1] + 0.114 * c[offset + 2];
}

/** Noise blobs, a gradient, stripes or a checkerboard, plus fine pixel noise. */
function background(image: Float32Array, S: number, rng: Rng): void {
  const c0 = randomColor(rng);
  const c1 = randomColor(rng);
  const kind = rng.int(0, 4);
  const angle = rng.uniform(0, Math.PI);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  let mix: (x: number, y: number) => number;
  if (kind === 0) {
    const cell = rng.int(8, 65);
    const n = Math.ceil(S / cell) + 2;
    const grid = Float32Array.from({ length: n * n }, () => rng.random());
    mix = (x, y) => {
      const gx = x / cell;
      const gy = y / cell;
      const ix = Math.floor(gx);
      const iy = Math.floor(gy);
      const sx = smooth(gx - ix);
      const sy = smooth(gy - iy);
      const top = grid[iy * n + ix] * (1 - sx) + grid[iy * n + ix + 1] * sx;
      const bottom = grid[(iy + 1) * n + ix] * (1 - sx) + grid[(iy + 1) * n + ix + 1] * sx;
      return top * (1 - sy) + bottom * sy;
    };
  } else if (kind === 1) {
    const span = S * (Math.abs(cos) + Math.abs(sin));
    const start = Math.min(0, S * cos) + Math.min(0, S * sin);
    mix = (x, y) => (x * cos + y * sin - start) / span;
  } else if (kind === 2) {
    const period = rng.uniform(6, 48);
    const hard = rng.bernoulli(0.5);
    mix = (x, y) => {
      const t = 0.5 + 0.5 * Math.sin((2 * Math.PI * (x * cos + y * sin)) / period);
      return hard ? (t > 0.5 ? 1 : 0) : t;
    };
  } else {
    const square = rng.int(8, 49);
    mix = (x, y) => ((Math.floor(x / square) + Math.floor(y / square)) % 2 === 0 ? 0 : 1);
  }
  // Pixel noise on some scenes (it makes PNGs large): the sum of a 32-bit draw's 4 bytes is close
  // to normal (Irwin–Hall) at a fraction of Box–Muller's cost.
  const sigma = rng.bernoulli(0.15) ? rng.uniform(1, 6) / 147.8 : 0;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = mix(x, y);
      const p = (y * S + x) * 3;
      for (let c = 0; c < 3; c++) {
        let noise = 0;
        if (sigma > 0) {
          const u = rng.nextUint32();
          noise = sigma * ((u & 255) + ((u >>> 8) & 255) + ((u >>> 16) & 255) + (u >>> 24) - 510);
        }
        image[p + c] = c0[c] * (1 - t) + c1[c] * t + noise;
      }
    }
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Random rectangles, ellipses and lines, and fragments of items (no boxes: the detector must learn they are not objects). */
function clutter(image: Float32Array, S: number, items: ItemSource, rng: Rng): void {
  const shapes = rng.int(2, 9);
  for (let k = 0; k < shapes; k++) {
    const color = randomColor(rng);
    const alpha = rng.uniform(0.35, 1);
    const kind = rng.int(0, 3);
    const cx = rng.uniform(0, S);
    const cy = rng.uniform(0, S);
    const rx = rng.uniform(S / 40, S / 6);
    const ry = rng.uniform(S / 40, S / 6);
    let inside: (x: number, y: number) => boolean;
    // The shape's bounding box, so only its pixels are visited.
    let bounds = [cx - rx, cy - ry, cx + rx, cy + ry];
    if (kind === 0) inside = (x, y) => Math.abs(x - cx) <= rx && Math.abs(y - cy) <= ry;
    else if (kind === 1) inside = (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
    else {
      const [x2, y2] = [rng.uniform(0, S), rng.uniform(0, S)];
      const half = rng.uniform(0.5, 3);
      const [dx, dy] = [x2 - cx, y2 - cy];
      const len2 = dx * dx + dy * dy || 1;
      bounds = [Math.min(cx, x2) - half, Math.min(cy, y2) - half, Math.max(cx, x2) + half, Math.max(cy, y2) + half];
      inside = (x, y) => {
        const t = Math.min(1, Math.max(0, ((x - cx) * dx + (y - cy) * dy) / len2));
        return Math.hypot(x - (cx + t * dx), y - (cy + t * dy)) <= half;
      };
    }
    const [x0, y0] = [Math.max(0, Math.floor(bounds[0])), Math.max(0, Math.floor(bounds[1]))];
    const [x1, y1] = [Math.min(S - 1, Math.ceil(bounds[2])), Math.min(S - 1, Math.ceil(bounds[3]))];
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (inside(x + 0.5, y + 0.5)) blend(image, (y * S + x) * 3, color, alpha);
  }
  const fragments = rng.int(0, 4);
  for (let k = 0; k < fragments; k++) {
    const index = rng.int(0, items.count);
    const [fw, fh] = [rng.int(7, 15), rng.int(7, 15)];
    const [fx, fy] = [rng.int(0, 28 - fw + 1), rng.int(0, 28 - fh + 1)];
    const crop = new Uint8Array(fw * fh);
    for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) crop[y * fw + x] = items.images[index * 784 + (fy + y) * 28 + fx + x];
    const scale = rng.uniform(1.5, 4);
    const [w, h] = [Math.round(fw * scale), Math.round(fh * scale)];
    paste(image, S, resizeBilinear(crop, fw, fh, w, h), w, h, rng.int(-(w >> 1), S - (w >> 1)), rng.int(-(h >> 1), S - (h >> 1)), randomColor(rng));
  }
}

function blend(image: Float32Array, p: number, color: ArrayLike<number>, alpha: number): void {
  for (let c = 0; c < 3; c++) image[p + c] = image[p + c] * (1 - alpha) + color[c] * alpha;
}

/** Composites an item plane at (x0, y0); returns nothing, pixels outside the image are cut. */
function paste(image: Float32Array, S: number, values: Float32Array, w: number, h: number, x0: number, y0: number, tint: Color, owner?: Int16Array, id = -1): void {
  for (let y = 0; y < h; y++) {
    const iy = y0 + y;
    if (iy < 0 || iy >= S) continue;
    for (let x = 0; x < w; x++) {
      const ix = x0 + x;
      const v = values[y * w + x];
      if (ix < 0 || ix >= S || !(v > SCENE_MASK_THRESHOLD)) continue;
      const alpha = Math.min(1, (v - SCENE_MASK_THRESHOLD) / SCENE_ALPHA_RAMP);
      const shade = SCENE_SHADE_BASE + ((1 - SCENE_SHADE_BASE) * v) / 255;
      blend(image, (iy * S + ix) * 3, [tint[0] * shade, tint[1] * shade, tint[2] * shade], alpha);
      if (owner) owner[iy * S + ix] = id;
    }
  }
}

/** Tries one placement of a random item: inside the image, no mask pixel on another item's, limited box overlap. */
function placeItem(image: Float32Array, S: number, owner: Int16Array, placed: SceneObject[], items: ItemSource, rng: Rng, options: SceneOptions): SceneObject | undefined {
  const index = rng.int(0, items.count);
  const [low, high] = options.itemSize;
  const side = Math.exp(rng.uniform(Math.log(low), Math.log(high)));
  const aspect = Math.sqrt(Math.exp(rng.uniform(Math.log(0.8), Math.log(1.25))));
  const w = Math.max(low, Math.min(high, Math.round(side * aspect)));
  const h = Math.max(low, Math.min(high, Math.round(side / aspect)));
  const values = resizeBilinear(items.images.subarray(index * 784, (index + 1) * 784), 28, 28, w, h);
  let [bx1, by1, bx2, by2] = [w, h, -1, -1];
  let area = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!(values[y * w + x] > SCENE_MASK_THRESHOLD)) continue;
      area++;
      bx1 = Math.min(bx1, x);
      by1 = Math.min(by1, y);
      bx2 = Math.max(bx2, x);
      by2 = Math.max(by2, y);
    }
  }
  if (area === 0 || bx2 - bx1 + 1 > S || by2 - by1 + 1 > S) return undefined;
  // The canvas may hang over the border as long as the item's own pixels stay inside.
  const x0 = rng.int(-bx1, S - bx2);
  const y0 = rng.int(-by1, S - by2);
  const box: [number, number, number, number] = [x0 + bx1, y0 + by1, x0 + bx2 + 1, y0 + by2 + 1];
  if (placed.some((o) => iou(o.box, box) > 0.3)) return undefined;
  for (let y = by1; y <= by2; y++) for (let x = bx1; x <= bx2; x++) if (values[y * w + x] > SCENE_MASK_THRESHOLD && owner[(y0 + y) * S + x0 + x] >= 0) return undefined;
  const tint = contrastingTint(image, S, box, rng);
  paste(image, S, values, w, h, x0, y0, tint, owner, placed.length);
  return { categoryId: items.labels[index] + 1, box, area, source: { index, rect: [x0, y0, w, h], tint } };
}

/** A random color whose shaded luma differs from the background under the box by at least 60 levels. */
function contrastingTint(image: Float32Array, S: number, box: number[], rng: Rng): Color {
  let sum = 0;
  let n = 0;
  for (let y = box[1]; y < box[3]; y += 2) for (let x = box[0]; x < box[2]; x += 2, n++) sum += luma(image, (y * S + x) * 3);
  const under = sum / Math.max(n, 1);
  const typicalShade = SCENE_SHADE_BASE + (1 - SCENE_SHADE_BASE) * 0.6;
  for (let k = 0; k < 12; k++) {
    const c = randomColor(rng);
    if (Math.abs(luma(c) * typicalShade - under) >= 60) return c;
  }
  return under > 100 ? [rng.int(0, 40), rng.int(0, 40), rng.int(0, 40)] : [rng.int(215, 256), rng.int(215, 256), rng.int(215, 256)];
}

function iou(a: number[], b: number[]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}
