import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createModel, listModels, modelInfo } from '../src/models/index.js';
import { checkForwardParity, checkStructure } from './helpers/mobile-parity.js';

const V1 = ['efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7'];
const V2 = ['efficientnet_v2_l', 'efficientnet_v2_m', 'efficientnet_v2_s'];

test('the EfficientNet variants are registered; b0…b7 take 224…600 pixels', () => {
  assert.deepEqual(listModels('efficientnet*'), [...V1, ...V2]);
  assert.deepEqual(V1.map((name) => modelInfo(name).defaultInput[1]), [224, 240, 288, 300, 380, 456, 528, 600]);
});

test('efficientnet_b0: seeded init, repr, eval forward, and train-mode forward (stochastic depth, dropout, batch stats) with gradients equal torchvision', (t) => {
  t.diagnostic(
    checkForwardParity({
      name: 'efficientnet_b0', options: { numClasses: 10, dropPathRate: 0.5 }, kwargs: { num_classes: 10, stochastic_depth_prob: 0.5 },
      input: [4, 3, 64, 64], seed: 5, trainSeed: 55,
    }),
  );
});

test('efficientnet_v2_s (FusedMBConv, BN eps 1e-3): seeded init, repr and eval forward equal torchvision', (t) => {
  t.diagnostic(checkForwardParity({ name: 'efficientnet_v2_s', options: { numClasses: 10 }, kwargs: { num_classes: 10 }, input: [1, 3, 64, 64], seed: 6 }));
});

test('efficientnet b0…b7 and v2 s/m/l: state dicts, reprs, parameter counts and weights metadata equal torchvision', () => {
  checkStructure([
    ...[...V1, ...V2].map((name) => ({ name })),
    { name: 'efficientnet_b3', options: { dropPathRate: 0.3, numClasses: 21 }, kwargs: { stochastic_depth_prob: 0.3, num_classes: 21 } },
  ]);
});

test('efficientnet featureInfo, inChannels, resetClassifier and preLogits', () => {
  const model = createModel('efficientnet_b2', { inChannels: 4, numClasses: 6 }).eval();
  assert.deepEqual(model.featureInfo, [
    { module: 'features.2', channels: 24, reduction: 4 },
    { module: 'features.3', channels: 48, reduction: 8 },
    { module: 'features.5', channels: 120, reduction: 16 },
    { module: 'features.8', channels: 1408, reduction: 32 },
  ]);
  assert.deepEqual(model.stateDict().get('features.0.0.weight')!.shape, [32, 4, 3, 3]);
  const x = torch.randn([2, 4, 64, 64]);
  torch.noGrad(() => {
    assert.deepEqual(model.forwardStages(x).map((s) => s.shape), [[2, 24, 16, 16], [2, 48, 8, 8], [2, 120, 4, 4], [2, 1408, 2, 2]]);
    assert.deepEqual(model.call(x).shape, [2, 6]);
    assert.deepEqual(model.forwardHead(model.forwardFeatures(x), { preLogits: true }).shape, [2, 1408]);
    model.resetClassifier(0);
    assert.deepEqual(model.call(x).shape, [2, 1408]);
    model.resetClassifier(2);
    assert.deepEqual(model.call(x).shape, [2, 2]);
  });
  // torchvision's head init: U(±1/√outFeatures), zero bias.
  const head = model.stateDict();
  assert.ok(head.get('classifier.1.weight')!.abs().amax().item() <= 1 / Math.sqrt(2));
  assert.equal(head.get('classifier.1.bias')!.abs().sum().item(), 0);
});
