// Faster R-CNN's parts alone against torchvision 0.14: anchors, the box coder, the matcher, the
// sampler (seeded: it draws from the same generator) and the transform's resize, batching and
// postprocess.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { join } from 'node:path';
import { loadStateDictFile } from '@iris/torch/io';
import { AnchorGenerator, BalancedPositiveNegativeSampler, BoxCoder, GeneralizedRCNNTransform, ImageList, Matcher, mobilenetBackbone, resnetFpnBackbone } from '../src/detection/index.js';
import { runPython, tempDir, toJson, assertClose, assertMaxRelClose, type JsonTensor } from './helpers/reference.js';

torch.setNumThreads(1);
const dir = tempDir();
after(() => dir.cleanup());

/** Random xyxy boxes inside [0, size): corners sorted so widths and heights are positive. */
function randomBoxes(n: number, size: number): Tensor {
  return torch.tidy(() => {
    const a = torch.rand([n, 2]).mul(size * 0.7);
    const wh = torch.rand([n, 2]).mul(size * 0.3).add(1);
    return torch.cat([a, a.add(wh)], 1);
  });
}

function assertEqualTensor(actual: Tensor, expected: JsonTensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.deepEqual(actual.toFlatArray(), expected.data, `${what}: values`);
}

torch.manualSeed(11);
const inputs = {
  reference: randomBoxes(40, 100),
  proposals: randomBoxes(40, 100),
  // Offsets for 3 classes per box, a few of them large enough for the exp() clip.
  codes: torch.tidy(() => torch.randn([40, 12]).mul(2).add(torch.rand([40, 12]).gt(0.9).mul(5))),
  boxes: randomBoxes(40, 100),
  // Quantised qualities, so ground truths tie for their best prediction.
  quality: torch.tidy(() => torch.rand([5, 40]).mul(10).round().div(10)),
  images: [torch.rand([3, 37, 53]), torch.rand([3, 100, 61]), torch.rand([3, 20, 90])],
  targets: [randomBoxes(3, 37), randomBoxes(2, 61), randomBoxes(4, 20)],
  labels: [
    torch.tensor([-1, 0, 0, 1, 2, 0, 0, 3, -1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0], { dtype: 'int64' }),
    torch.tensor([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { dtype: 'int64' }),
  ],
};

const ANCHOR_CASES = [
  // The FPN detectors': one size per level, three ratios; two images of one padded batch.
  { id: 'fpn', sizes: [[32], [64], [128]], aspect_ratios: [[0.5, 1.0, 2.0], [0.5, 1.0, 2.0], [0.5, 1.0, 2.0]], image: [2, 3, 96, 128], image_sizes: [[90, 128], [96, 100]], grids: [[24, 32], [12, 16], [6, 8]] },
  // Several sizes per level and ratios whose half-sizes end in .5 (round half to even).
  { id: 'multi', sizes: [[25, 40, 101]], aspect_ratios: [[0.3, 1.0, 1.7]], image: [1, 3, 64, 80], image_sizes: [[64, 80]], grids: [[5, 7]] },
];
const TRANSFORM_CASES = [
  { id: 'eval', min_size: 64, max_size: 100, images: [0, 1], targets: true, train: false },
  // The long side binds: 64 / 20 would make it 288 pixels.
  { id: 'max-size', min_size: 64, max_size: 100, images: [2], targets: true, train: false },
  // Multi-scale training: the size is drawn with torch's generator.
  { id: 'train', min_size: [48, 64, 80], max_size: 120, images: [0, 1, 2], targets: true, train: true, seed: 4 },
  { id: 'fixed', min_size: 64, max_size: 100, fixed_size: [50, 40], images: [0, 2], targets: false, train: false },
];

const BACKBONE_CASES = [
  { id: 'resnet18-fpn', kind: 'resnet', name: 'resnet18', trainable: 2, build: () => resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 2 }) },
  { id: 'mnv3-small-fpn', kind: 'mobilenet', name: 'mobilenet_v3_small', fpn: true, trainable: 3, build: () => mobilenetBackbone({ backboneName: 'mobilenet_v3_small', fpn: true, trainableLayers: 3 }) },
  { id: 'mnv2-conv', kind: 'mobilenet', name: 'mobilenet_v2', fpn: false, trainable: 2, build: () => mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: false }) },
];
const backboneInput = torch.rand([1, 3, 96, 64]);

let ref: Record<string, any>;
before(() => {
  ref = runPython('detection_parts_ref.py', {
    cmds: [
      ...ANCHOR_CASES.map((c) => ({ cmd: 'anchors', ...c })),
      ...[[10, 10, 5, 5], [1, 1, 1, 1]].map((weights) => ({
        cmd: 'box_coder', id: `coder-${weights.join('-')}`, weights,
        reference: toJson(inputs.reference), proposals: toJson(inputs.proposals), codes: toJson(inputs.codes), boxes: toJson(inputs.boxes),
      })),
      { cmd: 'matcher', id: 'rpn', high: 0.7, low: 0.3, allow_low: true, quality: toJson(inputs.quality) },
      { cmd: 'matcher', id: 'roi', high: 0.5, low: 0.5, allow_low: false, quality: toJson(inputs.quality) },
      ...TRANSFORM_CASES.map((c) => ({
        cmd: 'transform', ...c,
        images: c.images.map((i) => toJson(inputs.images[i])),
        targets: c.targets ? c.images.map((i) => toJson(inputs.targets[i])) : null,
      })),
      ...BACKBONE_CASES.map(({ build: _, ...c }) => ({ cmd: 'backbone', ...c, file: join(dir.path, `${c.id}.pt`), input: toJson(backboneInput) })),
      { cmd: 'sampler', id: 'sampler', seed: 5, batch_size: 6, fraction: 0.25, labels: inputs.labels.map(toJson) },
      { cmd: 'sampler', id: 'sampler-all', seed: 6, batch_size: 1000, fraction: 0.5, labels: inputs.labels.map(toJson) },
    ],
  });
});

for (const c of ANCHOR_CASES) {
  test(`AnchorGenerator (${c.id}): cell anchors and per-image anchors equal torchvision's`, () => {
    const gen = new AnchorGenerator(c.sizes, c.aspect_ratios);
    assert.deepEqual(gen.numAnchorsPerLocation(), ref[c.id].num_anchors_per_location);
    gen.cellAnchors.forEach((a, i) => assertEqualTensor(a, ref[c.id].cell_anchors[i], `cell anchors ${i}`));
    const images = new ImageList(torch.zeros(c.image), c.image_sizes as [number, number][]);
    const anchors = gen.call(images, c.grids.map(([h, w]) => torch.zeros([c.image[0], 1, h, w])));
    assert.equal(anchors.length, c.image[0]);
    anchors.forEach((a, i) => assertEqualTensor(a, ref[c.id].anchors[i], `anchors of image ${i}`));
  });
}

test('AnchorGenerator: a flat size list is one size per level, and the level counts must agree', () => {
  assert.deepEqual(new AnchorGenerator([32, 64], [0.5, 1, 2]).numAnchorsPerLocation(), [3, 3]);
  assert.throws(() => new AnchorGenerator([[32], [64]], [[1], [1], [1]]), /2 levels of sizes but 3 of aspect ratios/);
  const gen = new AnchorGenerator([[32], [64]], [[1], [1]]);
  assert.throws(() => gen.call(new ImageList(torch.zeros([1, 3, 32, 32]), [[32, 32]]), [torch.zeros([1, 1, 8, 8])]), /1 feature maps but anchors for 2 levels/);
});

for (const weights of [[10, 10, 5, 5], [1, 1, 1, 1]] as [number, number, number, number][]) {
  test(`BoxCoder (${weights}): encode and decode (with the exp clip) equal torchvision's`, () => {
    const coder = new BoxCoder(weights);
    const r = ref[`coder-${weights.join('-')}`];
    assertClose(coder.encodeSingle(inputs.reference, inputs.proposals), r.encoded, { rtol: 1e-6, atol: 1e-6, what: 'encoded' });
    assertClose(coder.decode(inputs.codes, [inputs.boxes]), r.decoded, { rtol: 1e-6, atol: 1e-4, what: 'decoded' });
    // encode → decode is the identity (up to float32), the coder's contract.
    const roundTrip = coder.decodeSingle(coder.encodeSingle(inputs.reference, inputs.proposals), inputs.proposals);
    assertClose(roundTrip, toJson(inputs.reference), { rtol: 1e-5, atol: 1e-3, what: 'round trip' });
  });
}

test('Matcher: matches equal torchvision’s, with and without low-quality matches', () => {
  assertEqualTensor(new Matcher(0.7, 0.3, true).call(inputs.quality), ref.rpn.matches, 'rpn matches');
  assertEqualTensor(new Matcher(0.5, 0.5, false).call(inputs.quality), ref.roi.matches, 'roi matches');
  assert.throws(() => new Matcher(0.3, 0.7), /lowThreshold 0.7 should be <= highThreshold 0.3/);
  assert.throws(() => new Matcher(0.7, 0.3).call(torch.zeros([0, 5])), /no ground-truth boxes/);
});

test('BalancedPositiveNegativeSampler: seeded, it picks the anchors torchvision picks', () => {
  for (const [id, seed, batch, fraction] of [['sampler', 5, 6, 0.25], ['sampler-all', 6, 1000, 0.5]] as const) {
    torch.manualSeed(seed);
    const [pos, neg] = new BalancedPositiveNegativeSampler(batch, fraction).call(inputs.labels);
    pos.forEach((p, i) => assertEqualTensor(p, ref[id].pos[i], `${id} positives of image ${i}`));
    neg.forEach((n, i) => assertEqualTensor(n, ref[id].neg[i], `${id} negatives of image ${i}`));
  }
});

for (const c of TRANSFORM_CASES) {
  test(`GeneralizedRCNNTransform (${c.id}): resize, batching and boxes equal torchvision's`, () => {
    const t = new GeneralizedRCNNTransform(c.min_size, c.max_size, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], { fixedSize: c.fixed_size as [number, number] | undefined });
    t.train(c.train);
    torch.manualSeed(c.seed ?? 0);
    const images = c.images.map((i) => inputs.images[i]);
    const targets = c.targets ? c.images.map((i) => ({ boxes: inputs.targets[i], labels: torch.ones([inputs.targets[i].shape[0]], { dtype: 'int64' }) })) : undefined;
    const [imageList, newTargets] = t.call(images, targets);
    const r = ref[c.id];
    assert.deepEqual(imageList.imageSizes, r.image_sizes, 'image sizes');
    assertClose(imageList.tensors, r.tensors, { rtol: 1e-5, atol: 1e-5, what: 'batched images' });
    newTargets?.forEach((target, i) => assertClose(target.boxes, r.boxes[i], { rtol: 1e-6, atol: 1e-5, what: `resized boxes ${i}` }));
    if (r.postprocessed) {
      const result = t.postprocess(inputs.targets.filter((_, i) => c.images.includes(i)).map((boxes) => ({ boxes, scores: torch.zeros([0]), labels: torch.zeros([0]) })), imageList.imageSizes, images.map((img) => img.shape.slice(-2) as [number, number]));
      result.forEach((det, i) => assertClose(det.boxes, r.postprocessed[i], { rtol: 1e-6, atol: 1e-5, what: `postprocessed boxes ${i}` }));
    }
    assert.equal(imageList.tensors.shape[2] % 32, 0, 'padded height is a multiple of 32');
    assert.equal(imageList.tensors.shape[3] % 32, 0, 'padded width is a multiple of 32');
  });
}

test('GeneralizedRCNNTransform: bad images get errors that name them', () => {
  const t = new GeneralizedRCNNTransform(64, 100, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).eval();
  assert.throws(() => t.call([torch.zeros([3, 8, 8], { dtype: 'uint8' })]), /floating point in \[0, 1\], got uint8/);
  assert.throws(() => t.call([torch.zeros([1, 3, 8, 8])]), /images\[0\] should be \[C, H, W\], got shape \[1,3,8,8\]/);
  assert.throws(() => t.call([torch.zeros([3, 8, 8])], []), /1 images but 0 targets/);
});

for (const c of BACKBONE_CASES) {
  test(`${c.id}: torchvision's ${c.kind === 'resnet' ? 'resnet_fpn_backbone' : 'mobilenet_backbone'} (FrozenBatchNorm2d, trainable layers, returned maps)`, () => {
    const backbone = c.build();
    assert.equal(backbone.outChannels, ref[c.id].out_channels);
    assert.deepEqual(Object.fromEntries(backbone.namedParameters().map(([k, p]) => [k, p.requiresGrad])), ref[c.id].requires_grad, 'requires_grad of every parameter');
    backbone.loadStateDict(loadStateDictFile(join(dir.path, `${c.id}.pt`)));
    backbone.eval();
    const out = torch.noGrad(() => backbone.call(backboneInput));
    const maps = out instanceof torch.Tensor ? new Map([['0', out]]) : out;
    assert.deepEqual([...maps.keys()], Object.keys(ref[c.id].outputs));
    for (const [name, t] of maps) assertMaxRelClose(t, torch.tensor(ref[c.id].outputs[name].data, { shape: ref[c.id].outputs[name].shape }), { what: `${c.id} map '${name}'` });
  });
}
