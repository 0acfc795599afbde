import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { collectGarbage } from './helpers/gc.js';

const { nn, optim } = torch;
const F = nn.functional;

class TinyCnn extends nn.Module {
  conv = new nn.Conv2d(1, 8, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(8);
  fc = new nn.Linear(8 * 14 * 14, 10);
  forward(x: torch.Tensor): torch.Tensor {
    return this.fc.forward(F.maxPool2d(F.relu(this.bn.forward(this.conv.forward(x))), 2).flatten(1));
  }
}

test('10,000 training steps of a small CNN keep resident memory flat', () => {
  torch.manualSeed(0);
  const model = new TinyCnn();
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = torch.randn([16, 1, 28, 28]);
  const y = torch.randint(0, 10, [16]);
  const step = () =>
    torch.tidy(() => {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      return loss.item();
    });
  for (let i = 0; i < 1000; i++) step();
  collectGarbage();
  const warmRss = process.memoryUsage().rss;
  const warmTensors = torch.liveTensors();
  let lastLoss = 0;
  for (let i = 0; i < 9000; i++) lastLoss = step();
  collectGarbage();
  const endRss = process.memoryUsage().rss;
  collectGarbage();
  assert.equal(torch.liveTensors(), warmTensors, 'tensors leaked across steps');
  assert.ok(endRss <= warmRss * 1.05, `RSS grew from ${(warmRss / 2 ** 20).toFixed(1)} MiB to ${(endRss / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(Number.isFinite(lastLoss) && lastLoss < 0.5, `the model should fit 16 fixed samples, loss ${lastLoss}`);
});
