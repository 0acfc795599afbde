import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { createModel, type ImageModel } from '../src/index.js';
import { DataLoader, FashionMnist, takePerClass } from '../src/data/index.js';
import { depthGroups, fineTuneParamGroups, GradualUnfreezing, Trainer, makeRecipeTransform } from '../src/train/index.js';

const small = { numClasses: 10 };
const cases: [string, Record<string, unknown>][] = [
  ['resnet18', small],
  ['mobilenet_v3_small', small],
  ['densenet121', small],
  ['vit_ti_16', { ...small, imageSize: 32 }],
  ['efficientnet_b0', small],
  ['simple_cnn', small],
];

for (const [name, options] of cases) {
  test(`depthGroups(${name}) cuts every parameter once, in forward order, with the classifier in 'head'`, () => {
    const model = createModel(name, options);
    const groups = depthGroups(model);
    const named = model.namedParameters();
    assert.deepEqual(groups.flatMap((g) => g.params), named.map(([, p]) => p), 'groups concatenate to namedParameters()');
    assert.equal(groups.at(-1)!.name, 'head');
    const stages = model.featureInfo.map((f) => f.module);
    assert.deepEqual(groups.map((g) => g.name).filter((n) => n !== 'stem' && n !== 'head'), stages, 'one group per feature stage');
    // Each stage's own parameters sit in its group.
    for (const g of groups) {
      if (g.name === 'stem' || g.name === 'head') continue;
      const own = named.filter(([n]) => n.startsWith(`${g.name}.`)).map(([, p]) => p);
      assert.ok(own.length > 0 && own.every((p) => g.params.includes(p)), `${name}: ${g.name}'s parameters are in its group`);
    }
    // What the model itself calls its classifier (what resetClassifier replaces) is in the head.
    const before = new Map(named);
    model.resetClassifier(3);
    const replaced = model.namedParameters().filter(([n, p]) => before.get(n) !== p).map(([n]) => n);
    assert.ok(replaced.length > 0, `${name}: resetClassifier replaced something`);
    const headNames = new Set(named.filter(([, p]) => groups.at(-1)!.params.includes(p)).map(([n]) => n));
    for (const n of replaced) assert.ok(headNames.has(n), `${name}: classifier parameter ${n} is in the head group`);
  });
}

test('fineTuneParamGroups: the head at lr, the backbone scaled and decayed per group downwards', () => {
  const model = createModel('resnet18', small);
  const groups = fineTuneParamGroups(model, { lr: 0.1, backboneLrScale: 0.5, layerDecay: 0.5 });
  assert.deepEqual(groups.map((g) => g.name), ['stem', 'layer1', 'layer2', 'layer3', 'layer4', 'head']);
  const expected = [0.1 * 0.5 * 0.5 ** 4, 0.1 * 0.5 * 0.5 ** 3, 0.1 * 0.5 * 0.5 ** 2, 0.1 * 0.5 * 0.5, 0.1 * 0.5, 0.1];
  groups.forEach((g, i) => assert.ok(Math.abs(g.lr - expected[i]) < 1e-15, `${g.name}: lr ${g.lr}, expected ${expected[i]}`));
  assert.throws(() => fineTuneParamGroups(model, { lr: 0.1, layerDecay: 0 }), /layerDecay must be > 0/);
});

test('per-group learning rates: one plain SGD step moves each group by -lr_group * grad', () => {
  torch.manualSeed(0);
  const model = createModel('resnet18', { numClasses: 4, cifarStem: true });
  const groups = fineTuneParamGroups(model, { lr: 0.2, backboneLrScale: 0.1, layerDecay: 0.7 });
  const optimizer = new torch.optim.SGD(groups, { lr: 1 });
  const x = torch.randn([4, 3, 16, 16]);
  const y = torch.tensor([0, 1, 2, 3], { dtype: 'int64' });
  torch.tidy(() => torch.nn.functional.crossEntropy(model.forward(x), y).backward());
  const before = groups.map((g) => g.params.map((p) => p.detach().clone()));
  optimizer.step();
  // Plain SGD's update is PyTorch's param.add_(grad, alpha=-lr): the same op on the same inputs gives
  // the same bits on any CPU, whereas before - lr * grad (a rounded product, then a rounded
  // difference) can differ from it by an ulp where the kernel fuses the multiply-add.
  groups.forEach((g, gi) => {
    let moved = false;
    g.params.forEach((p, pi) => {
      const want = before[gi][pi].add(p.grad!, { alpha: -g.lr });
      assert.ok(p.detach().equal(want), `${g.name} parameter ${pi}: |Δ| ${p.detach().sub(want).abs().amax().item()} from before - ${g.lr} * grad`);
      moved ||= !p.detach().equal(before[gi][pi]);
    });
    assert.ok(moved, `${g.name}: the step moved some parameter`);
  });
});

/** The first 40 Fashion-MNIST training images (4 per class), 16 a batch: 3 batches an epoch. */
function fashionLoader() {
  const data = takePerClass(new FashionMnist(undefined, { train: true }), 4, 0);
  return new DataLoader(data, { batchSize: 16, shuffle: true, seed: 3, transform: makeRecipeTransform({ kind: 'small', train: true, cropSize: 28, padding: 2, hflip: true, mean: [0.286], std: [0.353] }) });
}

function fineTuneRun(outDir: string, options: { crashAtStep?: number } = {}) {
  torch.manualSeed(1);
  const model = createModel('simple_cnn', small) as ImageModel;
  const unfreezing = new GradualUnfreezing(model, 1);
  const optimizer = new torch.optim.SGD(fineTuneParamGroups(model, { lr: 0.05, backboneLrScale: 0.2 }), { lr: 0.05, momentum: 0.9 });
  const snapshots: Map<string, torch.Tensor>[] = [];
  const trainer = new Trainer({
    model,
    optimizer,
    maxSteps: 8,
    numClasses: 10,
    outDir,
    checkpointEverySteps: 1,
    onEpochStart: (epoch) => void unfreezing.apply(epoch),
    onStep: ({ epoch, step }) => {
      if (options.crashAtStep !== undefined && epoch * 3 + step === options.crashAtStep) throw new Error('simulated crash');
    },
    onEpoch: () => void snapshots.push(new Map(model.namedParameters().map(([n, p]) => [n, torch.keep(p.detach().clone())]))),
  });
  return { model, trainer, snapshots, initial: new Map(model.namedParameters().map(([n, p]) => [n, p.detach().clone()])) };
}

test('gradual unfreezing trains the head first, then one more group each epoch; maxSteps ends inside an epoch', async () => {
  const run = fineTuneRun(mkdtempSync(join(tmpdir(), 'iris-unfreeze-')));
  const loader = fashionLoader();
  const result = await run.trainer.fit(loader);
  assert.equal(result.steps, 8);
  assert.equal(result.epochsRun, 3, '8 steps of 3 batches: two full epochs and a partial one');
  const groups = depthGroups(run.model).map((g) => ({ name: g.name, names: run.model.namedParameters().filter(([, p]) => g.params.includes(p)).map(([n]) => n) }));
  assert.deepEqual(groups.map((g) => g.name), ['stem', 'bn1', 'bn2', 'head']);
  const moved = (a: Map<string, torch.Tensor>, b: Map<string, torch.Tensor>, names: string[]) => names.map((n) => !a.get(n)!.equal(b.get(n)!));
  const [afterEpoch1, afterEpoch2, afterEpoch3] = run.snapshots;
  // Epoch 1: only the head; epoch 2: the head and bn2's group; epoch 3: bn1's group joins.
  for (const g of groups) {
    const epoch1 = moved(run.initial, afterEpoch1, g.names);
    const epoch2 = moved(afterEpoch1, afterEpoch2, g.names);
    const epoch3 = moved(afterEpoch2, afterEpoch3, g.names);
    assert.ok(epoch1.every((m) => m === (g.name === 'head')), `${g.name} in epoch 1: ${epoch1}`);
    assert.ok(epoch2.every((m) => m === (g.name === 'head' || g.name === 'bn2')), `${g.name} in epoch 2: ${epoch2}`);
    assert.ok(epoch3.every((m) => m === (g.name !== 'stem')), `${g.name} in epoch 3: ${epoch3}`);
  }
  await loader.close();
});

test('a run stopped mid-epoch resumes from its checkpoint to the same weights (steps, unfreezing, momentum)', async () => {
  const straightDir = mkdtempSync(join(tmpdir(), 'iris-steps-a-'));
  const straight = fineTuneRun(straightDir);
  const loaderA = fashionLoader();
  await straight.trainer.fit(loaderA);

  const crashedDir = mkdtempSync(join(tmpdir(), 'iris-steps-b-'));
  const crashed = fineTuneRun(crashedDir, { crashAtStep: 5 });
  const loaderB = fashionLoader();
  await assert.rejects(crashed.trainer.fit(loaderB), /simulated crash/);
  await loaderB.close();

  // A new process would start from scratch: a fresh model, optimizer, loader and trainer.
  const resumed = fineTuneRun(crashedDir);
  const loaderC = fashionLoader();
  assert.equal(resumed.trainer.resumeIfPossible(loaderC), true);
  const result = await resumed.trainer.fit(loaderC);
  assert.equal(result.steps, 8);
  const resumedParams = new Map(resumed.model.namedParameters());
  for (const [name, p] of straight.model.namedParameters()) {
    assert.ok(p.equal(resumedParams.get(name)!), `${name} differs between the uninterrupted and the resumed run`);
  }
  await loaderA.close();
  await loaderC.close();
});
