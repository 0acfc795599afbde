// The inference fast path (conv–BN folded, channels-last, batched, bf16 autocast) against the plain
// path it replaces: the model as built, in eval mode, fp32, one forward pass. fp32 must agree within
// 1e-4 · max |ref|; bf16 is checked on real Fashion-MNIST test images with a briefly trained small
// CNN (top-1 agreement with fp32), where the CPU has native bf16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { classify, createModel, inferenceSession, type ImageModel, type Prediction } from '../src/index.js';
import { DataLoader, FashionMnist, takePerClass } from '../src/data/index.js';
import { makeRecipeTransform } from '../src/train/index.js';
import { assertMaxRelClose } from './helpers/reference.js';

torch.setNumThreads(2);

/** A model whose BatchNorms are not the identity they start as, so that folding them shows. */
function perturbedModel(name: string, options: Record<string, unknown> = {}): ImageModel {
  torch.manualSeed(0);
  const model = createModel(name, options);
  torch.noGrad(() => {
    for (const m of model.modules()) {
      if (!(m instanceof nn.BatchNorm2d)) continue;
      m.runningMean!.normal_({ mean: 0, std: 0.2 });
      m.runningVar!.uniform_({ from: 0.5, to: 1.5 });
      m.weight!.uniform_({ from: 0.5, to: 1.5 });
    }
  });
  return model;
}

const plainForward = (model: nn.Module, x: Tensor) => torch.noGrad(() => model.eval().call(x) as Tensor);

test('the fp32 fast path equals the plain eval forward within 1e-4, in batches, and close() gives the model back', () => {
  const model = perturbedModel('resnet18', { numClasses: 10 });
  const x = torch.randn([5, 3, 64, 64]);
  const expected = plainForward(model, x);
  model.train();
  const stateBefore = [...model.stateDict().keys()];
  const session = inferenceSession(model, { batchSize: 2 });
  assert.equal(session.precision, 'fp32');
  assert.equal(session.fusedPairs.length, 20, "resnet18's 20 conv→BN pairs are folded");
  assert.ok(model.parameters().find((p) => p.ndim === 4)!.isContiguous('channelsLast'), 'channels-last on CPU');
  const { maxDiff, maxRef } = assertMaxRelClose(session.forward(x), expected, { what: 'fast path (3 batches of ≤2) vs plain' });
  console.log(`# resnet18 fp32 fast path: max |Δ| ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toExponential(2)})`);
  session.close();
  assert.equal(model.training, true, 'training mode restored');
  assert.deepEqual([...model.stateDict().keys()], stateBefore, 'BatchNorms back');
  assert.ok(model.parameters().find((p) => p.ndim === 4)!.isContiguous(), 'contiguous weights back');
  assertMaxRelClose(plainForward(model, x), expected, { tol: 0, what: 'the restored model' });
});

test('classify: the default fast path gives the plain path’s classes and probabilities (1e-4)', () => {
  const model = perturbedModel('mobilenet_v3_small');
  torch.manualSeed(1);
  const images = torch.rand([3, 3, 90, 120]);
  const fast = classify(images, model, { topk: 3, inference: { batchSize: 2 } }) as Prediction[][];
  const plain = classify(images, model, { topk: 3, inference: { fast: false } }) as Prediction[][];
  assert.deepEqual(fast.map((r) => r.map((p) => p.index)), plain.map((r) => r.map((p) => p.index)));
  const scale = Math.max(...plain.flat().map((p) => p.probability));
  const worst = Math.max(...fast.flatMap((r, n) => r.map((p, k) => Math.abs(p.probability - plain[n][k].probability))));
  assert.ok(worst <= 1e-4 * scale, `max |Δ probability| ${worst}`);
});

test('bad inference options are clear errors: fp16 on the CPU, a batch size that is not a positive integer', () => {
  const model = createModel('simple_cnn');
  assert.throws(() => inferenceSession(model, { precision: 'fp16' }), /precision 'fp16' needs a CUDA device, and the model is on 'cpu'; use 'bf16'/);
  assert.throws(() => inferenceSession(model, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.throws(() => classify(torch.rand([1, 28, 28]).expand([3, 28, 28]), model, { inference: { precision: 'fp8' as 'fp32' } }), /precision must be 'fp32', 'bf16' or 'fp16', got 'fp8'/);
  assert.equal(model.training, true, 'a failed session leaves the model as it was');
});

test('bf16 autocast: a briefly trained small CNN gives fp32’s top-1 on real Fashion-MNIST test images', async (t) => {
  if (!torch.cpu.bf16Support().supported) return t.skip(`no native bf16 here: ${torch.cpu.bf16Support().reason}`);
  const transform = makeRecipeTransform({ kind: 'small', train: false, cropSize: 28, mean: [0.286], std: [0.353] });
  torch.manualSeed(0);
  const model = createModel('simple_cnn');
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: 2e-3 });
  const train = new DataLoader(takePerClass(new FashionMnist(undefined, { train: true }), 30, 0), { batchSize: 50, shuffle: true, seed: 1, transform });
  for (let epoch = 0; epoch < 3; epoch++) {
    for await (const { images, labels } of train) {
      torch.tidy(() => {
        optimizer.zeroGrad();
        nn.functional.crossEntropy(model.call(images), labels).backward();
        optimizer.step();
      });
      images.dispose();
      labels.dispose();
    }
  }
  let batch: { images: Tensor; labels: Tensor } | undefined;
  for await (const b of new DataLoader(takePerClass(new FashionMnist(undefined, { train: false }), 10, 0), { batchSize: 100, transform })) batch = b;
  assert.ok(batch);
  const top1 = (precision: 'fp32' | 'bf16') => {
    const session = inferenceSession(model, { precision });
    try {
      assert.equal(session.precision, precision);
      return session.forward(batch!.images).softmax(1);
    } finally {
      session.close();
    }
  };
  const [fp32, bf16] = [top1('fp32'), top1('bf16')];
  const a = fp32.argmax(1).toFlatArray();
  const b = bf16.argmax(1).toFlatArray();
  const truth = batch.labels.toFlatArray();
  const agree = a.filter((c, i) => c === b[i]).length;
  const accuracy = (p: number[]) => p.filter((c, i) => c === truth[i]).length;
  const maxProbDiff = fp32.sub(bf16).abs().amax().item();
  console.log(`# bf16 vs fp32 on 100 Fashion-MNIST test images: top-1 agreement ${agree}/100, accuracy ${accuracy(b)} vs ${accuracy(a)}, max |Δ probability| ${maxProbDiff.toFixed(4)}`);
  assert.ok(accuracy(a) >= 50, `the briefly trained model is better than chance (${accuracy(a)}/100)`);
  assert.ok(agree >= 97, `bf16 and fp32 agree on ${agree}/100 top-1 classes`);
  assert.ok(maxProbDiff < 0.1, `max |Δ probability| ${maxProbDiff}`);
});
