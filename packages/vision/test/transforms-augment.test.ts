// Auto-augmentation (TrivialAugmentWide, RandAugment, AutoAugment), batch mixing (MixUp, CutMix)
// and the classification presets against torchvision 0.14 (and its references/classification code):
// replayed with Iris's draws they give torchvision's images, and the draws have its distributions.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as T from '../src/transforms/index.js';
import { Rng } from '../src/data/rng.js';
import { runPython, toJson, type JsonTensor } from './helpers/reference.js';
import { assertRate, assertSameImage, assertSameMean, moments, seededImage, type Patch } from './transforms-helpers.js';

const images: Record<string, Tensor> = {
  u8: seededImage([3, 37, 53], 'uint8', 21),
  gray8: seededImage([1, 30, 26], 'uint8', 22),
  batchF: seededImage([4, 3, 19, 23], 'float32', 23),
  labels: torch.tensor([0, 3, 1, 4], { dtype: 'int64' }),
};
const batch: T.LabeledBatch = { images: images.batchF, labels: images.labels };

/** torch.randint's draws for one op: the op index, its magnitude bin (TrivialAugmentWide), its sign. */
function opDraws(op: T.AugmentOp, withBin: boolean): number[] {
  return [op.opIndex, ...(withBin && op.magnitudeBin !== null ? [op.magnitudeBin] : []), ...(op.negate === null ? [] : [op.negate ? 1 : 0])];
}

/** The first seed at which getParams picks each key, then `extra` more seeds. */
function coveringSeeds(keys: number, keyOf: (seed: number) => number[], extra: number): number[] {
  const seen = new Set<number>();
  const seeds: number[] = [];
  for (let seed = 0; seen.size < keys || seeds.length < keys + extra; seed++) {
    const ks = keyOf(seed);
    if (ks.some((k) => !seen.has(k)) || seen.size === keys) seeds.push(seed);
    ks.forEach((k) => seen.add(k));
    if (seed > 10000) throw new Error('coveringSeeds: keys not covered');
  }
  return seeds;
}

interface Replay {
  name: string;
  input: string;
  seeds: number[];
  run: (rng: Rng) => Tensor | T.LabeledBatch;
  patch: (rng: Rng) => Patch;
  torch: string;
}

const trivial = T.TrivialAugmentWide();
const trivialBilinear = T.TrivialAugmentWide({ interpolation: 'bilinear', fill: [10, 120, 250], numMagnitudeBins: 11 });
const randAugment = T.RandAugment();
const randAugmentStrong = T.RandAugment({ numOps: 3, magnitude: 30, interpolation: 'bilinear', fill: 128 });
const autoAugment = (policy: T.AutoAugmentPolicy) => T.AutoAugment({ policy });
const mixUp = T.MixUp(5, { alpha: 0.2 });
const cutMix = T.CutMix(5, { alpha: 1.0 });
const preset = T.ClassificationPresetTrain({ cropSize: 20, autoAugmentPolicy: 'ta_wide' });
const presetParts = { crop: T.RandomResizedCrop(20), flip: T.RandomHorizontalFlip(), augment: T.TrivialAugmentWide({ interpolation: 'bilinear' }) };
const eval_ = T.ClassificationPresetEval({ cropSize: 24, resizeSize: 28 });

const trivialSeeds = coveringSeeds(14, (s) => [trivial.getParams(images.u8, new Rng(s)).opIndex], 6);
const replays: Replay[] = [
  {
    name: 'TrivialAugmentWide, every op',
    input: 'u8',
    seeds: trivialSeeds,
    run: (rng) => trivial(images.u8, rng),
    patch: (rng) => ({ randint: opDraws(trivial.getParams(images.u8, rng), true) }),
    torch: 'T.TrivialAugmentWide()(img)',
  },
  {
    name: 'TrivialAugmentWide bilinear with a fill and 11 bins',
    input: 'u8',
    seeds: trivialSeeds,
    run: (rng) => trivialBilinear(images.u8, rng),
    patch: (rng) => ({ randint: opDraws(trivialBilinear.getParams(images.u8, rng), true) }),
    torch: 'T.TrivialAugmentWide(num_magnitude_bins=11, interpolation=I.BILINEAR, fill=[10, 120, 250])(img)',
  },
  {
    name: 'TrivialAugmentWide on one channel',
    input: 'gray8',
    seeds: trivialSeeds.slice(0, 14),
    run: (rng) => trivial(images.gray8, rng),
    patch: (rng) => ({ randint: opDraws(trivial.getParams(images.gray8, rng), true) }),
    torch: 'T.TrivialAugmentWide()(img)',
  },
  {
    name: 'RandAugment',
    input: 'u8',
    seeds: coveringSeeds(14, (s) => randAugment.getParams(images.u8, new Rng(s)).map((o) => o.opIndex), 4),
    run: (rng) => randAugment(images.u8, rng),
    patch: (rng) => ({ randint: randAugment.getParams(images.u8, rng).flatMap((o) => opDraws(o, false)) }),
    torch: 'T.RandAugment()(img)',
  },
  {
    name: 'RandAugment 3 ops at the top magnitude, bilinear, fill',
    input: 'u8',
    seeds: [0, 1, 2, 3, 4, 5, 6, 7],
    run: (rng) => randAugmentStrong(images.u8, rng),
    patch: (rng) => ({ randint: randAugmentStrong.getParams(images.u8, rng).flatMap((o) => opDraws(o, false)) }),
    torch: 'T.RandAugment(num_ops=3, magnitude=30, interpolation=I.BILINEAR, fill=128)(img)',
  },
  ...(['imagenet', 'cifar10', 'svhn'] as const).map((policy) => ({
    name: `AutoAugment ${policy}`,
    input: 'u8',
    seeds: coveringSeeds(25, (s) => [autoAugment(policy).getParams(images.u8, new Rng(s)).policyIndex], 0),
    run: (rng: Rng) => autoAugment(policy)(images.u8, rng),
    patch: (rng: Rng) => {
      const p = autoAugment(policy).getParams(images.u8, rng);
      return { randint: [p.policyIndex, ...p.signs], rand: p.probs };
    },
    torch: `T.AutoAugment(T.AutoAugmentPolicy('${policy}'))(img)`,
  })),
  {
    name: 'MixUp',
    input: 'batchF',
    seeds: [1, 2, 3, 4, 5, 6],
    run: (rng) => mixUp(batch, rng),
    patch: (rng) => {
      const p = mixUp.getParams(batch, rng);
      return p === null ? { rand: [0.99] } : { rand: [0], dirichlet: p.lam };
    },
    torch: 'RandomMixup(5, p=0.5, alpha=0.2)(batchF, labels)',
  },
  {
    name: 'CutMix',
    input: 'batchF',
    seeds: [1, 2, 3, 4, 5, 6, 7, 8],
    run: (rng) => cutMix(batch, rng),
    patch: (rng) => {
      const p = cutMix.getParams(batch, rng);
      return p === null ? { rand: [0.99] } : { rand: [0], dirichlet: p.sampledLam, randint: p.center };
    },
    torch: 'RandomCutmix(5, p=0.5, alpha=1.0)(batchF, labels)',
  },
  {
    name: "ClassificationPresetTrain (ta_wide) as torchvision's reference preset",
    input: 'u8',
    seeds: [1, 2, 3, 4, 5, 6],
    run: (rng) => preset(images.u8, rng),
    patch: (rng) => {
      const box = presetParts.crop.getParams(images.u8, rng);
      const flip = presetParts.flip.getParams(images.u8, rng).flip;
      const op = presetParts.augment.getParams(images.u8, rng);
      return { get_params: { class: 'RandomResizedCrop', result: [box.top, box.left, box.height, box.width] }, rand: [flip ? 0 : 0.99], randint: opDraws(op, true) };
    },
    torch:
      'T.Compose([T.RandomResizedCrop(20, antialias=True), T.RandomHorizontalFlip(0.5), T.TrivialAugmentWide(interpolation=I.BILINEAR), T.ConvertImageDtype(torch.float), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])(img)',
  },
  {
    name: "ClassificationPresetEval as torchvision's reference preset",
    input: 'u8',
    seeds: [0],
    run: (rng) => eval_(images.u8, rng),
    patch: () => ({}),
    torch: 'T.Compose([T.Resize(28, antialias=True), T.CenterCrop(24), T.ConvertImageDtype(torch.float), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])(img)',
  },
];

const runs = replays.flatMap((replay) => replay.seeds.map((seed) => ({ replay, seed, output: replay.run(new Rng(seed)), patch: replay.patch(new Rng(seed)) })));

const samples = {
  beta02: { expr: 'float(torch._sample_dirichlet(torch.tensor([0.2, 0.2], dtype=torch.float64))[0])', seed: 0, n: 4000 },
  beta25: { expr: 'float(torch._sample_dirichlet(torch.tensor([2.0, 5.0], dtype=torch.float64))[0])', seed: 0, n: 4000 },
};
let replayed: (JsonTensor | JsonTensor[])[] = [];
let sampled: Record<keyof typeof samples, number[]>;

before(() => {
  replayed = runPython('transforms_ref.py', {
    kind: 'replay',
    images: Object.fromEntries(Object.entries(images).map(([k, v]) => [k, toJson(v)])),
    cases: runs.map((r) => ({ input: r.replay.input, expr: r.replay.torch, patch: r.patch })),
  });
  const names = Object.keys(samples) as (keyof typeof samples)[];
  const out = runPython<number[][]>('transforms_ref.py', { kind: 'sample', cases: names.map((k) => samples[k]) });
  sampled = Object.fromEntries(names.map((k, i) => [k, out[i]])) as typeof sampled;
});

for (const replay of replays) {
  test(`${replay.name} equals torchvision's with the same draws`, () => {
    runs.forEach((r, i) => {
      if (r.replay !== replay) return;
      const what = `${replay.name}, seed ${r.seed}, draws ${JSON.stringify(r.patch)}`;
      if (!(r.output instanceof torch.Tensor)) {
        const expected = replayed[i] as JsonTensor[];
        assertSameImage(r.output.images, expected[0], `${what}: images`);
        assertSameImage(r.output.labels, expected[1], `${what}: labels`);
      } else {
        assertSameImage(r.output, replayed[i] as JsonTensor, what);
      }
    });
  });
}

test('the replays exercise every op, policy branch and mixing outcome', () => {
  const trivialOps = new Set(trivialSeeds.map((s) => trivial.getParams(images.u8, new Rng(s)).op));
  assert.equal(trivialOps.size, 14);
  const mixed = [1, 2, 3, 4, 5, 6].map((s) => mixUp.getParams(batch, new Rng(s)));
  assert.ok(mixed.some((p) => p === null) && mixed.some((p) => p !== null), 'MixUp seeds should both mix and not');
  const cut = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => cutMix.getParams(batch, new Rng(s)));
  assert.ok(cut.some((p) => p === null) && cut.some((p) => p !== null && p.box[2] > p.box[0]), 'CutMix seeds should both cut and not');
  const autoOps = new Set(
    (['imagenet', 'cifar10', 'svhn'] as const).flatMap((policy) => runs.filter((r) => r.replay.name === `AutoAugment ${policy}`).flatMap((r) => autoAugment(policy).getParams(images.u8, new Rng(r.seed)).ops.map((o) => o.op))),
  );
  assert.equal(autoOps.size, 14, `AutoAugment replays ran ${[...autoOps]}`);
});

function draws<P>(n: number, seed: number, f: (rng: Rng) => P): P[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => f(rng));
}

test('TrivialAugmentWide and RandAugment pick ops, bins and signs uniformly', () => {
  const ops = draws(4200, 61, (rng) => trivial.getParams(images.u8, rng));
  for (let k = 0; k < 14; k++) assertRate(ops.filter((o) => o.opIndex === k).length, ops.length, 1 / 14, `TrivialAugmentWide op ${k}`);
  const binned = ops.filter((o) => o.magnitudeBin !== null);
  assert.deepEqual([...new Set(binned.map((o) => o.magnitudeBin))].sort((a, b) => a! - b!), Array.from({ length: 31 }, (_, i) => i));
  const bins = binned.map((o) => o.magnitudeBin as number);
  assert.ok(Math.abs(moments(bins).mean - 15) < 4 * Math.sqrt((31 * 31 - 1) / 12 / bins.length), 'mean magnitude bin');
  const signed = ops.filter((o) => o.negate !== null);
  assertRate(signed.filter((o) => o.negate).length, signed.length, 0.5, 'negated magnitudes');
  for (const o of ops) {
    if (o.op === 'Rotate') assert.ok(Math.abs(o.magnitude) <= 135);
    if (o.op === 'Posterize') assert.ok(o.magnitude >= 2 && o.magnitude <= 8 && Number.isInteger(o.magnitude));
    if (o.op === 'Solarize') assert.ok(o.magnitude >= 0 && o.magnitude <= 255);
  }
  const picks = draws(1500, 62, (rng) => randAugment.getParams(images.u8, rng)).flat();
  for (let k = 0; k < 14; k++) assertRate(picks.filter((o) => o.opIndex === k).length, picks.length, 1 / 14, `RandAugment op ${k}`);
});

test('Beta and Gamma samplers have the right moments and match torch._sample_dirichlet', () => {
  for (const shape of [0.3, 1, 3.5]) {
    const g = draws(4000, 63, (rng) => T.sampleGamma(rng, shape));
    const { mean, variance } = moments(g);
    assert.ok(g.every((x) => x >= 0));
    assert.ok(Math.abs(mean - shape) < 4 * Math.sqrt(shape / g.length), `Gamma(${shape}) mean ${mean}`);
    assert.ok(Math.abs(variance / shape - 1) < 0.15, `Gamma(${shape}) variance ${variance}`);
  }
  const cases: [number, number, number[]][] = [
    [0.2, 0.2, sampled.beta02],
    [2, 5, sampled.beta25],
  ];
  for (const [a, b, theirs] of cases) {
    const ours = draws(4000, 64, (rng) => T.sampleBeta(rng, a, b));
    assert.ok(ours.every((x) => x >= 0 && x <= 1));
    const { mean, variance } = moments(ours);
    const expectedVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(Math.abs(mean - a / (a + b)) < 4 * Math.sqrt(expectedVariance / ours.length), `Beta(${a}, ${b}) mean ${mean}`);
    assert.ok(Math.abs(variance / expectedVariance - 1) < 0.1, `Beta(${a}, ${b}) variance ${variance}, expected ${expectedVariance}`);
    assertSameMean(ours, theirs, `Beta(${a}, ${b})`);
    assertSameMean(ours.map((x) => x * x), theirs.map((x) => x * x), `Beta(${a}, ${b}) second moment`);
  }
});

test('MixUp and CutMix mix with probability p; CutMix boxes lie inside and set lambda by their area', () => {
  const mix = T.MixUp(5, { p: 0.4, alpha: 0.2 });
  const lams = draws(3000, 65, (rng) => mix.getParams(batch, rng));
  assertRate(lams.filter((p) => p !== null).length, lams.length, 0.4, 'MixUp p = 0.4');
  const cut = T.CutMix(5, { p: 1 });
  const boxes = draws(3000, 66, (rng) => cut.getParams(batch, rng)!);
  for (const { box, lam, center } of boxes) {
    const [x1, y1, x2, y2] = box;
    assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 23 && y2 <= 19 && x1 <= x2 && y1 <= y2, `box [${box}]`);
    assert.ok(center[0] >= 0 && center[0] < 23 && center[1] >= 0 && center[1] < 19);
    assert.equal(lam, 1 - ((x2 - x1) * (y2 - y1)) / (23 * 19));
  }
  assert.ok(Math.abs(moments(boxes.map((b) => b.center[0])).mean - 11) < 4 * Math.sqrt((23 * 23 - 1) / 12 / 3000));
  assertSameMean(boxes.map((b) => b.sampledLam), draws(3000, 67, (rng) => T.sampleBeta(rng, 1, 1)), 'CutMix lambda ~ Beta(1, 1)');
  const { images: images2, labels: labels2 } = cut(batch, new Rng(3));
  assert.deepEqual(labels2.shape, [4, 5]);
  labels2.sum(1).toFlatArray().forEach((s) => assert.ok(Math.abs(s - 1) < 1e-6, `soft labels sum to ${s}`));
  assert.deepEqual(images2.shape, [4, 3, 19, 23]);
  assert.throws(() => mix({ images: images.batchF.to('uint8'), labels: images.labels }, new Rng(0)), /ToDtype/);
  assert.throws(() => mix({ images: images.batchF, labels: images.labels.view([2, 2]) }, new Rng(0)), /class indices \[N\]/);
  const kept = T.RandomChoice([T.MixUp(5, { p: 1 }), T.CutMix(5, { p: 1 })])({ ...batch, indices: [7, 8, 9, 10] } as T.LabeledBatch, new Rng(1));
  assert.deepEqual((kept as T.LabeledBatch & { indices: number[] }).indices, [7, 8, 9, 10], 'other batch fields pass through');
});

test('augmentations are seeded: the same Rng seed gives the same output', () => {
  for (const t of [trivial, randAugment, autoAugment('imagenet'), preset]) {
    for (const seed of [5, 6]) assertSameImage(t(images.u8, new Rng(seed)), toJson(t(images.u8, new Rng(seed))), `seed ${seed}`);
  }
  for (const t of [mixUp, cutMix]) {
    const { images: a, labels: la } = t(batch, new Rng(2));
    const { images: b, labels: lb } = t(batch, new Rng(2));
    assertSameImage(a, toJson(b), 'mixed images');
    assertSameImage(la, toJson(lb), 'mixed labels');
  }
  assert.throws(() => T.TrivialAugmentWide()(images.u8.float().div(255), new Rng(trivialSeeds.find((s) => ['Posterize', 'Equalize'].includes(trivial.getParams(images.u8, new Rng(s)).op))!)), /uint8/);
});
