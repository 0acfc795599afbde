// ONNX export of single ops and small modules, run by onnxruntime-node and compared with Iris's
// own forward (the reference: the same weights through libtorch), at two batch sizes from one
// file; plus the errors export must give: an op without a row, a forward that reads tensor
// values, a forward whose ops change with the batch size, an unsupported opset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as torch from '../src/index.js';
import { nn } from '../src/index.js';
import { exportOnnx, decodeModel, DynamicControlFlowError, ExportError } from '../src/onnx/index.js';

class Lambda extends nn.Module {
  inner: nn.Module | null;
  constructor(
    private readonly fn: (x: torch.Tensor, inner: nn.Module | null) => torch.Tensor,
    inner: nn.Module | null = null,
  ) {
    super();
    this.inner = inner;
  }
  forward(x: torch.Tensor): torch.Tensor {
    return this.fn(x, this.inner);
  }
}

async function runOnnx(bytes: Uint8Array, x: torch.Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    const t = out['output']!;
    return { data: t.data as Float32Array, dims: t.dims };
  } finally {
    await session.release();
  }
}

/** Exports at batch 2 and checks batch 1 and 3 against Iris (max |Δ| ≤ tol·max|ref|). */
async function checkExport(model: nn.Module, shape: number[], tol = 1e-5, options: Parameters<typeof exportOnnx>[2] = {}): Promise<void> {
  model.eval();
  const bytes = exportOnnx(model, torch.randn([2, ...shape]), options);
  for (const batch of [1, 3]) {
    const x = torch.randn([batch, ...shape]);
    const ref = torch.noGrad(() => model.call(x) as torch.Tensor);
    const got = await runOnnx(bytes, x);
    assert.deepEqual([...got.dims], ref.shape, 'output shape');
    const want = ref.dataSync() as Float32Array;
    let maxDiff = 0;
    let maxRef = 0;
    want.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - got.data[i]!));
      maxRef = Math.max(maxRef, Math.abs(v));
    });
    assert.ok(maxRef > 0, 'reference output is all zeros');
    assert.ok(maxDiff <= tol * maxRef, `batch ${batch}: max |Δ| ${maxDiff} > ${tol}·${maxRef}`);
    x.dispose();
    ref.dispose();
  }
}

const cases: [string, () => nn.Module, number[]][] = [
  ['conv stride/dilation/groups + bias', () => new nn.Conv2d(4, 6, 3, { stride: 2, padding: 2, dilation: 2, groups: 2 }), [4, 11, 9]],
  ["conv padding 'same' with an even kernel", () => new nn.Conv2d(3, 4, 4, { padding: 'same' }), [3, 8, 7]],
  ['batch norm (eval, running stats)', () => {
    const bn = new nn.BatchNorm2d(3);
    torch.noGrad(() => {
      bn.runningMean!.copy_(torch.randn([3]));
      bn.runningVar!.copy_(torch.rand([3]).add(0.5));
      bn.weight!.copy_(torch.randn([3]));
    });
    return bn;
  }, [3, 5, 5]],
  ['max pool ceil mode', () => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }), [2, 10, 9]],
  ['avg pool without pad counting', () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), [2, 9, 9]],
  ['adaptive avg pool 3x3 of 7x5 (bins overlap)', () => new nn.AdaptiveAvgPool2d([3, 3]), [2, 7, 5]],
  ['adaptive avg pool 7x7 of 2x2 (VGG on small images)', () => new nn.AdaptiveAvgPool2d([7, 7]), [2, 2, 2]],
  ['gelu tanh + layer norm', () => new nn.Sequential(new nn.LayerNorm(6), new nn.GELU({ approximate: 'tanh' })), [4, 6]],
  ['linear on 3-D input, softmax, mean', () => new Lambda((x, m) => torch.mean(torch.softmax(m!.call(x), -1), [1]), new nn.Linear(5, 7)), [4, 5]],
  ['nearest upsampling x2 and bilinear to a size', () => new Lambda((x) => nn.functional.interpolate(nn.functional.interpolate(x, { scaleFactor: 2, mode: 'nearest' }), { size: [7, 5], mode: 'bilinear', alignCorners: false })), [2, 3, 4]],
  ['chunk, select, slice, cat, transpose', () => new Lambda((x) => {
    const [a, b] = torch.chunk(x, 2, 1);
    const s = torch.slice(b!, { dim: 2, start: 1, end: -1, step: 1 });
    return torch.cat([torch.transpose(a!.narrow(2, 0, s.shape[2]!), 2, 3), torch.transpose(s, 2, 3)], 1).add(torch.select(x, 2, -1).unsqueeze(3));
  }), [4, 5, 6]],
  ['flatten + view to [N, -1]', () => new Lambda((x) => x.flatten(1).view([x.shape[0]!, -1, 2]).sum([2])), [3, 4, 2]],
  ['hardswish, hardsigmoid, silu, relu6, leaky relu', () => new nn.Sequential(new nn.Hardswish(), new nn.Hardsigmoid(), new nn.SiLU(), new nn.ReLU6(), new nn.LeakyReLU({ negativeSlope: 0.1 })), [3, 4]],
  ['multi-head attention, fused inference path (batch first)', () => new Lambda((x, m) => (m as nn.MultiheadAttention).call(x, x, x, { needWeights: false })[0], new nn.MultiheadAttention(8, 2, { batchFirst: true })), [5, 8]],
  ['multi-head attention, general path (sequence first)', () => new Lambda((x, m) => (m as nn.MultiheadAttention).call(x, x, x)[0], new nn.MultiheadAttention(8, 2)), [5, 8]],
];

for (const [name, make, shape] of cases) {
  test(`ONNX export: ${name} equals Iris in onnxruntime at batch 1 and 3`, async () => {
    torch.manualSeed(0);
    await checkExport(make(), shape);
  });
}

test('ONNX export: layer norm below opset 17 is written out and still equal', async () => {
  torch.manualSeed(1);
  const model = new nn.LayerNorm([3, 4]);
  torch.noGrad(() => model.weight!.copy_(torch.randn([3, 4])));
  await checkExport(model, [3, 4], 1e-5, { opset: 16 });
  const graph = decodeModel(exportOnnx(model, torch.randn([2, 3, 4]), { opset: 16 })).graph;
  assert.ok(!graph.node.some((n: { opType: string }) => n.opType === 'LayerNormalization'));
});

test('ONNX export: parameters become initializers under their state-dict names; the batch axis is symbolic, or fixed when asked', () => {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU());
  model.eval();
  const dynamic = decodeModel(exportOnnx(model, torch.randn([2, 3, 8, 8]))).graph;
  assert.deepEqual(dynamic.initializer.map((t: { name: string }) => t.name).sort(), ['0.bias', '0.weight', '1.bias', '1.running_mean', '1.running_var', '1.weight']);
  assert.equal(dynamic.input[0].type.tensorType.shape.dim[0].dimParam, 'batch');
  assert.equal(dynamic.output[0].type.tensorType.shape.dim[0].dimParam, 'batch');
  const fixed = decodeModel(exportOnnx(model, torch.randn([2, 3, 8, 8]), { dynamicBatch: false })).graph;
  assert.equal(Number(fixed.input[0].type.tensorType.shape.dim[0].dimValue), 2);
});

test('ONNX export: an op without a mapping names the op and the module it ran in', () => {
  const model = new nn.Sequential(new nn.Linear(3, 3), new Lambda((x) => torch.cumsum(x, 1)));
  assert.throws(() => exportOnnx(model, torch.randn([2, 3])), (e: Error) => e instanceof ExportError && /aten::cumsum/.test(e.message) && /module '1'/.test(e.message));
});

test('ONNX export: a forward that reads tensor values, or whose ops change with the batch, is refused as dynamic control flow', () => {
  const readsValues = new Lambda((x) => (x.sum().item() > 0 ? x.relu() : x.neg()));
  assert.throws(() => exportOnnx(readsValues, torch.randn([2, 3])), (e: Error) => e instanceof DynamicControlFlowError && /item\(\)/.test(e.message));
  const branchesOnBatch = new Lambda((x) => (x.shape[0]! > 2 ? x.relu() : x.sigmoid()));
  assert.throws(() => exportOnnx(branchesOnBatch, torch.randn([2, 3])), (e: Error) => e instanceof DynamicControlFlowError && /different ops at batch sizes 2 and 3/.test(e.message));
  // The same model exports with a fixed batch.
  assert.ok(exportOnnx(branchesOnBatch, torch.randn([2, 3]), { dynamicBatch: false }).length > 0);
});

test('ONNX export: bad options are clear errors', () => {
  const model = new nn.Linear(3, 2);
  assert.throws(() => exportOnnx(model, torch.randn([2, 3]), { opset: 11 }), /opset 11 is not supported; use one of 14, 15, 16, 17/);
  assert.throws(() => exportOnnx(model, []), /no example input/);
  assert.throws(() => exportOnnx(model, [torch.randn([2, 3]), torch.randn([3, 3])]), /same batch size/);
  const train = new nn.Sequential(new nn.Linear(3, 2), new nn.Dropout({ p: 0.5 }));
  train.train();
  // Export traces in eval mode and puts the module's mode back.
  (train.at(0) as nn.Module).eval();
  exportOnnx(train, torch.randn([2, 3]));
  assert.deepEqual(train.modules().map((m) => m.training), [true, false, true], 'each module keeps its own mode');
});
