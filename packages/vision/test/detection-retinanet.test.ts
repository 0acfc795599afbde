// retinanet_resnet50_fpn and _v2 against torchvision 0.14: seeded initialisation, eval detections
// on two images of different sizes, the train-mode losses (focal loss; L1 for v1, GIoU for v2)
// and gradients with torchvision's perturbed weights loaded strictly; the COCO weights' old head
// keys; the registry's metadata. Small images (min side 128) keep the file short on 2 cores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createDetector, detectorInfo, listDetectors, type RetinaNet } from '../src/detection/index.js';
import { assertNoLeaks, assertRegistryMatches, runDetectorCases, type DetectorCase } from './helpers/one-stage-parity.js';

// One thread on both sides: bit-identical kernels, and no OpenMP threads spinning on the shared 2-core CI box.
torch.setNumThreads(1);

const TARGETS = [
  { boxes: [[20, 25, 110, 110], [80, 30, 150, 115], [25, 75, 50, 100]], labels: [1, 3, 4] },
  { boxes: [[8, 10, 125, 140], [40, 45, 70, 85], [75, 90, 130, 145]], labels: [2, 1, 4] },
];
const SIZE = { options: { minSize: 128, maxSize: 176 }, kwargs: { min_size: 128, max_size: 176 } };
const IMAGES = [[3, 120, 160], [3, 150, 136]];

const CASES: DetectorCase[] = [
  { id: 'retinanet', name: 'retinanet_resnet50_fpn', options: { numClasses: 5, ...SIZE.options }, kwargs: { num_classes: 5, ...SIZE.kwargs }, seed: 5, images: IMAGES, targets: TARGETS, legacyFile: true },
  { id: 'retinanet_v2', name: 'retinanet_resnet50_fpn_v2', options: { numClasses: 5, ...SIZE.options }, kwargs: { num_classes: 5, ...SIZE.kwargs }, seed: 6, images: IMAGES, targets: TARGETS },
];
const NAMES = ['retinanet_resnet50_fpn', 'retinanet_resnet50_fpn_v2'];

let run: ReturnType<typeof runDetectorCases>;
before(() => {
  run = runDetectorCases(CASES, NAMES);
});
after(() => run.cleanup());

for (const c of CASES) {
  test(`${c.name}: seeded init, eval detections, train losses and gradients equal torchvision's`, (t) => {
    t.diagnostic(JSON.stringify(run.check(c.id)));
  });
}

test('both RetinaNets are registered with torchvision’s COCO weights, box mAP, categories and parameter counts', () => {
  assert.deepEqual(listDetectors('retinanet*'), NAMES);
  for (const name of NAMES) assertRegistryMatches(name, run.meta[name]);
  assert.ok(detectorInfo('retinanet_resnet50_fpn').weights[0].afterLoad, 'v1 COCO weights: eps 0 after loading, as torchvision');
});

test('the pre-0.13 keys of the COCO file (head conv.0, conv.2, ...; FPN inner_blocks.0) are upgraded; v2 keys are left alone', () => {
  const model = createDetector('retinanet_resnet50_fpn', { numClasses: 5, ...SIZE.options }) as RetinaNet;
  const current = model.stateDict();
  const legacy = new Map(
    [...current].map(([k, v]) => [
      k.replace(/^(head\.(?:classification|regression)_head\.conv\.)(\d)\.0\.(weight|bias)$/, (_, p, i, t) => `${p}${2 * Number(i)}.${t}`).replace(/^(backbone\.fpn\.(?:inner|layer)_blocks\.\d)\.0\./, '$1.'),
      v,
    ]),
  );
  assert.ok(legacy.has('head.classification_head.conv.6.weight') && !legacy.has('head.classification_head.conv.3.0.weight'));
  assert.ok(legacy.has('backbone.fpn.inner_blocks.2.weight') && legacy.has('backbone.fpn.extra_blocks.p6.weight'));
  const adapted = model.adaptStateDict(legacy);
  assert.deepEqual([...adapted.keys()], [...current.keys()]);
  assert.deepEqual(model.loadStateDict(adapted), { missingKeys: [], unexpectedKeys: [] });
  const v2 = createDetector('retinanet_resnet50_fpn_v2', { numClasses: 5 }) as RetinaNet;
  const keys = [...v2.stateDict().keys()];
  assert.deepEqual([...v2.adaptStateDict(v2.stateDict()).keys()], keys, 'GroupNorm keys (conv.0.1.weight) are not renamed');
});

test('createDetector({ pretrained: file }) with the pre-0.13 keys: FrozenBatchNorm2d, keys upgraded, torchvision’s detections', () => {
  const model = createDetector('retinanet_resnet50_fpn', { numClasses: 5, ...SIZE.options, pretrained: run.path('retinanet', 'legacy.pth') }) as RetinaNet;
  assert.equal(model.backbone.getSubmodule('body.bn1').constructor.name, 'FrozenBatchNorm2d', 'built as for pretrained weights');
  assert.ok(!model.backbone.getSubmodule('body.layer1').parameters().some((p) => p.requiresGrad), 'conv1 and layer1 frozen (3 trainable stages)');
  run.assertEvalMatches('retinanet', model);
});

test('replaceHead keeps the backbone and the v2 head’s GroupNorm and GIoU loss', () => {
  const model = createDetector('retinanet_resnet50_fpn_v2', { numClasses: 5, ...SIZE.options }) as RetinaNet;
  const backbone = model.backbone.parameters();
  model.replaceHead(3);
  assert.equal(model.numClasses, 3);
  assert.equal(model.head.regressionHead.lossType, 'giou');
  assert.equal(model.head.classificationHead.conv.getSubmodule('0.1').constructor.name, 'GroupNorm');
  assert.deepEqual(model.head.classificationHead.clsLogits.weight.shape, [9 * 3, 256, 3, 3]);
  assert.ok(model.backbone.parameters().every((p, i) => p === backbone[i]));
  assert.throws(() => createDetector('retinanet_resnet50_fpn', { topk: 10 }), /retinanet_resnet50_fpn: unknown option 'topk'/);
});

test('retinanet_resnet50_fpn_v2: an eval forward and a train step leave no tensor behind but what they return', async () => {
  await assertNoLeaks('retinanet_resnet50_fpn_v2', { numClasses: 3, ...SIZE.options });
});
