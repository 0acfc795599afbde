import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { createModel, listModels } from '../src/models/index.js';
import { checkForwardParity, checkStructure } from './helpers/mobile-parity.js';

test('the MobileNet variants are registered', () => {
  assert.deepEqual(listModels('mobilenet*'), ['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small']);
});

test('mobilenet_v2: seeded init, repr and eval forward equal torchvision', (t) => {
  t.diagnostic(checkForwardParity({ name: 'mobilenet_v2', options: { numClasses: 10 }, kwargs: { num_classes: 10 }, input: [2, 3, 64, 64], seed: 1 }));
});

test('mobilenet_v3_large: seeded init, repr and eval forward equal torchvision', (t) => {
  t.diagnostic(checkForwardParity({ name: 'mobilenet_v3_large', options: { numClasses: 10 }, kwargs: { num_classes: 10 }, input: [2, 3, 64, 64], seed: 2 }));
});

test('mobilenet_v3_small: eval and train-mode forward (dropout, batch stats) and gradients equal torchvision', (t) => {
  t.diagnostic(checkForwardParity({ name: 'mobilenet_v3_small', options: { numClasses: 10, dropRate: 0.5 }, kwargs: { num_classes: 10, dropout: 0.5 }, input: [4, 3, 64, 64], seed: 3, trainSeed: 33 }));
});

test('mobilenet state dicts, reprs, parameter counts and weights metadata equal torchvision, also with widthMult, reducedTail, dilated', () => {
  checkStructure([
    { name: 'mobilenet_v2' },
    { name: 'mobilenet_v3_large' },
    { name: 'mobilenet_v3_small' },
    { name: 'mobilenet_v2', options: { widthMult: 0.35, numClasses: 7 }, kwargs: { width_mult: 0.35, num_classes: 7 } },
    { name: 'mobilenet_v2', options: { widthMult: 1.4, roundNearest: 4 }, kwargs: { width_mult: 1.4, round_nearest: 4 } },
    { name: 'mobilenet_v3_large', options: { widthMult: 0.75 }, kwargs: { width_mult: 0.75 } },
    { name: 'mobilenet_v3_large', options: { reducedTail: true, dilated: true }, kwargs: { reduced_tail: true, dilated: true } },
    { name: 'mobilenet_v3_small', options: { widthMult: 1.25, reducedTail: true }, kwargs: { width_mult: 1.25, reduced_tail: true } },
  ]);
});

test('mobilenet featureInfo: the last layer at strides 4/8/16/32; dilated ends at stride 16', () => {
  assert.deepEqual(createModel('mobilenet_v3_large').featureInfo, [
    { module: 'features.3', channels: 24, reduction: 4 },
    { module: 'features.6', channels: 40, reduction: 8 },
    { module: 'features.12', channels: 112, reduction: 16 },
    { module: 'features.16', channels: 960, reduction: 32 },
  ]);
  assert.deepEqual(createModel('mobilenet_v3_small').featureInfo.map((f) => f.module), ['features.1', 'features.3', 'features.8', 'features.12']);
  assert.deepEqual(createModel('mobilenet_v2').featureInfo.map((f) => [f.module, f.reduction]), [['features.3', 4], ['features.6', 8], ['features.13', 16], ['features.18', 32]]);
  const dilated = createModel('mobilenet_v3_large', { dilated: true, numClasses: 3 }).eval();
  assert.deepEqual(dilated.featureInfo.map((f) => [f.module, f.reduction]), [['features.3', 4], ['features.6', 8], ['features.16', 16]]);
  torch.noGrad(() => assert.deepEqual(dilated.forwardFeatures(torch.randn([1, 3, 64, 64])).shape, [1, 960, 4, 4]));
});

test('mobilenet options: inChannels, numClasses 0, resetClassifier, preLogits', () => {
  const v3 = createModel('mobilenet_v3_small', { inChannels: 1, numClasses: 5 }).eval();
  assert.deepEqual(v3.stateDict().get('features.0.0.weight')!.shape, [16, 1, 3, 3]);
  const x = torch.randn([2, 1, 32, 32]);
  torch.noGrad(() => {
    assert.deepEqual(v3.call(x).shape, [2, 5]);
    assert.deepEqual(v3.forwardHead(v3.forwardFeatures(x), { preLogits: true }).shape, [2, 1024]);
    v3.resetClassifier(0);
    assert.equal(v3.numClasses, 0);
    assert.deepEqual(v3.call(x).shape, [2, 1024]);
    v3.resetClassifier(3);
    assert.deepEqual(v3.call(x).shape, [2, 3]);
    assert.deepEqual(v3.stateDict().get('classifier.3.weight')!.shape, [3, 1024]);
  });
  const v2 = createModel('mobilenet_v2', { numClasses: 0 }).eval();
  torch.noGrad(() => assert.deepEqual(v2.call(torch.randn([1, 3, 32, 32])).shape, [1, 1280]));
  assert.equal(v2.stateDict().has('classifier.1.weight'), false);
});
