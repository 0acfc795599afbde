// FeaturePyramidNetwork (+ LastLevelMaxPool, LastLevelP6P7, a BatchNorm norm layer) and
// FrozenBatchNorm2d against torchvision 0.14 (ops_fpn_ref.py): the seeded initialisation, the
// state-dict keys, torchvision's weights loaded strictly, eval outputs and gradients.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import * as ops from '../src/ops/index.js';
import { runPython, fromJson, toJson, assertMaxRelClose, type JsonTensor } from './helpers/reference.js';

torch.setNumThreads(2);

interface FpnCase {
  label: string;
  seed: number;
  in_channels: number[];
  out_channels: number;
  extra: null | 'maxpool' | 'p6p7';
  p6p7_in?: number;
  norm: null | 'bn';
  names: string[];
  shapes: number[][];
}

const CASES: FpnCase[] = [
  { label: 'plain', seed: 1, in_channels: [8, 16, 32], out_channels: 16, extra: null, norm: null, names: ['feat0', 'feat2', 'feat3'], shapes: [[2, 8, 32, 24], [2, 16, 16, 12], [2, 32, 8, 6]] },
  { label: 'LastLevelMaxPool, odd sizes', seed: 2, in_channels: [8, 16, 32, 24], out_channels: 8, extra: 'maxpool', norm: null, names: ['0', '1', '2', '3'], shapes: [[1, 8, 29, 23], [1, 16, 15, 12], [1, 32, 8, 6], [1, 24, 4, 3]] },
  { label: 'LastLevelP6P7 on C5', seed: 3, in_channels: [16, 32], out_channels: 12, extra: 'p6p7', p6p7_in: 32, norm: null, names: ['c4', 'c5'], shapes: [[2, 16, 16, 16], [2, 32, 8, 8]] },
  { label: 'LastLevelP6P7 on P5', seed: 4, in_channels: [16, 32], out_channels: 12, extra: 'p6p7', p6p7_in: 12, norm: null, names: ['c4', 'c5'], shapes: [[1, 16, 12, 10], [1, 32, 6, 5]] },
  { label: 'BatchNorm2d norm layer (fasterrcnn v2)', seed: 5, in_channels: [8, 16, 24], out_channels: 16, extra: 'maxpool', norm: 'bn', names: ['0', '1', '2'], shapes: [[2, 8, 20, 20], [2, 16, 10, 10], [2, 24, 5, 5]] },
];

interface FpnReference {
  init: Record<string, JsonTensor>;
  state: Record<string, JsonTensor>;
  keys: string[];
  names: string[];
  outputs: JsonTensor[];
  input_grads: JsonTensor[];
  param_grads: Record<string, JsonTensor>;
}
interface FrozenReference {
  bn_state: Record<string, JsonTensor>;
  keys: string[];
  repr: string;
  output: JsonTensor;
  grad: JsonTensor;
}

const inputs = new Map<string, Tensor[]>();
const weights = new Map<string, Tensor[]>();
let reference: { fpn: FpnReference[]; frozen: FrozenReference };
let frozenInput: Tensor;
let frozenWeight: Tensor;

function build(c: FpnCase): ops.FeaturePyramidNetwork {
  torch.manualSeed(c.seed);
  const extraBlocks = c.extra === 'maxpool' ? new ops.LastLevelMaxPool() : c.extra === 'p6p7' ? new ops.LastLevelP6P7(c.p6p7_in!, c.out_channels) : null;
  return new ops.FeaturePyramidNetwork(c.in_channels, c.out_channels, { extraBlocks, normLayer: c.norm === 'bn' ? (n) => new nn.BatchNorm2d(n) : null });
}

const stateOf = (json: Record<string, JsonTensor>) => new Map(Object.entries(json).map(([k, v]) => [k, fromJson(v)]));

before(() => {
  torch.manualSeed(31);
  const request = CASES.map((c) => {
    const xs = c.shapes.map((s) => torch.randn(s));
    inputs.set(c.label, xs);
    // One weight per output level: the inputs' levels, then the extra ones.
    const outShapes = c.shapes.map((s) => [s[0], c.out_channels, s[2], s[3]]);
    let [h, w] = outShapes[outShapes.length - 1].slice(2);
    const down = () => [(h = Math.floor((h - 1) / 2) + 1), (w = Math.floor((w - 1) / 2) + 1)];
    if (c.extra === 'maxpool') outShapes.push([c.shapes[0][0], c.out_channels, ...down()]);
    // P6 comes from P5 or C5, which have the same size.
    if (c.extra === 'p6p7') outShapes.push([c.shapes[0][0], c.out_channels, ...down()], [c.shapes[0][0], c.out_channels, ...down()]);
    const ws = outShapes.map((s) => torch.randn(s));
    weights.set(c.label, ws);
    const { label: _, shapes: __, ...rest } = c;
    return { ...rest, inputs: xs.map(toJson), weights: ws.map(toJson) };
  });
  frozenInput = torch.randn([2, 6, 5, 4]);
  frozenWeight = torch.randn([2, 6, 5, 4]);
  reference = runPython('ops_fpn_ref.py', { fpn: request, frozen: { channels: 6, input: toJson(frozenInput), weight: toJson(frozenWeight) } });
});

CASES.forEach((c, i) => {
  test(`FeaturePyramidNetwork ${c.label}: seeded init and keys as torchvision's, its weights load strictly, outputs and gradients equal`, (t) => {
    const ref = reference.fpn[i];
    const fpn = build(c);
    const own = fpn.stateDict();
    assert.deepEqual([...own.keys()], ref.keys, 'state-dict keys');
    for (const [k, v] of own) assertMaxRelClose(v, fromJson(ref.init[k]), { tol: 0, floor: 1, what: `seeded init ${k}` });
    fpn.loadStateDict(stateOf(ref.state));
    fpn.eval();
    const xs = inputs.get(c.label)!.map((x) => x.detach().requiresGrad_());
    const out = fpn.call(new Map(c.names.map((n, j) => [n, xs[j]])));
    assert.deepEqual([...out.keys()], ref.names, 'output names');
    let worst = 0;
    [...out.values()].forEach((o, j) => {
      worst = Math.max(worst, assertMaxRelClose(o, fromJson(ref.outputs[j]), { tol: 1e-5, what: `output '${ref.names[j]}'` }).maxDiff);
    });
    const ws = weights.get(c.label)!;
    const loss = [...out.values()].map((o, j) => o.mul(ws[j]).sum()).reduce((a, b) => a.add(b));
    const params = fpn.namedParameters();
    assert.deepEqual(params.map(([k]) => k), Object.keys(ref.param_grads), 'parameter names');
    const grads = torch.grad(loss, [...xs, ...params.map(([, p]) => p)]);
    grads.slice(0, xs.length).forEach((g, j) => assertMaxRelClose(g!, fromJson(ref.input_grads[j]), { tol: 1e-5, what: `gradient of input ${c.names[j]}` }));
    params.forEach(([k], j) => assertMaxRelClose(grads[xs.length + j]!, fromJson(ref.param_grads[k]), { tol: 1e-5, what: `gradient of ${k}` }));
    t.diagnostic(`max |Δ| over outputs ${worst}`);
  });
});

test('FeaturePyramidNetwork accepts an array of maps (named 0, 1, ...) and refuses maps that do not fit', () => {
  const fpn = new ops.FeaturePyramidNetwork([4, 8], 6, { extraBlocks: new ops.LastLevelMaxPool() });
  const out = torch.noGrad(() => fpn.call([torch.rand([1, 4, 8, 8]), torch.rand([1, 8, 4, 4])]));
  assert.deepEqual([...out.keys()], ['0', '1', 'pool']);
  assert.deepEqual(out.get('pool')!.shape, [1, 6, 2, 2]);
  assert.throws(() => fpn.call([torch.rand([1, 4, 8, 8])]), /got 1 feature maps \(0\), but it was built for 2/);
  assert.throws(() => fpn.call([torch.rand([1, 4, 8, 8]), torch.rand([1, 5, 4, 4])]), /feature map '1' has shape \[1, 5, 4, 4\], expected \[N, 8, H, W\]/);
  assert.throws(() => new ops.FeaturePyramidNetwork([4, 0], 6), /inChannels=0 is not supported/);
});

test("FrozenBatchNorm2d: torchvision's buffers and eps, loads a BatchNorm2d state dict (num_batches_tracked dropped) alone and inside a model", () => {
  const ref = reference.frozen;
  const frozen = new ops.FrozenBatchNorm2d(6);
  assert.deepEqual([...frozen.stateDict().keys()], ref.keys);
  assert.equal(frozen.parameters().length, 0, 'no parameters: nothing to train');
  assert.equal(String(frozen), ref.repr);
  const result = frozen.loadStateDict(stateOf(ref.bn_state));
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const x = frozenInput.detach().requiresGrad_();
  const y = frozen.call(x);
  assertMaxRelClose(y, fromJson(ref.output), { tol: 1e-6, what: 'output' });
  const [g] = torch.grad(y.mul(frozenWeight).sum(), [x]);
  assertMaxRelClose(g!, fromJson(ref.grad), { tol: 1e-6, what: 'input gradient' });
  // Under a parent: the dropped key carries the child's prefix; other stray keys are still unexpected.
  const model = new nn.Sequential(new nn.Conv2d(3, 6, 1), new ops.FrozenBatchNorm2d(6));
  const bnModel = new nn.Sequential(new nn.Conv2d(3, 6, 1), new nn.BatchNorm2d(6));
  model.loadStateDict(bnModel.stateDict());
  assert.throws(() => model.loadStateDict(new Map([...bnModel.stateDict(), ['0.num_batches_tracked', torch.tensor(0)]])), /unexpected keys: '0.num_batches_tracked'/);
});
