// A grid of sample images with their predicted and true labels (green when right, red when wrong).
import sharp from 'sharp';
import type { Tensor } from '@iris/torch';
import { escapeXml } from './svg.js';

export interface GridItem {
  /** uint8 [C,H,W] (C = 1 or 3) */
  image: Tensor;
  predicted: string;
  truth: string;
  probability: number;
}

export async function predictionGrid(items: GridItem[], path: string, { columns = 8, tile = 96 } = {}): Promise<void> {
  if (items.length === 0) {
    // An empty split still gets a picture that says so, rather than a zero-sized image (which sharp refuses).
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * tile}" height="60" font-family="sans-serif" font-size="14"><rect width="100%" height="100%" fill="white"/><text x="12" y="34">no images to show</text></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(path);
    return;
  }
  const rows = Math.ceil(items.length / columns);
  const labelHeight = 30;
  const width = columns * tile;
  const height = rows * (tile + labelHeight);
  const composites: sharp.OverlayOptions[] = [];
  const labels: string[] = [];
  for (const [k, item] of items.entries()) {
    const [c, h, w] = item.image.shape;
    const hwc = item.image.permute([1, 2, 0]).contiguous();
    const raw = Buffer.from((hwc.dataSync() as Uint8Array).buffer);
    hwc.dispose();
    const png = await sharp(raw, { raw: { width: w, height: h, channels: c as 1 | 3 } })
      .resize(tile, tile, { kernel: 'nearest', fit: 'contain', background: '#ffffff' })
      .png()
      .toBuffer();
    const x = (k % columns) * tile;
    const y = Math.floor(k / columns) * (tile + labelHeight);
    composites.push({ input: png, left: x, top: y });
    const color = item.predicted === item.truth ? '#1a7f37' : '#cf222e';
    labels.push(
      `<text x="${x + tile / 2}" y="${y + tile + 12}" text-anchor="middle" fill="${color}">${escapeXml(item.predicted)} ${(item.probability * 100).toFixed(0)}%</text>`,
      `<text x="${x + tile / 2}" y="${y + tile + 25}" text-anchor="middle" fill="#555">(${escapeXml(item.truth)})</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">${labels.join('')}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(composites).png().toFile(path);
}
