// ResNet, ResNeXt and Wide ResNet against torchvision 0.14: structure, eval forward with the same
// weights, one train-mode step, the stem options, and stage features (C2..C5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, createFeatureExtractor, listModels, modelInfo } from '../src/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

const F = torch.nn.functional;
const dir = tempDir();
after(() => dir.cleanup());
torch.setNumThreads(2);

const VARIANTS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d', 'wide_resnet50_2', 'wide_resnet101_2'];

/** Loads a torch.save'd dict of tensors; disposed by the caller's scope rules (tests are short-lived). */
function load(name: string): Map<string, Tensor> {
  return loadStateDictFile(join(dir.path, name));
}

const FORWARD_CASES = [
  { id: 'resnet18', name: 'resnet18', input: [2, 3, 64, 64], options: {} },
  { id: 'resnet50', name: 'resnet50', input: [2, 3, 64, 64], options: {} },
  { id: 'resnext50', name: 'resnext50_32x4d', num_classes: 10, input: [2, 3, 64, 64], options: { numClasses: 10 } },
  { id: 'cifar', name: 'resnet18', num_classes: 10, cifar_stem: true, input: [2, 3, 32, 32], options: { numClasses: 10, cifarStem: true } },
  { id: 'gray', name: 'resnet18', num_classes: 7, in_channels: 1, input: [2, 1, 48, 48], options: { numClasses: 7, inChannels: 1 } },
];

// One Python process writes every reference file (one torch import).
let reference: { structure: Record<string, { params: number; keys: [string, number[]][] }> };
before(() => {
  reference = runPython('resnet_ref.py', {
    cmds: [
      { cmd: 'structure', names: VARIANTS },
      { cmd: 'forward', dir: dir.path, cases: FORWARD_CASES.map(({ options: _, ...c }) => c) },
      { cmd: 'features', dir: dir.path, id: 'features', name: 'resnet50', input: [2, 3, 96, 64] },
      { cmd: 'train_step', dir: dir.path, input: [4, 3, 64, 64], num_classes: 10 },
      { cmd: 'seeded_init', dir: dir.path, name: 'resnet18', num_classes: 10, seed: 7 },
    ],
  });
});

test('every torchvision ResNet variant is registered, with torchvision’s parameter count, state-dict keys and shapes', () => {
  assert.deepEqual(listModels('res*').concat(listModels('wide_res*')).sort(), [...VARIANTS].sort());
  const structure = reference.structure;
  for (const name of VARIANTS) {
    const model = createModel(name);
    const own = model.stateDict();
    assert.equal(model.numParameters(), structure[name].params, `${name}: parameters`);
    assert.equal(modelInfo(name).paramCount, structure[name].params, `${name}: registered paramCount`);
    assert.deepEqual([...own].map(([k, t]) => [k, t.shape]), structure[name].keys, `${name}: state-dict keys and shapes`);
    for (const t of own.values()) t.dispose();
    // Big variants: free their memory now rather than at the next GC.
    for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
  }
});

for (const c of FORWARD_CASES) {
  test(`${c.id}: eval forward with torchvision's weights (strict load) matches torchvision`, () => {
    const model = createModel(c.name, c.options);
    model.loadStateDict(load(`${c.id}.pt`));
    model.eval();
    const io = load(`${c.id}-io.pt`);
    const out = torch.noGrad(() => model.call(io.get('input')!));
    const { maxDiff, maxRef } = assertMaxRelClose(out, io.get('output')!, { what: `${c.id} logits` });
    assert.ok(maxRef > 0.1, `${c.id}: the reference output should not be degenerate (max |ref| ${maxRef}, Δ ${maxDiff})`);
  });
}

test('cifarStem and inChannels change only the stem, as the usual torchvision adaptation does', () => {
  const cifar = createModel('resnet18', { cifarStem: true });
  assert.deepEqual((cifar as any).conv1.weight.shape, [64, 3, 3, 3]);
  assert.equal((cifar as any).maxpool.constructor.name, 'Identity');
  assert.deepEqual(cifar.featureInfo.map((f) => f.reduction), [1, 2, 4, 8]);
  const gray = createModel('resnet50', { inChannels: 1, numClasses: 0 });
  assert.deepEqual((gray as any).conv1.weight.shape, [64, 1, 7, 7]);
  const pooled = torch.noGrad(() => gray.eval().call(torch.rand([1, 1, 64, 64])));
  assert.deepEqual(pooled.shape, [1, 2048], 'numClasses 0 returns pooled features');
});

test('forward hooks on inner modules fire (submodules run through call), as Grad-CAM needs', () => {
  const model = createModel('resnet18').eval();
  const seen: string[] = [];
  let captured: Tensor | null = null;
  model.getSubmodule('layer4').registerForwardHook((_m, _inputs, output) => void (captured = torch.keep(output as Tensor)));
  model.getSubmodule('layer2.1.conv2').registerForwardHook(() => void seen.push('layer2.1.conv2'));
  model.getSubmodule('fc').registerForwardPreHook(() => void seen.push('fc'));
  const x = torch.rand([1, 3, 64, 64]);
  torch.noGrad(() => model.call(x));
  assert.deepEqual(seen, ['layer2.1.conv2', 'fc']);
  assert.ok(captured!.equal(torch.noGrad(() => model.forwardStages(x)[3])));
});

test('forwardHead({preLogits}) and resetClassifier', () => {
  const model = createModel('resnet18', { numClasses: 5 }).eval();
  const x = torch.rand([1, 3, 64, 64]);
  torch.noGrad(() => {
    const features = model.forwardFeatures(x);
    assert.deepEqual(features.shape, [1, 512, 2, 2]);
    assert.deepEqual(model.forwardHead(features, { preLogits: true }).shape, [1, 512]);
    model.resetClassifier(3);
    assert.equal(model.numClasses, 3);
    assert.deepEqual(model.call(x).shape, [1, 3]);
  });
});

test('torch.manual_seed + createModel gives torchvision’s own initialisation', () => {
  torch.manualSeed(7);
  const model = createModel('resnet18', { numClasses: 10 });
  const reference = load('seeded.pt');
  for (const [key, value] of model.stateDict()) assert.ok(value.equal(reference.get(key)!), `${key}: same values as torchvision after manual_seed(7)`);
});

test('one train-mode step of ResNet-18: loss, every gradient and the BatchNorm running stats match PyTorch', () => {
  const model = createModel('resnet18', { numClasses: 10 });
  model.loadStateDict(load('train-init.pt'));
  model.train();
  const ref = load('train-out.pt');
  const loss = F.crossEntropy(model.call(ref.get('input')!), ref.get('target')!);
  loss.backward();
  assertMaxRelClose(loss, ref.get('loss')!, { what: 'loss' });
  const params = model.namedParameters();
  assert.equal(params.length, 62);
  for (const [name, p] of params) assertMaxRelClose(p.grad!, ref.get(`grad.${name}`)!, { what: `grad of ${name}`, tol: 1e-4 });
  for (const [name, t] of model.stateDict()) {
    if (name.includes('running_') || name.endsWith('num_batches_tracked')) assertMaxRelClose(t, ref.get(`state.${name}`)!, { what: `${name} after the step` });
  }
});

test('createFeatureExtractor(resnet50) returns layer1..layer4 as torchvision’s IntermediateLayerGetter does', () => {
  const extractor = createFeatureExtractor(createModel('resnet50'));
  extractor.loadStateDict(load('features.pt'));
  extractor.eval();
  const io = load('features-io.pt');
  const stages = torch.noGrad(() => extractor.call(io.get('input')!));
  assert.equal(stages.length, 4);
  stages.forEach((s, i) => assertMaxRelClose(s, io.get(`layer${i + 1}`)!, { what: `layer${i + 1}` }));
  assert.deepEqual(extractor.featureInfo.map((f) => [f.module, f.channels, f.reduction]), [
    ['layer1', 256, 4],
    ['layer2', 512, 8],
    ['layer3', 1024, 16],
    ['layer4', 2048, 32],
  ]);
});

test('feature extractor: outIndices, shapes agree with featureInfo, parameters are the model’s', () => {
  const model = createModel('resnet18');
  const extractor = createFeatureExtractor(model, { outIndices: [1, -1] });
  assert.deepEqual(extractor.featureInfo.map((f) => f.module), ['layer2', 'layer4']);
  const stages = torch.noGrad(() => extractor.eval().call(torch.rand([1, 3, 64, 96])));
  stages.forEach((s, i) => {
    const info = extractor.featureInfo[i];
    assert.deepEqual(s.shape, [1, info.channels, 64 / info.reduction, 96 / info.reduction], `${info.module} shape`);
  });
  assert.equal(model.training, false, 'eval() reaches the wrapped model');
  assert.equal(extractor.parameters().length, model.parameters().length);
  assert.ok(extractor.parameters().every((p, i) => p === model.parameters()[i]));
  assert.deepEqual([...extractor.stateDict().keys()], [...model.stateDict().keys()]);
  assert.throws(() => createFeatureExtractor(model, { outIndices: [4] }), /outIndices entry 4 is out of range: ResNet has 4 stages \(layer1, layer2, layer3, layer4\)/);
});
