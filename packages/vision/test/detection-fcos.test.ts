// fcos_resnet50_fpn against torchvision 0.14, built with ImageNet backbone weights (seeded stand-ins
// in a temporary cache): seeded initialisation, frozen stages, eval detections on two images of
// different sizes (scores sqrt(class · centerness)), the train-mode losses (centre sampling with
// radius 1.5, per-level size ranges; focal, GIoU and centerness BCE) and gradients with
// torchvision's perturbed weights loaded strictly; the registry's metadata.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createDetector, listDetectors, type FCOS } from '../src/detection/index.js';
import { assertNoLeaks, assertRegistryMatches, runDetectorCases, type DetectorCase } from './helpers/one-stage-parity.js';

// One thread on both sides: bit-identical kernels, and no OpenMP threads spinning on the shared 2-core CI box.
torch.setNumThreads(1);

const TARGETS = [
  { boxes: [[20, 25, 110, 110], [80, 30, 150, 115], [25, 75, 50, 100]], labels: [1, 3, 4] },
  { boxes: [[8, 10, 125, 140], [40, 45, 70, 85], [75, 90, 130, 145]], labels: [2, 1, 4] },
];
const CASES: DetectorCase[] = [
  {
    // With (stand-in) ImageNet backbone weights: FrozenBatchNorm2d and conv1/layer1 frozen, as torchvision builds it.
    id: 'fcos', name: 'fcos_resnet50_fpn', options: { numClasses: 5, minSize: 128, maxSize: 176, pretrainedBackbone: true }, kwargs: { num_classes: 5, min_size: 128, max_size: 176 },
    seed: 7, images: [[3, 120, 160], [3, 150, 136]], targets: TARGETS, backboneWeights: 'ResNet50_Weights.IMAGENET1K_V1', legacyFile: true,
  },
];

let run: ReturnType<typeof runDetectorCases>;
before(() => {
  run = runDetectorCases(CASES, ['fcos_resnet50_fpn']);
});
after(() => run.cleanup());

test('fcos_resnet50_fpn: seeded init, eval detections, train losses and gradients equal torchvision\'s', (t) => {
  t.diagnostic(JSON.stringify(run.check('fcos')));
});

test('fcos_resnet50_fpn is registered with torchvision’s COCO weights, box mAP, categories and parameter count', () => {
  assert.deepEqual(listDetectors('fcos*'), ['fcos_resnet50_fpn']);
  assertRegistryMatches('fcos_resnet50_fpn', run.meta.fcos_resnet50_fpn);
});

test('createDetector({ pretrained: file }) with the FPN keys of files saved before torchvision 0.13: upgraded, torchvision’s detections', () => {
  const model = createDetector('fcos_resnet50_fpn', { numClasses: 5, minSize: 128, maxSize: 176, pretrained: run.path('fcos', 'legacy.pth') });
  run.assertEvalMatches('fcos', model);
});

test('replaceHead keeps the backbone; FCOS wants one anchor per location', () => {
  const model = createDetector('fcos_resnet50_fpn', { numClasses: 5, minSize: 128, maxSize: 176 }) as FCOS;
  const backbone = model.backbone.parameters();
  model.replaceHead(2);
  assert.equal(model.numClasses, 2);
  assert.deepEqual(model.head.classificationHead.clsLogits.weight.shape, [2, 256, 3, 3]);
  assert.ok(model.backbone.parameters().every((p, i) => p === backbone[i]));
  assert.throws(() => createDetector('fcos_resnet50_fpn', { centreSamplingRadius: 2 }), /unknown option 'centreSamplingRadius'/);
});

test('fcos_resnet50_fpn: an eval forward and a train step leave no tensor behind but what they return', async () => {
  await assertNoLeaks('fcos_resnet50_fpn', { numClasses: 3, minSize: 128, maxSize: 176 });
});
