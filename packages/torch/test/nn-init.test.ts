// nn.init against torch.nn.init: after the same manualSeed every function fills bit-identical values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { nn } from '../src/index.js';
import { runPython, assertClose, type JsonTensor } from './helpers/python.js';

const { init } = nn;

interface InitCase {
  name: string;
  shape: number[];
  iris: (t: torch.Tensor) => unknown;
  /** torch.nn.init function and its keyword arguments. */
  fn: string;
  kwargs?: Record<string, unknown>;
}

const cases: InitCase[] = [
  { name: 'uniform', shape: [5, 7], iris: (t) => init.uniform_(t, -0.3, 0.7), fn: 'uniform_', kwargs: { a: -0.3, b: 0.7 } },
  { name: 'normal', shape: [4, 6], iris: (t) => init.normal_(t, 0.5, 2), fn: 'normal_', kwargs: { mean: 0.5, std: 2 } },
  { name: 'truncNormal', shape: [64, 9], iris: (t) => init.truncNormal_(t, 0.1, 0.02), fn: 'trunc_normal_', kwargs: { mean: 0.1, std: 0.02 } },
  { name: 'truncNormalBounds', shape: [300], iris: (t) => init.truncNormal_(t, 0, 1, -0.5, 1.5), fn: 'trunc_normal_', kwargs: { a: -0.5, b: 1.5 } },
  { name: 'constant', shape: [3, 3], iris: (t) => init.constant_(t, 0.25), fn: 'constant_', kwargs: { val: 0.25 } },
  { name: 'zeros', shape: [3], iris: (t) => init.zeros_(t), fn: 'zeros_' },
  { name: 'ones', shape: [2, 2], iris: (t) => init.ones_(t), fn: 'ones_' },
  { name: 'xavierUniform', shape: [6, 4, 3, 3], iris: (t) => init.xavierUniform_(t, init.calculateGain('relu')), fn: 'xavier_uniform_', kwargs: { gain: Math.SQRT2 } },
  { name: 'xavierNormal', shape: [10, 20], iris: (t) => init.xavierNormal_(t), fn: 'xavier_normal_' },
  { name: 'kaimingUniform', shape: [8, 3, 5, 5], iris: (t) => init.kaimingUniform_(t, { a: Math.sqrt(5) }), fn: 'kaiming_uniform_', kwargs: { a: Math.sqrt(5) } },
  {
    name: 'kaimingUniformFanOut',
    shape: [8, 12],
    iris: (t) => init.kaimingUniform_(t, { mode: 'fanOut', nonlinearity: 'leakyRelu', a: 0.2 }),
    fn: 'kaiming_uniform_',
    kwargs: { mode: 'fan_out', nonlinearity: 'leaky_relu', a: 0.2 },
  },
  {
    name: 'kaimingNormal',
    shape: [16, 4, 3, 3],
    iris: (t) => init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu' }),
    fn: 'kaiming_normal_',
    kwargs: { mode: 'fan_out', nonlinearity: 'relu' },
  },
  { name: 'kaimingNormalTanh', shape: [7, 9], iris: (t) => init.kaimingNormal_(t, { nonlinearity: 'tanh' }), fn: 'kaiming_normal_', kwargs: { nonlinearity: 'tanh' } },
];

test('every init function fills the same values as torch.nn.init after the same seed', () => {
  const ours = new Map<string, torch.Tensor>();
  cases.forEach((c, i) => {
    torch.manualSeed(40 + i);
    const t = torch.empty(c.shape);
    c.iris(t);
    ours.set(c.name, t);
  });
  const gains: [string, string, unknown[]][] = [
    ['linear', 'linear', []],
    ['conv2d', 'conv2d', []],
    ['convTranspose2d', 'conv_transpose2d', []],
    ['sigmoid', 'sigmoid', []],
    ['tanh', 'tanh', []],
    ['relu', 'relu', []],
    ['leakyRelu', 'leaky_relu', []],
    ['leakyRelu', 'leaky_relu', [0.2]],
    ['leakyRelu', 'leaky_relu', [Math.sqrt(5)]],
    ['selu', 'selu', []],
  ];
  const fanShapes = [[5, 3], [8, 3, 5, 5], [4, 2, 3]];
  const ref = runPython<{ tensors: Record<string, JsonTensor>; gains: Record<string, number>; fans: number[][] }>('nn_ref.py', {
    op: 'init',
    cases: cases.map((c, i) => ({ name: c.name, seed: 40 + i, shape: c.shape, fn: c.fn, kwargs: c.kwargs ?? {} })),
    gains: gains.map(([, py, args]) => [py, args]),
    fanShapes,
  });
  for (const c of cases) assertClose(ours.get(c.name)!, ref.tensors[c.name], { rtol: 0, atol: 0, what: c.name });
  // Python's dict keeps the last leaky_relu entry, sqrt(5)'s gain.
  assert.equal(init.calculateGain('leakyRelu', Math.sqrt(5)), ref.gains.leaky_relu);
  for (const [name, py] of gains.filter(([n]) => n !== 'leakyRelu')) assert.equal(init.calculateGain(name as nn.init.Nonlinearity), ref.gains[py], name);
  assert.deepEqual(
    fanShapes.map((s) => {
      const { fanIn, fanOut } = init.calculateFanInAndFanOut(torch.empty(s));
      return [fanIn, fanOut];
    }),
    ref.fans,
  );
});

test('init functions reject what PyTorch rejects and record no autograd history', () => {
  assert.throws(() => init.calculateFanInAndFanOut(torch.empty([3])), /at least 2 dimensions/);
  assert.throws(() => init.kaimingUniform_(torch.empty([3, 3]), { mode: 'fan_in' as nn.init.FanMode }), /mode 'fan_in' is not supported; use 'fanIn' or 'fanOut'/);
  assert.throws(() => init.calculateGain('softmax' as nn.init.Nonlinearity), /unsupported nonlinearity 'softmax'/);
  const w = new nn.Parameter(torch.empty([4, 4]));
  init.xavierUniform_(w);
  assert.equal(w.isLeaf, true);
  assert.equal(w.gradFn, null);
});
