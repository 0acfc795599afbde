// The four Faster R-CNN builders against torchvision 0.14's: structure, settings and parameter
// counts, then eval-mode detections on two images of different sizes with torchvision's seeded
// weights (norm statistics randomised) loaded strictly; and createDetector's options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createDetector, detectorConfig, detectorInfo, listDetectors, FasterRCNN, replaceHead } from '../src/detection/index.js';
import { runPython, tempDir } from './helpers/reference.js';
import { assertDetectionsMatch, camelOptions, detect, loadIn, savedImages } from './helpers/faster-rcnn-parity.js';

torch.setNumThreads(1); // as the reference (detection_frcnn_ref.py)
const dir = tempDir();
after(() => dir.cleanup());

const NAMES = ['fasterrcnn_mobilenet_v3_large_320_fpn', 'fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_resnet50_fpn', 'fasterrcnn_resnet50_fpn_v2'];
// Small images and few proposals keep the two-core CI quick; the 320 model runs with its own defaults.
const SMALL = { min_size: 160, max_size: 256, rpn_pre_nms_top_n_test: 300, rpn_post_nms_top_n_test: 100 };
const EVAL_CASES = [
  { id: 'r50', name: 'fasterrcnn_resnet50_fpn', kwargs: SMALL, images: [[3, 150, 200], [3, 190, 140]] },
  { id: 'r50v2', name: 'fasterrcnn_resnet50_fpn_v2', kwargs: { ...SMALL, rpn_post_nms_top_n_test: 50 }, images: [[3, 150, 200], [3, 190, 140]] },
  { id: 'mnv3', name: 'fasterrcnn_mobilenet_v3_large_fpn', kwargs: { min_size: 224, max_size: 320 }, images: [[3, 150, 200], [3, 210, 160]] },
  { id: 'mnv3-320', name: 'fasterrcnn_mobilenet_v3_large_320_fpn', kwargs: {}, images: [[3, 200, 260], [3, 240, 180]] },
];

interface Structure {
  params: number;
  keys: [string, number[]][];
  settings: Record<string, unknown>;
}
let ref: { structure: Record<string, Structure>; [id: string]: any };
before(() => {
  ref = runPython('detection_frcnn_ref.py', {
    dir: dir.path,
    cmds: [{ cmd: 'structure', id: 'structure', names: NAMES }, ...EVAL_CASES.map((c) => ({ cmd: 'eval', ...c }))],
  });
});

/** The Iris model's settings under torchvision's attribute names. */
function settingsOf(model: FasterRCNN): Record<string, unknown> {
  const { transform: t, rpn, roiHeads: roi } = model;
  return {
    min_size: t.minSize, max_size: t.maxSize, size_divisible: t.sizeDivisible, image_mean: t.imageMean, image_std: t.imageStd,
    rpn_pre_nms_top_n: rpn.preNmsTopNs, rpn_post_nms_top_n: rpn.postNmsTopNs, rpn_nms_thresh: rpn.nmsThresh, rpn_score_thresh: rpn.scoreThresh,
    rpn_fg_iou_thresh: rpn.proposalMatcher.highThreshold, rpn_bg_iou_thresh: rpn.proposalMatcher.lowThreshold,
    rpn_batch_size_per_image: rpn.fgBgSampler.batchSizePerImage, rpn_positive_fraction: rpn.fgBgSampler.positiveFraction,
    anchor_sizes: rpn.anchorGenerator.sizes, aspect_ratios: rpn.anchorGenerator.aspectRatios,
    box_score_thresh: roi.scoreThresh, box_nms_thresh: roi.nmsThresh, box_detections_per_img: roi.detectionsPerImg,
    box_fg_iou_thresh: roi.proposalMatcher.highThreshold, box_bg_iou_thresh: roi.proposalMatcher.lowThreshold,
    box_batch_size_per_image: roi.fgBgSampler.batchSizePerImage, box_positive_fraction: roi.fgBgSampler.positiveFraction,
    bbox_reg_weights: roi.boxCoder.weights, featmap_names: (roi.boxRoiPool as unknown as { featmapNames: string[] }).featmapNames,
  };
}

test('the four Faster R-CNN builders are registered with torchvision’s weights, box AP and COCO categories', () => {
  assert.deepEqual(listDetectors('fasterrcnn_*'), NAMES);
  const ap = { fasterrcnn_resnet50_fpn: 37.0, fasterrcnn_resnet50_fpn_v2: 46.7, fasterrcnn_mobilenet_v3_large_fpn: 32.8, fasterrcnn_mobilenet_v3_large_320_fpn: 22.8 };
  for (const name of NAMES) {
    const [w] = detectorInfo(name).weights;
    assert.equal(w.metrics.boxMap, ap[name as keyof typeof ap], `${name} box AP`);
    assert.match(w.url, /^https:\/\/download\.pytorch\.org\/models\/fasterrcnn_.*-[0-9a-f]{8}\.pth$/);
    assert.equal(w.categories.length, 91);
    assert.deepEqual([w.categories[0], w.categories[1], w.categories[12], w.categories[90]], ['__background__', 'person', 'N/A', 'toothbrush']);
  }
});

for (const name of NAMES) {
  test(`${name}: parameters, state-dict keys and shapes, and settings equal torchvision's builder without weights`, () => {
    const model = createDetector(name) as FasterRCNN;
    const r = ref.structure[name];
    assert.equal(model.numParameters(), r.params, 'parameter count');
    // torchvision's num_params counts the model its weights load into: FrozenBatchNorm2d has buffers, not parameters.
    const withWeights = detectorInfo(name).build({}, detectorInfo(name).weights[0]);
    assert.equal(withWeights.numParameters(), detectorInfo(name).paramCount, 'the registered paramCount (torchvision’s meta) of the model as built for its COCO weights');
    for (const t of [...withWeights.parameters(), ...withWeights.buffers()]) t.dispose();
    const own = model.stateDict();
    assert.deepEqual([...own].map(([k, t]) => [k, t.shape]), r.keys, 'state-dict keys and shapes');
    for (const t of own.values()) t.dispose();
    assert.deepEqual(settingsOf(model), r.settings);
    assert.equal(model.numClasses, 91);
    for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
  });
}

for (const c of EVAL_CASES) {
  test(`${c.name} (${c.id}): eval detections on two images of different sizes equal torchvision's`, (t) => {
    const model = createDetector(c.name, camelOptions(c.kwargs));
    model.loadStateDict(loadIn(dir.path, `${c.id}.pt`));
    const io = loadIn(dir.path, `${c.id}-io.pt`);
    const out = detect(model, savedImages(io));
    const worst = assertDetectionsMatch(out, io, c.id);
    assert.ok(worst.count >= 10, `${c.id}: the reference should detect something (${worst.count} detections)`);
    assert.deepEqual(ref[c.id].counts, out.map((d) => d.boxes.shape[0]));
    t.diagnostic(`max relative difference: boxes ${worst.boxes.toExponential(2)}, scores ${worst.scores.toExponential(2)} over ${worst.count} detections`);
  });
}

test('createDetector: options reach the modules, unknown ones are refused', () => {
  const model = createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { numClasses: 3, minSize: [288, 320], maxSize: 500, scoreThresh: 0.3, nmsThresh: 0.4, detectionsPerImage: 7, rpnPostNmsTopNTest: 60 }) as FasterRCNN;
  assert.deepEqual(model.transform.minSize, [288, 320]);
  assert.equal(model.transform.maxSize, 500);
  assert.equal(model.roiHeads.scoreThresh, 0.3);
  assert.equal(model.roiHeads.nmsThresh, 0.4);
  assert.equal(model.roiHeads.detectionsPerImg, 7);
  assert.deepEqual(model.rpn.postNmsTopNs, { training: 2000, testing: 60 });
  assert.equal(model.rpn.preNmsTopNs.testing, 150, "the 320 model's own default stays");
  assert.equal(model.numClasses, 3);
  assert.equal(detectorConfig(model)?.options.numClasses, 3);
  // torchvision's names win over the registry's shorthand.
  assert.equal((createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { scoreThresh: 0.3, boxScoreThresh: 0.2 }) as FasterRCNN).roiHeads.scoreThresh, 0.2);
  assert.throws(() => createDetector('fasterrcnn_mobilenet_v3_large_fpn', { minsize: 300 }), /unknown option 'minsize'/);
  assert.throws(() => createDetector('fasterrcnn_resnet50', {}), /unknown detector 'fasterrcnn_resnet50'; did you mean fasterrcnn_/);
});

test('replaceHead swaps the box predictor for N classes and keeps every other weight', () => {
  const model = createDetector('fasterrcnn_mobilenet_v3_large_320_fpn') as FasterRCNN;
  const before = model.stateDict();
  replaceHead(model, 4);
  assert.equal(model.numClasses, 4);
  const after = model.stateDict();
  assert.deepEqual(after.get('roi_heads.box_predictor.cls_score.weight')!.shape, [4, 1024]);
  assert.deepEqual(after.get('roi_heads.box_predictor.bbox_pred.weight')!.shape, [16, 1024]);
  for (const [key, t] of after) {
    if (key.startsWith('roi_heads.box_predictor.')) continue;
    assert.ok(t.equal(before.get(key)!), `${key} is unchanged`);
  }
  assert.throws(() => replaceHead(model, 1), /numClasses 1 should be an integer >= 2/);
  const out = detect(model, [torch.rand([3, 100, 120])]);
  assert.ok(out[0].labels.toFlatArray().every((l) => l >= 1 && l < 4), 'labels come from the new head');
});

test('training input is checked as torchvision checks it: targets needed, boxes [N, 4], positive sizes', () => {
  const model = createDetector('fasterrcnn_mobilenet_v3_large_320_fpn').train();
  const image = torch.rand([3, 64, 80]);
  assert.throws(() => model.call([image]), /targets are needed in training mode/);
  assert.throws(() => model.call([image], [{ boxes: torch.zeros([4]), labels: torch.zeros([1], { dtype: 'int64' }) }]), /targets\[0\]\.boxes should be \[N, 4\], got shape \[4\]/);
  const degenerate = { boxes: torch.tensor([[10, 10, 30, 40], [20, 30, 15, 50]]), labels: torch.tensor([1, 2], { dtype: 'int64' }) };
  assert.throws(() => model.call([image], [degenerate]), /All bounding boxes should have positive height and width\. Found invalid box \[100, 150, 75, 250\] for target at index 0/);
  const intLabels = { boxes: torch.tensor([[10, 10, 30, 40]]), labels: torch.tensor([1], { dtype: 'int32' }) };
  assert.throws(() => model.call([image], [intLabels]), /targets\[0\]\.labels should be int64, got int32/);
});
