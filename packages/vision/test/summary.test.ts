// summarizeModel: the layer table against torchvision's modules (forward hooks in PyTorch), and
// parameter counts and multiply-adds against torchvision's published numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { createModel, formatSummary, listModels, modelInfo, registerFlopCounter, summarizeModel } from '../src/index.js';
import { runPython } from './helpers/reference.js';

torch.setNumThreads(2);

// torchvision's documentation tables (GFLOPS: multiply-adds at the weights' input size) and parameter counts.
const PUBLISHED: Record<string, { gflops: number; params: number }> = {
  resnet18: { gflops: 1.814, params: 11_689_512 },
  resnet50: { gflops: 4.089, params: 25_557_032 },
  resnext50_32x4d: { gflops: 4.23, params: 25_028_904 },
  vit_b_32: { gflops: 4.409, params: 88_224_232 },
};

for (const [name, published] of Object.entries(PUBLISHED)) {
  test(`${name}: parameters and multiply-adds at the default input match torchvision’s published ${published.gflops} GFLOPS (within 2%)`, (t) => {
    if (!listModels().includes(name)) return t.skip(`'${name}' is not registered`);
    const summary = summarizeModel(createModel(name));
    assert.deepEqual(summary.inputShape, [1, ...modelInfo(name).defaultInput]);
    assert.equal(summary.totalParams, published.params);
    assert.equal(summary.trainableParams, published.params);
    const gflops = summary.flops / 1e9;
    assert.ok(Math.abs(gflops - published.gflops) / published.gflops < 0.02, `${name}: ${gflops.toFixed(4)} GFLOPS, torchvision publishes ${published.gflops}`);
  });
}

test('resnet18: every row (name, type, output shape, parameters) is what torchvision’s modules give under forward hooks', () => {
  const reference = runPython<{ names: string[]; rows: Record<string, { type: string; params: number; outputShape: number[] }> }>('summary_ref.py', { name: 'resnet18', input: [3, 160, 128] });
  const summary = summarizeModel(createModel('resnet18'), [3, 160, 128]);
  assert.deepEqual(summary.rows.map((r) => r.name), reference.names);
  for (const row of summary.rows) {
    const ref = reference.rows[row.name];
    assert.deepEqual([row.type, row.outputShape, row.params], [ref.type, ref.outputShape, ref.params], row.name);
  }
  const conv1 = summary.rows.find((r) => r.name === 'conv1')!;
  assert.equal(conv1.flops, 64 * 80 * 64 * 3 * 7 * 7, 'conv1: output elements × input channels × kernel area');
  assert.equal(summary.rows.find((r) => r.name === 'layer1')!.flops, 0, 'containers count nothing themselves');
});

test('summarizeModel leaves the model as it was; formatSummary prints the table and totals', () => {
  const model = createModel('resnet18', { numClasses: 10 });
  model.train();
  const summary = summarizeModel(model, [3, 64, 64]);
  assert.equal(model.training, true);
  assert.ok(model.modules().every((m) => !Object.hasOwn(m, 'forward')), 'the per-module wrappers are gone');
  assert.deepEqual(summary.rows.find((r) => r.name === 'fc')!.outputShape, [1, 10]);
  const text = formatSummary(summary, { maxDepth: 1 });
  assert.match(text, /^conv1 \(Conv2d\)\s+\[1, 64, 32, 32\]\s+9,408$/m);
  assert.match(text, /^Total params: 11,181,642$/m);
  assert.doesNotMatch(text, /BasicBlock/, 'maxDepth 1 shows only the children');
});

test('registerFlopCounter counts layers that compute with functional ops', () => {
  class Scale extends nn.Module {
    weight = new nn.Parameter(torch.ones([4, 4]));
    forward(x: Tensor): Tensor {
      return x.matmul(this.weight);
    }
  }
  class Net extends nn.Module {
    scale = new Scale();
    forward(x: Tensor): Tensor {
      return this.scale.forward(x.flatten(1));
    }
  }
  const net = new Net() as any;
  Object.assign(net, { featureInfo: [], numClasses: 4 });
  assert.equal(summarizeModel(net, [1, 2, 2]).flops, 0);
  registerFlopCounter(Scale, (_m, [x]: Tensor[]) => x.shape[0] * 16);
  const summary = summarizeModel(net, [3, 1, 2, 2]);
  assert.equal(summary.flops, 3 * 16, 'counted even though Net calls scale.forward directly');
});
