import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { runPython, assertClose, toJson } from './helpers/python.js';
import { collectGarbage } from './helpers/gc.js';

test('randn after manualSeed equals PyTorch', () => {
  torch.manualSeed(42);
  const a = torch.randn([3, 4]);
  const b = torch.rand([5]);
  const c = torch.randint(0, 10, [6]);
  const ref = runPython('tensor_ref.py', { op: 'seeded' });
  assertClose(a, ref.randn, { rtol: 0, atol: 0, what: 'randn' });
  assertClose(b, ref.rand, { rtol: 0, atol: 0, what: 'rand' });
  assertClose(c, ref.randint, { rtol: 0, atol: 0, what: 'randint' });
});

test('tensor() round-trips values of every dtype', () => {
  const values = [[0, 1, 2], [3, 4, 5]];
  for (const dtype of ['float32', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8'] as const) {
    const t = torch.tensor(values, { dtype });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(t.tolist(), values);
  }
  assert.deepEqual(torch.tensor([1.5, -2.25], { dtype: 'float16' }).tolist(), [1.5, -2.25]);
  assert.deepEqual(torch.tensor([1.5, -2.25], { dtype: 'bfloat16' }).tolist(), [1.5, -2.25]);
  assert.deepEqual(torch.tensor([true, false]).tolist(), [true, false]);
  assert.deepEqual(torch.tensor(new BigInt64Array([5n, -7n])).tolist(), [5, -7]);
});

test('broadcasting arithmetic and scalar promotion follow PyTorch', () => {
  const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int64' });
  const y = torch.tensor([10, 20, 30], { dtype: 'int64' });
  assert.deepEqual(x.add(y).tolist(), [[11, 22, 33], [14, 25, 36]]);
  assert.equal(x.add(2).dtype, 'int64');
  assert.equal(x.add(2.5).dtype, 'float32');
  assert.equal(x.mul(torch.tensor([1.5])).dtype, 'float32');
  const ref = runPython('tensor_ref.py', { op: 'promote', x: toJson(x) });
  assertClose(x.div(4), ref.div, { what: 'int / int' });
});

test('autograd matches PyTorch on a small expression', () => {
  const a = torch.tensor([[0.5, -1.0], [2.0, 3.0]], { requiresGrad: true });
  const b = torch.tensor([[1.0, 2.0], [-0.5, 0.25]], { requiresGrad: true });
  const loss = a.matmul(b).tanh().mul(a).sum();
  loss.backward();
  const ref = runPython('tensor_ref.py', { op: 'grad', a: toJson(a), b: toJson(b) });
  assertClose(loss, ref.loss, { what: 'loss' });
  assertClose(a.grad!, ref.gradA, { what: 'a.grad' });
  assertClose(b.grad!, ref.gradB, { what: 'b.grad' });
});

test('noGrad records no history; tidy frees all but its result', () => {
  const w = torch.ones([3], { requiresGrad: true });
  const y = torch.noGrad(() => w.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(w.mul(2).requiresGrad, true);
  collectGarbage();
  const before = torch.liveTensors();
  const kept = torch.tidy(() => {
    const t = torch.ones([100]);
    t.mul(3).add(1);
    return t.sum();
  });
  collectGarbage();
  assert.equal(torch.liveTensors(), before + 1);
  assert.equal(kept.item(), 100);
});

test('using disposes at block end', () => {
  collectGarbage();
  const before = torch.liveTensors();
  {
    using t = torch.zeros([10]);
    assert.equal(t.numel(), 10);
  }
  collectGarbage();
  assert.equal(torch.liveTensors(), before);
});
