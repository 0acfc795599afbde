// The random geometric and colour transforms against torchvision 0.14: (a) with the parameters
// Iris sampled, torchvision's transform (its get_params or torch.rand patched to return them) gives
// the same image; (b) the sampled parameters have torchvision's ranges and distributions; (c) the
// same Rng seed gives the same output.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { Rng } from '../src/data/rng.js';
import { runPython, toJson, type JsonTensor } from './helpers/reference.js';
import { assertRate, assertSameImage, assertSameMean, moments, seededImage, type Patch } from './transforms-helpers.js';

const images: Record<string, Tensor> = {
  u8: seededImage([3, 37, 53], 'uint8', 11),
  f32: seededImage([3, 37, 53], 'float32', 12),
  gray8: seededImage([1, 29, 31], 'uint8', 13),
};

type RandomTransform = ((img: Tensor, rng: Rng) => Tensor) & { getParams?: (img: Tensor, rng: Rng) => any };

interface Replay {
  name: string;
  inputs: string[];
  transform: RandomTransform;
  /** torchvision's transform applied to img. */
  torch: string;
  /** The draws torchvision must see for Iris's parameters (none for deterministic transforms). */
  patch?: (params: any) => Patch;
}

const crop = (cls: string) => (p: T.CropParams) => ({ get_params: { class: cls, result: [p.top, p.left, p.height, p.width] } });
const coin = (yes: boolean): Patch => ({ rand: [yes ? 0.0 : 0.999999] });

const replays: Replay[] = [
  { name: 'RandomResizedCrop', inputs: ['u8', 'f32', 'gray8'], transform: T.RandomResizedCrop([20, 24]), torch: 'T.RandomResizedCrop([20, 24])(img)', patch: crop('RandomResizedCrop') },
  {
    name: 'RandomResizedCrop bicubic antialiased, custom scale and ratio',
    inputs: ['u8', 'f32'],
    transform: T.RandomResizedCrop(16, { scale: [0.3, 0.9], ratio: [0.5, 2], interpolation: 'bicubic', antialias: true }),
    torch: 'T.RandomResizedCrop(16, scale=(0.3, 0.9), ratio=(0.5, 2), interpolation=I.BICUBIC, antialias=True)(img)',
    patch: crop('RandomResizedCrop'),
  },
  { name: 'RandomCrop with padding and fill', inputs: ['u8', 'gray8'], transform: T.RandomCrop(24, { padding: 4, fill: 3 }), torch: 'T.RandomCrop(24, padding=4, fill=3)(img)', patch: crop('RandomCrop') },
  {
    name: 'RandomCrop padIfNeeded, reflect',
    inputs: ['u8', 'f32'],
    transform: T.RandomCrop([40, 60], { padIfNeeded: true, paddingMode: 'reflect' }),
    torch: "T.RandomCrop([40, 60], pad_if_needed=True, padding_mode='reflect')(img)",
    patch: crop('RandomCrop'),
  },
  { name: 'RandomCrop edge padding [lr, tb]', inputs: ['f32'], transform: T.RandomCrop([30, 50], { padding: [2, 3], paddingMode: 'edge' }), torch: "T.RandomCrop([30, 50], padding=[2, 3], padding_mode='edge')(img)", patch: crop('RandomCrop') },
  { name: 'RandomHorizontalFlip', inputs: ['u8', 'f32'], transform: T.RandomHorizontalFlip(), torch: 'T.RandomHorizontalFlip()(img)', patch: (p) => coin(p.flip) },
  { name: 'RandomVerticalFlip', inputs: ['u8'], transform: T.RandomVerticalFlip({ p: 0.5 }), torch: 'T.RandomVerticalFlip(0.5)(img)', patch: (p) => coin(p.flip) },
  {
    name: 'RandomRotation bilinear with a fill',
    inputs: ['u8', 'f32'],
    transform: T.RandomRotation(40, { interpolation: 'bilinear', fill: [1, 2, 3] }),
    torch: 'T.RandomRotation(40, interpolation=I.BILINEAR, fill=[1, 2, 3])(img)',
    patch: (p) => ({ get_params: { class: 'RandomRotation', result: p.angle } }),
  },
  {
    name: 'RandomRotation expand, default fill',
    inputs: ['u8', 'gray8'],
    transform: T.RandomRotation([-90, 90], { expand: true }),
    torch: 'T.RandomRotation([-90, 90], expand=True)(img)',
    patch: (p) => ({ get_params: { class: 'RandomRotation', result: p.angle } }),
  },
  {
    name: 'RandomRotation about a point',
    inputs: ['f32'],
    transform: T.RandomRotation(30, { center: [5, 30], fill: 0.5 }),
    torch: 'T.RandomRotation(30, center=[5, 30], fill=0.5)(img)',
    patch: (p) => ({ get_params: { class: 'RandomRotation', result: p.angle } }),
  },
  {
    name: 'RandomAffine',
    inputs: ['u8', 'f32'],
    transform: T.RandomAffine(20, { translate: [0.1, 0.2], scale: [0.8, 1.2], shear: [-5, 5, -3, 3], interpolation: 'bilinear' }),
    torch: 'T.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=[-5, 5, -3, 3], interpolation=I.BILINEAR)(img)',
    patch: (p: T.AffineParams) => ({ get_params: { class: 'RandomAffine', result: [p.angle, p.translate, p.scale, p.shear] } }),
  },
  {
    name: 'RandomAffine shear x only, fill',
    inputs: ['u8'],
    transform: T.RandomAffine([-10, 30], { shear: 15, fill: 128 }),
    torch: 'T.RandomAffine([-10, 30], shear=15, fill=128)(img)',
    patch: (p: T.AffineParams) => ({ get_params: { class: 'RandomAffine', result: [p.angle, p.translate, p.scale, p.shear] } }),
  },
  {
    name: 'ColorJitter',
    inputs: ['u8', 'f32'],
    transform: T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
    torch: 'T.ColorJitter(0.4, 0.4, 0.4, 0.1)(img)',
    patch: (p: T.ColorJitterParams) => ({ get_params: { class: 'ColorJitter', result: [p.order, p.brightness, p.contrast, p.saturation, p.hue] } }),
  },
  {
    name: 'ColorJitter with ranges, some off',
    inputs: ['u8', 'gray8'],
    transform: T.ColorJitter({ brightness: [0.5, 1.5], saturation: [0, 2] }),
    torch: 'T.ColorJitter(brightness=(0.5, 1.5), saturation=(0, 2))(img)',
    patch: (p: T.ColorJitterParams) => ({ get_params: { class: 'ColorJitter', result: [p.order, p.brightness, p.contrast, p.saturation, p.hue] } }),
  },
  { name: 'RandomGrayscale', inputs: ['u8', 'f32'], transform: T.RandomGrayscale({ p: 0.5 }), torch: 'T.RandomGrayscale(0.5)(img)', patch: (p) => coin(p.grayscale) },
  {
    name: 'RandomErasing with a per-channel value',
    inputs: ['f32'],
    transform: T.RandomErasing({ p: 0.7, value: [0.2, 0.4, 0.6] }),
    torch: 'T.RandomErasing(p=0.7, value=[0.2, 0.4, 0.6])(img)',
    patch: (p: T.ErasingParams | null) => (p === null ? coin(false) : { rand: [0], get_params: { class: 'RandomErasing', result: [p.top, p.left, p.height, p.width, toJson(p.value)] } }),
  },
  {
    name: "RandomErasing with value 'random'",
    inputs: ['f32'],
    transform: T.RandomErasing({ p: 0.9, value: 'random', scale: [0.1, 0.5] }),
    torch: "T.RandomErasing(p=0.9, value='random', scale=(0.1, 0.5))(img)",
    patch: (p: T.ErasingParams | null) => (p === null ? coin(false) : { rand: [0], get_params: { class: 'RandomErasing', result: [p.top, p.left, p.height, p.width, toJson(p.value)] } }),
  },
  {
    name: 'RandomErasing of a uint8 image with 0',
    inputs: ['u8'],
    transform: T.RandomErasing(),
    torch: 'T.RandomErasing()(img)',
    patch: (p: T.ErasingParams | null) => (p === null ? coin(false) : { rand: [0], get_params: { class: 'RandomErasing', result: [p.top, p.left, p.height, p.width, toJson(p.value)] } }),
  },
  // The deterministic transform wrappers.
  { name: 'Resize', inputs: ['u8', 'f32'], transform: T.Resize(24, { antialias: true }), torch: 'T.Resize(24, antialias=True)(img)' },
  { name: 'Resize [h, w] nearest', inputs: ['u8'], transform: T.Resize([30, 20], { interpolation: 'nearest' }), torch: 'T.Resize([30, 20], interpolation=I.NEAREST)(img)' },
  { name: 'CenterCrop', inputs: ['u8', 'f32'], transform: T.CenterCrop([20, 45]), torch: 'T.CenterCrop([20, 45])(img)' },
  { name: 'Pad symmetric', inputs: ['u8'], transform: T.Pad([1, 2, 3, 4], { paddingMode: 'symmetric' }), torch: "T.Pad([1, 2, 3, 4], padding_mode='symmetric')(img)" },
  { name: 'Grayscale to 3 channels', inputs: ['u8', 'f32'], transform: T.Grayscale({ numOutputChannels: 3 }), torch: 'T.Grayscale(3)(img)' },
  { name: 'ToDtype', inputs: ['u8', 'f32'], transform: T.ToDtype('float64'), torch: 'T.ConvertImageDtype(torch.float64)(img)' },
  { name: 'Normalize', inputs: ['f32'], transform: T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]), torch: 'T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])(img)' },
  {
    name: 'Compose',
    inputs: ['u8'],
    transform: T.Compose([T.Resize(30), T.CenterCrop(28), T.ToDtype('float32'), T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])]),
    torch: 'T.Compose([T.Resize(30), T.CenterCrop(28), T.ConvertImageDtype(torch.float32), T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])(img)',
  },
  {
    name: 'RandomApply',
    inputs: ['u8'],
    transform: T.RandomApply([T.Grayscale({ numOutputChannels: 3 }), T.CenterCrop(20)], { p: 0.5 }),
    torch: 'T.RandomApply([T.Grayscale(3), T.CenterCrop(20)], p=0.5)(img)',
    patch: (p) => coin(p.apply),
  },
  {
    name: 'RandomChoice with weights',
    inputs: ['u8'],
    transform: T.RandomChoice([T.Grayscale({ numOutputChannels: 3 }), T.CenterCrop(20), T.Resize(12)], { p: [1, 2, 3] }),
    torch: 'T.RandomChoice([T.Grayscale(3), T.CenterCrop(20), T.Resize(12)], p=[1, 2, 3])(img)',
    patch: (p) => ({ choice: p.index }),
  },
];

const SEEDS = [1, 2, 3, 4, 5, 6];

interface Run {
  replay: Replay;
  input: string;
  seed: number;
  params: any;
  output: Tensor;
}

const runs: Run[] = replays.flatMap((replay) =>
  replay.inputs.flatMap((input) =>
    (replay.patch ? SEEDS : [0]).map((seed) => {
      const img = images[input];
      const params = replay.transform.getParams?.(img, new Rng(seed));
      return { replay, input, seed, params, output: replay.transform(img, new Rng(seed)) };
    }),
  ),
);

interface Sample {
  expr: string;
  seed: number;
  n: number;
  setup?: string;
}

const samples: Record<string, Sample> = {
  resizedCrop: { setup: 'big = torch.zeros(3, 300, 400)', expr: 'T.RandomResizedCrop.get_params(big, [0.08, 1.0], [3.0 / 4.0, 4.0 / 3.0])', seed: 0, n: 3000 },
  colorJitter: { expr: '(lambda r: [r[0].tolist(), *r[1:]])(T.ColorJitter.get_params([0.6, 1.4], [0.6, 1.4], [0.6, 1.4], [-0.1, 0.1]))', seed: 0, n: 3000 },
  affine: { expr: 'T.RandomAffine.get_params([-20.0, 20.0], [0.1, 0.2], [0.8, 1.2], [-5.0, 5.0, -3.0, 3.0], [53, 37])', seed: 0, n: 3000 },
  erasing: { setup: 'big = torch.zeros(3, 100, 120)', expr: 'T.RandomErasing.get_params(big, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=[0])[:4]', seed: 0, n: 3000 },
};
let replayed: JsonTensor[] = [];
let sampled: Record<string, any[]> = {};

before(() => {
  replayed = runPython<JsonTensor[]>('transforms_ref.py', {
    kind: 'replay',
    images: Object.fromEntries(Object.entries(images).map(([k, v]) => [k, toJson(v)])),
    cases: runs.map((r) => ({ input: r.input, expr: r.replay.torch, patch: r.replay.patch ? r.replay.patch(r.params) : {} })),
  });
  const names = Object.keys(samples);
  const out = runPython<any[][]>('transforms_ref.py', { kind: 'sample', cases: names.map((k) => samples[k]) });
  sampled = Object.fromEntries(names.map((k, i) => [k, out[i]]));
});

for (const replay of replays) {
  test(`${replay.name} equals torchvision's with the same parameters`, () => {
    runs.forEach((r, i) => {
      if (r.replay !== replay) return;
      assertSameImage(r.output, replayed[i], `${replay.name} on ${r.input}, seed ${r.seed}, params ${JSON.stringify(r.params, (_k, v) => (v instanceof torch.Tensor ? `Tensor[${v.shape}]` : v))}`);
    });
  });
}

test('replayed coin flips cover both outcomes', () => {
  for (const name of ['RandomHorizontalFlip', 'RandomGrayscale', 'RandomApply']) {
    const outcomes = new Set(runs.filter((r) => r.replay.name === name).map((r) => JSON.stringify(r.params)));
    assert.equal(outcomes.size, 2, `${name}: seeds ${SEEDS} should both apply and skip`);
  }
  const choices = new Set(runs.filter((r) => r.replay.name === 'RandomChoice with weights').map((r) => r.params.index));
  assert.ok(choices.size >= 2, 'RandomChoice: the seeds should pick more than one transform');
});

function draws<P>(n: number, seed: number, f: (rng: Rng) => P): P[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => f(rng));
}

test('RandomResizedCrop boxes: inside the image, area and aspect in range, distributed as torchvision', () => {
  const big = torch.zeros([3, 300, 400], { dtype: 'uint8' });
  const t = T.RandomResizedCrop(224);
  const ours = draws(3000, 42, (rng) => t.getParams(big, rng));
  for (const p of ours) {
    assert.ok(p.top >= 0 && p.left >= 0 && p.top + p.height <= 300 && p.left + p.width <= 400, `box ${JSON.stringify(p)} leaves the 300x400 image`);
    const area = (p.height * p.width) / (300 * 400);
    assert.ok(area >= 0.08 - 0.003 && area <= 1, `area fraction ${area} outside [0.08, 1]`);
    const logAspect = Math.log(p.width / p.height);
    assert.ok(Math.abs(logAspect) <= Math.log(4 / 3) + 0.03, `aspect ${p.width / p.height} outside [3/4, 4/3]`);
  }
  const theirs = sampled.resizedCrop as number[][];
  const area = (h: number, w: number) => (h * w) / 120000;
  assertSameMean(ours.map((p) => area(p.height, p.width)), theirs.map(([, , h, w]) => area(h, w)), 'area fraction');
  assertSameMean(ours.map((p) => Math.log(p.width / p.height)), theirs.map(([, , h, w]) => Math.log(w / h)), 'log aspect ratio');
  assertSameMean(ours.map((p) => p.top / (300 - p.height + 1)), theirs.map(([i, , h]) => i / (300 - h + 1)), 'relative top');
});

test('ColorJitter factors are uniform in their ranges and the order a uniform permutation, as torchvision', () => {
  const t = T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 });
  const img = images.u8;
  const ours = draws(3000, 43, (rng) => t.getParams(img, rng));
  const theirs = sampled.colorJitter as [number[], number, number, number, number][];
  const fields = ['brightness', 'contrast', 'saturation', 'hue'] as const;
  fields.forEach((field, k) => {
    const [lo, hi] = field === 'hue' ? [-0.1, 0.1] : [0.6, 1.4];
    const values = ours.map((p) => p[field] as number);
    assert.ok(values.every((v) => v >= lo && v < hi), `${field} outside [${lo}, ${hi})`);
    const { mean, variance } = moments(values);
    const se = (hi - lo) / Math.sqrt(12 * values.length);
    assert.ok(Math.abs(mean - (lo + hi) / 2) < 4 * se, `${field} mean ${mean}`);
    assert.ok(Math.abs(variance / ((hi - lo) ** 2 / 12) - 1) < 0.1, `${field} variance ${variance}`);
    assertSameMean(values, theirs.map((r) => r[k + 1] as number), field);
  });
  for (let fn = 0; fn < 4; fn++) {
    assert.ok(ours.every((p) => [...p.order].sort().join() === '0,1,2,3'), 'order is a permutation of 0..3');
    for (let position = 0; position < 4; position++) {
      const hits = ours.filter((p) => p.order[position] === fn).length;
      assertRate(hits, ours.length, 0.25, `adjustment ${fn} at position ${position}`);
      assertSameMean(ours.map((p) => (p.order[position] === fn ? 1 : 0)), theirs.map((r) => (r[0][position] === fn ? 1 : 0)), `adjustment ${fn} at position ${position}`);
    }
  }
});

test('RandomAffine parameters are in range and distributed as torchvision', () => {
  const t = T.RandomAffine(20, { translate: [0.1, 0.2], scale: [0.8, 1.2], shear: [-5, 5, -3, 3] });
  const ours = draws(3000, 44, (rng) => t.getParams(images.u8, rng));
  const theirs = sampled.affine as [number, [number, number], number, [number, number]][];
  for (const p of ours) {
    assert.ok(Math.abs(p.angle) <= 20 && p.scale >= 0.8 && p.scale <= 1.2 && Math.abs(p.shear[0]) <= 5 && Math.abs(p.shear[1]) <= 3, JSON.stringify(p));
    assert.ok(Number.isInteger(p.translate[0]) && Math.abs(p.translate[0]) <= Math.round(0.1 * 53), `tx ${p.translate[0]}`);
    assert.ok(Number.isInteger(p.translate[1]) && Math.abs(p.translate[1]) <= Math.round(0.2 * 37), `ty ${p.translate[1]}`);
  }
  assertSameMean(ours.map((p) => p.angle ** 2), theirs.map((r) => r[0] ** 2), 'angle²');
  assertSameMean(ours.map((p) => Math.abs(p.translate[0])), theirs.map((r) => Math.abs(r[1][0])), '|tx|');
  assertSameMean(ours.map((p) => Math.abs(p.translate[1])), theirs.map((r) => Math.abs(r[1][1])), '|ty|');
  assertSameMean(ours.map((p) => p.scale), theirs.map((r) => r[2]), 'scale');
  assertSameMean(ours.map((p) => p.shear[1] ** 2), theirs.map((r) => r[3][1] ** 2), 'shear y²');
});

test('RandomErasing boxes: area and aspect in range, as torchvision; applied with probability p', () => {
  const img = torch.zeros([3, 100, 120]);
  const always = T.RandomErasing({ p: 1 });
  const ours = draws(3000, 45, (rng) => always.getParams(img, rng)).filter((p) => p !== null) as T.ErasingParams[];
  const theirs = (sampled.erasing as number[][]).filter(([, , h, w]) => h < 100 || w < 120);
  assertRate(ours.length, 3000, theirs.length / 3000, 'boxes found within 10 attempts', 5);
  for (const p of ours) {
    assert.ok(p.height < 100 && p.width < 120 && p.top + p.height <= 100 && p.left + p.width <= 120, JSON.stringify(p));
    const area = (p.height * p.width) / 12000;
    assert.ok(area >= 0.02 - 0.004 && area <= 0.33 + 0.02, `area ${area}`);
    assert.ok(p.height / p.width >= 0.3 * 0.85 && p.height / p.width <= 3.3 / 0.85, `aspect ${p.height / p.width}`);
  }
  assertSameMean(ours.map((p) => p.height * p.width), theirs.map(([, , h, w]) => h * w), 'erased area');
  assertSameMean(ours.map((p) => Math.log(p.height / p.width)), theirs.map(([, , h, w]) => Math.log(h / w)), 'log aspect');
  ours.forEach((p) => p.value.dispose());
  const sometimes = T.RandomErasing({ p: 0.3 });
  const applied = draws(3000, 46, (rng) => sometimes.getParams(img, rng)).filter((p) => p !== null).length;
  assertRate(applied, 3000, 0.3 * (ours.length / 3000), 'RandomErasing p = 0.3');
});

test('flip, grayscale and RandomApply rates match p; RandomChoice follows its weights', () => {
  const img = images.u8;
  const flip = T.RandomHorizontalFlip({ p: 0.3 });
  assertRate(draws(4000, 47, (rng) => flip.getParams(img, rng).flip).filter(Boolean).length, 4000, 0.3, 'RandomHorizontalFlip p = 0.3');
  const vflip = T.RandomVerticalFlip({ p: 0.8 });
  assertRate(draws(4000, 48, (rng) => vflip.getParams(img, rng).flip).filter(Boolean).length, 4000, 0.8, 'RandomVerticalFlip p = 0.8');
  const gray = T.RandomGrayscale();
  assertRate(draws(4000, 49, (rng) => gray.getParams(img, rng).grayscale).filter(Boolean).length, 4000, 0.1, 'RandomGrayscale p = 0.1');
  const apply = T.RandomApply([T.Grayscale()], { p: 0.6 });
  assertRate(draws(4000, 50, (rng) => apply.getParams(img, rng).apply).filter(Boolean).length, 4000, 0.6, 'RandomApply p = 0.6');
  const choice = T.RandomChoice([T.Grayscale(), T.Grayscale(), T.Grayscale()], { p: [1, 2, 5] });
  const picks = draws(4000, 51, (rng) => choice.getParams(img, rng).index);
  [1 / 8, 2 / 8, 5 / 8].forEach((p, k) => assertRate(picks.filter((i) => i === k).length, 4000, p, `RandomChoice weight of transform ${k}`));
  const uniform = T.RandomChoice([T.Grayscale(), T.Grayscale()]);
  assertRate(draws(4000, 52, (rng) => uniform.getParams(img, rng).index).filter((i) => i === 1).length, 4000, 0.5, 'RandomChoice without weights');
});

test('RandomCrop and RandomRotation draw uniformly over their ranges', () => {
  const t = T.RandomCrop(24, { padding: 4 });
  const tops = draws(3000, 53, (rng) => t.getParams(images.u8, rng).top);
  // 37 + 8 rows of padded image, 24 cropped: tops 0..21.
  assert.deepEqual([...new Set(tops)].sort((a, b) => a - b), Array.from({ length: 22 }, (_, i) => i));
  assert.ok(Math.abs(moments(tops).mean - 10.5) < 4 * Math.sqrt((22 * 22 - 1) / 12 / 3000));
  const rotation = T.RandomRotation([-40, 40]);
  const angles = draws(3000, 54, (rng) => rotation.getParams(images.u8, rng).angle);
  assert.ok(angles.every((a) => a >= -40 && a < 40));
  const { mean, variance } = moments(angles);
  assert.ok(Math.abs(mean) < 4 * Math.sqrt(80 ** 2 / 12 / 3000), `mean angle ${mean}`);
  assert.ok(Math.abs(variance / (80 ** 2 / 12) - 1) < 0.1, `angle variance ${variance}`);
});

test('random transforms are seeded: the same Rng seed gives the same output, other seeds others', () => {
  const img = images.u8;
  for (const replay of replays.filter((r) => r.patch && r.inputs.includes('u8'))) {
    const a = replay.transform(img, new Rng(99));
    const b = replay.transform(img, new Rng(99));
    assertSameImage(a, toJson(b), `${replay.name}: seed 99 twice`);
    const outputs = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => JSON.stringify([replay.transform(img, new Rng(s)).shape, ...replay.transform(img, new Rng(s)).toFlatArray().slice(0, 2000)])));
    assert.ok(outputs.size > 1, `${replay.name}: eight seeds all gave the same output`);
  }
});

test('transforms check their options', () => {
  assert.throws(() => T.RandomResizedCrop(10, { scale: [0.9, 0.1] }), /scale must be \[min, max\]/);
  assert.throws(() => T.RandomHorizontalFlip({ p: 1.5 }), /p must be a probability/);
  assert.throws(() => T.ColorJitter({ hue: 0.7 }), /hue must be a number or \[min, max\] within \[-0.5,0.5\]/);
  assert.throws(() => T.RandomErasing({ value: 'noise' as 'random' }), /'random'/);
  assert.throws(() => T.RandomCrop(60)(images.u8, new Rng(0)), /padIfNeeded/);
  assert.throws(() => T.RandomRotation(-5), /non-negative/);
  assert.throws(() => T.functional.rotate(images.u8, 10, { interpolation: 'bicubic' }), /'nearest', 'bilinear'/);
});
