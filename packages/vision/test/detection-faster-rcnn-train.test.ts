// Faster R-CNN training and pretrained weights against torchvision 0.14: the loss dict and a few
// gradients in a setting where both samplers keep every candidate; COCO files loaded through
// createDetector's cache as torchvision's builders load them (FrozenBatchNorm2d, the 2019 file's
// RPN key names and eps 0, trainable layers); ImageNet backbone weights; replaceHead on them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { createDetector, detectorConfig, FasterRCNN } from '../src/detection/index.js';
import { FrozenBatchNorm2d } from '../src/ops/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';
import { assertDetectionsMatch, camelOptions, detect, loadIn, savedImages } from './helpers/faster-rcnn-parity.js';

torch.setNumThreads(1); // as the reference (detection_frcnn_ref.py)
const dir = tempDir();
after(() => dir.cleanup());
// createDetector's `pretrained: true` reads $IRIS_CACHE/weights/<torchvision's file name>.
process.env.IRIS_CACHE = join(dir.path, 'cache');
const WEIGHTS_DIR = join(dir.path, 'cache', 'weights');

// Samplers as large as every candidate: torchvision's random subsets are then the whole sets.
const KEEP_ALL = { rpn_batch_size_per_image: 100000, rpn_positive_fraction: 0.5, box_batch_size_per_image: 100000, box_positive_fraction: 0.5 };
const SMALL = { min_size: 128, max_size: 192, rpn_pre_nms_top_n_test: 300, rpn_post_nms_top_n_test: 100 };
/** Proposals before and after NMS, in training and at test time (torchvision's reference calibrates its head in eval mode). */
function proposals(pre: number, post: number) {
  return { rpn_pre_nms_top_n_train: pre, rpn_post_nms_top_n_train: post, rpn_pre_nms_top_n_test: pre, rpn_post_nms_top_n_test: post };
}
const TRAIN_CASES = [
  {
    id: 'r50-train', name: 'fasterrcnn_resnet50_fpn',
    kwargs: { ...KEEP_ALL, ...proposals(200, 100), min_size: 128, max_size: 192 },
    images: [[3, 120, 160], [3, 150, 110]], boxes_per_image: [3, 2],
    grads: ['roi_heads.box_predictor.cls_score.weight', 'roi_heads.box_head.fc6.weight', 'rpn.head.cls_logits.weight', 'rpn.head.bbox_pred.weight', 'backbone.fpn.layer_blocks.0.0.weight', 'backbone.body.layer4.2.conv3.weight', 'backbone.body.conv1.weight'],
  },
  {
    id: 'r50v2-train', name: 'fasterrcnn_resnet50_fpn_v2',
    kwargs: { ...KEEP_ALL, ...proposals(100, 40), min_size: 128, max_size: 192 },
    images: [[3, 120, 160], [3, 150, 110]], boxes_per_image: [2, 2],
    grads: ['roi_heads.box_predictor.bbox_pred.weight', 'roi_heads.box_head.5.weight', 'roi_heads.box_head.0.1.weight', 'rpn.head.conv.1.0.weight', 'backbone.fpn.layer_blocks.0.1.weight'],
  },
  {
    id: 'mnv3-320-train', name: 'fasterrcnn_mobilenet_v3_large_320_fpn',
    kwargs: { ...KEEP_ALL, ...proposals(300, 150) },
    // The second image is a background image: no boxes at all.
    images: [[3, 200, 260], [3, 240, 180]], boxes_per_image: [4, 0],
    grads: ['roi_heads.box_predictor.bbox_pred.weight', 'roi_heads.box_head.fc7.weight', 'rpn.head.conv.0.0.weight', 'backbone.fpn.inner_blocks.1.0.weight', 'backbone.body.16.0.weight', 'backbone.body.1.block.0.0.weight'],
  },
];
const PRETRAINED_CASES = [
  { id: 'r50-coco', name: 'fasterrcnn_resnet50_fpn', kwargs: SMALL, images: [[3, 150, 200], [3, 190, 140]], file: 'fasterrcnn_resnet50_fpn_coco-258fb6c6.pth', legacy_rpn_keys: true, eps: 0 },
  { id: 'mnv3-320-coco', name: 'fasterrcnn_mobilenet_v3_large_320_fpn', kwargs: {}, images: [[3, 200, 260], [3, 240, 180]], file: 'fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth', eps: 1e-5 },
];
const BACKBONE_CASES = [
  { id: 'r50-backbone', name: 'fasterrcnn_resnet50_fpn', kwargs: SMALL, images: [[3, 150, 200], [3, 190, 140]], trainable: 2, probe: ['layer1.0.conv1.weight', 'backbone.body.layer1.0.conv1.weight'] },
  { id: 'mnv3-backbone', name: 'fasterrcnn_mobilenet_v3_large_320_fpn', kwargs: {}, images: [[3, 200, 260], [3, 240, 180]], probe: ['features.4.block.1.0.weight', 'backbone.body.4.block.1.0.weight'] },
];

let ref: Record<string, any>;
before(() => {
  ref = runPython('detection_frcnn_ref.py', {
    dir: dir.path,
    cmds: [
      ...TRAIN_CASES.map((c) => ({ cmd: 'train', ...c })),
      ...PRETRAINED_CASES.map((c) => ({ cmd: 'pretrained', ...c, cache: WEIGHTS_DIR })),
      ...BACKBONE_CASES.map((c) => ({ cmd: 'backbone', ...c })),
    ],
  });
});

function requiresGrad(model: torch.nn.Module): Record<string, boolean> {
  return Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.requiresGrad]));
}

for (const c of TRAIN_CASES) {
  test(`${c.name} (${c.id}): train-mode losses and gradients equal torchvision's`, (t) => {
    const model = createDetector(c.name, camelOptions(c.kwargs));
    model.loadStateDict(loadIn(dir.path, `${c.id}.pt`));
    model.train();
    const io = loadIn(dir.path, `${c.id}-io.pt`);
    const images = savedImages(io);
    const targets = images.map((_, i) => ({ boxes: io.get(`boxes${i}`)!, labels: io.get(`labels${i}`)! }));
    const losses = model.call(images, targets) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(losses), ['loss_classifier', 'loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg']);
    const figures: string[] = [];
    for (const [key, value] of Object.entries(losses)) {
      const { maxDiff, maxRef } = assertMaxRelClose(value, io.get(key)!, { tol: 1e-5, what: `${c.id} ${key}` });
      assert.ok(value.item() > 0, `${c.id} ${key} should not be degenerate`);
      figures.push(`${key} ${value.item().toPrecision(6)} (rel ${(maxDiff / maxRef).toExponential(1)})`);
    }
    torch.tidy(() => Object.values(losses).reduce((a, b) => a.add(b)).backward());
    const params = new Map(model.namedParameters());
    for (const name of c.grads) {
      const grad = params.get(name)!.grad;
      assert.ok(grad, `${name} has a gradient`);
      const { maxDiff, maxRef } = assertMaxRelClose(grad, io.get(`grad.${name}`)!, { tol: 1e-4, what: `${c.id} grad of ${name}` });
      figures.push(`grad ${name} rel ${(maxDiff / maxRef).toExponential(1)}`);
    }
    t.diagnostic(figures.join('; '));
  });
}

for (const c of PRETRAINED_CASES) {
  test(`${c.name} (${c.id}): COCO weights from the cache load as torchvision's builder loads them`, (t) => {
    const model = createDetector(c.name, { pretrained: true, ...camelOptions(c.kwargs) }) as FasterRCNN;
    assert.equal(detectorConfig(model)?.weights?.tag, 'coco_v1');
    const eps = [...new Set(model.modules().filter((m) => m instanceof FrozenBatchNorm2d).map((m) => (m as FrozenBatchNorm2d).eps))];
    assert.deepEqual(eps, ref[c.id].frozen_eps, 'FrozenBatchNorm2d eps (torchvision overwrites it to 0 for the 2019 file)');
    assert.deepEqual(eps, [c.eps]);
    assert.deepEqual(requiresGrad(model), ref[c.id].requires_grad, 'trainable layers (3 by default with weights)');
    const io = loadIn(dir.path, `${c.id}-io.pt`);
    const worst = assertDetectionsMatch(detect(model, savedImages(io)), io, c.id);
    assert.ok(worst.count >= 10, `${c.id}: the reference should detect something (${worst.count})`);
    if (c.legacy_rpn_keys) {
      // The 2019 file names the RPN conv as RPNHead version 1 did; it is upgraded as torchvision's _load_from_state_dict does.
      const file = loadIn(WEIGHTS_DIR, c.file);
      assert.ok(file.has('rpn.head.conv.weight') && !file.has('rpn.head.conv.0.0.weight'), 'the file has the old names');
      assert.ok(model.stateDict().get('rpn.head.conv.0.0.weight')!.equal(file.get('rpn.head.conv.weight')!));
    }
    t.diagnostic(`max relative difference: boxes ${worst.boxes.toExponential(2)}, scores ${worst.scores.toExponential(2)} over ${worst.count} detections`);
  });
}

test('createDetector with COCO weights and numClasses: a new 5-class head on the COCO-trained rest (fine-tuning)', () => {
  const model = createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { pretrained: true, numClasses: 5 }) as FasterRCNN;
  assert.equal(model.numClasses, 5);
  assert.equal(detectorConfig(model)?.options.numClasses, 5);
  const file = loadIn(WEIGHTS_DIR, 'fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth');
  const own = model.stateDict();
  assert.deepEqual(own.get('roi_heads.box_predictor.cls_score.weight')!.shape, [5, 1024]);
  assert.deepEqual(own.get('roi_heads.box_predictor.bbox_pred.bias')!.shape, [20]);
  for (const [key, t] of own) {
    if (key.startsWith('roi_heads.box_predictor.')) continue;
    assert.ok(t.equal(file.get(key)!), `${key} comes from the COCO file`);
  }
  const out = detect(model, [torch.rand([3, 200, 240])]);
  assert.ok(out[0].labels.toFlatArray().every((l) => l >= 1 && l < 5), 'labels come from the new head');
});

test('createDetector with a state-dict file as pretrained loads it strictly (no registered weights recorded)', () => {
  const path = join(WEIGHTS_DIR, 'fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth');
  const model = createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { pretrained: path });
  assert.equal(detectorConfig(model)?.weights, null);
  const file = loadIn(WEIGHTS_DIR, 'fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth');
  for (const [key, t] of model.stateDict()) assert.ok(t.equal(file.get(key)!), `${key} comes from the file`);
  assert.throws(() => createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { pretrained: path, numClasses: 7, replaceHead: false }), /unknown option 'replaceHead'/);
  // A file's head is taken to be numClasses wide: a 91-class file does not fit a 7-class model.
  assert.throws(() => createDetector('fasterrcnn_mobilenet_v3_large_320_fpn', { pretrained: path, numClasses: 7 }), /does not fit the model as built.*roi_heads\.box_predictor\.cls_score\.weight' has shape \[91, 1024\], model expects \[7, 1024\]/s);
});

test('createDetector with COCO weights that are not downloaded says how to get them', () => {
  assert.throws(() => createDetector('fasterrcnn_resnet50_fpn_v2', { pretrained: true }), /'coco_v1' weights are not downloaded yet\. Run `await fetchDetectorWeights\('fasterrcnn_resnet50_fpn_v2', 'coco_v1'\)`/);
  assert.throws(() => createDetector('fasterrcnn_resnet50_fpn', { pretrained: 'coco_v9' }), /neither a weights tag \(it has 'coco_v1'\) nor an existing file/);
});

for (const c of BACKBONE_CASES) {
  test(`${c.name} (${c.id}): ImageNet backbone weights, FrozenBatchNorm2d and trainable layers as torchvision's`, () => {
    const backboneFile = join(dir.path, `${c.id}-backbone.pt`);
    const model = createDetector(c.name, { pretrainedBackbone: backboneFile, trainableBackboneLayers: c.trainable, ...camelOptions(c.kwargs) });
    const [fileKey, modelKey] = c.probe;
    assert.ok(model.stateDict().get(modelKey)!.equal(loadIn(dir.path, `${c.id}-backbone.pt`).get(fileKey)!), `${modelKey} is the backbone file's ${fileKey}`);
    assert.equal(model.modules().filter((m) => m instanceof FrozenBatchNorm2d).length, ref[c.id].frozen, 'FrozenBatchNorm2d layers');
    assert.deepEqual(requiresGrad(model), ref[c.id].requires_grad, 'frozen and trainable parameters');
    model.loadStateDict(loadIn(dir.path, `${c.id}.pt`));
    const io = loadIn(dir.path, `${c.id}-io.pt`);
    assertDetectionsMatch(detect(model, savedImages(io)), io, c.id);
  });
}

test('trainableBackboneLayers out of range is refused when a backbone is pretrained', () => {
  const backboneFile = join(dir.path, 'mnv3-backbone-backbone.pt');
  assert.throws(() => createDetector('fasterrcnn_mobilenet_v3_large_fpn', { pretrainedBackbone: backboneFile, trainableBackboneLayers: 7 }), /trainableBackboneLayers should be an integer in \[0, 6\], got 7/);
});
