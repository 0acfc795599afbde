// Each layer against PyTorch: default initialisation bit for bit after the same manualSeed, then
// two forwards in training mode (dropout masks, BatchNorm running stats), gradients of a weighted
// sum with respect to the input and the parameters, the state after training, an eval forward,
// and the repr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { nn } from '../src/index.js';
import { runPython, assertClose, toJson, type JsonTensor } from './helpers/python.js';

interface LayerCase {
  iris: () => nn.Module;
  py: string;
  /** Input shape, or int64 indices below `high`. */
  input: number[] | { indices: number[]; high: number };
  /** Gradients of sums over many terms get an absolute tolerance of this much. */
  atol?: number;
}

const cases: LayerCase[] = [
  { iris: () => new nn.Linear(5, 4), py: 'nn.Linear(5, 4)', input: [3, 5] },
  { iris: () => new nn.Linear(5, 4, { bias: false }), py: 'nn.Linear(5, 4, bias=False)', input: [2, 3, 5] },
  { iris: () => new nn.Identity(), py: 'nn.Identity()', input: [2, 3] },
  { iris: () => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 }), py: 'nn.Conv1d(3, 4, 3, stride=2, padding=1)', input: [2, 3, 9] },
  { iris: () => new nn.Conv1d(2, 4, 3, { padding: 'same', paddingMode: 'reflect', dilation: 2 }), py: "nn.Conv1d(2, 4, 3, padding='same', padding_mode='reflect', dilation=2)", input: [2, 2, 8] },
  { iris: () => new nn.Conv2d(3, 4, 3, { padding: 1 }), py: 'nn.Conv2d(3, 4, 3, padding=1)', input: [2, 3, 6, 6] },
  {
    iris: () => new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2, bias: false }),
    py: 'nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, bias=False)',
    input: [2, 4, 7, 6],
  },
  { iris: () => new nn.Conv2d(3, 2, 3, { padding: 'same', paddingMode: 'reflect' }), py: "nn.Conv2d(3, 2, 3, padding='same', padding_mode='reflect')", input: [1, 3, 5, 5] },
  { iris: () => new nn.Conv2d(3, 2, 3, { padding: 2, paddingMode: 'replicate' }), py: "nn.Conv2d(3, 2, 3, padding=2, padding_mode='replicate')", input: [1, 3, 5, 4] },
  { iris: () => new nn.Conv2d(3, 2, [3, 5], { padding: [1, 2], paddingMode: 'circular' }), py: "nn.Conv2d(3, 2, (3, 5), padding=(1, 2), padding_mode='circular')", input: [1, 3, 5, 6] },
  { iris: () => new nn.Conv2d(3, 2, 2, { padding: 'valid' }), py: "nn.Conv2d(3, 2, 2, padding='valid')", input: [1, 3, 4, 4] },
  {
    iris: () => new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }),
    py: 'nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)',
    input: [2, 4, 3, 3],
  },
  { iris: () => new nn.ConvTranspose2d(4, 6, 2, { groups: 2, bias: false, dilation: 2 }), py: 'nn.ConvTranspose2d(4, 6, 2, groups=2, bias=False, dilation=2)', input: [1, 4, 3, 3] },
  { iris: () => new nn.BatchNorm1d(4), py: 'nn.BatchNorm1d(4)', input: [6, 4] },
  { iris: () => new nn.BatchNorm1d(3, { momentum: 0.3, eps: 1e-3 }), py: 'nn.BatchNorm1d(3, momentum=0.3, eps=1e-3)', input: [4, 3, 5] },
  { iris: () => new nn.BatchNorm2d(3), py: 'nn.BatchNorm2d(3)', input: [2, 3, 4, 4] },
  { iris: () => new nn.BatchNorm2d(3, { momentum: null }), py: 'nn.BatchNorm2d(3, momentum=None)', input: [2, 3, 4, 4] },
  { iris: () => new nn.BatchNorm2d(3, { affine: false, trackRunningStats: false }), py: 'nn.BatchNorm2d(3, affine=False, track_running_stats=False)', input: [2, 3, 3, 3] },
  { iris: () => new nn.LayerNorm([4, 5]), py: 'nn.LayerNorm([4, 5])', input: [2, 3, 4, 5] },
  { iris: () => new nn.LayerNorm(5, { elementwiseAffine: false, eps: 1e-6 }), py: 'nn.LayerNorm(5, elementwise_affine=False, eps=1e-6)', input: [3, 5] },
  { iris: () => new nn.GroupNorm(2, 4), py: 'nn.GroupNorm(2, 4)', input: [2, 4, 3, 3] },
  { iris: () => new nn.Dropout({ p: 0.3 }), py: 'nn.Dropout(p=0.3)', input: [4, 8] },
  { iris: () => new nn.Dropout2d(), py: 'nn.Dropout2d()', input: [2, 6, 3, 3] },
  { iris: () => new nn.ReLU(), py: 'nn.ReLU()', input: [3, 4] },
  { iris: () => new nn.ReLU({ inplace: true }), py: 'nn.ReLU(inplace=True)', input: [3, 4] },
  { iris: () => new nn.ReLU6(), py: 'nn.ReLU6()', input: [3, 4] },
  { iris: () => new nn.LeakyReLU({ negativeSlope: 0.2 }), py: 'nn.LeakyReLU(0.2)', input: [3, 4] },
  { iris: () => new nn.GELU(), py: 'nn.GELU()', input: [3, 4] },
  { iris: () => new nn.GELU({ approximate: 'tanh' }), py: "nn.GELU(approximate='tanh')", input: [3, 4] },
  { iris: () => new nn.SiLU(), py: 'nn.SiLU()', input: [3, 4] },
  { iris: () => new nn.Sigmoid(), py: 'nn.Sigmoid()', input: [3, 4] },
  { iris: () => new nn.Tanh(), py: 'nn.Tanh()', input: [3, 4] },
  { iris: () => new nn.Hardswish(), py: 'nn.Hardswish()', input: [3, 4] },
  { iris: () => new nn.Hardsigmoid(), py: 'nn.Hardsigmoid()', input: [3, 4] },
  { iris: () => new nn.Mish(), py: 'nn.Mish()', input: [3, 4] },
  { iris: () => new nn.ELU({ alpha: 0.5 }), py: 'nn.ELU(alpha=0.5)', input: [3, 4] },
  { iris: () => new nn.Softmax(1), py: 'nn.Softmax(dim=1)', input: [3, 4] },
  { iris: () => new nn.LogSoftmax(-1), py: 'nn.LogSoftmax(dim=-1)', input: [2, 3, 4] },
  { iris: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }), py: 'nn.MaxPool2d(3, stride=2, padding=1)', input: [2, 3, 6, 6] },
  { iris: () => new nn.MaxPool2d(2, { ceilMode: true, dilation: 1 }), py: 'nn.MaxPool2d(2, ceil_mode=True)', input: [1, 2, 5, 5] },
  { iris: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), py: 'nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)', input: [2, 3, 6, 6] },
  { iris: () => new nn.AdaptiveAvgPool2d([2, 3]), py: 'nn.AdaptiveAvgPool2d((2, 3))', input: [2, 3, 5, 7] },
  { iris: () => new nn.AdaptiveAvgPool2d(1), py: 'nn.AdaptiveAvgPool2d(1)', input: [2, 3, 5, 7] },
  { iris: () => new nn.AdaptiveMaxPool2d([2, null]), py: 'nn.AdaptiveMaxPool2d((2, None))', input: [2, 3, 5, 4] },
  { iris: () => new nn.Flatten(), py: 'nn.Flatten()', input: [2, 3, 2, 2] },
  { iris: () => new nn.Unflatten(1, [2, 6]), py: 'nn.Unflatten(1, (2, 6))', input: [3, 12] },
  { iris: () => new nn.Embedding(10, 4, { paddingIdx: 2 }), py: 'nn.Embedding(10, 4, padding_idx=2)', input: { indices: [3, 5], high: 10 } },
  { iris: () => new nn.Embedding(8, 3, { maxNorm: 1.0 }), py: 'nn.Embedding(8, 3, max_norm=1.0)', input: { indices: [6], high: 8 } },
  {
    iris: () =>
      new nn.Sequential(
        new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }),
        new nn.BatchNorm2d(4),
        new nn.ReLU({ inplace: true }),
        new nn.Dropout({ p: 0.2 }),
        new nn.AdaptiveAvgPool2d(1),
        new nn.Flatten(),
        new nn.Linear(4, 2),
      ),
    py: 'nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.Dropout(p=0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))',
    input: [3, 3, 5, 5],
  },
];

interface LayerResult {
  repr: string;
  initial: [string, JsonTensor][];
  yTrain: JsonTensor;
  grads: [string, JsonTensor][];
  xGrad: JsonTensor | null;
  trained: [string, JsonTensor][];
  yEval: JsonTensor;
}

/** The state dict's values copied: the dict itself shares the module's storage. */
function snapshot(module: nn.Module): Map<string, torch.Tensor> {
  return new Map([...module.stateDict()].map(([k, v]) => [k, v.clone()]));
}

function assertState(actual: Map<string, torch.Tensor>, expected: [string, JsonTensor][], tolerance: { rtol: number; atol: number }, what: string): void {
  assert.deepEqual([...actual.keys()], expected.map(([k]) => k), `${what}: state-dict keys`);
  for (const [key, value] of expected) assertClose(actual.get(key)!, value, { ...tolerance, what: `${what} ${key}` });
}

test('every layer matches PyTorch: init bit for bit, train and eval forward, gradients, running stats, repr', () => {
  const requests: unknown[] = [];
  const observed: {
    module: nn.Module;
    initial: Map<string, torch.Tensor>;
    yTrain: torch.Tensor;
    grads: [string, nn.Parameter][];
    xGrad: torch.Tensor | null;
    trained: Map<string, torch.Tensor>;
    yEval: torch.Tensor;
  }[] = [];
  for (const [i, c] of cases.entries()) {
    const seed = 100 + i;
    torch.manualSeed(seed);
    const module = c.iris();
    const initial = snapshot(module);
    torch.manualSeed(10_000 + i);
    const x = Array.isArray(c.input) ? torch.randn(c.input, { requiresGrad: true }) : torch.randint(0, c.input.high, c.input.indices);
    const floating = x.isFloatingPoint();
    const feed = () => (floating ? x.mul(1) : x);
    module.train();
    torch.manualSeed(seed + 1);
    module.call(feed());
    const yTrain = module.call(feed()) as torch.Tensor;
    const w = torch.randn(yTrain.shape);
    yTrain.mul(w).sum().backward();
    const grads = module.namedParameters().filter(([, p]) => p.grad !== null);
    const trained = snapshot(module);
    module.eval();
    const yEval = module.call(feed()) as torch.Tensor;
    requests.push({ seed, py: c.py, x: toJson(x), w: toJson(w) });
    observed.push({ module, initial, yTrain, grads, xGrad: floating ? x.grad : null, trained, yEval });
  }
  const results = runPython<LayerResult[]>('nn_ref.py', { op: 'layers', cases: requests });
  for (const [i, c] of cases.entries()) {
    const [ours, ref] = [observed[i], results[i]];
    const what = c.py;
    const tol = { rtol: 1e-5, atol: c.atol ?? 1e-6 };
    assertState(ours.initial, ref.initial, { rtol: 0, atol: 0 }, `${what} init`);
    assertClose(ours.yTrain, ref.yTrain, { ...tol, what: `${what} train output` });
    assert.deepEqual(
      ours.grads.map(([n]) => n),
      ref.grads.map(([n]) => n),
      `${what}: parameters with gradients`,
    );
    for (const [j, [name, g]] of ours.grads.entries()) assertClose(g.grad!, ref.grads[j][1], { ...tol, what: `${what} ${name}.grad` });
    if (ref.xGrad) assertClose(ours.xGrad!, ref.xGrad, { ...tol, what: `${what} input grad` });
    assertState(ours.trained, ref.trained, tol, `${what} after training`);
    assertClose(ours.yEval, ref.yEval, { ...tol, what: `${what} eval output` });
    assert.equal(String(ours.module), ref.repr, `${what}: repr`);
  }
});

test('ConvTranspose2d outputSize picks the output padding, as PyTorch', () => {
  const up = new nn.ConvTranspose2d(2, 2, 3, { stride: 2, padding: 1 });
  const x = torch.randn([1, 2, 4, 4]);
  assert.deepEqual(up.forward(x).shape, [1, 2, 7, 7]);
  assert.deepEqual(up.forward(x, [8, 8]).shape, [1, 2, 8, 8]);
  assert.deepEqual(up.forward(x, [1, 2, 8, 7]).shape, [1, 2, 8, 7]);
  assert.throws(() => up.forward(x, [9, 9]), /valid sizes range from \[7,7\] to \[8,8\]/);
});

test('layer constructors reject bad options with PyTorch-like messages', () => {
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
  assert.throws(() => new nn.Conv2d(2, 4, 3, { padding: 'same', stride: 2 }), /padding='same' is not supported for strided convolutions/);
  assert.throws(() => new nn.Conv2d(2, 4, 3, { paddingMode: 'mirror' as nn.PaddingMode }), /paddingMode must be/);
  assert.throws(() => new nn.GroupNorm(3, 4), /numChannels \(4\) must be divisible by numGroups \(3\)/);
  assert.throws(() => new nn.MultiheadAttention(10, 3), /embedDim \(10\) must be divisible by numHeads \(3\)/);
  assert.throws(() => new nn.Dropout({ p: 1.5 }), /between 0 and 1/);
  assert.throws(() => new nn.BatchNorm2d(3).forward(torch.randn([2, 3])), /expected 4D input \(got 2D input\)/);
});

test('MaxPool2d and AdaptiveMaxPool2d with returnIndices return [values, indices]', () => {
  const x = torch.tensor([[[[1, 5, 2, 0], [3, 4, 9, 8], [0, 1, 2, 3], [7, 6, 5, 4]]]]);
  const [values, indices] = new nn.MaxPool2d(2, { returnIndices: true }).forward(x);
  assert.deepEqual(values.tolist(), [[[[5, 9], [7, 5]]]]);
  assert.deepEqual(indices.tolist(), [[[[1, 6], [12, 14]]]]);
  const [aValues, aIndices] = new nn.AdaptiveMaxPool2d(1, { returnIndices: true }).forward(x);
  assert.deepEqual(aValues.tolist(), [[[[9]]]]);
  assert.deepEqual(aIndices.tolist(), [[[[6]]]]);
});

test('Embedding.fromPretrained keeps the rows, frozen by default', () => {
  const rows = torch.tensor([[1, 2], [3, 4], [5, 6]]);
  const frozen = nn.Embedding.fromPretrained(rows);
  assert.equal(frozen.weight.requiresGrad, false);
  assert.deepEqual(frozen.forward(torch.tensor([2, 0], { dtype: 'int64' })).tolist(), [[5, 6], [1, 2]]);
  assert.equal(nn.Embedding.fromPretrained(rows, { freeze: false }).weight.requiresGrad, true);
});

interface MhaCase {
  iris: () => nn.MultiheadAttention;
  py: string;
  /** Shapes of query, key and value; key/value omitted for self-attention. */
  query: number[];
  key?: number[];
  value?: number[];
  keyIsValue?: boolean;
  training: boolean;
  /** Masks: built in the test, sent as tensors. */
  masks?: () => { keyPaddingMask?: torch.Tensor; attnMask?: torch.Tensor };
  needWeights?: boolean;
  averageAttnWeights?: boolean;
  /** Eval under noGrad, no gradients: the case PyTorch (and Iris) run with the fused kernel. */
  inference?: boolean;
}

const mhaCases: MhaCase[] = [
  { iris: () => new nn.MultiheadAttention(8, 2), py: 'nn.MultiheadAttention(8, 2)', query: [4, 3, 8], training: true },
  {
    iris: () => new nn.MultiheadAttention(8, 4, { batchFirst: true }),
    py: 'nn.MultiheadAttention(8, 4, batch_first=True)',
    query: [2, 3, 8],
    key: [2, 5, 8],
    keyIsValue: true,
    training: false,
    masks: () => ({ keyPaddingMask: torch.tensor([[false, false, true, false, true], [false, false, false, false, false]]) }),
    averageAttnWeights: false,
  },
  {
    iris: () => new nn.MultiheadAttention(6, 2, { kdim: 4, vdim: 5, addBiasKv: true, addZeroAttn: true, batchFirst: true }),
    py: 'nn.MultiheadAttention(6, 2, kdim=4, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True)',
    query: [2, 3, 6],
    key: [2, 4, 4],
    value: [2, 4, 5],
    training: true,
    masks: () => ({
      attnMask: torch.randn([3, 4]),
      keyPaddingMask: torch.tensor([[false, true, false, false], [false, false, false, true]]),
    }),
  },
  {
    iris: () => new nn.MultiheadAttention(4, 2, { bias: false }),
    py: 'nn.MultiheadAttention(4, 2, bias=False)',
    query: [3, 4],
    training: true,
    masks: () => ({ attnMask: torch.tensor([[false, true, true], [false, false, true], [false, false, false]]) }),
  },
  { iris: () => new nn.MultiheadAttention(8, 2, { dropout: 0.25 }), py: 'nn.MultiheadAttention(8, 2, dropout=0.25)', query: [5, 2, 8], training: true, needWeights: false },
  { iris: () => new nn.MultiheadAttention(16, 4, { batchFirst: true }), py: 'nn.MultiheadAttention(16, 4, batch_first=True)', query: [3, 7, 16], training: false, inference: true, needWeights: false },
  {
    iris: () => new nn.MultiheadAttention(8, 2, { batchFirst: true }),
    py: 'nn.MultiheadAttention(8, 2, batch_first=True)',
    query: [2, 5, 8],
    training: false,
    inference: true,
    masks: () => ({ keyPaddingMask: torch.tensor([[false, false, true, false, true], [false, false, false, false, false]]) }),
    averageAttnWeights: false,
  },
  // Odd head count: PyTorch 1.13 keeps the general path even under noGrad.
  { iris: () => new nn.MultiheadAttention(6, 3, { batchFirst: true }), py: 'nn.MultiheadAttention(6, 3, batch_first=True)', query: [2, 4, 6], training: false, inference: true },
];

test('MultiheadAttention matches PyTorch: init, outputs, weights, masks, gradients, repr', () => {
  const requests: unknown[] = [];
  const observed: { mha: nn.MultiheadAttention; initial: Map<string, torch.Tensor>; out: torch.Tensor; weights: torch.Tensor | null; qGrad: torch.Tensor }[] = [];
  for (const [i, c] of mhaCases.entries()) {
    const seed = 500 + i;
    torch.manualSeed(seed);
    const mha = c.iris();
    const initial = snapshot(mha);
    torch.manualSeed(20_000 + i);
    const requiresGrad = !c.inference;
    const query = torch.randn(c.query, { requiresGrad });
    const key = c.key ? torch.randn(c.key, { requiresGrad }) : query;
    const value = c.value ? torch.randn(c.value, { requiresGrad }) : key;
    const masks = c.masks?.() ?? {};
    mha.train(c.training);
    torch.manualSeed(seed + 1);
    const forward = () => mha.call(query, key, value, { ...masks, needWeights: c.needWeights, averageAttnWeights: c.averageAttnWeights });
    const [out, weights] = c.inference ? torch.noGrad(forward) : forward();
    const wOut = torch.randn(out.shape);
    const wWeights = weights ? torch.randn(weights.shape) : null;
    if (!c.inference) {
      let loss = out.mul(wOut).sum();
      if (weights && wWeights) loss = loss.add(weights.mul(wWeights).sum());
      loss.backward();
    }
    const kwargs: Record<string, unknown> = {};
    if (masks.keyPaddingMask) kwargs.key_padding_mask = toJson(masks.keyPaddingMask);
    if (masks.attnMask) kwargs.attn_mask = toJson(masks.attnMask);
    if (c.needWeights !== undefined) kwargs.need_weights = c.needWeights;
    if (c.averageAttnWeights !== undefined) kwargs.average_attn_weights = c.averageAttnWeights;
    requests.push({
      seed,
      py: c.py,
      query: toJson(query),
      key: toJson(key),
      value: toJson(value),
      selfAttention: !c.key,
      keyIsValue: c.keyIsValue ?? false,
      training: c.training,
      inference: c.inference ?? false,
      kwargs,
      wOut: toJson(wOut),
      wWeights: wWeights ? toJson(wWeights) : null,
    });
    observed.push({ mha, initial, out, weights, qGrad: query.grad! });
  }
  const results = runPython<any[]>('nn_ref.py', { op: 'mha', cases: requests });
  for (const [i, c] of mhaCases.entries()) {
    const [ours, ref] = [observed[i], results[i]];
    const what = c.py;
    assertState(ours.initial, ref.initial, { rtol: 0, atol: 0 }, `${what} init`);
    assertClose(ours.out, ref.out, { what: `${what} output` });
    if (ref.weights === null) assert.equal(ours.weights, null, `${what}: no weights without needWeights`);
    else assertClose(ours.weights!, ref.weights, { what: `${what} weights` });
    assert.equal(String(ours.mha), ref.repr, `${what}: repr`);
    if (c.inference) {
      assert.equal(ours.out.requiresGrad, false, `${what}: no graph under noGrad`);
      continue;
    }
    assertClose(ours.qGrad, ref.qGrad, { what: `${what} query grad` });
    const grads = ours.mha.namedParameters();
    assert.deepEqual(grads.map(([n]) => n), ref.grads.map(([n]: [string]) => n), `${what}: parameter names`);
    for (const [j, [name, p]] of grads.entries()) assertClose(p.grad!, ref.grads[j][1], { what: `${what} ${name}.grad` });
  }
});
