// VGG-11/13/16/19 (+BN) against torchvision 0.14 (vgg_ref.py): state-dict keys, reprs, parameter
// counts and weights metadata; the seeded initialisation; with torchvision's perturbed weights, the
// eval-mode stages, features and logits and a train-mode pass (dropout, batch statistics) with its
// gradients and running statistics. zoo-forward.test.ts runs every variant's eval forward; inputs
// here are VGG's minimum, 32 pixels, to keep the file short.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, listModels, modelInfo, type ImageModel } from '../src/models/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';
import { pythonRepr } from './helpers/mobile-parity.js';

// One thread on both sides: bit-identical kernels, and no OpenMP threads spinning on the shared 2-core CI box.
torch.setNumThreads(1);

const STRUCTURE = [
  { name: 'vgg11', options: {}, kwargs: {} },
  { name: 'vgg16', options: {}, kwargs: {} },
  { name: 'vgg19_bn', options: { numClasses: 7, dropRate: 0.2 }, kwargs: { num_classes: 7, dropout: 0.2 } },
];
// Seeded init, eval and train-mode parity of one BN variant, at 10 classes.
const PARITY = { name: 'vgg11_bn', options: { numClasses: 10, dropRate: 0.3 }, kwargs: { num_classes: 10, dropout: 0.3 }, seed: 11, input: [2, 3, 48, 32], trainSeed: 12 };

const dir = tempDir();
after(() => dir.cleanup());
let model: ImageModel;
let stages: number[];
let gradNames: string[];
let reference: {
  structure: { keys: [string, number[]][]; param_count: number; repr: string; weights?: unknown[][] }[];
  parity: { init_sums: Record<string, [number, number]> };
  rng_after: number[];
};

before(() => {
  torch.manualSeed(PARITY.seed);
  model = createModel(PARITY.name, PARITY.options);
  stages = model.featureInfo.map((f) => Number(f.module.split('.')[1]));
  // Everything but the 102M-element first classifier weight, whose gradient would dominate the file.
  gradNames = model.namedParameters().map(([k]) => k).filter((k) => k !== 'classifier.0.weight');
  reference = runPython('vgg_ref.py', {
    cmds: [
      { cmd: 'structure', models: STRUCTURE.map(({ name, kwargs }) => ({ name, kwargs })) },
      { cmd: 'parity', dir: dir.path, name: PARITY.name, kwargs: PARITY.kwargs, seed: PARITY.seed, input: PARITY.input, train_seed: PARITY.trainSeed, grad_names: gradNames, stages },
      { cmd: 'rng_after', name: 'vgg11', kwargs: { init_weights: false }, seed: 5 },
    ],
  });
});

test('the eight torchvision VGG variants are registered', () => {
  assert.deepEqual(listModels('vgg*'), ['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn']);
});

test('state dicts, reprs, parameter counts and every weights entry (vgg16’s features-only file too) equal torchvision’s', () => {
  STRUCTURE.forEach((c, i) => {
    const ref = reference.structure[i];
    const what = `${c.name} ${JSON.stringify(c.options)}`;
    const m = createModel(c.name, c.options);
    assert.deepEqual([...m.stateDict()].map(([k, v]) => [k, v.shape]), ref.keys, `${what}: state-dict keys and shapes`);
    assert.equal(pythonRepr(m), ref.repr, `${what}: repr`);
    assert.equal(m.numParameters(), ref.param_count, `${what}: parameter count`);
    for (const t of [...m.parameters(), ...m.buffers()]) t.dispose();
    if (!ref.weights) return;
    const entry = modelInfo(c.name);
    assert.equal(entry.paramCount, ref.param_count, `${c.name}: registered paramCount`);
    const own = entry.weights.map((w) => {
      const p = w.preprocessing ?? entry.preprocessing;
      return [w.tag, w.url, w.metrics?.top1 ?? null, w.metrics?.top5 ?? null, p.resizeSize, p.cropSize, p.interpolation, p.mean, p.std];
    });
    assert.deepEqual(own, ref.weights, `${c.name}: weights`);
  });
});

test('vgg11_bn: manual_seed + createModel gives torchvision’s own initialisation', () => {
  const sums = reference.parity.init_sums;
  const own = model.stateDict();
  assert.deepEqual([...own.keys()], Object.keys(sums));
  for (const [k, v] of own) {
    const sum = (t: torch.Tensor) => t.sum(null, { dtype: 'float64' }).item();
    assert.deepEqual([sum(v), sum(v.abs())], sums[k], `${k}: sum and sum of |x| after manual_seed(${PARITY.seed})`);
  }
});

test('with pretrained weights, VGG skips its initialisation as torchvision’s builder does (initWeights: false)', () => {
  torch.manualSeed(5);
  const m = createModel('vgg11', { initWeights: false });
  const draws = torch.rand([3]).toFlatArray();
  draws.forEach((d, i) => assert.ok(Math.abs(d - reference.rng_after[i]) < 1e-7, `draw ${i} after building: ${d}, torchvision's ${reference.rng_after[i]}`));
  for (const t of [...m.parameters(), ...m.buffers()]) t.dispose();
  assert.deepEqual(modelInfo('vgg16').pretrainedOptions?.({}), { initWeights: false });
});

test('vgg11_bn with torchvision’s weights: eval stages, features and logits; a train-mode pass, its gradients and running stats', (t) => {
  model.loadStateDict(loadStateDictFile(join(dir.path, 'weights.pt')));
  const io = loadStateDictFile(join(dir.path, 'io.pt'));
  const x = io.get('input')!;
  model.eval();
  torch.noGrad(() => {
    model.forwardStages(x).forEach((out, i) => {
      assert.equal(out.shape[1], model.featureInfo[i].channels);
      assertMaxRelClose(out, io.get(`stage${stages[i]}`)!, { what: model.featureInfo[i].module });
    });
    const features = model.forwardFeatures(x);
    assertMaxRelClose(features, io.get('features')!, { what: 'features' });
    assertMaxRelClose(model.call(x), io.get('logits')!, { what: 'logits' });
  });
  model.train();
  torch.manualSeed(PARITY.trainSeed);
  const logits = model.call(x);
  const train = assertMaxRelClose(logits, io.get('train_logits')!, { what: 'train-mode logits (dropout with the same draws)' });
  logits.pow(2).sum().backward();
  const params = new Map(model.namedParameters());
  const grads = gradNames.map((k): [string, torch.Tensor, torch.Tensor] => [k, params.get(k)!.grad!, io.get(`grad.${k}`)!]);
  // Conv biases before a train-mode BatchNorm get zero gradient up to rounding: judged on the largest gradient's scale.
  const floor = 1e-3 * Math.max(...grads.map(([, , ref]) => ref.abs().amax().item()));
  for (const [k, grad, ref] of grads) assertMaxRelClose(grad, ref, { tol: 1e-3, floor, what: `gradient of ${k}` });
  for (const [k, v] of model.stateDict()) {
    if (/running_(mean|var)$/.test(k)) assertMaxRelClose(v, io.get(`after_train.${k}`)!, { what: `${k} after the step` });
  }
  t.diagnostic(`train logits max|Δ| ${train.maxDiff.toExponential(2)}, max|ref| ${train.maxRef.toExponential(2)}`);
});

test('vgg featureInfo: the last layer before each pool from stride 4 on, and pool5 (forwardFeatures) at 32; 7x7 pooling at any size', () => {
  const m = createModel('vgg16', { numClasses: 3 }).eval();
  assert.deepEqual(m.featureInfo, [
    { module: 'features.15', channels: 256, reduction: 4 },
    { module: 'features.22', channels: 512, reduction: 8 },
    { module: 'features.29', channels: 512, reduction: 16 },
    { module: 'features.30', channels: 512, reduction: 32 },
  ]);
  assert.deepEqual(model.featureInfo.map((f) => f.module), ['features.13', 'features.20', 'features.27', 'features.28']);
  torch.noGrad(() => {
    const x = torch.rand([1, 3, 64, 96]);
    const features = m.forwardFeatures(x);
    assert.deepEqual(features.shape, [1, 512, 2, 3]);
    assert.deepEqual(m.forwardHead(features, { preLogits: true }).shape, [1, 4096], 'preLogits stops before the last Linear');
    m.resetClassifier(5);
    assert.equal(m.numClasses, 5);
    assert.deepEqual(m.call(x).shape, [1, 5]);
  });
});
