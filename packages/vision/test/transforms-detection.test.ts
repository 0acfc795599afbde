// Box-aware transforms, deterministic parts, against torchvision 0.14 at test time: box kernels
// against torchvision.ops and the references' / transforms v2's box statements (re-implemented in
// transforms_detection_ref.py from torchvision's source); transforms of samples against
// torchvision's image ops and those box kernels; boxes that follow torchvision's pixels; the
// letterbox against Ultralytics' arithmetic; and dispatch: a plain image is transformed as before.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { Rng } from '../src/data/rng.js';
import { assertSameTensor, runRef, scene, type RefCase } from './transforms-detection-helpers.js';

const F = T.functional;
type Sample = T.DetectionSample;

/** Boxes of every kind: inside, crossing the borders, degenerate, tiny, negative. */
function wildBoxes(): Tensor {
  const rng = new Rng(7);
  const rows: number[][] = [];
  for (let i = 0; i < 14; i++) {
    const x1 = rng.uniform(-12, 70);
    const y1 = rng.uniform(-10, 52);
    rows.push([x1, y1, x1 + rng.uniform(0, 30), y1 + rng.uniform(0, 25)]);
  }
  rows.push([5, 5, 5, 9], [3, 4, 3.5, 20], [10, 10, 12, 10.5], [60, 40, 64, 48], [-1, 2, 4, 6], [62, 46, 66, 50]);
  return torch.tensor(rows, { dtype: 'float32' });
}

const boxes = wildBoxes();
const canvas: [number, number] = [48, 64];
const sample = scene(3);
const sampleBig = scene(4, { height: 57, width: 83, boxes: 6 });

/** A marker image [1, H, W]: zero, with non-overlapping whole-pixel rectangles of values 1..K, and their boxes. */
function markers(h: number, w: number): Sample {
  const rects = [
    [2, 3, 11, 9],
    [15, 1, 30, 12],
    [40, 4, 50, 20],
    [3, 25, 20, 40],
    [25, 30, 37, 45],
    [45, 28, 60, 33],
  ].filter(([, , x2, y2]) => x2 <= w && y2 <= h);
  const data = new Uint8Array(h * w);
  rects.forEach(([x1, y1, x2, y2], i) => {
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) data[y * w + x] = i + 1;
  });
  return {
    image: torch.tensor(data, { shape: [1, h, w] }),
    target: { boxes: torch.tensor(rects, { dtype: 'float32' }), labels: torch.tensor(rects.map((_, i) => i + 1), { dtype: 'int64' }) },
  };
}

interface Check {
  name: string;
  ref: RefCase;
  /** Compares Iris's value with the reference's reply. */
  check: (reply: any) => void;
}

const checks: Check[] = [];
const replies = new Map<Check, any>();

function add(name: string, ref: RefCase, check: (reply: any) => void): void {
  checks.push({ name, ref, check });
}

const py = (v: unknown): string => JSON.stringify(v).replace(/true/g, 'True').replace(/false/g, 'False').replace(/null/g, 'None');

// ---- box kernels ----
const FORMATS: T.BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
for (const from of FORMATS) {
  for (const to of FORMATS) {
    const ours = F.convertBoundingBoxFormat(boxes, from, to);
    add(`convertBoundingBoxFormat ${from} -> ${to}`, { inputs: { boxes }, expr: `ops.box_convert(boxes, '${from}', '${to}')` }, (r) => assertSameTensor(ours, r, `${from} -> ${to}`));
  }
}
{
  const ours = F.clampBoundingBoxes(boxes, canvas);
  add('clampBoundingBoxes', { inputs: { boxes }, expr: 'ops.clip_boxes_to_image(boxes, (48, 64))' }, (r) => assertSameTensor(ours, r, 'clamp'));
}
for (const [minSize, minArea] of [
  [1, 1],
  [2.5, 10],
  [0.25, 0.1],
]) {
  const ours = F.sanitizeBoundingBoxesMask(boxes, canvas, { minSize, minArea }).to('int64');
  add(`sanitizeBoundingBoxesMask minSize ${minSize} minArea ${minArea}`, { inputs: { boxes }, expr: `V.sanitize_mask(boxes, (48, 64), ${minSize}, ${minArea}).long()` }, (r) =>
    assertSameTensor(ours, r, 'sanitize mask'),
  );
}
{
  const ours = F.resizeBoundingBoxes(boxes, canvas, [30, 101]);
  add('resizeBoundingBoxes', { inputs: { boxes }, expr: 'V.resize_bounding_boxes(boxes, (48, 64), (30, 101))' }, (r) => assertSameTensor(ours, r, 'resize'));
  const h = F.horizontalFlipBoundingBoxes(boxes, canvas);
  add('horizontalFlipBoundingBoxes', { inputs: { boxes }, expr: 'V.hflip_boxes(boxes, 64)' }, (r) => assertSameTensor(h, r, 'hflip'));
  const v = F.verticalFlipBoundingBoxes(boxes, canvas);
  add('verticalFlipBoundingBoxes', { inputs: { boxes }, expr: 'V.vflip_boxes(boxes, 48)' }, (r) => assertSameTensor(v, r, 'vflip'));
  const c = F.cropBoundingBoxes(boxes, 7, -3, 30, 40);
  add('cropBoundingBoxes', { inputs: { boxes }, expr: 'V.crop_bounding_boxes(boxes, 7, -3, 30, 40)' }, (r) => assertSameTensor(c, r, 'crop'));
  const p = F.padBoundingBoxes(boxes, 5, 9);
  add('padBoundingBoxes', { inputs: { boxes }, expr: 'V.pad_boxes(boxes, 5, 9)' }, (r) => assertSameTensor(p, r, 'pad'));
}
const affineCases: [number, [number, number], number, [number, number], [number, number] | undefined][] = [
  [30, [0, 0], 1, [0, 0], undefined],
  [-17.5, [3, -4], 1.2, [5, 0], undefined],
  [42, [-6, 2], 0.8, [-8, 3], [10, 20]],
  [90, [0, 0], 1, [0, 0], undefined],
];
for (const [angle, translate, scale, shear, center] of affineCases) {
  const ours = F.affineBoundingBoxes(boxes, canvas, angle, translate, scale, shear, { center });
  add(
    `affineBoundingBoxes angle ${angle} translate [${translate}] scale ${scale} shear [${shear}] center ${center}`,
    { inputs: { boxes }, expr: `V.affine_bounding_boxes(boxes, (48, 64), ${angle}, ${py(translate)}, ${scale}, ${py(shear)}, ${py(center ?? null)})` },
    (r) => assertSameTensor(ours.boxes, r, 'affine boxes'),
  );
}
for (const angle of [30, -65, 90, 137]) {
  const img = sample.image;
  const ours = F.rotateBoundingBoxes(boxes, canvas, angle, { expand: true });
  add(
    `rotateBoundingBoxes expand, ${angle}°: boxes and canvas as the rotated image's`,
    { inputs: { boxes, img }, expr: `(lambda out: [V.affine_bounding_boxes(boxes, (48, 64), ${-angle}, [0.0, 0.0], 1.0, [0.0, 0.0], None, True, list(out.shape[-2:])), list(out.shape[-2:])])(F.rotate(img, ${angle}, expand=True))` },
    ([b, size]) => {
      assert.deepEqual(ours.canvasSize, size, 'canvas size');
      assertSameTensor(ours.boxes, b, 'rotated boxes');
    },
  );
}

// ---- transforms of samples: the image as torchvision's, the boxes as the kernels ----
/** `t` applied to `s` with Rng(seed) against `expr`, which gives [image, boxes] from img and boxes. */
function sampleCheck(name: string, s: Sample, t: T.DispatchTransform, seed: number, expr: string): void {
  const out = t(s, new Rng(seed));
  add(name, { inputs: { img: s.image, boxes: s.target.boxes }, expr }, ([img, b]) => {
    assertSameTensor(out.image, img, `${name}: image`);
    assertSameTensor(out.target.boxes, b, `${name}: boxes`);
    assert.equal(out.target.labels, s.target.labels, `${name}: labels are the input's`);
  });
}
{
  for (const [size, maxSize, expr] of [
    [[30], undefined, 'T.Resize([30])(img)'],
    [[40, 100], undefined, 'T.Resize([40, 100])(img)'],
    [[30], 50, 'T.Resize(30, max_size=50)(img)'],
  ] as [number[], number | undefined, string][]) {
    const name = `Resize(${size}${maxSize ? `, maxSize ${maxSize}` : ''})`;
    sampleCheck(name, sampleBig, T.Resize(size, { maxSize }), 0, `(lambda out: [out, V.resize_bounding_boxes(boxes, tuple(img.shape[-2:]), tuple(out.shape[-2:]))])(${expr})`);
  }
  sampleCheck('RandomHorizontalFlip p 1', sampleBig, T.RandomHorizontalFlip({ p: 1 }), 0, '[F.hflip(img), V.hflip_boxes(boxes, 83)]');
  sampleCheck('RandomVerticalFlip p 1', sampleBig, T.RandomVerticalFlip({ p: 1 }), 0, '[F.vflip(img), V.vflip_boxes(boxes, 57)]');
  for (const seed of [1, 2, 3]) {
    const t = T.RandomResizedCrop([24, 32], { scale: [0.2, 1] });
    const p = t.getParams(sampleBig, new Rng(seed));
    const crop = `${p.top}, ${p.left}, ${p.height}, ${p.width}`;
    sampleCheck(`RandomResizedCrop seed ${seed}`, sampleBig, t, seed, `[F.resized_crop(img, ${crop}, [24, 32]), V.resize_bounding_boxes(V.crop_bounding_boxes(boxes, ${crop}), (${p.height}, ${p.width}), (24, 32))]`);
  }
  for (const seed of [1, 2, 3, 4]) {
    const t = T.RandomAffine(40, { translate: [0.2, 0.1], scale: [0.7, 1.3], shear: [-10, 10, -5, 5], interpolation: 'bilinear', fill: 9 });
    const p = t.getParams(sampleBig, new Rng(seed));
    const args = `${p.angle}, ${py(p.translate)}, ${p.scale}, ${py(p.shear)}`;
    sampleCheck(`RandomAffine seed ${seed}`, sampleBig, t, seed, `[F.affine(img, ${args}, interpolation=I.BILINEAR, fill=[9.0, 9.0, 9.0]), V.affine_bounding_boxes(boxes, (57, 83), ${args})]`);
  }
  for (const seed of [1, 2, 3]) {
    for (const expand of [false, true]) {
      const t = T.RandomRotation(180, { expand });
      const { angle } = t.getParams(sampleBig, new Rng(seed));
      const e = expand ? 'True' : 'False';
      sampleCheck(
        `RandomRotation expand ${expand} seed ${seed}`,
        sampleBig,
        t,
        seed,
        `(lambda out: [out, V.affine_bounding_boxes(boxes, (57, 83), ${-angle}, [0.0, 0.0], 1.0, [0.0, 0.0], None, ${e}, list(out.shape[-2:]))])(F.rotate(img, ${angle}, expand=${e}, fill=[0.0, 0.0, 0.0]))`,
      );
    }
  }
}

// ---- boxes follow torchvision's pixels (crops and pads, where pixels map exactly) ----
function followsPixels(name: string, s: Sample, t: T.DispatchTransform, torchExpr: (rng: Rng) => string, seed = 0): void {
  const out = t(s, new Rng(seed));
  const values = s.target.labels.toFlatArray();
  add(`${name}: boxes where torchvision's image puts the pixels`, { inputs: { img: s.image }, expr: `pixel_boxes(${torchExpr(new Rng(seed))}, ${py(values)})` }, (pixelBoxes: (number[] | null)[]) => {
    const ours = out.target.boxes.toFlatArray();
    const [, oh, ow] = F.getDimensions(out.image);
    pixelBoxes.forEach((pb, i) => {
      const b = ours.slice(4 * i, 4 * i + 4);
      if (pb === null) assert.ok(b[2] <= b[0] || b[3] <= b[1], `${name}: box ${i} [${b}] should be empty, its pixels left the ${oh}x${ow} image`);
      else assert.deepEqual(b, pb, `${name}: box ${i}`);
    });
  });
}
{
  const m = markers(48, 64);
  followsPixels('CenterCrop smaller', m, T.CenterCrop([31, 40]), () => 'T.CenterCrop([31, 40])(img)');
  followsPixels('CenterCrop larger, odd padding', m, T.CenterCrop([53, 71]), () => 'T.CenterCrop([53, 71])(img)');
  followsPixels('CenterCrop larger in one side', m, T.CenterCrop([61, 30]), () => 'T.CenterCrop([61, 30])(img)');
  followsPixels('Pad [1, 2, 3, 4]', m, T.Pad([1, 2, 3, 4]), () => 'T.Pad([1, 2, 3, 4])(img)');
  for (const seed of [1, 2, 3]) {
    // torchvision's RandomCrop.forward: the padding, then (padIfNeeded) the width's shortfall 75 - 70 on both sides.
    const t = T.RandomCrop([40, 75], { padding: [3, 5], padIfNeeded: true });
    const p = t.getParams(m, new Rng(seed));
    followsPixels(`RandomCrop padding and padIfNeeded seed ${seed}`, m, t, () => `F.crop(F.pad(F.pad(img, [3, 5]), [5, 0]), ${p.top}, ${p.left}, ${p.height}, ${p.width})`, seed);
  }
  followsPixels('RandomHorizontalFlip', m, T.RandomHorizontalFlip({ p: 1 }), () => 'F.hflip(img)');
  followsPixels('RandomVerticalFlip', m, T.RandomVerticalFlip({ p: 1 }), () => 'F.vflip(img)');
  followsPixels('RandomZoomOut', m, T.RandomZoomOut({ p: 1, fill: [0] }), (rng) => {
    const p = T.RandomZoomOut({ p: 1, fill: [0] }).getParams(m, rng).padding!;
    return `F.pad(img, [${p.left}, ${p.top}, ${p.right}, ${p.bottom}])`;
  }, 5);
}

// ---- the letterbox: Ultralytics' arithmetic, torchvision's resize and pad ----
const letterboxCases: T.LetterboxOptions[] = [
  {},
  { newShape: [100, 160] },
  { newShape: [100, 160], auto: true, stride: 32 },
  { newShape: [90, 90], scaleFill: true },
  { newShape: 32, scaleup: false },
  { newShape: 320, scaleup: false },
  { newShape: [75, 101], center: false },
];
for (const options of letterboxCases) {
  const t = T.Letterbox(options);
  const out = t(sampleBig, new Rng(0)) as Sample & { letterbox: T.LetterboxParams };
  const o = { new_shape: options.newShape ?? 640, auto: options.auto ?? false, scale_fill: options.scaleFill ?? false, scaleup: options.scaleup ?? true, center: options.center ?? true, stride: options.stride ?? 32 };
  const kwargs = Object.entries(o).map(([k, v]) => `${k}=${py(v)}`).join(', ');
  const name = `Letterbox ${JSON.stringify(options)}`;
  add(name, { inputs: { img: sampleBig.image, boxes: sampleBig.target.boxes }, expr: `R.letterbox(img, boxes, ${kwargs})` }, ([img, b, ratio, pad, padEnd]) => {
    assertSameTensor(out.image, img, `${name}: image`);
    assertSameTensor(out.target.boxes, b, `${name}: boxes`);
    assert.deepEqual(out.letterbox.ratio, ratio, `${name}: ratio`);
    assert.deepEqual(out.letterbox.pad, pad, `${name}: padding left, top`);
    assert.deepEqual(out.letterbox.padEnd, padEnd, `${name}: padding right, bottom`);
    assert.deepEqual(t.getParams(sampleBig.image), out.letterbox, `${name}: getParams of the plain image`);
  });
  if (!options.scaleFill) {
    const back = T.unletterboxBoxes(out.target.boxes, out.letterbox);
    const [h, w] = F.getDimensions(out.image).slice(1);
    const ratioPad = `((${out.letterbox.ratio[0]}, ${out.letterbox.ratio[1]}), (${out.letterbox.pad[0]}, ${out.letterbox.pad[1]}))`;
    add(`${name}: unletterboxBoxes as Ultralytics' scale_boxes`, { inputs: { boxes: out.target.boxes }, expr: `R.scale_boxes((${h}, ${w}), boxes, (57, 83), ${ratioPad})` }, (r) =>
      assertSameTensor(back, r, `${name}: mapped back`),
    );
  }
}

before(() => {
  const out = runRef(checks.map((c) => c.ref));
  checks.forEach((c, i) => replies.set(c, out[i]));
});

for (const c of checks) {
  test(c.name, () => c.check(replies.get(c)));
}

// ---- dispatch, formats, sanitize, errors: properties that need no reference ----
test('a plain image goes through every per-sample transform as before, and equals a sample\'s image with the same seed', () => {
  const transforms: [string, T.DispatchTransform][] = [
    ['Resize', T.Resize(30)],
    ['CenterCrop', T.CenterCrop(40)],
    ['Pad', T.Pad(3, { fill: 5 })],
    ['RandomCrop', T.RandomCrop(32, { padding: 4 })],
    ['RandomResizedCrop', T.RandomResizedCrop(24)],
    ['RandomHorizontalFlip', T.RandomHorizontalFlip()],
    ['RandomVerticalFlip', T.RandomVerticalFlip()],
    ['RandomRotation', T.RandomRotation(30, { expand: true })],
    ['RandomAffine', T.RandomAffine(20, { translate: [0.1, 0.1], scale: [0.9, 1.1] })],
    ['ColorJitter', T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 })],
    ['Grayscale', T.Grayscale({ numOutputChannels: 3 })],
    ['RandomGrayscale', T.RandomGrayscale({ p: 0.5 })],
    ['RandomErasing', T.RandomErasing({ p: 0.9 })],
    ['ToDtype', T.ToDtype('float32')],
    ['RandomZoomOut', T.RandomZoomOut({ fill: [1, 2, 3] })],
    ['RandomPhotometricDistort', T.RandomPhotometricDistort()],
    ['ScaleJitter', T.ScaleJitter([64, 64])],
    ['FixedSizeCrop', T.FixedSizeCrop([40, 70], { fill: 7 })],
    ['RandomShortestSize', T.RandomShortestSize([20, 30, 40], 100)],
    ['Letterbox', T.Letterbox({ newShape: 96 })],
    ['ClampBoundingBoxes', T.ClampBoundingBoxes()],
    ['SanitizeBoundingBoxes', T.SanitizeBoundingBoxes()],
    ['ConvertBoundingBoxFormat', T.ConvertBoundingBoxFormat('cxcywh')],
  ];
  for (const [name, t] of transforms) {
    for (const seed of [1, 2, 3, 4]) {
      const alone = t(sample.image, new Rng(seed));
      const inSample = t(sample, new Rng(seed));
      assert.ok(alone instanceof torch.Tensor, `${name}: a plain image gives an image`);
      assert.deepEqual(alone.shape, inSample.image.shape, `${name} seed ${seed}: shape`);
      assert.deepEqual(alone.toFlatArray(), inSample.image.toFlatArray(), `${name} seed ${seed}: the sample's image is the plain image's`);
    }
  }
  for (const t of [T.ColorJitter({ brightness: 0.5 }), T.Grayscale(), T.ToDtype('float32'), T.Normalize([0, 0, 0], [1, 1, 1]), T.RandomPhotometricDistort()]) {
    const f = T.ToDtype('float32')(sample, new Rng(0));
    assert.equal(t(f, new Rng(3)).target, f.target, 'photometric transforms keep the target as it is');
  }
});

test('Compose, RandomApply and RandomChoice carry samples; boxes stay with their labels', () => {
  const t = T.Compose([T.RandomApply([T.RandomHorizontalFlip({ p: 1 })], { p: 1 }), T.RandomChoice([T.Resize([24, 32])]), T.ToDtype('float32')]);
  const out = t(sample, new Rng(1));
  const flipped = F.resizeBoundingBoxes(F.horizontalFlipBoundingBoxes(sample.target.boxes, canvas), canvas, [24, 32]);
  assert.deepEqual(out.target.boxes.toFlatArray(), flipped.toFlatArray());
  assert.deepEqual(out.target.labels.toFlatArray(), sample.target.labels.toFlatArray());
  assert.equal(out.target.imageId, sample.target.imageId);
  assert.equal(out.image.dtype, 'float32');
});

test('boxes kept in another format are moved in it: the same boxes as xyxy, converted', () => {
  const t = T.Compose([T.ConvertBoundingBoxFormat('cxcywh'), T.RandomHorizontalFlip({ p: 1 }), T.Resize([30, 40]), T.RandomZoomOut({ p: 1 })]);
  const u = T.Compose([T.RandomHorizontalFlip({ p: 1 }), T.Resize([30, 40]), T.RandomZoomOut({ p: 1 })]);
  const a = t(sampleBig, new Rng(4));
  const b = u(sampleBig, new Rng(4));
  assert.equal(a.target.boxFormat, 'cxcywh');
  const expected = F.convertBoundingBoxFormat(b.target.boxes, 'xyxy', 'cxcywh').toFlatArray();
  a.target.boxes.toFlatArray().forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= 1e-4 * Math.max(1, Math.abs(expected[i])), `coordinate ${i}: ${x} vs ${expected[i]}`));
  const back = T.ConvertBoundingBoxFormat('xyxy')(a, new Rng(0));
  assert.equal(back.target.boxFormat, 'xyxy');
});

test('SanitizeBoundingBoxes drops degenerate and outside boxes with every per-box field, keeps imageId', () => {
  const s: Sample = {
    image: torch.zeros([3, 48, 64], { dtype: 'uint8' }),
    target: {
      boxes: boxes,
      labels: torch.arange(0, boxes.shape[0], 1, { dtype: 'int64' }),
      area: torch.arange(0, boxes.shape[0], 1, { dtype: 'float32' }).mul(10),
      iscrowd: torch.zeros([boxes.shape[0]], { dtype: 'int64' }),
      imageId: 42,
    },
  };
  const out = T.SanitizeBoundingBoxes()(s, new Rng(0));
  const keep = F.sanitizeBoundingBoxesMask(boxes, canvas).toFlatArray();
  const kept = keep.flatMap((k, i) => (k ? [i] : []));
  assert.ok(kept.length > 0 && kept.length < boxes.shape[0], `some boxes kept (${kept.length} of ${boxes.shape[0]})`);
  assert.deepEqual(out.target.labels.toFlatArray(), kept);
  assert.deepEqual(out.target.area!.toFlatArray(), kept.map((i) => i * 10));
  assert.equal(out.target.iscrowd!.shape[0], kept.length);
  assert.equal(out.target.imageId, 42);
  const b = boxes.toFlatArray();
  assert.deepEqual(out.target.boxes.toFlatArray(), kept.flatMap((i) => b.slice(4 * i, 4 * i + 4)));
});

test('bad inputs get errors that name the transform and the fix', () => {
  const intBoxes = { ...sample, target: { ...sample.target, boxes: sample.target.boxes.to('int64') } };
  assert.throws(() => T.RandomHorizontalFlip({ p: 1 })(intBoxes, new Rng(0)), /RandomHorizontalFlip: target.boxes must be floating point pixels, got int64; convert them with boxes.to\('float32'\)/);
  const wrongShape = { ...sample, target: { ...sample.target, boxes: torch.zeros([3, 5]) } };
  assert.throws(() => T.Resize(10)(wrongShape, new Rng(0)), /Resize: target.boxes must be a tensor \[N, 4\], got shape \[3,5\]/);
  const withMasks = { ...sample, target: { ...sample.target, masks: torch.zeros([4, 48, 64]) } };
  assert.throws(() => T.Resize(10)(withMasks, new Rng(0)), /target.masks would not move with the image/);
  const fewLabels = { ...sample, target: { ...sample.target, labels: torch.zeros([2], { dtype: 'int64' }) } };
  assert.throws(() => T.Resize(10)(fewLabels, new Rng(0)), /one label per box \(4\)/);
  assert.throws(() => T.RandomIoUCrop()(sample.image, new Rng(0)), /RandomIoUCrop: needs a detection sample/);
  assert.throws(() => T.TrivialAugmentWide()(sample, new Rng(0)), /TrivialAugmentWide: boxes are not moved by TrivialAugmentWide yet/);
  assert.throws(() => T.Resize(10)({ picture: sample.image } as unknown as Tensor, new Rng(0)), /expected an image tensor \[C, H, W\] or a detection sample/);
  assert.throws(() => T.RandomZoomOut({ sideRange: [0.5, 2] }), /sideRange must be \[min, max\] with 1 <= min <= max/);
  assert.throws(() => T.Letterbox({ newShape: [0, 10] }), /newShape must be a positive integer/);
  assert.throws(() => T.ConvertBoundingBoxFormat('yolo' as T.BoxFormat), /format must be 'xyxy', 'xywh' or 'cxcywh'/);
  assert.throws(() => T.DetectionPresetTrain({ dataAugmentation: 'mosaic' as 'ssd' }), /dataAugmentation must be 'hflip', 'lsj', 'multiscale', 'ssd' or 'ssdlite', got 'mosaic'/);
  assert.throws(() => T.RandomZoomOut({ p: 1, fill: [1, 2] })(sample, new Rng(0)), /fill has 2 values but the image has 3 channels/);
});

test('letterbox round trip: boxes mapped back onto the original are the original boxes', () => {
  for (const options of letterboxCases) {
    const out = T.Letterbox(options)(sampleBig, new Rng(0)) as Sample & { letterbox: T.LetterboxParams };
    const back = T.unletterboxBoxes(out.target.boxes, out.letterbox).toFlatArray();
    const orig = sampleBig.target.boxes.toFlatArray();
    back.forEach((x, i) => assert.ok(Math.abs(x - orig[i]) <= 1e-4 * Math.max(1, orig[i]), `${JSON.stringify(options)}: coordinate ${i} ${x} vs ${orig[i]}`));
    const { image } = T.letterbox(sampleBig.image, options);
    assert.deepEqual(image.shape, out.image.shape);
  }
});

