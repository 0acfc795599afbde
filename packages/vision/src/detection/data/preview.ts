// Pictures of detection data: images with their boxes and class names drawn (an SVG overlay that
// sharp composites), laid out in a grid; for dataset previews and prediction grids.
import sharp from 'sharp';
import type { Tensor } from '@iris/torch';
import { escapeXml } from '../../report/svg.js';

export interface DetectionGridItem {
  /** An image file, or a uint8 image tensor [C, H, W] (C = 1 or 3). */
  image: string | Tensor;
  /** [x1, y1, x2, y2] pixel boxes of the image. */
  boxes: number[][];
  /** A name per box. */
  labels: string[];
  /** A score per box, shown after the name. */
  scores?: number[];
}

const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#008080', '#fabebe', '#9a6324'];

function colorOf(label: string): string {
  let h = 0;
  for (const ch of label) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** One tile: the image scaled to `tile` pixels (aspect kept, white margins) with the boxes over it, as PNG. */
export async function drawDetections(item: DetectionGridItem, tile: number): Promise<Buffer> {
  const input = typeof item.image === 'string' ? sharp(item.image) : rawImage(item.image);
  const { width = 1, height = 1 } = typeof item.image === 'string' ? await sharp(item.image).metadata() : { width: item.image.shape[2], height: item.image.shape[1] };
  const scale = Math.min(tile / width, tile / height);
  const [dx, dy] = [(tile - width * scale) / 2, (tile - height * scale) / 2];
  const base = await input.removeAlpha().resize(tile, tile, { fit: 'contain', background: '#ffffff', kernel: 'lanczos3' }).png().toBuffer();
  const shapes = item.boxes.map((b, i) => {
    const [x1, y1, x2, y2] = [b[0] * scale + dx, b[1] * scale + dy, b[2] * scale + dx, b[3] * scale + dy];
    const color = colorOf(item.labels[i] ?? '');
    const text = `${item.labels[i] ?? ''}${item.scores ? ` ${item.scores[i].toFixed(2)}` : ''}`;
    const ty = y1 >= 13 ? y1 - 2 : y2 + 11;
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${color}" stroke-width="2"/>` +
      `<text x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" fill="${color}" stroke="#000" stroke-width="2.5" paint-order="stroke">${escapeXml(text)}</text>`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${tile}" height="${tile}" font-family="sans-serif" font-size="11" font-weight="bold">${shapes.join('')}</svg>`;
  return sharp(base).composite([{ input: Buffer.from(svg), left: 0, top: 0 }]).png().toBuffer();
}

function rawImage(image: Tensor): sharp.Sharp {
  const [c, h, w] = image.shape;
  if (image.dtype !== 'uint8' || image.ndim !== 3 || (c !== 1 && c !== 3)) throw new TypeError(`drawDetections: expected a uint8 image [C, H, W] with C = 1 or 3, got ${image.dtype} [${image.shape}]`);
  const hwc = image.permute([1, 2, 0]).contiguous();
  const data = hwc.dataSync() as Uint8Array;
  hwc.dispose();
  return sharp(data, { raw: { width: w, height: h, channels: c as 1 | 3 } });
}

/** A grid of images with their boxes, written to `path` as PNG. */
export async function detectionGrid(items: DetectionGridItem[], path: string, { columns = 4, tile = 256, gap = 4 } = {}): Promise<void> {
  const cols = Math.max(1, Math.min(columns, items.length));
  const rows = Math.max(1, Math.ceil(items.length / cols));
  const tiles = await Promise.all(items.map((item) => drawDetections(item, tile)));
  await sharp({ create: { width: cols * (tile + gap) + gap, height: rows * (tile + gap) + gap, channels: 3, background: '#ffffff' } })
    .composite(tiles.map((input, k) => ({ input, left: gap + (k % cols) * (tile + gap), top: gap + Math.floor(k / cols) * (tile + gap) })))
    .png()
    .toFile(path);
}

/** detectionGrid over image files. */
export async function detectionGridFiles(items: Array<{ path: string; boxes: number[][]; labels: string[] }>, path: string, options: { columns?: number; tile?: number } = {}): Promise<void> {
  await detectionGrid(items.map((i) => ({ image: i.path, boxes: i.boxes, labels: i.labels })), path, options);
}
