// Ultralytics' training recipe through the Trainer (parameter groups, the 'auto' optimizer rule, weight
// decay scaled to the nominal batch, per-batch warm-up of lr / momentum / accumulation, LambdaLR per
// epoch, clipping at 10, ModelEMA with tau) against yolo_recipe_ref.py, a PyTorch rewrite of
// Ultralytics' loop on a small net: every batch's lr and momentum, and the weights and EMA at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import {
  Trainer,
  YoloSchedule,
  buildYoloOptimizer,
  resolveYoloOptimizer,
  yoloParamGroups,
  type BatchSource,
  type TrainingTask,
  type YoloHyperparameters,
} from '../src/train/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

const { nn } = torch;
torch.setNumThreads(2);

class Net extends nn.Module {
  fc1: InstanceType<typeof nn.Linear>;
  bn: InstanceType<typeof nn.BatchNorm1d>;
  fc2: InstanceType<typeof nn.Linear>;
  constructor(k: number) {
    super();
    this.fc1 = new nn.Linear(k, 16);
    this.bn = new nn.BatchNorm1d(16);
    this.fc2 = new nn.Linear(16, 1);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.bn.call(this.fc1.call(x)).relu()) as Tensor;
  }
}

interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Squared error, scaled by the batch size as Ultralytics' losses are. */
const regression: TrainingTask<Batch, number> = {
  metric: 'loss',
  hasTrainAccuracy: false,
  trainLoss: (model, batch) => ({ loss: (model.call(batch.x) as Tensor).sub(batch.y).square().mean().mul(batch.x.shape[0]), samples: batch.x.shape[0] }),
  evaluate: async () => 0,
  score: (r) => -r,
  logFields: () => ({}),
  batchSize: (b) => b.x.shape[0],
  disposeBatch: () => {},
};

function batches(x: Tensor, y: Tensor, count: number, size: number): BatchSource<Batch> {
  const items = Array.from({ length: count }, (_, i) => ({ x: x.narrow(0, i * size, size).keep(), y: y.narrow(0, i * size, size).keep() }));
  return {
    length: count,
    setEpoch: () => {},
    state: () => ({}),
    loadState: () => {},
    async *[Symbol.asyncIterator]() {
      yield* items;
    },
  };
}

const BASE: YoloHyperparameters = { optimizer: 'auto', lr0: 0.01, lrf: 0.01, momentum: 0.937, weightDecay: 0.0005, warmupEpochs: 1, warmupMomentum: 0.8, warmupBiasLr: 0.1, nbs: 64, cosLr: false };
const cases: { name: string; hyp: YoloHyperparameters; datasetSize: number; expect: string }[] = [
  { name: "'auto' on a short run: AdamW at the class-count fit, no bias warm-up", hyp: BASE, datasetSize: 800, expect: 'AdamW' },
  { name: "'auto' on a long run: SGD 0.01, momentum 0.9", hyp: BASE, datasetSize: 300_000, expect: 'SGD' },
  { name: 'SGD with its momentum warm-up, bias lr 0.1 and the cosine decay', hyp: { ...BASE, optimizer: 'SGD', lr0: 0.02, cosLr: true }, datasetSize: 800, expect: 'SGD' },
];

for (const c of cases) {
  test(`Ultralytics recipe, ${c.name}`, async () => {
    const dir = tempDir();
    const [epochs, count, size, inputs, nc] = [3, 50, 16, 4, 3];
    try {
      const hyp = { optimizer: c.hyp.optimizer, lr0: c.hyp.lr0, lrf: c.hyp.lrf, momentum: c.hyp.momentum, weight_decay: c.hyp.weightDecay, warmup_epochs: c.hyp.warmupEpochs, warmup_momentum: c.hyp.warmupMomentum, warmup_bias_lr: c.hyp.warmupBiasLr, nbs: c.hyp.nbs, cos_lr: c.hyp.cosLr };
      const ref = runPython('yolo_recipe_ref.py', { dir: dir.path, epochs, batches: count, batch_size: size, dataset_size: c.datasetSize, nc, hyp, in: inputs });
      const model = new Net(inputs);
      const shadow = new Net(inputs);
      const init = loadStateDictFile(join(dir.path, 'init.pt'));
      model.loadStateDict(init);
      const settings = resolveYoloOptimizer(c.hyp, { numClasses: nc, datasetSize: c.datasetSize, batchSize: size, epochs });
      assert.equal(settings.name, c.expect);
      assert.deepEqual([settings.name, settings.accumulate, settings.iterations, settings.warmupBiasLr], [ref.name, ref.accumulate, ref.iterations, ref.warmup_bias_lr]);
      assert.ok(Math.abs(settings.lr - ref.lr) < 1e-12 && Math.abs(settings.weightDecay - ref.weight_decay) < 1e-12, `lr ${settings.lr} / ${ref.lr}, decay ${settings.weightDecay} / ${ref.weight_decay}`);
      const groups = yoloParamGroups(model);
      assert.deepEqual([groups.weights.length, groups.normWeights.length, groups.bias.length], ref.groups);

      const optimizer = buildYoloOptimizer(model, settings);
      const schedule = new YoloSchedule(optimizer, { epochs, batchesPerEpoch: count, batchSize: size, hyp: c.hyp, settings });
      const data = loadStateDictFile(join(dir.path, 'data.pt'));
      const seen: { lrs: number[]; momentum: number | null; accumulate: number }[] = [];
      const trainer = new Trainer<Batch, number, never>({
        model,
        task: regression,
        optimizer,
        epochs,
        outDir: join(dir.path, 'run'),
        clipGradNorm: 10,
        accumulate: (b) => schedule.accumulate(b),
        accumulateReduction: 'sum',
        ema: { shadow, decay: 0.9999, tau: 2000 },
        onBatchStart: ({ globalBatch, epoch }) => {
          schedule.apply(globalBatch, epoch);
          const g0 = optimizer.paramGroups[0];
          seen.push({ lrs: optimizer.paramGroups.map((g) => g.lr), momentum: 'momentum' in g0 ? (g0.momentum as number) : null, accumulate: schedule.accumulate(globalBatch) });
        },
      });
      await trainer.fit(batches(data.get('x')!, data.get('y')!, count, size));

      assert.equal(seen.length, ref.lrs.length);
      seen.forEach((s, i) => {
        s.lrs.forEach((lr, j) => assert.ok(Math.abs(lr - ref.lrs[i][j]) <= 1e-12 + 1e-9 * ref.lrs[i][j], `batch ${i} group ${j}: lr ${lr}, Ultralytics ${ref.lrs[i][j]}`));
        if (ref.momenta[i] === null) assert.equal(s.momentum, null, `batch ${i}: Adam has no momentum key`);
        else assert.ok(Math.abs(s.momentum! - ref.momenta[i]) < 1e-12, `batch ${i}: momentum ${s.momentum}, Ultralytics ${ref.momenta[i]}`);
        assert.equal(s.accumulate, ref.accs[i], `batch ${i}: accumulate`);
      });
      const out = loadStateDictFile(join(dir.path, 'out.pt'));
      for (const [key, value] of model.stateDict()) if (value.isFloatingPoint()) assertMaxRelClose(value, out.get(`model.${key}`)!, { tol: 2e-5, what: `model.${key}` });
      for (const [key, value] of shadow.stateDict()) if (value.isFloatingPoint()) assertMaxRelClose(value, out.get(`ema.${key}`)!, { tol: 2e-5, what: `ema.${key}` });
    } finally {
      dir.cleanup();
    }
  });
}
