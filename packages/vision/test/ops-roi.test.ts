// RoI ops against torchvision.ops 0.14 (ops_ref.py): roiAlign (aligned or not, sampling ratios,
// spatial scales, boxes as Tensor[K, 5] or per image), roiPool, the position-sensitive pair and
// MultiScaleRoIAlign (several levels and image sizes, its LevelMapper and cached scales),
// forward and gradient with respect to the features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as ops from '../src/ops/index.js';
import { checkCases, randomBoxes, specialBoxes, type OpCase } from './helpers/ops-cases.js';

torch.setNumThreads(2);

const grad = (t: Tensor): Tensor => t.detach().requiresGrad_();

function report(t: { diagnostic: (m: string) => void }, outcomes: { label: string; maxDiff: number; maxRef: number }[]): void {
  t.diagnostic(`${outcomes.length} cases; largest max |Δ| ${Math.max(...outcomes.map((o) => o.maxDiff))} (largest reference magnitude ${Math.max(...outcomes.map((o) => o.maxRef))})`);
}

/** One Tensor[L, 4] per image, boxes in image coordinates. */
function boxesPerImage(counts: number[], imageSize: number, dtype: 'float32' | 'float64' = 'float32'): Tensor[] {
  return counts.map((n) => randomBoxes(n, imageSize, { dtype, minSide: 1 }));
}

test('roiAlign equals torchvision: aligned or not, sampling ratios, spatial scales, both box forms, forward and gradient', (t) => {
  torch.manualSeed(21);
  const cases: OpCase[] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    const input = grad(torch.randn([2, 3, 16, 20], { dtype }));
    const perImage = boxesPerImage([5, 3], 64, dtype);
    perImage[0] = torch.cat([perImage[0], specialBoxes(dtype).mul(0.5)]);
    const rois = ops.convertBoxesToRoiFormat(perImage);
    for (const aligned of [false, true]) {
      for (const samplingRatio of [-1, 0, 2]) {
        for (const [outputSize, spatialScale] of [[7, 0.25], [[3, 5], 0.125]] as const) {
          const label = `roiAlign ${dtype} aligned=${aligned} sampling=${samplingRatio} out=${JSON.stringify(outputSize)} scale=${spatialScale}`;
          const kwargs = { output_size: outputSize as number | number[], spatial_scale: spatialScale, sampling_ratio: samplingRatio, aligned };
          const options = { spatialScale, samplingRatio, aligned };
          cases.push({ label: `${label} Tensor[K, 5]`, fn: 'ops.roi_align', args: [input, rois], kwargs, iris: () => ops.roiAlign(input, rois, outputSize, options) });
          if (samplingRatio === 2) cases.push({ label: `${label} list`, fn: 'ops.roi_align', args: [input, perImage], kwargs, iris: () => ops.roiAlign(input, perImage, outputSize, options) });
        }
      }
    }
  }
  const input = grad(torch.randn([1, 4, 9, 9]));
  const module = new ops.RoIAlign([2, 2], 1.0, 1, true);
  const boxes = [randomBoxes(6, 9)];
  cases.push({ label: 'RoIAlign module', fn: 'ops.roi_align', args: [input, boxes, [2, 2], 1.0, 1, true], iris: () => module.call(input, boxes) });
  report(t, checkCases('ops_ref.py', cases));
  assert.equal(String(module), 'RoIAlign(output_size=(2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=True)');
});

test('roiPool, psRoiAlign and psRoiPool equal torchvision, forward and gradient', (t) => {
  torch.manualSeed(22);
  const cases: OpCase[] = [];
  const input = grad(torch.randn([2, 3, 12, 10]));
  const perImage = boxesPerImage([4, 6], 40);
  const rois = ops.convertBoxesToRoiFormat(perImage);
  for (const [outputSize, spatialScale] of [[2, 0.25], [[3, 4], 0.3]] as const) {
    const size = outputSize as number | number[];
    cases.push({ label: `roiPool out=${JSON.stringify(size)}`, fn: 'ops.roi_pool', args: [input, rois, size, spatialScale], iris: () => ops.roiPool(input, rois, size, spatialScale) });
    cases.push({ label: `roiPool list out=${JSON.stringify(size)}`, fn: 'ops.roi_pool', args: [input, perImage, size, spatialScale], iris: () => ops.roiPool(input, perImage, size, spatialScale) });
  }
  const ps = grad(torch.randn([2, 18, 12, 10]));
  for (const samplingRatio of [-1, 2]) {
    cases.push({ label: `psRoiAlign sampling=${samplingRatio}`, fn: 'ops.ps_roi_align', args: [ps, rois, 3, 0.25, samplingRatio], iris: () => ops.psRoiAlign(ps, rois, 3, { spatialScale: 0.25, samplingRatio }) });
  }
  cases.push({ label: 'psRoiPool', fn: 'ops.ps_roi_pool', args: [ps, perImage, [3, 2], 0.25], iris: () => ops.psRoiPool(ps, perImage, [3, 2], 0.25) });
  const float64 = grad(torch.randn([1, 2, 8, 8], { dtype: 'float64' }));
  const boxes64 = boxesPerImage([5], 32, 'float64');
  cases.push({ label: 'roiPool float64', fn: 'ops.roi_pool', args: [float64, boxes64, 3, 0.25], iris: () => ops.roiPool(float64, boxes64, 3, 0.25) });
  report(t, checkCases('ops_ref.py', cases));
});

/** Feature maps of a padded batch of `imageSize` at the given strides, named as a detector's FPN names them. */
function pyramid(batch: number, channels: number, imageSize: [number, number], strides: number[], names: string[]): [string[], Tensor[]] {
  return [names, strides.map((s) => grad(torch.randn([batch, channels, Math.ceil(imageSize[0] / s), Math.ceil(imageSize[1] / s)])))];
}

test('MultiScaleRoIAlign equals torchvision: several levels, image sizes and sampling ratios, cached scales, one level', (t) => {
  torch.manualSeed(23);
  const cases: OpCase[] = [];
  const configs = [
    { label: 'Faster R-CNN, two images', image: [800, 608] as [number, number], shapes: [[800, 608], [760, 590]], strides: [4, 8, 16, 32, 64], names: ['0', '1', '2', '3', 'pool'], use: ['0', '1', '2', '3'], out: 7, sampling: 2 },
    { label: 'small image, three levels', image: [320, 320] as [number, number], shapes: [[320, 320]], strides: [8, 16, 32], names: ['p3', 'p4', 'p5'], use: ['p5', 'p3', 'p4'], out: [5, 3], sampling: -1 },
    { label: 'non-power-of-two sizes', image: [300, 500] as [number, number], shapes: [[300, 500], [290, 480]], strides: [4, 8, 16], names: ['a', 'b', 'c'], use: ['a', 'b', 'c'], out: 4, sampling: 0 },
    { label: 'one level', image: [128, 96] as [number, number], shapes: [[128, 96]], strides: [8], names: ['feat'], use: ['feat'], out: 3, sampling: 2 },
  ];
  for (const c of configs) {
    const [names, features] = pyramid(c.shapes.length, 4, c.image, c.strides, c.names);
    const boxes = c.shapes.map(([h, w]) => torch.cat([randomBoxes(12, Math.min(h, w), { minSide: 2 }), randomBoxes(3, Math.min(h, w) / 8, { minSide: 1 })]));
    const args = [c.use, c.out, c.sampling, names, features, boxes, c.shapes];
    cases.push({
      label: `MultiScaleRoIAlign ${c.label}`,
      fn: 'ops.MultiScaleRoIAlign',
      args,
      iris: () => new ops.MultiScaleRoIAlign(c.use, c.out, c.sampling).call(new Map(names.map((n, i) => [n, features[i]])), boxes, c.shapes),
    });
    // Scales come from the first call's sizes and stay, as in torchvision 0.14.
    const first = [[c.image[0] * 2, c.image[1] * 2]];
    cases.push({
      label: `MultiScaleRoIAlign ${c.label}, scales from an earlier call`,
      fn: 'ops.MultiScaleRoIAlign',
      args,
      kwargs: { first_image_shapes: first },
      iris: () => {
        const m = new ops.MultiScaleRoIAlign(c.use, c.out, c.sampling);
        const x = new Map(names.map((n, i) => [n, features[i]]));
        torch.noGrad(() => m.call(x, boxes, first)).dispose();
        return m.call(x, boxes, c.shapes);
      },
    });
  }
  const levelBoxes = [torch.cat([randomBoxes(20, 900, { minSide: 1 }), specialBoxes().add(1)])];
  cases.push({ label: 'LevelMapper 2..5', fn: 'ops.poolers.LevelMapper', args: [2, 5, levelBoxes], iris: () => new ops.LevelMapper(2, 5).call(levelBoxes) });
  cases.push({ label: 'LevelMapper canonical 112 / 3', fn: 'ops.poolers.LevelMapper', args: [1, 4, levelBoxes, 112, 3], iris: () => new ops.LevelMapper(1, 4, 112, 3).call(levelBoxes) });
  report(t, checkCases('ops_ref.py', cases));

  // Every level is used in the big configuration, so the comparison covers each.
  const [, features] = pyramid(1, 2, [800, 608], [4, 8, 16, 32], ['0', '1', '2', '3']);
  const m = new ops.MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
  m.call(new Map(features.map((f, i) => [String(i), f])), [randomBoxes(50, 608, { minSide: 2 })], [[800, 608]]);
  assert.deepEqual(m.scales, [0.25, 0.125, 0.0625, 0.03125]);
  const levels = m.mapLevels!.call([torch.tensor([[0, 0, 20, 20], [0, 0, 224, 224], [0, 0, 500, 500], [0, 0, 900, 900]])]);
  assert.deepEqual(levels.toFlatArray(), [0, 2, 3, 3]);
});

test('RoI ops name the argument and the expected shape on bad input', () => {
  const x = torch.zeros([1, 4, 8, 8]);
  assert.throws(() => ops.roiAlign(x, torch.zeros([3, 4]), 2), /roiAlign: boxes must be a Tensor\[K, 5\].*\[3, 4\]/);
  assert.throws(() => ops.roiAlign(x, [torch.zeros([3, 5])], 2), /roiAlign: boxes\[0\] must be a Tensor\[L, 4\]/);
  assert.throws(() => ops.roiPool(x, [torch.zeros([1, 4])], 0), /roiPool: outputSize must be a positive integer/);
  assert.throws(() => ops.psRoiAlign(x, [torch.zeros([1, 4])], 3), /psRoiAlign: input must be \[N, C, H, W\] with C a multiple of outputSize 3×3 = 9/);
  const m = new ops.MultiScaleRoIAlign(['a'], 2, 2);
  assert.throws(() => m.call(new Map([['b', x]]), [torch.zeros([1, 4])], [[32, 32]]), /none of the feature maps \["a"\] is in the input, which has \["b"\]/);
  assert.throws(() => m.call(new Map([['a', x]]), [torch.zeros([1, 4])], []), /imageShapes is empty/);
});
