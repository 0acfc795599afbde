// Failures are JS exceptions, never crashes: libtorch's errors arrive as Errors carrying its
// message, wrong JS argument types as TypeErrors, bad values as RangeErrors. Each case checks
// the exact class and the part of the message a user needs; the last test checks the process
// still computes afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import * as F from '../src/nn/functional.js';
import { collectGarbage } from './helpers/gc.js';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

/** Asserts `fn` throws exactly `cls` (an Error, not a subclass, for libtorch's) with `message` in it. */
function assertFails(fn: () => unknown, cls: ErrorClass, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `expected an Error object, got ${String(e)}`);
    assert.equal(Object.getPrototypeOf(e), cls.prototype, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}

const long = (values: number[][] | number[]) => torch.tensor(values, { dtype: 'int64' });

const cases: [name: string, fn: () => unknown, cls: ErrorClass, message: RegExp][] = [
  ['matmul shape mismatch names both shapes', () => torch.matmul(torch.randn([2, 3]), torch.randn([4, 5])), Error, /2x3 and 4x5/],
  [
    'conv2d with the wrong number of input channels',
    () => F.conv2d(torch.randn([1, 5, 8, 8]), torch.randn([4, 3, 3, 3])),
    Error,
    /weight of size \[4, 3, 3, 3\], expected input\[1, 5, 8, 8\] to have 3 channels, but got 5 channels/,
  ],
  ['view to an incompatible shape', () => torch.view(torch.randn([3, 4]), [5, 5]), Error, /shape '\[5, 5\]' is invalid for input of size 12/],
  ['reshape inferring two dimensions', () => torch.reshape(torch.ones([6]), [-1, -1]), Error, /only one dimension can be inferred/],
  [
    'cat of mismatched shapes',
    () => torch.cat([torch.randn([2, 3]), torch.randn([2, 4])]),
    Error,
    /Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1/,
  ],
  [
    'broadcasting incompatible shapes',
    () => torch.add(torch.ones([2, 3]), torch.ones([2, 4])),
    Error,
    /size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/,
  ],
  ['gather index out of range', () => torch.gather(torch.randn([3, 4]), 1, long([[5]])), Error, /index 5 is out of bounds for dimension 1 with size 4/],
  ['indexSelect index out of range', () => torch.indexSelect(torch.randn([3, 4]), 0, long([3])), Error, /index out of range in self/],
  ['embedding index out of range', () => F.embedding(long([9]), torch.randn([3, 2])), Error, /index out of range in self/],
  ['nllLoss class index out of range', () => F.nllLoss(torch.randn([2, 3]), long([1, 7])), Error, /Target 7 is out of bounds/],
  [
    'a disposed tensor used in an op',
    () => {
      const x = torch.randn([2]);
      x.dispose();
      return torch.add(x, 1);
    },
    Error,
    /argument 'self': tensor was disposed/,
  ],
  [
    'crossEntropy with float targets of the wrong shape',
    () => F.crossEntropy(torch.randn([3, 4]), torch.rand([3, 5])),
    Error,
    /0D or 1D target tensor expected, multi-target not supported/,
  ],
  ['crossEntropy with float class indices', () => F.crossEntropy(torch.randn([3, 4]), torch.rand([3])), Error, /expected scalar type Long but found Float/],
  ['mm of int64 and float32', () => torch.mm(torch.ones([2, 2], { dtype: 'int64' }), torch.ones([2, 2])), Error, /expected scalar type Long but found Float/],
  ['softmax over a missing dimension', () => torch.softmax(torch.ones([2, 3]), 5), Error, /Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/],
  [
    'backward from a non-scalar without a gradient',
    () => torch.mul(torch.randn([3], { requiresGrad: true }), 2).backward(),
    Error,
    /grad can be implicitly created only for scalar outputs; output 0 has shape \[3\]/,
  ],
  [
    'backward twice without retainGraph',
    () => {
      const y = torch.sum(torch.exp(torch.randn([3], { requiresGrad: true })));
      y.backward();
      y.backward();
    },
    Error,
    /backward through the graph a second time/,
  ],
  [
    'autograd.grad of a non-scalar without gradOutputs',
    () => {
      const x = torch.randn([3], { requiresGrad: true });
      return torch.grad(torch.mul(x, 2), x);
    },
    Error,
    /output 0 has shape \[3\]; pass gradOutputs/,
  ],
  [
    'requiresGrad on an integer tensor',
    () => {
      torch.ones([2], { dtype: 'int64' }).requiresGrad = true;
    },
    Error,
    /Only Tensors of floating point and complex dtype can require gradients/,
  ],
  ['in-place op on a leaf that requires grad', () => torch.add_(torch.ones([2], { requiresGrad: true }), 1), Error, /a leaf Variable that requires grad is being used in an in-place operation/],
  ['an unknown device string', () => torch.zeros([2], { device: 'gpu' }), Error, /device type at start of device string: gpu/],
  ['a bad dtype string', () => torch.zeros([2], { dtype: 'float33' as 'float32' }), TypeError, /unknown dtype 'float33'; expected one of .*float32/],
  ['a non-integer shape', () => torch.zeros([2.5]), TypeError, /aten::zeros: argument 'size' must be an integer, got 2.5/],
  ['a negative shape', () => torch.zeros([-1]), Error, /negative dimension -1/],
  ['a string where a Tensor is expected', () => torch.add('abc' as unknown as torch.Tensor, torch.ones([2])), TypeError, /aten::add.Tensor: .*argument 'self'/],
  ['a string where a number is expected', () => torch.add(torch.ones([2]), 'x' as unknown as number), TypeError, /aten::add.Scalar: argument 'other' must be a number or boolean/],
  ['a string where a dimension is expected', () => torch.sum(torch.ones([2, 3]), 'a' as unknown as number), TypeError, /argument 'dim' must be an integer or an array of integers/],
  ['a string where a boolean is expected', () => torch.sum(torch.ones([2]), [0], { keepdim: 'yes' as unknown as boolean }), TypeError, /argument 'keepdim' must be a boolean/],
  ['tensor() of a ragged array', () => torch.tensor([[1, 2], [3]]), RangeError, /ragged nested array: data\[1\] has shape \[1\] but data\[0\] has \[2\]/],
  ['tensor() with too few values for its shape', () => torch.tensor(new Float32Array(3), { shape: [2, 2] }), RangeError, /shape \[2,2\] needs 4 values, got 3/],
  ['item() of a tensor with several elements', () => torch.ones([2, 3]).item(), RangeError, /a tensor with 6 elements cannot be converted to a number/],
  ['tidy around an async function', () => torch.tidy(async () => 1), TypeError, /tidy: the function returned a Promise/],
  [
    'a functional option outside its choices',
    () => F.crossEntropy(torch.randn([2, 3]), long([0, 1]), { reduction: 'avg' as 'mean' }),
    RangeError,
    /crossEntropy: reduction must be 'none', 'mean' or 'sum', got 'avg'/,
  ],
];

for (const [name, fn, cls, message] of cases) {
  test(`${name}: ${cls.name}`, () => assertFails(fn, cls, message));
}

test('a CUDA device without CUDA is an Error naming CUDA', () => {
  if (torch.cuda.isAvailable()) {
    assert.equal(torch.zeros([2], { device: 'cuda' }).device, 'cuda:0');
    return;
  }
  assertFails(() => torch.zeros([2], { device: 'cuda' }), Error, /CUDA/);
  assertFails(() => torch.ones([2]).to('cuda:0'), Error, /CUDA/);
});

test('an async op rejects its promise with libtorch\'s Error', async () => {
  await assert.rejects(torch.matmulAsync(torch.randn([2, 3]), torch.randn([4, 5])), (e: Error) => {
    assert.equal(Object.getPrototypeOf(e), Error.prototype);
    assert.match(e.message, /2x3 and 4x5/);
    return true;
  });
});

test('retainGraph allows a second backward, as PyTorch does', () => {
  const x = torch.tensor([1, 2, 3], { requiresGrad: true });
  const y = torch.sum(torch.mul(x, x));
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.deepEqual(x.grad!.tolist(), [4, 8, 12]);
});

test('the process still computes after all of the above', () => {
  collectGarbage();
  const before = torch.liveTensors();
  const value = torch.tidy(() => torch.sum(torch.matmul(torch.ones([2, 3]), torch.ones([3, 4]))).item());
  assert.equal(value, 24);
  collectGarbage();
  assert.equal(torch.liveTensors(), before);
});
