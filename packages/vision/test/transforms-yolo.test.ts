// Ultralytics' training augmentation against transforms_yolo_ref.py (Ultralytics' statements and
// cv2's definitions in numpy, fed the same uniform draws as Iris's Rng): RandomPerspective's matrix,
// boxes, box_candidates and warp; RandomHSV's tables and pixels; Mosaic's layout, canvas and boxes;
// load_image's sizes. Then the data path: MosaicDataset through the DataLoader (main thread and
// worker threads agree, and equal the preset applied by hand; close_mosaic), and Fashion-MNIST
// scenes through YoloPresetTrain, boxes on the objects, drawn to a PNG (IRIS_YOLO_AUGMENT_GRID
// names the file; default in the temp folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { hsvLuts, rgbToHsv } from '../src/transforms/functional/hsv.js';
import { Rng } from '../src/data/rng.js';
import { DataLoader } from '../src/data/loader.js';
import { collateDetection, detectionDataset, detectionGrid, makeFashionMnistScenes, MosaicDataset, type DetectionBatch, type DetectionDataset } from '../src/detection/data/index.js';
import { assertClose, runPython, tempDir } from './helpers/reference.js';

torch.setNumThreads(1);

const draws = (seed: number, n: number): number[] => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.random());
};

/** A smooth random uint8 RGB image [3, h, w] (so bilinear sampling has something to get wrong). */
function smoothImage(seed: number, h: number, w: number): Tensor {
  const rng = new Rng(seed);
  const [fx, fy, phase] = [rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 6)];
  const data = new Uint8Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = Math.round(127.5 + 127.5 * Math.sin(fx * x + fy * y * (c + 1) + phase + c));
  return torch.tensor(data, { shape: [3, h, w] });
}

/** n random xyxy boxes inside [h, w], some tiny and some on the edges, so clipping and box_candidates matter. */
function randomBoxes(seed: number, n: number, h: number, w: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const bw = i % 5 === 4 ? rng.uniform(0.5, 3) : rng.uniform(4, w / 2);
    const bh = i % 5 === 4 ? rng.uniform(0.5, 3) : rng.uniform(4, h / 2);
    const x1 = i % 4 === 3 ? 0 : rng.uniform(0, w - bw);
    const y1 = i % 4 === 2 ? h - bh : rng.uniform(0, h - bh);
    return [x1, y1, x1 + bw, y1 + bh];
  });
}

const sampleOf = (image: Tensor, boxes: number[][]): T.DetectionSample => ({
  image,
  target: { boxes: torch.tensor(boxes.flat(), { dtype: 'float32', shape: [boxes.length, 4] }), labels: torch.arange(0, boxes.length, 1, { dtype: 'int64' }) },
});

// ---- the reference cases ---------------------------------------------------------------------------

const PERSPECTIVE = [
  // Ultralytics' defaults on a 2·64 mosaic canvas cropped back to 64.
  { hyp: { degrees: 0, translate: 0.1, scale: 0.5, shear: 0, perspective: 0 }, imageSize: [128, 128] as [number, number], border: -32, image: false },
  { hyp: { degrees: 10, translate: 0.2, scale: 0.3, shear: 5, perspective: 0 }, imageSize: [48, 64] as [number, number], border: 0, image: true },
  { hyp: { degrees: 5, translate: 0.1, scale: 0.5, shear: 2, perspective: 0.001 }, imageSize: [56, 72] as [number, number], border: 4, image: true },
].flatMap((c, k) => [1, 2, 3].map((seed) => ({ ...c, seed: 10 * k + seed, boxes: randomBoxes(100 + 10 * k + seed, 12, c.imageSize[0], c.imageSize[1]) })));

const HSV = [
  { gains: [0.015, 0.7, 0.4] as [number, number, number], seed: 1 },
  { gains: [0.015, 0.7, 0.4] as [number, number, number], seed: 2 },
  { gains: [0.5, 0.5, 0.5] as [number, number, number], seed: 3 },
];

/** An image with every kind of pixel: random, greys (s = 0), pure and near-pure hues, black and white. */
function hsvTestImage(seed: number): Tensor {
  const [h, w] = [24, 40];
  const rng = new Rng(seed);
  const data = new Uint8Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let rgb = [rng.int(0, 256), rng.int(0, 256), rng.int(0, 256)];
      if (y === 0) rgb = [x * 6, x * 6, x * 6];
      if (y === 1) rgb = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 255, 255], [0, 0, 0]][x % 8].map((v) => (x >= 8 && v === 0 ? x - 8 : v));
      for (let c = 0; c < 3; c++) data[(c * h + y) * w + x] = rgb[c];
    }
  }
  return torch.tensor(data, { shape: [3, h, w] });
}

const MOSAIC_IMGSZ = 64;
const MOSAIC_SIZES: Array<[number, number]> = [
  [64, 48],
  [40, 64],
  [64, 64],
  [30, 50],
];
const MOSAIC_SEEDS = [1, 2, 3, 4, 5];

const LOAD = [
  { imgsz: 64, sizes: [[256, 256], [100, 37], [37, 100], [64, 64], [50, 50], [333, 1000]] },
  { imgsz: 640, sizes: [[480, 640], [427, 640], [1080, 1920], [500, 375], [231, 97]] },
];

interface Ref {
  results: any[];
}
let ref: Ref;
const mosaicTiles = MOSAIC_SIZES.map(([h, w], k) => ({ image: smoothImage(50 + k, h, w), boxes: randomBoxes(60 + k, 6, h, w) }));

before(() => {
  const cases = [
    ...PERSPECTIVE.map((c) => {
      const image = c.image ? smoothImage(c.seed, c.imageSize[0], c.imageSize[1]) : undefined;
      return { cmd: 'perspective', draws: draws(c.seed, 8), hyp: c.hyp, imageSize: c.imageSize, border: c.border, boxes: c.boxes, ...(image && { image: image.toFlatArray(), imageShape: image.shape }) };
    }),
    ...HSV.map((c) => {
      const image = hsvTestImage(c.seed);
      return { cmd: 'hsv', draws: draws(c.seed, 3), gains: c.gains, image: image.toFlatArray(), shape: image.shape };
    }),
    ...MOSAIC_SEEDS.map((seed) => ({ cmd: 'mosaic', draws: draws(seed, 2), imgsz: MOSAIC_IMGSZ, tiles: mosaicTiles.map((t) => ({ image: t.image.toFlatArray(), shape: t.image.shape, boxes: t.boxes })) })),
    ...LOAD.map((c) => ({ cmd: 'load', ...c })),
  ];
  ref = runPython<Ref>('transforms_yolo_ref.py', { cases });
});

let next = 0;
const result = () => ref.results[next++];

test("RandomPerspective: Ultralytics' matrix M = T·S·R·P·C, boxes through the corners, clipping and box_candidates, and the warp equal the reference", () => {
  next = 0;
  let worstPixel = 0;
  let worstBox = 0;
  let worstM = 0;
  for (const c of PERSPECTIVE) {
    const r = result();
    const t = T.RandomPerspective({ ...c.hyp, border: c.border });
    const image = c.image ? smoothImage(c.seed, c.imageSize[0], c.imageSize[1]) : torch.zeros([3, ...c.imageSize], { dtype: 'uint8' });
    const params = t.getParams(sampleOf(image, c.boxes), new Rng(c.seed));
    assert.deepEqual(params.size, r.size, `seed ${c.seed}: output size`);
    assertClose(torch.tensor(params.matrix), torch.tensor(r.matrix), { rtol: 1e-5, atol: 1e-4, what: `seed ${c.seed}: M` });
    params.matrix.forEach((v, k) => (worstM = Math.max(worstM, Math.abs(v - r.matrix[k]))));
    const out = t(sampleOf(image, c.boxes), new Rng(c.seed));
    const kept = (r.keep as boolean[]).flatMap((k, i) => (k ? [i] : []));
    assert.deepEqual(out.target.labels.toFlatArray(), kept, `seed ${c.seed}: box_candidates keeps boxes ${kept}`);
    assert.ok(kept.length > 0 && kept.length < c.boxes.length, `seed ${c.seed}: the case keeps some boxes and drops some (${kept.length} of ${c.boxes.length})`);
    assertClose(out.target.boxes, torch.tensor(kept.map((i) => r.boxes[i]), { dtype: 'float32' }).reshape([kept.length, 4]), { rtol: 1e-5, atol: 2e-3, what: `seed ${c.seed}: boxes` });
    out.target.boxes.toFlatArray().forEach((v, k) => (worstBox = Math.max(worstBox, Math.abs(v - r.boxes[kept[k >> 2]][k & 3]))));
    assert.deepEqual(out.image.shape, [3, r.size[1], r.size[0]]);
    if (r.warped) {
      const a = out.image.toFlatArray();
      for (let i = 0; i < a.length; i++) worstPixel = Math.max(worstPixel, Math.abs(a[i] - r.warped[i]));
    }
  }
  // Iris rounds the exact bilinear value to uint8; cv2 itself rounds its weights to 1/32 pixel.
  assert.ok(worstPixel <= 0.51, `warp: worst |Iris - exact bilinear| ${worstPixel} > 0.5`);
  console.log(`# RandomPerspective: max |ΔM| ${worstM.toExponential(2)}, max |Δbox| ${worstBox.toExponential(2)} px, max |Δpixel| ${worstPixel.toFixed(3)}`);
});

test('RandomHSV: the gains, the three lookup tables, OpenCV 8-bit RGB->HSV and the adjusted pixels equal the reference', () => {
  next = PERSPECTIVE.length;
  for (const c of HSV) {
    const r = result();
    const t = T.RandomHSV({ hgain: c.gains[0], sgain: c.gains[1], vgain: c.gains[2] });
    const image = hsvTestImage(c.seed);
    const { gains } = t.getParams(image, new Rng(c.seed));
    assertClose(torch.tensor(gains), torch.tensor(r.gains), { rtol: 1e-12, atol: 1e-15, what: 'gains' });
    const luts = hsvLuts(gains);
    luts.forEach((lut, k) => assert.deepEqual(Array.from(lut), r.luts[k], `seed ${c.seed}: LUT ${['hue', 'sat', 'val'][k]}`));
    assert.deepEqual(rgbToHsv(image).toFlatArray(), r.hsv, `seed ${c.seed}: RGB -> HSV`);
    assert.deepEqual(t(image, new Rng(c.seed)).toFlatArray(), r.image, `seed ${c.seed}: adjusted image`);
  }
});

test("Mosaic: the centre, Ultralytics' placement rectangles, the 2·imgsz canvas and the boxes (clipped, empty ones dropped) equal the reference", () => {
  next = PERSPECTIVE.length + HSV.length;
  const mosaic = T.Mosaic({ imgsz: MOSAIC_IMGSZ });
  let dropped = 0;
  for (const seed of MOSAIC_SEEDS) {
    const r = result();
    const [own, ...mix] = mosaicTiles.map((t) => sampleOf(t.image, t.boxes));
    const { center } = mosaic.getParams(own, new Rng(seed));
    assert.deepEqual(center, r.center, `seed ${seed}: centre`);
    assert.deepEqual(T.mosaicLayout(center, MOSAIC_SIZES, MOSAIC_IMGSZ), r.rects, `seed ${seed}: layout`);
    const out = mosaic({ ...own, mix }, new Rng(seed)) as T.DetectionSample & { mosaicBorder: number; mix?: unknown };
    assert.equal(out.mosaicBorder, r.border);
    assert.equal(out.mix, undefined, 'the mix is consumed');
    assert.deepEqual(out.image.shape, [3, 2 * MOSAIC_IMGSZ, 2 * MOSAIC_IMGSZ]);
    assert.deepEqual(out.image.toFlatArray(), r.image, `seed ${seed}: canvas`);
    const n = r.boxes.length;
    assertClose(out.target.boxes, torch.tensor(r.boxes.flat(), { dtype: 'float32', shape: [n, 4] }), { atol: 1e-4, what: `seed ${seed}: boxes` });
    // labels 0..5 per tile, concatenated in tile order and filtered like the boxes.
    const labels = (r.kept as boolean[]).flatMap((k, i) => (k ? [i % 6] : []));
    assert.deepEqual(out.target.labels.toFlatArray(), labels, `seed ${seed}: per-box fields follow the boxes`);
    dropped += r.kept.length - n;
  }
  assert.ok(dropped > 0, 'some case drops a box that falls off the canvas');
});

test("ResizeLongSide: load_image's sizes (longer side to imgsz, rounded up, capped)", () => {
  next = PERSPECTIVE.length + HSV.length + MOSAIC_SEEDS.length;
  for (const c of LOAD) {
    const r = result();
    assert.deepEqual(c.sizes.map((s) => T.longSideSize(s as [number, number], c.imgsz)), r.sizes, `imgsz ${c.imgsz}`);
  }
  const out = T.ResizeLongSide(64)(sampleOf(smoothImage(1, 100, 37), [[10, 20, 30, 90]]), new Rng(0));
  assert.deepEqual(out.image.shape, [3, 64, 24]);
  assertClose(out.target.boxes, torch.tensor([[10 * (24 / 37), 20 * 0.64, 30 * (24 / 37), 90 * 0.64]], { dtype: 'float32' }), { what: 'boxes scale with the image' });
});

// ---- the data path -----------------------------------------------------------------------------------

const dir = tempDir();
after(() => dir.cleanup());
let scenes: DetectionDataset;
const IMGSZ = 96;
const SEED = 3;

before(async () => {
  const out = join(dir.path, 'scenes');
  await makeFashionMnistScenes({ out, train: 12, val: 0, size: 80, seed: 2, preview: false });
  scenes = await detectionDataset(`coco:${out}`, 'train');
});

async function epochBatches(loader: DataLoader<DetectionBatch>, epoch: number): Promise<Array<{ indices: number[]; images: number[][]; boxes: number[][] }>> {
  loader.setEpoch(epoch);
  const out = [];
  for await (const b of loader) {
    out.push({ indices: b.indices, images: b.images.map((t) => t.toFlatArray()), boxes: b.targets.map((t) => t.boxes.toFlatArray()) });
    for (const t of b.images) t.dispose();
  }
  return out;
}

test('MosaicDataset + YoloPresetTrain through the DataLoader: workers 0 and 2 agree, equal the preset applied by hand to the sample and its partners, and close_mosaic turns mosaics off for the last epochs', async () => {
  const mosaic = new MosaicDataset(scenes, { epochs: 3, closeMosaic: 1 });
  const options = { imgsz: IMGSZ };
  const preset = T.YoloPresetTrain(options);
  const run = async (numWorkers: number) => {
    const loader = new DataLoader<DetectionBatch>(mosaic, { batchSize: 4, shuffle: true, seed: SEED, collate: collateDetection, numWorkers, transform: numWorkers ? T.yoloPresetTrainSpec(options) : preset });
    try {
      return { open: await epochBatches(loader, 0), closed: await epochBatches(loader, 2) };
    } finally {
      await loader.close();
    }
  };
  const main = await run(0);
  const workers = await run(2);
  assert.deepEqual(workers, main, 'worker threads and the main thread give the same samples');

  for (const [epoch, batches] of [[0, main.open], [2, main.closed]] as const) {
    for (const batch of batches) {
      for (const [k, index] of batch.indices.entries()) {
        const partners = mosaic.partners(index, { seed: SEED, epoch });
        assert.equal(partners.length, epoch < 2 ? 3 : 0, `epoch ${epoch}: sample ${index} has ${partners.length} partners`);
        const own = (await scenes.get(index)) as unknown as T.DetectionSample;
        const mix = await Promise.all(partners.map(async (i) => (await scenes.get(i)) as unknown as T.DetectionSample));
        const byHand = preset({ image: own.image, target: own.target, ...(mix.length && { mix }) } as T.DetectionSample, Rng.forSample(SEED, epoch, index));
        assert.deepEqual(byHand.image.shape, [3, IMGSZ, IMGSZ]);
        assert.equal(byHand.image.dtype, 'float32');
        assert.deepEqual(batch.images[k], byHand.image.toFlatArray(), `epoch ${epoch}, sample ${index}: image`);
        assert.deepEqual(batch.boxes[k], byHand.target.boxes.toFlatArray(), `epoch ${epoch}, sample ${index}: boxes`);
      }
    }
  }
  assert.equal(mosaic.source(0, { seed: SEED, epoch: 2 }).mix, undefined, 'no partners listed once closed');
  assert.equal(mosaic.source(0, { seed: SEED, epoch: 1 }).mix?.length, 3);
});

test('Fashion-MNIST scenes through YoloPresetTrain: the boxes stay on the objects (the same geometry moves a mask of the boxes onto them); a PNG of augmented samples', async () => {
  const mosaic = new MosaicDataset(scenes);
  // Ultralytics' defaults: no rotation or shear, so a moved box is still the box around its object (rotation's enclosing boxes are looser; the reference test checks them).
  const preset = T.YoloPresetTrain({ imgsz: IMGSZ });
  // The same draws with the colour gains at zero: a mask image comes out with the real image's geometry.
  const maskPreset = T.YoloPresetTrain({ imgsz: IMGSZ, hsvH: 0, hsvS: 0, hsvV: 0 });
  const boxMask = (s: T.DetectionSample): T.DetectionSample => {
    const [, h, w] = s.image.shape;
    const data = new Uint8Array(3 * h * w);
    const b = s.target.boxes.toFlatArray();
    for (let i = 0; i < b.length; i += 4) for (let c = 0; c < 3; c++) for (let y = Math.floor(b[i + 1]); y < Math.ceil(b[i + 3]); y++) data.fill(255, (c * h + y) * w + Math.floor(b[i]), (c * h + y) * w + Math.ceil(b[i + 2]));
    return { image: torch.tensor(data, { shape: [3, h, w] }), target: s.target };
  };
  const grid = [];
  let boxesSeen = 0;
  for (let index = 0; index < 8; index++) {
    const source = mosaic.partners(index, { seed: SEED, epoch: 0 });
    const load = async (i: number) => (await scenes.get(i)) as unknown as T.DetectionSample;
    const [own, ...mix] = await Promise.all([index, ...source].map(load));
    const rng = () => Rng.forSample(SEED, 0, index);
    const out = preset({ ...own, mix } as T.DetectionSample, rng());
    const masked = maskPreset({ ...boxMask(own), mix: mix.map(boxMask) } as T.DetectionSample, rng());
    assert.deepEqual(out.target.boxes.toFlatArray(), masked.target.boxes.toFlatArray(), `sample ${index}: the colour gains change no geometry`);
    const mask = masked.image.select(0, 0).toFlatArray();
    const boxes = out.target.boxes.toFlatArray();
    for (let i = 0; i < boxes.length; i += 4) {
      // The inner part of each box (a pixel in from its edges, where bilinear blending lives) lies on the moved mask.
      const [x1, y1, x2, y2] = [Math.ceil(boxes[i]) + 1, Math.ceil(boxes[i + 1]) + 1, Math.floor(boxes[i + 2]) - 1, Math.floor(boxes[i + 3]) - 1];
      let inside = 0;
      let total = 0;
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) (total++, mask[y * IMGSZ + x] > 0.5 && inside++);
      if (total > 0) assert.ok(inside / total >= 0.97, `sample ${index}, box ${i / 4} [${boxes.slice(i, i + 4).map((v) => v.toFixed(1))}]: only ${inside} of ${total} pixels on the moved objects`);
      boxesSeen++;
    }
    const labels = out.target.labels.toFlatArray().map((l) => scenes.classes[l]);
    grid.push({ image: out.image.mul(255).round().to('uint8'), boxes: Array.from({ length: boxes.length / 4 }, (_, i) => boxes.slice(4 * i, 4 * i + 4)), labels });
  }
  assert.ok(boxesSeen >= 16, `the mosaics hold boxes (${boxesSeen})`);
  const path = process.env.IRIS_YOLO_AUGMENT_GRID ?? join(tmpdir(), 'iris-yolo-augment.png');
  await detectionGrid(grid, path, { columns: 4, tile: 192 });
  console.log(`# augmented samples: ${path}`);
});

test('bad input: clear errors', () => {
  assert.throws(() => new MosaicDataset(scenes, { closeMosaic: 10 }), /closeMosaic 10 counts back from the last epoch; pass epochs/);
  assert.throws(() => new MosaicDataset(scenes, { mosaic: 1.5 }), /mosaic is a probability in \[0, 1\]/);
  assert.throws(() => T.RandomHSV()(torch.zeros([3, 4, 4]), new Rng(0)), /RandomHSV: expected a uint8 image/);
  assert.throws(() => T.RandomPerspective({ border: -40 })(torch.zeros([3, 64, 64], { dtype: 'uint8' }), new Rng(0)), /border -40 leaves no output of a 64x64 image/);
  const s = sampleOf(smoothImage(1, 32, 32), [[1, 1, 9, 9]]);
  assert.throws(() => T.Mosaic({ imgsz: 32 })({ ...s, mix: [s] } as T.DetectionSample, new Rng(0)), /needs 3 more images in sample.mix, got 1/);
  assert.throws(() => T.YoloPresetTrain()(torch.zeros([3, 8, 8], { dtype: 'uint8' }) as never, new Rng(0)), /expected a detection sample/);
});
