// @iris/vision/ops box functions against torchvision.ops 0.14 (ops_ref.py): NMS indices, box
// conversion, clipping, areas, the IoU family and the box and focal losses, forward and gradient,
// on random boxes of several sizes and on degenerate ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import * as ops from '../src/ops/index.js';
import { checkCases, randomBoxes, specialBoxes, type OpCase } from './helpers/ops-cases.js';

torch.setNumThreads(2);

const grad = (t: Tensor): Tensor => t.detach().requiresGrad_();

function report(t: { diagnostic: (m: string) => void }, outcomes: { label: string; maxDiff: number; maxRef: number }[]): void {
  const worst = outcomes.reduce((a, b) => (b.maxDiff / Math.max(b.maxRef, 1e-12) > a.maxDiff / Math.max(a.maxRef, 1e-12) ? b : a));
  t.diagnostic(`${outcomes.length} cases; largest max |Δ| ${Math.max(...outcomes.map((o) => o.maxDiff))}; worst relative: ${worst.label} (${worst.maxDiff} of ${worst.maxRef})`);
}

test('nms and batchedNms keep the same indices as torchvision (distinct scores, several sizes and thresholds)', (t) => {
  torch.manualSeed(11);
  const cases: OpCase[] = [];
  for (const [n, dtype] of [[1, 'float32'], [10, 'float32'], [100, 'float32'], [600, 'float32'], [80, 'float64']] as const) {
    const boxes = randomBoxes(n, 100, { dtype });
    // A permutation: every score distinct, so the kept set has one answer.
    const scores = torch.randperm(n, { dtype }).div(n);
    for (const iou of [0.3, 0.5, 0.7]) {
      cases.push({ label: `nms n=${n} ${dtype} iou=${iou}`, fn: 'ops.nms', args: [boxes, scores, iou], iris: () => ops.nms(boxes, scores, iou) });
    }
  }
  // Below and above torchvision's 4000-coordinate CPU threshold: the coordinate trick, then one NMS per class.
  for (const n of [50, 900, 1200]) {
    const boxes = randomBoxes(n, 200);
    const scores = torch.randperm(n, { dtype: 'float32' }).div(n);
    const idxs = torch.randint(0, 5, [n]);
    cases.push({ label: `batchedNms n=${n}`, fn: 'ops.batched_nms', args: [boxes, scores, idxs, 0.5], iris: () => ops.batchedNms(boxes, scores, idxs, 0.5) });
    cases.push({ label: `coordinate trick n=${n}`, fn: 'ops.boxes._batched_nms_coordinate_trick', args: [boxes, scores, idxs, 0.4], iris: () => ops.batchedNmsCoordinateTrick(boxes, scores, idxs, 0.4) });
    cases.push({ label: `vanilla n=${n}`, fn: 'ops.boxes._batched_nms_vanilla', args: [boxes, scores, idxs, 0.4], iris: () => ops.batchedNmsVanilla(boxes, scores, idxs, 0.4) });
  }
  const empty = torch.zeros([0, 4]);
  cases.push({ label: 'batchedNms of no boxes', fn: 'ops.batched_nms', args: [empty, torch.zeros([0]), torch.zeros([0], { dtype: 'int64' }), 0.5], iris: () => ops.batchedNms(empty, torch.zeros([0]), torch.zeros([0], { dtype: 'int64' }), 0.5) });
  const outcomes = checkCases('ops_ref.py', cases);
  report(t, outcomes);
  // Not vacuous: NMS dropped boxes in the big cases.
  const big = randomBoxes(600, 100);
  assert.ok(ops.nms(big, torch.rand([600]), 0.3).shape[0] < 600);
});

test('boxConvert (every format pair), clipBoxesToImage, removeSmallBoxes, boxArea and masksToBoxes equal torchvision, with gradients', (t) => {
  torch.manualSeed(12);
  const formats: ops.BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
  const cases: OpCase[] = [];
  for (const shape of [[7, 4], [2, 3, 4]]) {
    const boxes = grad(torch.rand(shape).mul(50));
    for (const inFmt of formats) {
      for (const outFmt of formats) {
        cases.push({ label: `boxConvert ${inFmt}→${outFmt} [${shape}]`, fn: 'ops.box_convert', args: [boxes, inFmt, outFmt], iris: () => ops.boxConvert(boxes, inFmt, outFmt) });
      }
    }
  }
  for (const shape of [[9, 4], [3, 5, 4]]) {
    const boxes = grad(torch.rand(shape).mul(140).sub(20));
    cases.push({ label: `clipBoxesToImage [${shape}]`, fn: 'ops.clip_boxes_to_image', args: [boxes, [50, 80]], iris: () => ops.clipBoxesToImage(boxes, [50, 80]) });
  }
  const small = torch.cat([randomBoxes(30, 20, { minSide: 0 }), specialBoxes()]);
  for (const minSize of [0, 0.5, 3]) {
    cases.push({ label: `removeSmallBoxes ${minSize}`, fn: 'ops.remove_small_boxes', args: [small, minSize], iris: () => ops.removeSmallBoxes(small, minSize) });
  }
  const areaBoxes = grad(torch.cat([randomBoxes(12, 30), specialBoxes()]));
  cases.push({ label: 'boxArea', fn: 'ops.box_area', args: [areaBoxes], iris: () => ops.boxArea(areaBoxes) });
  const half = torch.cat([randomBoxes(5, 30), specialBoxes()]).half();
  cases.push({ label: 'boxArea float16 (upcast to float32)', fn: 'ops.box_area', args: [half], iris: () => ops.boxArea(half) });
  const masks = torch.rand([4, 10, 12]).gt(0.7);
  cases.push({ label: 'masksToBoxes', fn: 'ops.masks_to_boxes', args: [masks], iris: () => ops.masksToBoxes(masks) });
  report(t, checkCases('ops_ref.py', cases));
});

test('boxIou, generalizedBoxIou, distanceBoxIou and completeBoxIou equal torchvision, forward and gradient, degenerate boxes included', (t) => {
  torch.manualSeed(13);
  const fns = [
    ['box_iou', ops.boxIou],
    ['generalized_box_iou', ops.generalizedBoxIou],
    ['distance_box_iou', ops.distanceBoxIou],
    ['complete_box_iou', ops.completeBoxIou],
  ] as const;
  const cases: OpCase[] = [];
  const pairs: [string, Tensor, Tensor][] = [
    ['1×1', randomBoxes(1, 10), randomBoxes(1, 10)],
    ['7×5', randomBoxes(7, 20), randomBoxes(5, 20)],
    ['40×33', randomBoxes(40, 60), randomBoxes(33, 60)],
    ['degenerate 8×8', specialBoxes(), specialBoxes()],
    ['degenerate vs random', specialBoxes(), randomBoxes(6, 50)],
    ['float64 9×4', randomBoxes(9, 20, { dtype: 'float64' }), randomBoxes(4, 20, { dtype: 'float64' })],
  ];
  for (const [what, a, b] of pairs) {
    for (const [py, fn] of fns) {
      const b1 = grad(a);
      const b2 = grad(b);
      cases.push({ label: `${py} ${what}`, fn: `ops.${py}`, args: [b1, b2], iris: () => fn(b1, b2) });
    }
  }
  const b1 = grad(randomBoxes(6, 20));
  const b2 = grad(randomBoxes(4, 20));
  cases.push({ label: 'distance_box_iou eps 1e-3', fn: 'ops.distance_box_iou', args: [b1, b2, 1e-3], iris: () => ops.distanceBoxIou(b1, b2, 1e-3) });
  cases.push({ label: 'complete_box_iou eps 1e-3', fn: 'ops.complete_box_iou', args: [b1, b2, 1e-3], iris: () => ops.completeBoxIou(b1, b2, 1e-3) });
  report(t, checkCases('ops_ref.py', cases));
});

test('generalized, distance and complete box IoU losses and sigmoidFocalLoss equal torchvision for every reduction, with gradients', (t) => {
  torch.manualSeed(14);
  const losses = [
    ['generalized_box_iou_loss', ops.generalizedBoxIouLoss],
    ['distance_box_iou_loss', ops.distanceBoxIouLoss],
    ['complete_box_iou_loss', ops.completeBoxIouLoss],
  ] as const;
  const cases: OpCase[] = [];
  const pairs: [string, Tensor, Tensor][] = [
    ['random 12', randomBoxes(12, 30), randomBoxes(12, 30)],
    // Identical, disjoint, contained, zero-size and point boxes against each other.
    ['degenerate 8', specialBoxes(), specialBoxes().flip([0])],
    ['one box [4]', randomBoxes(1, 10).reshape([4]), randomBoxes(1, 10).reshape([4])],
    ['float64 10', randomBoxes(10, 30, { dtype: 'float64' }), randomBoxes(10, 30, { dtype: 'float64' })],
    ['none [0, 4]', torch.zeros([0, 4]), torch.zeros([0, 4])],
  ];
  for (const [what, a, b] of pairs) {
    for (const [py, fn] of losses) {
      for (const reduction of ['none', 'mean', 'sum'] as const) {
        const b1 = grad(a);
        const b2 = grad(b);
        cases.push({ label: `${py} ${what} ${reduction}`, fn: `ops.${py}`, args: [b1, b2], kwargs: { reduction }, iris: () => fn(b1, b2, { reduction }) });
      }
    }
  }
  const b1 = grad(randomBoxes(5, 30));
  const b2 = grad(randomBoxes(5, 30));
  cases.push({ label: 'complete_box_iou_loss eps 0.1', fn: 'ops.complete_box_iou_loss', args: [b1, b2], kwargs: { eps: 0.1 }, iris: () => ops.completeBoxIouLoss(b1, b2, { eps: 0.1 }) });
  cases.push({ label: 'generalized_box_iou_loss eps 0.1', fn: 'ops.generalized_box_iou_loss', args: [b1, b2], kwargs: { eps: 0.1 }, iris: () => ops.generalizedBoxIouLoss(b1, b2, { eps: 0.1 }) });

  for (const shape of [[6, 7], [2, 3, 5]]) {
    const logits = grad(torch.randn(shape).mul(3));
    const targets = torch.rand(shape).gt(0.6).float();
    for (const [alpha, gamma] of [[0.25, 2], [-1, 2], [0.5, 0], [0.75, 1.5]]) {
      for (const reduction of ['none', 'mean', 'sum'] as const) {
        cases.push({
          label: `sigmoid_focal_loss [${shape}] alpha=${alpha} gamma=${gamma} ${reduction}`,
          fn: 'ops.sigmoid_focal_loss',
          args: [logits, targets],
          kwargs: { alpha, gamma, reduction },
          iris: () => ops.sigmoidFocalLoss(logits, targets, { alpha, gamma, reduction }),
        });
      }
    }
  }
  report(t, checkCases('ops_ref.py', cases));
});

test('bad boxes and options get errors that name the function, the argument and the expected shape', () => {
  assert.throws(() => ops.boxIou(torch.zeros([3, 5]), torch.zeros([2, 4])), /boxIou: boxes1 must be a Tensor\[N, 4\].*\[3, 5\]/);
  assert.throws(() => ops.nms(torch.zeros([3, 4]), torch.zeros([2]), 0.5), /nms: scores must be a Tensor\[N\].*N = 3/);
  assert.throws(() => ops.boxConvert(torch.zeros([2, 4]), 'xyxy', 'yxyx' as ops.BoxFormat), /boxConvert: outFmt 'yxyx' is not a box format/);
  assert.throws(() => ops.batchedNms(torch.zeros([3, 4]), torch.zeros([3]), torch.zeros([2]), 0.5), /batchedNms: idxs must be a Tensor\[N\]/);
  assert.throws(() => ops.sigmoidFocalLoss(torch.zeros([2]), torch.zeros([2]), { reduction: 'avg' as 'mean' }), /sigmoidFocalLoss: reduction must be 'none', 'mean' or 'sum', got 'avg'/);
  assert.throws(() => ops.generalizedBoxIouLoss(torch.zeros([2, 4]), torch.zeros([3, 4])), /same shape/);
});

test('box functions free their intermediate tensors', () => {
  const b1 = randomBoxes(20, 30);
  const b2 = randomBoxes(10, 30);
  const before = torch.liveTensors();
  const outs = [ops.boxIou(b1, b2), ops.completeBoxIou(b1, b2), ops.boxConvert(b1, 'xyxy', 'cxcywh'), ops.batchedNms(b1, torch.rand([20]), torch.randint(0, 3, [20]), 0.5), ops.completeBoxIouLoss(b1, b1.flip([0]), { reduction: 'mean' })];
  // The five results remain, and the three arguments made in the call list (rand, randint, flip).
  assert.equal(torch.liveTensors() - before, outs.length + 3);
});
