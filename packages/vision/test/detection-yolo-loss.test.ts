// Ultralytics' TaskAlignedAssigner and v8DetectionLoss against detection_yolo_loss_ref.py, a
// PyTorch 1.13 rewrite of ultralytics/utils/tal.py and loss.py (8.3.x) run at test time on the
// same random head outputs and random boxes (several images, empty images, overlapping and
// duplicated boxes, two input shapes), and on a seeded yolo11n's real train-mode outputs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { bbox2dist, dist2bbox, makeAnchors } from '../src/detection/models/yolo/anchors.js';
import { bboxCiou } from '../src/detection/models/yolo/box-iou.js';
import { YoloDetectionLoss, type YoloLossTarget } from '../src/detection/models/yolo/loss.js';
import { Detect } from '../src/detection/models/yolo/blocks.js';
import { buildYolo } from '../src/detection/models/yolo/yolo.js';
import { assertClose, assertMaxRelClose, runPython, tempDir } from './helpers/reference.js';

torch.setNumThreads(1);

const CASES = [
  // Image 1 has no box; image 3 has an overlapping (third) and a duplicated (fifth) box.
  { id: 'mixed', batch: 4, nc: 5, input: [64, 96], counts: [3, 0, 1, 6], seed: 1 },
  { id: 'tall', batch: 2, nc: 3, input: [96, 64], counts: [7, 2], seed: 3 },
  { id: 'empty', batch: 2, nc: 3, input: [64, 64], counts: [0, 0], seed: 2 },
  // Boxes up to 220 px and DFL logits tilted to small bins on P4/P5, so every level wins positives.
  { id: 'large', batch: 2, nc: 4, input: [256, 224], counts: [4, 3], seed: 5, max_side: 220, bin_slope: [0, 0.3, 0.8] },
];
const MODEL = { name: 'yolo11n', nc: 4, input: [2, 3, 64, 64], seed: 4, counts: [5, 2] };
const TERMS = ['loss_box', 'loss_cls', 'loss_dfl'] as const;

const dir = tempDir();
after(() => dir.cleanup());
let reference: Record<string, { positives: number; positives_per_level: number[]; contested: boolean; loss: number[] }>;
before(() => {
  reference = runPython('detection_yolo_loss_ref.py', {
    cmds: [{ cmd: 'parts', dir: dir.path }, ...CASES.map((c) => ({ cmd: 'case', dir: dir.path, ...c })), { cmd: 'model', dir: dir.path, ...MODEL }],
  });
});

/** A Detect whose nc / regMax / strides the loss reads (its weights are not used). */
function detectFor(nc: number): Detect {
  return new Detect(nc, [16, 32, 64]);
}

function disposeModule(m: { parameters(): Iterable<Tensor>; buffers(): Iterable<Tensor> }): void {
  for (const t of [...m.parameters(), ...m.buffers()]) t.dispose();
}

function targetsOf(io: Map<string, Tensor>, batch: number): YoloLossTarget[] {
  return Array.from({ length: batch }, (_, i) => ({ boxes: io.get(`boxes.${i}`)!, classes: io.get(`classes.${i}`)! }));
}

/** Runs the finalizers of tensors earlier tests forgot, so a live-tensor count before/after is exact. */
async function settleGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

test('makeAnchors, dist2bbox, bbox2dist and Ultralytics CIoU equal the PyTorch reference', () => {
  const io = loadStateDictFile(join(dir.path, 'parts.pt'));
  const { anchorPoints, strideTensor } = makeAnchors(
    [
      [4, 6],
      [2, 3],
      [1, 2],
    ],
    [8, 16, 32],
  );
  assertClose(anchorPoints, io.get('anchor_points')!, { rtol: 0, atol: 0, what: 'anchor points' });
  assertClose(strideTensor, io.get('stride_tensor')!, { rtol: 0, atol: 0, what: 'stride tensor' });
  const dist = io.get('dist')!;
  const xyxy = dist2bbox(dist, anchorPoints, false);
  assertClose(xyxy, io.get('xyxy')!, { rtol: 1e-6, what: 'dist2bbox xyxy' });
  assertClose(dist2bbox(dist, anchorPoints, true), io.get('xywh')!, { rtol: 1e-6, what: 'dist2bbox xywh' });
  assertClose(bbox2dist(anchorPoints, xyxy, 15), io.get('ltrb')!, { rtol: 1e-6, atol: 1e-5, what: 'bbox2dist (clamped to 14.99)' });
  const ciou = bboxCiou(io.get('b1')!, io.get('b2')!);
  assertClose(ciou, io.get('ciou')!, { rtol: 1e-5, atol: 1e-6, what: 'CIoU' });
  assert.ok(ciou.toFlatArray().slice(0, 8).every((v) => v < 0), 'disjoint pairs have negative CIoU');
  assert.throws(() => bboxCiou(io.get('b1')!, torch.zeros([64, 3])), /box2 must be \[\.\.\., 4\]/);
});

for (const c of CASES) {
  test(`${c.id} (${c.batch} images, ${c.counts.join('/')} boxes, ${c.input.join('x')}): assigner targets equal Ultralytics'`, (t) => {
    const io = loadStateDictFile(join(dir.path, `${c.id}.pt`));
    const detect = detectFor(c.nc);
    const loss = new YoloDetectionLoss(detect);
    const levels = [0, 1, 2].map((i) => io.get(`level${i}`)!);
    const a = loss.assign(levels, targetsOf(io, c.batch));
    assert.deepEqual(a.fgMask.toFlatArray(), io.get('fg_mask')!.toFlatArray(), 'fg mask');
    assert.deepEqual(a.targetGtIdx.toFlatArray(), io.get('target_gt_idx')!.toFlatArray(), 'target gt index');
    assert.deepEqual(a.targetLabels.toFlatArray(), io.get('target_labels')!.toFlatArray(), 'target labels');
    assert.deepEqual(a.fgMask.shape, io.get('fg_mask')!.shape);
    assertClose(a.targetBboxes, io.get('target_bboxes')!, { rtol: 0, atol: 0, what: 'target boxes' });
    assertClose(a.targetScores, io.get('target_scores')!, { rtol: 1e-5, atol: 1e-7, what: 'target scores' });
    const positives = a.fgMask.sum().item();
    assert.equal(positives, reference[c.id].positives);
    if (c.id !== 'empty') assert.ok(positives > c.counts.filter((n) => n > 0).length, 'several positives');
    if (c.id === 'large') assert.ok(reference.large.positives_per_level.every((n) => n > 0), 'positives on every level');
    t.diagnostic(`${positives} positives (per level ${reference[c.id].positives_per_level.join('/')}), contested anchors: ${reference[c.id].contested}`);
    for (const x of [...Object.values(a), ...io.values()]) x.dispose();
    disposeModule(detect);
  });

  test(`${c.id}: each loss term and the gradient w.r.t. every level equal Ultralytics' (1e-5)`, async (t) => {
    const io = loadStateDictFile(join(dir.path, `${c.id}.pt`));
    const detect = detectFor(c.nc);
    const criterion = new YoloDetectionLoss(detect);
    const levels = [0, 1, 2].map((i) => io.get(`level${i}`)!.clone().requiresGrad_(true));
    await settleGarbage();
    const before = torch.liveTensors();
    const losses = criterion.forward(levels, targetsOf(io, c.batch), [c.input[0], c.input[1]]);
    assert.equal(torch.liveTensors(), before + 3, 'forward keeps only its three terms (and their graph)');
    const want = io.get('loss')!.toFlatArray();
    TERMS.forEach((k, i) => {
      const got = losses[k].item();
      assert.deepEqual(losses[k].shape, []);
      if (want[i] === 0) assert.equal(got, 0, `${k}: no positives, 0`);
      else assert.ok(relDiff(got, want[i]) <= 1e-5, `${k}: ${got} vs PyTorch ${want[i]}`);
      t.diagnostic(`${k} ${got.toPrecision(8)} (PyTorch ${want[i].toPrecision(8)}, rel ${relDiff(got, want[i]).toExponential(1)})`);
    });
    const total = torch.tidy(() => losses.loss_box.add(losses.loss_cls).add(losses.loss_dfl));
    total.backward();
    const box = 4 * detect.regMax;
    levels.forEach((l, i) => {
      const g = io.get(`grad${i}`)!;
      // Box and class channels apart: the class gradient (on every anchor) would hide the box one.
      const grad = l.grad!;
      const gotBox = grad.narrow(1, 0, box);
      const gotCls = grad.narrow(1, box, c.nc);
      if (c.id === 'empty') assert.equal(gotBox.abs().amax().item(), 0, 'no positives: no box gradient');
      else {
        const r = assertMaxRelClose(gotBox, g.narrow(1, 0, box), { tol: 1e-5, what: `level ${i} box-channel gradient` });
        t.diagnostic(`level ${i} box grad max |Δ| ${r.maxDiff.toExponential(2)} of ${r.maxRef.toExponential(2)}`);
      }
      assertMaxRelClose(gotCls, g.narrow(1, box, c.nc), { tol: 1e-5, what: `level ${i} class-channel gradient` });
      for (const x of [gotBox, gotCls, grad]) x.dispose();
    });
    for (const x of [...Object.values(losses), total, ...levels, ...io.values()]) x.dispose();
    disposeModule(detect);
  });
}

test('the cases exercise anchors contested by several boxes (select_highest_overlaps)', () => {
  assert.ok(reference.mixed.contested && reference.tall.contested);
});

test('yolo11n: real train-mode Detect outputs through the loss; terms and head gradients equal the PyTorch reference', (t) => {
  const model = buildYolo(MODEL.name, { numClasses: MODEL.nc });
  const init = loadStateDictFile(join(dir.path, 'model-init.pt'));
  model.loadStateDict(init);
  model.train();
  const io = loadStateDictFile(join(dir.path, 'model-io.pt'));
  const levels = model.call(io.get('input')!);
  levels.forEach((l, i) => assertMaxRelClose(l, io.get(`level${i}`)!, { tol: 1e-4, what: `train-mode level ${i}` }));
  const criterion = new YoloDetectionLoss(model.detect);
  const losses = criterion.forward(levels, targetsOf(io, MODEL.input[0]));
  const want = io.get('loss')!.toFlatArray();
  TERMS.forEach((k, i) => {
    const got = losses[k].item();
    assert.ok(relDiff(got, want[i]) <= 1e-5, `${k}: ${got} vs PyTorch ${want[i]}`);
    t.diagnostic(`${k} ${got.toPrecision(8)} (rel ${relDiff(got, want[i]).toExponential(1)})`);
  });
  assert.ok(reference.model.positives > 0, 'the reference assigned positives');
  const total = torch.tidy(() => losses.loss_box.add(losses.loss_cls).add(losses.loss_dfl));
  total.backward();
  const named = new Map(model.namedParameters());
  const grads = [...io].filter(([k]) => k.startsWith('grad.'));
  assert.ok(grads.length > 20, 'the head parameters have gradients in the reference');
  let worst = 0;
  for (const [key, g] of grads) {
    const pg = named.get(key.slice('grad.'.length))?.grad;
    assert.ok(pg, `${key}: no gradient on Iris' side`);
    const { maxDiff, maxRef } = assertMaxRelClose(pg, g, { tol: 1e-4, what: key });
    if (maxRef > 0) worst = Math.max(worst, maxDiff / maxRef);
    pg.dispose();
  }
  t.diagnostic(`head gradients: worst max |Δ| / max |ref| ${worst.toExponential(2)} over ${grads.length} tensors`);
  for (const x of [...init.values(), ...io.values(), ...levels, ...Object.values(losses), total]) x.dispose();
  disposeModule(model);
});

test('bad input is refused with an error naming it', () => {
  const detect = detectFor(3);
  const loss = new YoloDetectionLoss(detect);
  const levels = [8, 16, 32].map((s) => torch.zeros([1, 64 + 3, 64 / s, 64 / s]));
  const ok = { boxes: torch.tensor([[1, 2, 30, 40]]), classes: torch.tensor([2], { dtype: 'int64' }) };
  assert.throws(() => loss.forward(levels.slice(0, 2), [ok]), /expected Detect's 3 training outputs/);
  assert.throws(() => loss.forward(levels, [ok, ok]), /1 images but 2 targets/);
  assert.throws(() => loss.forward(levels, [{ boxes: torch.zeros([1, 5]), classes: ok.classes }]), /targets\[0\]\.boxes should be a \[N, 4\]/);
  assert.throws(() => loss.forward(levels, [{ boxes: ok.boxes, classes: torch.tensor([3], { dtype: 'int64' }) }]), /classes\[0\] is 3, outside 0\.\.2/);
  assert.throws(() => loss.forward(levels, [{ boxes: ok.boxes, classes: torch.tensor([1.0]) }]), /integer class indices/);
  assert.throws(() => loss.forward(levels, [ok], [64, 96]), /imageSize \[64, 96\] but the levels come from a \[64, 64\] input/);
  assert.throws(() => loss.forward([levels[0], levels[1], torch.zeros([1, 67, 3, 2])], [ok]), /level 2 should be \[1, 67, 2, 2\]/);
  assert.throws(() => new YoloDetectionLoss(detect, { box: -1 }), /gain box should be a finite number >= 0/);
  for (const x of [...levels, ok.boxes, ok.classes]) x.dispose();
  disposeModule(detect);
});
