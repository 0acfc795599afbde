// classify() and its preprocessing against torchvision 0.14: the ImageNet class names, the
// weight transforms (resize, centre crop, normalise), and top-k predictions of a ResNet-18.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { classify, createModel, preprocess, IMAGENET_CLASSES, IMAGENET_PREPROCESSING, type Prediction, type Preprocessing } from '../src/index.js';
import { runPython, tempDir, assertClose } from './helpers/reference.js';

torch.setNumThreads(2);
const dir = tempDir();
after(() => dir.cleanup());

const PRESETS: Preprocessing[] = [
  IMAGENET_PREPROCESSING,
  { ...IMAGENET_PREPROCESSING, resizeSize: 232 },
  { resizeSize: 248, cropSize: 224, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  { ...IMAGENET_PREPROCESSING, resizeSize: 80, cropSize: 64, interpolation: 'nearest' },
  // A crop larger than the resized image: torchvision zero-pads.
  { ...IMAGENET_PREPROCESSING, resizeSize: 56, cropSize: 64 },
];
// Landscape with a half-pixel crop offset (Python rounds it to even), portrait, a batch, upscaling.
const IMAGES = [
  [3, 300, 400],
  [3, 417, 263],
  [2, 3, 240, 250],
  [3, 50, 61],
];
const CLASSIFY_SHAPES = [
  [3, 260, 300],
  [2, 3, 300, 240],
];

let reference: { classes: string[]; classify: { indices: number[][]; probabilities: number[][] }[] };
before(() => {
  reference = runPython('classify_ref.py', {
    cmds: [
      { cmd: 'classes' },
      { cmd: 'preprocess', path: join(dir.path, 'preprocess.pt'), images: IMAGES, presets: PRESETS },
      { cmd: 'pil', path: join(dir.path, 'pil.pt'), shape: [3, 375, 500] },
      { cmd: 'classify', dir: dir.path, shapes: CLASSIFY_SHAPES, topk: 5 },
    ],
  });
});

test('IMAGENET_CLASSES is torchvision’s _IMAGENET_CATEGORIES, in order', () => {
  assert.equal(IMAGENET_CLASSES.length, 1000);
  assert.deepEqual([...IMAGENET_CLASSES], reference.classes);
});

test('preprocess equals torchvision’s resize (antialias=True) + center_crop + normalize for every preset and image', () => {
  const saved = loadStateDictFile(join(dir.path, 'preprocess.pt'));
  IMAGES.forEach((shape, i) => {
    PRESETS.forEach((preset, j) => {
      const expected = saved.get(`out${i}_${j}`)!;
      const actual = preprocess(saved.get(`image${i}`)!, preset);
      const what = `image [${shape}] with ${JSON.stringify(preset)}`;
      assertClose(actual, expected.ndim === 3 ? expected.unsqueeze(0) : expected, { rtol: 1e-5, atol: 2e-5, what });
    });
  });
});

test('on a uint8 image, preprocess is much closer to torchvision’s PIL path than torchvision 0.14’s tensor path (no antialias) is', () => {
  const saved = loadStateDictFile(join(dir.path, 'pil.pt'));
  const ours = preprocess(saved.get('image')!, IMAGENET_PREPROCESSING);
  const pil = saved.get('pil')!.unsqueeze(0);
  const aliased = saved.get('tensor_no_antialias')!.unsqueeze(0);
  // In units of 0..1 pixel values: normalised differences times std.
  const std = torch.tensor(IMAGENET_PREPROCESSING.std).view([1, 3, 1, 1]);
  const meanAbs = (a: Tensor) => a.sub(pil).mul(std).abs().mean().item();
  const oursToPil = meanAbs(ours);
  const aliasedToPil = meanAbs(aliased);
  // Measured: 0.0005 (an eighth of a uint8 level) vs 0.027.
  assert.ok(oursToPil < 0.002, `mean |preprocess - PIL| is ${oursToPil} of the pixel range`);
  assert.ok(oursToPil < aliasedToPil / 3, `ours ${oursToPil} vs torchvision's unantialiased tensor resize ${aliasedToPil}`);
});

test('classify gives torchvision’s top-5 (ImageNet labels, softmax probabilities) for an image and a batch, with the model’s own preprocessing', () => {
  const model = createModel('resnet18');
  model.loadStateDict(loadStateDictFile(join(dir.path, 'model.pt')));
  model.train();
  const images = loadStateDictFile(join(dir.path, 'images.pt'));
  CLASSIFY_SHAPES.forEach((shape, i) => {
    const result = classify(images.get(`image${i}`)!, model, { topk: 5 });
    const batch = (shape.length === 3 ? [result] : result) as Prediction[][];
    assert.equal(batch.length, reference.classify[i].indices.length);
    batch.forEach((predictions, n) => {
      assert.deepEqual(predictions.map((p) => p.index), reference.classify[i].indices[n], `image ${i}.${n}: top-5 classes`);
      predictions.forEach((p, k) => {
        assert.equal(p.label, reference.classes[p.index]);
        assert.ok(Math.abs(p.probability - reference.classify[i].probabilities[n][k]) < 1e-5, `image ${i}.${n} top-${k + 1}: ${p.probability} vs ${reference.classify[i].probabilities[n][k]}`);
      });
    });
  });
  assert.ok(reference.classify[0].probabilities[0][0] > 0.2, 'the reference prediction is not near-uniform');
  assert.equal(model.training, true, 'classify restores the training mode');
});

test('classify: labels option, non-ImageNet heads, argument errors', () => {
  const model = createModel('resnet18', { numClasses: 3 });
  const image = torch.rand([3, 64, 80]);
  const preprocessing = { ...IMAGENET_PREPROCESSING, resizeSize: 64, cropSize: 64 };
  const plain = classify(image, model, { topk: 3, preprocessing }) as Prediction[];
  assert.deepEqual(plain.map((p) => p.label).sort(), ['0', '1', '2']);
  assert.ok(Math.abs(plain.reduce((s, p) => s + p.probability, 0) - 1) < 1e-5);
  const named = classify(image, model, { topk: 1, preprocessing, labels: ['cat', 'dog', 'bird'] }) as Prediction[];
  assert.equal(named[0].label, ['cat', 'dog', 'bird'][named[0].index]);
  assert.throws(() => classify(image, model, { topk: 4 }), /topk must be an integer from 1 to the model's 3 classes, got 4/);
  assert.throws(() => classify(torch.rand([64, 64]), model), /expected an RGB image \[3, H, W\] or a batch \[N, 3, H, W\], got shape \[64,64\]/);
});
