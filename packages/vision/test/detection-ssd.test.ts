// ssd300_vgg16 and ssdlite320_mobilenet_v3_large against torchvision 0.14: seeded initialisation,
// eval detections on two images of different sizes and the train-mode losses (SSDMatcher, 3:1 hard
// negative mining) with gradients, with torchvision's perturbed weights loaded strictly; the
// registry's COCO weights metadata; head replacement and bad options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createDetector, listDetectors, DefaultBoxGenerator, ImageList, ssdliteMobilenetExtractor, vggExtractor, type SSD } from '../src/detection/index.js';
import { createModel } from '../src/models/index.js';
import { MobileNetV3, mobileNetV3Config } from '../src/models/mobilenetv3.js';
import type { VGG } from '../src/models/vgg.js';
import { assertNoLeaks, assertRegistryMatches, runDetectorCases, type DetectorCase } from './helpers/one-stage-parity.js';

// One thread on both sides: bit-identical kernels, and no OpenMP threads spinning on the shared 2-core CI box.
torch.setNumThreads(1);

const TARGETS = [
  { boxes: [[20, 30, 120, 150], [100, 40, 250, 190], [30, 100, 90, 190]], labels: [1, 3, 4] },
  { boxes: [[10, 10, 200, 290], [50, 60, 90, 110], [120, 150, 230, 300]], labels: [2, 1, 4] },
];

const CASES: DetectorCase[] = [
  { id: 'ssd300', name: 'ssd300_vgg16', options: { numClasses: 5 }, kwargs: { num_classes: 5 }, seed: 3, images: [[3, 200, 260], [3, 310, 240]], targets: TARGETS },
  { id: 'ssdlite', name: 'ssdlite320_mobilenet_v3_large', options: { numClasses: 5 }, kwargs: { num_classes: 5 }, seed: 4, images: [[3, 200, 260], [3, 310, 240]], targets: TARGETS },
];
const NAMES = ['ssd300_vgg16', 'ssdlite320_mobilenet_v3_large'];
const TRAINABLE = [
  ...[0, 2, 5].map((layers) => ({ extractor: 'vgg' as const, layers })),
  ...[0, 3, 6].map((layers) => ({ extractor: 'mobilenet' as const, layers })),
];

let run: ReturnType<typeof runDetectorCases>;
before(() => {
  run = runDetectorCases(CASES, NAMES, TRAINABLE);
});
after(() => run.cleanup());

for (const c of CASES) {
  test(`${c.name}: seeded init, eval detections, train losses and gradients equal torchvision's`, (t) => {
    const figures = run.check(c.id);
    t.diagnostic(JSON.stringify(figures));
  });
}

test('both SSDs are registered with torchvision’s COCO weights, box mAP, categories and parameter counts', () => {
  assert.ok(NAMES.every((n) => listDetectors('ssd*').includes(n)));
  for (const name of NAMES) assertRegistryMatches(name, run.meta[name]);
});

test('trainableBackboneLayers freezes the stages torchvision’s VGG and MobileNet extractors freeze', () => {
  TRAINABLE.forEach(({ extractor, layers }, i) => {
    let backbone: torch.nn.Module;
    if (extractor === 'vgg') backbone = vggExtractor(createModel('vgg16', { initWeights: false }) as VGG, false, layers);
    else {
      const { setting, lastChannel } = mobileNetV3Config('mobilenet_v3_large', { reducedTail: true });
      const mobilenet = new MobileNetV3(setting, lastChannel);
      const strided = setting.flatMap((cnf, k) => (cnf.stride > 1 ? [k + 1] : []));
      backbone = ssdliteMobilenetExtractor(mobilenet.features, strided, layers, (c) => new torch.nn.BatchNorm2d(c, { eps: 0.001, momentum: 0.03 }));
    }
    const own = backbone.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
    assert.deepEqual(own, run.trainable[i], `${extractor} with ${layers} trainable stages`);
  });
  assert.throws(() => vggExtractor(createModel('vgg11', { initWeights: false }) as VGG, false, 6), /trainableBackboneLayers should be in the range \[0, 5\], got 6/);
});

test('DefaultBoxGenerator: SSD300’s 8732 boxes, 4 or 6 per cell, centred on cells at its steps', () => {
  const generator = new DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], { scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps: [8, 16, 32, 64, 100, 300] });
  assert.deepEqual(generator.numAnchorsPerLocation(), [4, 6, 6, 6, 4, 4]);
  const sizes = [38, 19, 10, 5, 3, 1];
  const features = sizes.map((s) => torch.zeros([1, 1, s, s]));
  const [boxes] = generator.call(new ImageList(torch.zeros([1, 3, 300, 300]), [[300, 300]]), features);
  assert.deepEqual(boxes.shape, [8732, 4]);
  // The first cell of conv4_3: centre (4, 4), the ratio-1 box of scale 0.07 (21 px), clipped to [0, 1] relative.
  assert.deepEqual(boxes.select(0, 0).toFlatArray().map((v) => Math.round(v * 1000) / 1000), [-6.5, -6.5, 14.5, 14.5]);
  assert.equal(String(generator), 'DefaultBoxGenerator(aspect_ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]], clip=True, scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])');
  const lite = new DefaultBoxGenerator(Array.from({ length: 6 }, () => [2, 3]), { minRatio: 0.2, maxRatio: 0.95 });
  assert.deepEqual(lite.scales.map((s) => Math.round(s * 1e6) / 1e6), [0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1]);
});

test('replaceHead swaps only the class-dependent head (same kind of head); SSD refuses minSize and unknown options', () => {
  const model = createDetector('ssdlite320_mobilenet_v3_large', { numClasses: 5 }) as SSD;
  const backbone = model.backbone.parameters();
  const head = model.head.constructor.name;
  model.replaceHead(3);
  assert.equal(model.numClasses, 3);
  assert.equal(model.head.constructor.name, head);
  assert.ok(model.backbone.parameters().every((p, i) => p === backbone[i]), 'the backbone is kept');
  model.eval();
  const [det] = torch.noGrad(() => model.call([torch.rand([3, 64, 80])])) as { labels: torch.Tensor }[];
  assert.ok(det.labels.toFlatArray().every((l) => l >= 1 && l < 3), 'labels of the new head');
  assert.throws(() => createDetector('ssd300_vgg16', { minSize: 512 }), /ssd300_vgg16: the input size is fixed, so minSize and maxSize do not apply/);
  assert.throws(() => createDetector('ssdlite320_mobilenet_v3_large', { scoreTresh: 0.1 }), /unknown option 'scoreTresh'/);
  model.train();
  assert.throws(() => model.call([torch.rand([3, 64, 80])]), /SSD: targets are needed in training mode/);
  const bad = [{ boxes: torch.tensor([[10, 10, 5, 20]]), labels: torch.tensor([1], { dtype: 'int64' }) }];
  assert.throws(() => model.call([torch.rand([3, 64, 80])], bad), /found invalid box \[.*\] for target at index 0/);
});

test('ssdlite320_mobilenet_v3_large: an eval forward and a train step leave no tensor behind but what they return', async () => {
  await assertNoLeaks('ssdlite320_mobilenet_v3_large', { numClasses: 3 });
});
