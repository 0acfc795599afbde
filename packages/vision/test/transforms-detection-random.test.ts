// The detection references' random transforms and presets against torchvision 0.14's
// references/detection code (re-implemented in transforms_detection_ref.py): with torch.rand,
// torch.randint, torch.randperm and ColorJitter's draws patched to return the draws Iris made
// (TapeRng), the reference's sampling loops make the same choices and give the same image, boxes
// and labels, and use every draw. Then properties of the draws: the IoU constraint of
// RandomIoUCrop, boxes inside, per-box fields kept together, seeded replay.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { Rng } from '../src/data/rng.js';
import { assertSameTensor, refInputs, runRef, scene, TapeRng, type RefCase } from './transforms-detection-helpers.js';

type Sample = T.DetectionSample;

interface Replay {
  name: string;
  transform: T.DispatchTransform;
  /** The reference transform, applied as (img, {"boxes": boxes, "labels": labels}). */
  ref: string;
  seeds: number[];
  samples: Sample[];
}

const samples = [scene(1), scene(2, { height: 61, width: 45, boxes: 5 }), scene(5, { height: 40, width: 90, boxes: 3 })];
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

const replays: Replay[] = [
  { name: 'RandomIoUCrop', transform: T.RandomIoUCrop(), ref: 'R.RandomIoUCrop()', seeds: SEEDS, samples },
  {
    name: 'RandomIoUCrop with other options',
    transform: T.RandomIoUCrop({ minScale: 0.5, maxScale: 0.9, minAspectRatio: 0.7, maxAspectRatio: 1.4, samplerOptions: [0.3, 0.7, 0.95], trials: 10 }),
    ref: 'R.RandomIoUCrop(0.5, 0.9, 0.7, 1.4, [0.3, 0.7, 0.95], 10)',
    seeds: SEEDS,
    samples,
  },
  { name: 'RandomZoomOut', transform: T.RandomZoomOut({ fill: [123, 117, 104] }), ref: 'R.RandomZoomOut(fill=[123.0, 117.0, 104.0])', seeds: SEEDS, samples },
  { name: 'RandomZoomOut side range, p', transform: T.RandomZoomOut({ sideRange: [1, 2], p: 0.8 }), ref: 'R.RandomZoomOut(side_range=(1.0, 2.0), p=0.8)', seeds: SEEDS, samples },
  { name: 'RandomPhotometricDistort', transform: T.RandomPhotometricDistort(), ref: 'R.RandomPhotometricDistort()', seeds: SEEDS, samples },
  {
    name: 'RandomPhotometricDistort with other ranges, p',
    transform: T.RandomPhotometricDistort({ contrast: [0.3, 1.7], saturation: [0.2, 1.8], hue: [-0.2, 0.1], brightness: [0.5, 1.5], p: 0.8 }),
    ref: 'R.RandomPhotometricDistort((0.3, 1.7), (0.2, 1.8), (-0.2, 0.1), (0.5, 1.5), 0.8)',
    seeds: SEEDS,
    samples,
  },
  { name: 'ScaleJitter', transform: T.ScaleJitter([96, 96]), ref: 'R.ScaleJitter((96, 96))', seeds: SEEDS, samples },
  { name: 'ScaleJitter rectangular target, scale range', transform: T.ScaleJitter([50, 80], { scaleRange: [0.5, 1.5] }), ref: 'R.ScaleJitter((50, 80), (0.5, 1.5))', seeds: SEEDS, samples },
  { name: 'FixedSizeCrop with a fill per channel', transform: T.FixedSizeCrop([40, 50], { fill: [1, 2, 3] }), ref: 'R.FixedSizeCrop((40, 50), fill=[1.0, 2.0, 3.0])', seeds: SEEDS, samples },
  { name: 'FixedSizeCrop square, zero fill', transform: T.FixedSizeCrop(30), ref: 'R.FixedSizeCrop(30)', seeds: SEEDS, samples },
  { name: 'RandomShortestSize', transform: T.RandomShortestSize([20, 30, 40], 70), ref: 'R.RandomShortestSize([20, 30, 40], 70)', seeds: SEEDS, samples },
  { name: 'RandomHorizontalFlip', transform: T.RandomHorizontalFlip(), ref: 'R.RandomHorizontalFlip()', seeds: SEEDS, samples },
  ...(['hflip', 'lsj', 'multiscale', 'ssd', 'ssdlite'] as T.DetectionAugmentation[]).map((a) => ({
    name: `DetectionPresetTrain ${a}`,
    transform: T.DetectionPresetTrain({ dataAugmentation: a }),
    ref: `R.DetectionPresetTrain('${a}')`,
    seeds: a === 'lsj' || a === 'multiscale' ? [1, 2] : SEEDS.slice(0, 4),
    samples: samples.slice(0, 2),
  })),
  { name: 'DetectionPresetTrain ssd, hflipProb and mean', transform: T.DetectionPresetTrain({ dataAugmentation: 'ssd', hflipProb: 0.9, mean: [10, 20, 30] }), ref: "R.DetectionPresetTrain('ssd', 0.9, (10.0, 20.0, 30.0))", seeds: SEEDS.slice(0, 4), samples: samples.slice(0, 2) },
  { name: 'DetectionPresetEval', transform: T.DetectionPresetEval(), ref: 'R.DetectionPresetEval()', seeds: [1], samples },
];

interface Run {
  replay: Replay;
  seed: number;
  sample: number;
  output: Sample;
  draws: number;
}

const runs: Run[] = [];
const cases: RefCase[] = [];
for (const replay of replays) {
  for (const seed of replay.seeds) {
    replay.samples.forEach((s, k) => {
      const rng = new TapeRng(seed);
      const output = replay.transform(s, rng);
      runs.push({ replay, seed, sample: k, output, draws: rng.draws.length });
      cases.push({ inputs: refInputs(s), expr: `${replay.ref}(img, {"boxes": boxes, "labels": labels})`, tape: rng.draws });
    });
  }
}

let replies: any[] = [];
before(() => {
  replies = runRef(cases);
});

for (const replay of replays) {
  test(`${replay.name}: torchvision's references make the same choices from Iris's draws and give the same sample`, () => {
    runs.forEach((r, i) => {
      if (r.replay !== replay) return;
      const what = `${replay.name}, sample ${r.sample}, seed ${r.seed} (${r.draws} draws)`;
      const [image, target] = replies[i];
      assertSameTensor(r.output.image, image, `${what}: image`);
      assertSameTensor(r.output.target.boxes, target.boxes, `${what}: boxes`);
      assertSameTensor(r.output.target.labels, target.labels, `${what}: labels`);
    });
  });
}

test('the replays cover both outcomes of each random choice', () => {
  const outcomes = (name: string) => new Set(runs.filter((r) => r.replay.name === name).map((r) => `${r.sample}:${r.output.image.shape}:${r.output.target.boxes.toFlatArray()}`));
  for (const name of ['RandomIoUCrop', 'RandomZoomOut', 'FixedSizeCrop square, zero fill', 'RandomShortestSize', 'ScaleJitter']) {
    const kinds = outcomes(name).size;
    assert.ok(kinds > 2 * samples.length, `${name}: the seeds should give several outcomes per sample, got ${kinds}`);
  }
  const unchanged = runs.filter((r) => r.replay.name === 'RandomIoUCrop' && r.output.image === samples[r.sample].image).length;
  const cropped = runs.filter((r) => r.replay.name === 'RandomIoUCrop' && r.output.image !== samples[r.sample].image).length;
  assert.ok(unchanged > 0 && cropped > 0, `RandomIoUCrop: kept ${unchanged}, cropped ${cropped}; both should occur`);
  const distort = runs.filter((r) => r.replay.name === 'RandomPhotometricDistort').map((r) => r.draws);
  assert.ok(new Set(distort).size >= 3, `RandomPhotometricDistort: the seeds should apply different distortions (draw counts ${[...new Set(distort)]})`);
});

function iou(a: number[], b: number[]): number {
  const f = Math.fround;
  const iw = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0);
  const ih = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
  const inter = iw * ih;
  return f(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter));
}

test('RandomIoUCrop: kept boxes are centred in the crop, one meets the drawn IoU, all lie inside, per-box fields follow', () => {
  const t = T.RandomIoUCrop();
  let crops = 0;
  const options = new Map<number, number>();
  for (const s of [...samples, scene(9, { boxes: 8, height: 100, width: 70 })]) {
    const boxes = s.target.boxes.toFlatArray();
    const n = s.target.boxes.shape[0];
    for (let seed = 0; seed < 150; seed++) {
      const p = t.getParams(s, new Rng(seed));
      const out = t(s, new Rng(seed));
      options.set(p.minJaccardOverlap, (options.get(p.minJaccardOverlap) ?? 0) + 1);
      if (p.crop === null) {
        assert.equal(p.minJaccardOverlap, 1, 'only the option 1 leaves the sample');
        assert.equal(out.image, s.image);
        continue;
      }
      crops++;
      const { top, left, height, width } = p.crop;
      assert.ok(height >= Math.trunc(0.3 * s.image.shape[1]) && width >= Math.trunc(0.3 * s.image.shape[2]), `crop ${JSON.stringify(p.crop)} at least 0.3 of the sides`);
      assert.ok(width / height >= 0.5 && width / height <= 2, `crop aspect ${width / height}`);
      const rect = [left, top, left + width, top + height];
      const kept = p.keep!.flatMap((k, i) => (k ? [i] : []));
      assert.ok(kept.length > 0);
      let best = 0;
      for (const i of kept) {
        const b = boxes.slice(4 * i, 4 * i + 4);
        const [cx, cy] = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
        assert.ok(cx > rect[0] && cx < rect[2] && cy > rect[1] && cy < rect[3], `box ${i} centre (${cx}, ${cy}) inside the crop ${rect}`);
        best = Math.max(best, iou(b, rect));
      }
      assert.ok(best >= Math.fround(p.minJaccardOverlap), `seed ${seed}: best IoU ${best} < the drawn ${p.minJaccardOverlap}`);
      assert.deepEqual(out.image.shape, [s.image.shape[0], height, width]);
      const ob = out.target.boxes.toFlatArray();
      assert.ok(ob.every((x, j) => x >= 0 && x <= (j % 2 === 0 ? width : height)), `boxes inside the ${height}x${width} crop: [${ob}]`);
      for (const key of ['labels', 'area', 'iscrowd'] as const) {
        const src = s.target[key]!.toFlatArray();
        assert.deepEqual(out.target[key]!.toFlatArray(), kept.map((i) => src[i]), `${key} of the kept boxes`);
      }
      assert.equal(out.target.imageId, s.target.imageId);
      assert.equal(out.target.boxes.shape[0], kept.length);
      assert.ok(kept.length <= n);
    }
  }
  assert.ok(crops > 300, `crops made: ${crops}`);
  for (const o of [0, 0.1, 0.3, 0.5, 1]) assert.ok((options.get(o) ?? 0) > 0, `option ${o} ends some searches (${JSON.stringify([...options])})`);
});

test('RandomZoomOut: applied with probability p, canvas 1 to 4 times the sides, boxes move with the pixels', () => {
  const t = T.RandomZoomOut({ fill: [9, 9, 9], p: 0.3 });
  const s = samples[0];
  const [, h, w] = s.image.shape;
  let applied = 0;
  for (let seed = 0; seed < 2000; seed++) {
    const p = t.getParams(s, new Rng(seed)).padding;
    if (p === null) continue;
    applied++;
    const cw = w + p.left + p.right;
    const ch = h + p.top + p.bottom;
    assert.ok(cw >= w && cw <= 4 * w && ch >= h && ch <= 4 * h && p.left >= 0 && p.top >= 0 && p.right >= 0 && p.bottom >= 0, JSON.stringify(p));
  }
  const se = Math.sqrt((0.3 * 0.7) / 2000);
  assert.ok(Math.abs(applied / 2000 - 0.3) < 4 * se, `applied ${applied} of 2000`);
  for (let seed = 0; seed < 20; seed++) {
    const p = t.getParams(s, new Rng(seed)).padding;
    if (p === null) continue;
    const out = t(s, new Rng(seed));
    const inner = out.image.slice({ dim: 1, start: p.top, end: p.top + h }).slice({ dim: 2, start: p.left, end: p.left + w });
    assert.deepEqual(inner.toFlatArray(), s.image.toFlatArray(), 'the image sits at the padding offset');
    const moved = out.target.boxes.toFlatArray();
    s.target.boxes.toFlatArray().forEach((x, j) => assert.equal(moved[j], x + (j % 2 === 0 ? p.left : p.top)));
    if (p.top > 0 || p.left > 0) assert.equal(out.image.toFlatArray()[0], 9, 'the canvas has the fill colour');
  }
});

test('the detection transforms replay from the seed: the same Rng seed gives the same sample', () => {
  for (const replay of replays) {
    const s = samples[1];
    const a = replay.transform(s, new Rng(77));
    const b = replay.transform(s, new Rng(77));
    assert.deepEqual(a.image.shape, b.image.shape, replay.name);
    assert.ok(torch.equal(a.image, b.image), `${replay.name}: image`);
    assert.ok(torch.equal(a.target.boxes, b.target.boxes), `${replay.name}: boxes`);
  }
});
