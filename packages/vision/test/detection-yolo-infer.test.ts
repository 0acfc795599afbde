// Ultralytics' YOLO inference in Iris against detection_yolo_infer_ref.py, a PyTorch rewrite of its
// formulas (make_anchors, dist2bbox, Detect._inference, non_max_suppression, LetterBox,
// scale_boxes) run at test time: the decode on random head outputs, the NMS on the same decoded
// tensor under predict, val and filter settings, and the whole eval forward of a registered
// detector on images of different sizes with the same seeded weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { Detect } from '../src/detection/models/yolo/blocks.js';
import { decodeDetect, nonMaxSuppression, type NmsOptions } from '../src/detection/models/yolo/postprocess.js';
import { makeAnchors } from '../src/detection/models/yolo/anchors.js';
import { COCO80_NAMES, YOLO_VAL_SETTINGS, YoloDetector } from '../src/detection/models/yolo/detector.js';
import { YOLO_NAMES } from '../src/detection/models/yolo/yolo.js';
import { createDetector, detectorInfo, listDetectors, type Detection } from '../src/detection/models/index.js';
import { letterboxBoxes, letterboxParams, unletterboxBoxes } from '../src/transforms/letterbox.js';
import { assertMaxRelClose, runPython, tempDir } from './helpers/reference.js';

torch.setNumThreads(1);

const DECODE = { nc: 5, batch: 2, sizes: [[20, 16], [10, 8], [5, 4]], strides: [8, 16, 32], seed: 11 };
// Ultralytics' predictor defaults, its validator's, and the filters.
const NMS_CASES: NmsOptions[] = [
  { confThres: 0.25, iouThres: 0.7 },
  { confThres: 0.001, iouThres: 0.7, multiLabel: true },
  { confThres: 0.25, iouThres: 0.5, agnostic: true },
  { confThres: 0.1, iouThres: 0.6, classes: [0, 3] },
  { confThres: 0.05, iouThres: 0.7, maxDet: 7, maxNms: 40 },
];
// Two sizes in one batch (square 128 letterbox), and two equal sizes (rect: padded to a multiple of 32 only).
const PIPELINES = [
  { id: 'mixed', name: 'yolo11n', nc: 3, seed: 21, imgsz: 128, rect: true, images: [[3, 50, 70], [3, 90, 41]], nms: { confThres: 0.25, iouThres: 0.7 } },
  { id: 'rect', name: 'yolov8n', nc: 4, seed: 22, imgsz: 96, rect: true, images: [[3, 40, 75], [3, 40, 75]], nms: { confThres: 0.001, iouThres: 0.7, multiLabel: true, maxDet: 50 } },
];

const dir = tempDir();
after(() => dir.cleanup());
let reference: Record<string, unknown> & { decode: number[][] };
before(() => {
  reference = runPython('detection_yolo_infer_ref.py', {
    cmds: [{ cmd: 'decode', dir: dir.path, ...DECODE, nms: NMS_CASES }, ...PIPELINES.map((p) => ({ cmd: 'pipeline', dir: dir.path, ...p }))],
  });
});

function disposeAll(ts: Iterable<Tensor>): void {
  for (const t of ts) t.dispose();
}

/** Same rows (boxes, scores within tol of the largest coordinate; classes exactly), in the same order. */
function assertSameDetections(actual: Tensor, expected: Tensor, what: string, tol = 1e-5): number {
  assert.deepEqual(actual.shape, expected.shape, `${what}: detections`);
  if (expected.shape[0] === 0) return 0;
  assert.deepEqual(actual.select(1, 5).toFlatArray(), expected.select(1, 5).toFlatArray(), `${what}: classes`);
  const { maxDiff } = assertMaxRelClose(actual.narrow(1, 0, 5), expected.narrow(1, 0, 5), { tol, what });
  return maxDiff;
}

test('makeAnchors + decodeDetect on random head outputs equal Ultralytics\' make_anchors and Detect._inference', (t) => {
  const io = loadStateDictFile(join(dir.path, 'decode-io.pt'));
  const levels = [0, 1, 2].map((i) => io.get(`level${i}`)!);
  const detect = new Detect(DECODE.nc, [16, 32, 64], { strides: DECODE.strides });
  const { anchorPoints, strideTensor } = makeAnchors(levels, DECODE.strides);
  assert.deepEqual(anchorPoints.toFlatArray(), io.get('anchors')!.toFlatArray(), 'anchor points');
  assert.deepEqual(strideTensor.toFlatArray(), io.get('strides')!.toFlatArray(), 'strides');
  const pred = torch.noGrad(() => decodeDetect(detect, levels));
  const expected = io.get('pred')!;
  assert.deepEqual(pred.shape, [2, 4 + DECODE.nc, 320 + 80 + 20]);
  const { maxDiff, maxRef } = assertMaxRelClose(pred, expected, { tol: 1e-6, what: 'decoded [B, 4 + nc, A]' });
  // Absolute too: the boxes are in pixels (up to ~200), the scores in (0, 1).
  const scores = assertMaxRelClose(pred.narrow(1, 4, DECODE.nc), expected.narrow(1, 4, DECODE.nc), { tol: 1e-5, what: 'class scores' });
  assert.ok(maxDiff <= 1e-5 * Math.max(1, maxRef));
  t.diagnostic(`decode: max |Δ| ${maxDiff.toExponential(2)} of max |ref| ${maxRef.toFixed(1)}; scores max |Δ| ${scores.maxDiff.toExponential(2)}`);
  disposeAll([anchorPoints, strideTensor, pred, ...io.values(), ...detect.parameters()]);
});

NMS_CASES.forEach((options, k) => {
  test(`nonMaxSuppression ${JSON.stringify(options)} keeps the same boxes, scores and classes as Ultralytics' non_max_suppression`, (t) => {
    const io = loadStateDictFile(join(dir.path, 'decode-io.pt'));
    const out = nonMaxSuppression(io.get('pred')!, options);
    assert.equal(out.length, DECODE.batch);
    out.forEach((rows, i) => {
      const expected = io.get(`nms.${k}.${i}`)!;
      assertSameDetections(rows, expected, `image ${i}`, 0);
      assert.ok(expected.shape[0] > 0, 'the case keeps something');
    });
    t.diagnostic(`kept per image: ${reference.decode[k].join(', ')}`);
    disposeAll([...out, ...io.values()]);
  });
});

test('nonMaxSuppression: the validator settings keep a box once per class above the threshold, the predictor\'s once', () => {
  // Two classes over 0.3 on one box; conf 0.3: multi-label keeps both, best-class one.
  const pred = torch.tensor([50, 50, 20, 20, 0.9, 0.6, 0.1], { shape: [1, 7, 1] });
  const multi = nonMaxSuppression(pred, { confThres: 0.3, multiLabel: true })[0];
  const single = nonMaxSuppression(pred, { confThres: 0.3 })[0];
  assert.deepEqual(multi.toFlatArray().map((v) => Math.round(v * 1e4) / 1e4), [40, 40, 60, 60, 0.9, 0, 40, 40, 60, 60, 0.6, 1]);
  assert.deepEqual(single.shape, [1, 6]);
  assert.throws(() => nonMaxSuppression(pred, { confThres: 1.5 }), /confThres must be between 0 and 1/);
  assert.throws(() => nonMaxSuppression(pred.view([7, 1])), /prediction should be \[B, 4 \+ nc, anchors\]/);
  disposeAll([pred, multi, single]);
});

test('letterbox boxes and scale_boxes round-trip, for enlarged and shrunk images, square and rect', () => {
  for (const [size, options] of [
    [[50, 70], { newShape: 128 }],
    [[90, 41], { newShape: 128 }],
    [[900, 1333], { newShape: 640 }],
    [[40, 75], { newShape: 96, auto: true }],
  ] as const) {
    const params = letterboxParams([size[0], size[1]], { ...options, stride: 32 });
    const boxes = torch.tensor([0, 0, size[1], size[0], 3.5, 7.25, 20, 30.5], { shape: [2, 4] });
    const there = letterboxBoxes(boxes, params);
    const back = unletterboxBoxes(there, params);
    assertMaxRelClose(back, boxes, { tol: 1e-6, what: `${size} -> ${JSON.stringify(options)}` });
    // The image's corners land inside the letterbox, on the padding's edge.
    const [x1, y1, x2, y2] = there.toFlatArray();
    assert.deepEqual([x1, y1], params.pad);
    assert.ok(Math.abs(x2 - (params.pad[0] + params.resizedSize[1])) < 0.51 && Math.abs(y2 - (params.pad[1] + params.resizedSize[0])) < 0.51);
    disposeAll([boxes, there, back]);
  }
});

for (const p of PIPELINES) {
  test(`${p.name}: eval forward on ${p.images.map((s) => s.slice(1).join('x')).join(' + ')} (imgsz ${p.imgsz}) equals the Python pipeline with the same weights`, (t) => {
    const model = createDetector(p.name, { numClasses: p.nc + 1, imgsz: p.imgsz, rect: p.rect, scoreThresh: p.nms.confThres, nmsThresh: p.nms.iouThres, multiLabel: p.nms.multiLabel ?? false, detectionsPerImage: p.nms.maxDet ?? 300 }) as YoloDetector;
    const weights = loadStateDictFile(join(dir.path, `${p.id}.pt`));
    model.loadStateDict(weights);
    model.eval();
    const io = loadStateDictFile(join(dir.path, `${p.id}-io.pt`));
    const images = p.images.map((_, i) => io.get(`image${i}`)!);
    const { batch, params } = model.letterboxBatch(images, p.rect);
    assertMaxRelClose(batch, io.get('batch')!, { tol: 1e-6, what: 'letterboxed batch' });
    const before = torch.liveTensors();
    const detections = torch.noGrad(() => model.call(images)) as Detection[];
    let worst = 0;
    detections.forEach((d, i) =>
      torch.tidy(() => {
        const expected = io.get(`out.${i}`)!;
        const rows = torch.cat([d.boxes, d.scores.unsqueeze(1), d.labels.sub(1).float().unsqueeze(1)], 1);
        worst = Math.max(worst, assertSameDetections(rows, expected, `image ${i}`, 1e-4));
        assert.equal(d.labels.dtype, 'int64');
        const [h, w] = p.images[i].slice(1);
        const b = d.boxes.toFlatArray();
        assert.ok(b.every((v, j) => v >= 0 && v <= (j % 2 === 0 ? w : h)), 'clipped to the image');
      }),
    );
    t.diagnostic(`detections ${detections.map((d) => d.scores.shape[0]).join(', ')}; max |Δ| ${worst.toExponential(2)}; batch [${batch.shape}], pads ${params.map((q) => q.pad.join('/')).join(', ')}`);
    disposeAll(detections.flatMap((d) => [d.boxes, d.scores, d.labels]));
    assert.equal(torch.liveTensors(), before, 'tensors left by the eval forward');
    disposeAll([batch, ...weights.values(), ...io.values(), ...model.parameters(), ...model.buffers()]);
  });
}

test('predict gives Ultralytics\' class ids and names; the registry names COCO\'s 80 classes in its order', () => {
  const model = createDetector('yolo11n', { imgsz: 64 }) as YoloDetector;
  assert.equal(model.numClasses, 81);
  assert.equal(COCO80_NAMES.length, 80);
  assert.deepEqual([COCO80_NAMES[0], COCO80_NAMES[11], COCO80_NAMES[79]], ['person', 'stop sign', 'toothbrush']);
  // Detect's bias prior puts every score near 0: lower the threshold so something comes out.
  model.scoreThresh = 0;
  model.detectionsPerImage = 5;
  const image = torch.rand([3, 48, 64]);
  const [p] = model.predict([image]);
  assert.equal(model.training, true, 'predict restores the mode');
  assert.equal(p.labels.shape[0], 5);
  assert.deepEqual(p.names, p.labels.toFlatArray().map((c) => model.names[c]));
  model.eval();
  const [d] = torch.noGrad(() => model.call([image])) as Detection[];
  assert.deepEqual(d.labels.toFlatArray(), p.labels.toFlatArray().map((c) => c + 1), 'eval labels are Ultralytics\' class + 1');
  disposeAll([image, p.boxes, p.scores, p.labels, d.boxes, d.scores, d.labels, ...model.parameters(), ...model.buffers()]);
});

test('registry: every YOLO builds through createDetector with Ultralytics\' published parameter count, its release URL and mAP', () => {
  assert.deepEqual(listDetectors('yolo*'), [...YOLO_NAMES].sort());
  for (const name of YOLO_NAMES) {
    const info = detectorInfo(name);
    assert.equal(info.family, 'yolo');
    assert.equal(info.weights[0].url, `https://github.com/ultralytics/assets/releases/download/v8.3.0/${name}.pt`);
    assert.equal(info.weights[0].numClasses, 81);
    assert.ok(info.weights[0].metrics.boxMap > 35 && info.weights[0].metrics.boxMap < 56);
    const model = createDetector(name);
    assert.equal(model.numParameters(), info.paramCount, `${name}: parameters with 80 classes`);
    assert.ok([...model.stateDict().keys()].every((k) => k.startsWith('model.')), `${name}: Ultralytics' keys`);
    disposeAll([...model.parameters(), ...model.buffers()]);
  }
});

test('replaceHead: a fresh class branch for the new count, box branch kept; train forward letterboxes targets and hands 0-based classes to the loss', () => {
  const seen: { levels: number[][]; boxes: number[][]; classes: number[][] } = { levels: [], boxes: [], classes: [] };
  // The YOLO loss (yolo/loss.ts) is written in parallel; this factory records what the detector hands it.
  const model = new YoloDetector('yolov8n', {
    imgsz: 64,
    loss: () => ({
      forward: (levels, targets) => {
        seen.levels = levels.map((l) => l.shape);
        seen.boxes = targets.map((x) => x.boxes.toFlatArray());
        seen.classes = targets.map((x) => x.classes.toFlatArray());
        const zero = levels[0].sum().mul(0);
        return { loss_box: zero, loss_cls: zero.clone(), loss_dfl: zero.clone() };
      },
    }),
  });
  const box = model.stateDict().get('model.22.cv2.0.2.weight')!;
  model.replaceHead(4);
  assert.equal(model.numClasses, 4);
  assert.equal(model.yolo.detect.nc, 3);
  assert.deepEqual(model.names, ['class0', 'class1', 'class2']);
  const sd = model.stateDict();
  assert.deepEqual(sd.get('model.22.cv3.0.1.conv.weight')!.shape, [64, 64, 3, 3], 'c3 = max(64, min(3, 100))');
  assert.deepEqual(sd.get('model.22.cv3.2.2.weight')!.shape, [3, 64, 1, 1]);
  assert.deepEqual(sd.get('model.22.cv2.0.2.weight')!.toFlatArray(), box.toFlatArray(), 'box branch kept');
  const images = [torch.rand([3, 32, 48]), torch.rand([3, 64, 64])];
  const targets = [
    { boxes: torch.tensor([4, 2, 20, 30], { shape: [1, 4] }), labels: torch.tensor([3], { dtype: 'int64' }) },
    { boxes: torch.tensor([0, 0, 10, 10, 5, 5, 60, 40], { shape: [2, 4] }), labels: torch.tensor([1, 2], { dtype: 'int64' }) },
  ];
  model.train();
  const losses = model.call(images, targets) as Record<string, Tensor>;
  assert.deepEqual(Object.keys(losses).sort(), ['loss_box', 'loss_cls', 'loss_dfl']);
  assert.deepEqual(seen.levels, [8, 16, 32].map((s) => [2, 3 + 64, 64 / s, 64 / s]));
  // 32x48 -> ratio 4/3, resized to 43x64, 10 grey rows on top: (4, 2) -> (5.33, 12.67).
  const p = letterboxParams([32, 48], { newShape: 64 });
  const want = [4 * p.ratio[0] + p.pad[0], 2 * p.ratio[1] + p.pad[1], 20 * p.ratio[0] + p.pad[0], 30 * p.ratio[1] + p.pad[1]];
  seen.boxes[0].forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `moved box ${v} vs ${want[i]}`));
  assert.deepEqual(seen.boxes[1], [0, 0, 10, 10, 5, 5, 60, 40], 'an imgsz x imgsz image is unchanged');
  assert.deepEqual(seen.classes, [[2], [0, 1]]);
  assert.throws(() => model.call(images, [targets[0], { ...targets[1], labels: torch.tensor([0, 1], { dtype: 'int64' }) }]), /label 0; labels run 1\.\.3/);
  disposeAll([box, ...sd.values(), ...images, ...targets.flatMap((x) => [x.boxes, x.labels]), ...Object.values(losses), ...model.parameters(), ...model.buffers()]);
});

test('bad input: option, image and weights errors name the problem', () => {
  assert.throws(() => createDetector('yolo11n', { minSize: 800 }), /unknown option 'minSize'.*imgsz in place of minSize/);
  assert.throws(() => createDetector('yolo11n', { pretrainedBackbone: true }), /no ImageNet classifier backbone/);
  assert.throws(() => createDetector('yolo11n', { numClasses: 1 }), /numClasses 1 should be an integer >= 2/);
  assert.throws(() => createDetector('yolo11n', { imgsz: 100 }), /imgsz should be a positive multiple of 32/);
  const file = join(dir.path, 'yolo11n.pt');
  writeFileSync(file, 'not read');
  assert.throws(() => createDetector('yolo11n', { pretrained: file }), /yolo11n\.pt: is not a PyTorch checkpoint \(no zip signature; truncated or another format\)/);
  const model = createDetector('yolov8n', { numClasses: 3, imgsz: 64 }).eval();
  const gray = torch.rand([1, 16, 16]);
  const bytes = torch.zeros([3, 16, 16], { dtype: 'uint8' });
  assert.throws(() => model.call([gray]), /images\[0\] should be \[3, H, W\]/);
  assert.throws(() => model.call([bytes]), /is uint8; give float images in \[0, 1\]/);
  assert.throws(() => model.call([]), /non-empty array/);
  assert.equal(YOLO_VAL_SETTINGS.scoreThresh, 0.001);
  disposeAll([gray, bytes, ...model.parameters(), ...model.buffers()]);
});
