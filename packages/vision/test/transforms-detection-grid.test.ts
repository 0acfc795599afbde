// Fashion-MNIST scenes through the box-aware transforms: each object's own mask, transformed
// with the same draws, must lie inside its transformed box (and fill it, for the transforms that
// keep boxes tight); and a PNG grid of the scenes before and after each transform, boxes drawn,
// for a person to look at (IRIS_TRANSFORMS_GRID names the file; default in the temp folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { Rng } from '../src/data/rng.js';
import { FashionMnist, FASHION_MNIST_CLASSES } from '../src/data/mnist.js';

type Sample = T.DetectionSample;

interface Scene {
  sample: Sample;
  /** One uint8 [3, H, W] image per object: 255 where the object is, 0 elsewhere. */
  masks: Tensor[];
}

/** 2-4 Fashion-MNIST items at random scales and tints on a textured background; boxes are tight around their pixels. */
function fashionScene(items: FashionMnist, seed: number, height = 120, width = 160): Scene {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(3 * height * width);
  const phase = rng.uniform(0, 6);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 60 + 40 * Math.sin(x / 9 + phase) * Math.cos(y / 13) + rng.uniform(-15, 15);
      for (let c = 0; c < 3; c++) pixels[(c * height + y) * width + x] = Math.max(0, Math.min(255, Math.round(v * (0.7 + 0.15 * c))));
    }
  }
  const n = 2 + rng.int(0, 3);
  const boxes: number[] = [];
  const labels: number[] = [];
  const masks: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const index = rng.int(0, items.length);
    const side = rng.int(28, 57);
    const item = items.data.subarray(index * 784, (index + 1) * 784);
    const x0 = rng.int(0, width - side);
    const y0 = rng.int(0, height - side);
    const tint = [rng.uniform(0.5, 1), rng.uniform(0.5, 1), rng.uniform(0.5, 1)];
    const mask = new Uint8Array(3 * height * width);
    let [bx1, by1, bx2, by2] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = item[Math.floor((y * 28) / side) * 28 + Math.floor((x * 28) / side)];
        if (v < 40) continue;
        const [px, py] = [x0 + x, y0 + y];
        for (let c = 0; c < 3; c++) {
          pixels[(c * height + py) * width + px] = Math.round(v * tint[c]);
          mask[(c * height + py) * width + px] = 255;
        }
        [bx1, by1, bx2, by2] = [Math.min(bx1, px), Math.min(by1, py), Math.max(bx2, px + 1), Math.max(by2, py + 1)];
      }
    }
    // Later items cover earlier ones; the masks keep each item's own pixels.
    for (const m of masks) for (let i = 0; i < mask.length; i++) if (mask[i]) m[i] = 0;
    boxes.push(bx1, by1, bx2, by2);
    labels.push(items.targets[index]);
    masks.push(mask);
  }
  // objectIndex, a per-box field, tells which objects a transform kept.
  const target = { boxes: torch.tensor(boxes, { dtype: 'float32', shape: [n, 4] }), labels: torch.tensor(labels, { dtype: 'int64' }), objectIndex: torch.arange(0, n, 1, { dtype: 'int64' }) };
  const sample: Sample = { image: torch.tensor(pixels, { shape: [3, height, width] }), target };
  return { sample, masks: masks.map((m) => torch.tensor(m, { shape: [3, height, width] })) };
}

/** [x1, y1, x2, y2] of a mask's object pixels (first channel above 127: fills and blends at the rim stay below), or null. */
function pixelBox(mask: Tensor): number[] | null {
  const [, h, w] = mask.shape;
  const data = mask.select(0, 0).toFlatArray();
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (data[y * w + x] > 127) [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
  return x2 < 0 ? null : [x1, y1, x2, y2];
}

interface Shown {
  name: string;
  transform: T.DispatchTransform;
  /** Whether the boxes stay tight around the pixels (false where they enclose rotated corners). */
  tight: boolean;
  /** Whether the masks can go through it as images (geometric transforms: the draws do not depend on the pixels). */
  geometric: boolean;
}

const shown: Shown[] = [
  { name: 'original', transform: T.Compose([]), tight: true, geometric: true },
  { name: 'RandomHorizontalFlip', transform: T.RandomHorizontalFlip({ p: 1 }), tight: true, geometric: true },
  { name: 'Resize [96, 200]', transform: T.Resize([96, 200]), tight: true, geometric: true },
  { name: 'RandomZoomOut', transform: T.RandomZoomOut({ fill: [123, 117, 104], p: 1 }), tight: true, geometric: true },
  { name: 'RandomIoUCrop', transform: T.RandomIoUCrop(), tight: true, geometric: true },
  { name: 'ScaleJitter + FixedSizeCrop', transform: T.Compose([T.ScaleJitter([160, 160]), T.FixedSizeCrop(160, { fill: [123, 117, 104] })]), tight: true, geometric: true },
  { name: 'RandomAffine', transform: T.RandomAffine(25, { translate: [0.1, 0.1], scale: [0.8, 1.2], shear: 10 }), tight: false, geometric: true },
  { name: 'RandomRotation expand', transform: T.RandomRotation(40, { expand: true }), tight: false, geometric: true },
  { name: 'Letterbox 192', transform: T.Letterbox({ newShape: 192 }), tight: true, geometric: true },
  { name: 'PhotometricDistort', transform: T.RandomPhotometricDistort(), tight: true, geometric: false },
  { name: "preset 'ssd'", transform: T.DetectionPresetTrain({ dataAugmentation: 'ssd' }), tight: true, geometric: false },
];

/** A uint8 [3, H, W] for display. */
function displayable(img: Tensor): Tensor {
  return torch.tidy(() => (img.dtype === 'uint8' ? img : img.mul(255).round().clamp(0, 255).to('uint8')));
}

async function drawGrid(rows: { sample: Sample; column: string }[][], path: string, tile = 170): Promise<void> {
  const header = 18;
  const columns = rows[0].length;
  const width = columns * tile;
  const height = rows.length * tile + header;
  const composites: sharp.OverlayOptions[] = [];
  const svg: string[] = [];
  rows[0].forEach((cell, j) => svg.push(`<text x="${j * tile + tile / 2}" y="13" text-anchor="middle" font-size="11">${cell.column}</text>`));
  const colours = ['#ff3b30', '#34c759', '#0a84ff', '#ffcc00', '#af52de', '#ff9500'];
  for (const [i, row] of rows.entries()) {
    for (const [j, { sample }] of row.entries()) {
      const img = displayable(sample.image);
      const [, h, w] = img.shape;
      const s = Math.min((tile - 6) / w, (tile - 6) / h);
      const [tw, th] = [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
      const hwc = img.permute([1, 2, 0]).contiguous();
      const png = await sharp(Buffer.from((hwc.dataSync() as Uint8Array).buffer), { raw: { width: w, height: h, channels: 3 } }).resize(tw, th, { kernel: 'nearest' }).png().toBuffer();
      const ox = j * tile + Math.floor((tile - tw) / 2);
      const oy = header + i * tile + Math.floor((tile - th) / 2);
      composites.push({ input: png, left: ox, top: oy });
      const b = sample.target.boxes.toFlatArray();
      const labels = sample.target.labels.toFlatArray();
      for (let k = 0; k < labels.length; k++) {
        const [x1, y1, x2, y2] = b.slice(4 * k, 4 * k + 4).map((v) => v * s);
        const colour = colours[k % colours.length];
        svg.push(`<rect x="${ox + x1}" y="${oy + y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
        svg.push(`<text x="${ox + x1 + 2}" y="${oy + y1 + 9}" font-size="8" fill="${colour}">${FASHION_MNIST_CLASSES[labels[k]]}</text>`);
      }
    }
  }
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${svg.join('')}</svg>`;
  composites.push({ input: Buffer.from(overlay), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(composites).png().toFile(path);
}

test('Fashion-MNIST scenes: every object stays inside its moved box, boxes stay tight where they should; the grid is written', async () => {
  const items = new FashionMnist(undefined, { train: false });
  const scenes = [11, 12, 13].map((seed) => fashionScene(items, seed));
  const rows: { sample: Sample; column: string }[][] = [];
  for (const [i, { sample, masks }] of scenes.entries()) {
    const row: { sample: Sample; column: string }[] = [];
    for (const { name, transform, tight, geometric } of shown) {
      const seed = 100 + i;
      const out = transform(sample, new Rng(seed));
      row.push({ sample: out, column: name });
      assert.equal(out.target.boxes.shape[0], out.target.labels.shape[0], `${name}: one label per box`);
      if (!geometric) continue;
      // The same transform and draws on each object's mask, as an image in a sample with the same boxes.
      const kept = out.target.labels.shape[0];
      const masksOut = masks.map((m) => transform({ image: m, target: sample.target }, new Rng(seed)));
      const keptIndex = masksOut.map((m) => m.target.labels.shape[0]);
      assert.ok(keptIndex.every((k) => k === kept), `${name}: the masks' runs kept the same boxes`);
      const ob = out.target.boxes.toFlatArray();
      const survivors = ((out.target as unknown as { objectIndex: Tensor }).objectIndex).toFlatArray();
      survivors.forEach((k, j) => {
        const box = ob.slice(4 * j, 4 * j + 4);
        const px = pixelBox(masksOut[k].image);
        if (px === null) return;
        const what = `scene ${i}, ${name}, object ${k}: pixels [${px}] vs box [${box.map((v) => v.toFixed(2))}]`;
        assert.ok(px[0] >= box[0] - 1 && px[1] >= box[1] - 1 && px[2] <= box[2] + 1 && px[3] <= box[3] + 1, `${what}: the pixels leave the box`);
        if (tight) assert.ok(px[0] <= box[0] + 1.5 && px[1] <= box[1] + 1.5 && px[2] >= box[2] - 1.5 && px[3] >= box[3] - 1.5, `${what}: the box is not tight`);
      });
    }
    rows.push(row);
  }
  const path = process.env.IRIS_TRANSFORMS_GRID ?? join(tmpdir(), 'iris-detection-transforms.png');
  await drawGrid(rows, path);
  const meta = await sharp(path).metadata();
  assert.equal(meta.width, shown.length * 170);
  console.log(`detection transforms grid: ${path}`);
});
