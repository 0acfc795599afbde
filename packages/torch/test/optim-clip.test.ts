import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { clipGradNorm_, clipGradValue_ } from '../src/nn/utils/clip-grad.js';
import { runPython, assertClose, toJson, type JsonTensor } from './helpers/python.js';

/** Parameters whose gradients are `grads` (set directly, as backward would leave them). */
function withGrads(grads: Tensor[]): Tensor[] {
  return grads.map((g) => {
    const p = torch.zerosLike(g).requiresGrad_();
    p.grad = g.clone();
    return p;
  });
}

function sampleGrads(seed: number): Tensor[] {
  torch.manualSeed(seed);
  return [torch.randn([4, 5]).mul_(2), torch.randn([7]), torch.randn([]).mul_(3), torch.randn([2, 3, 2]).mul_(0.5)];
}

interface ClipReply {
  total_norm?: JsonTensor;
  grads: JsonTensor[];
  error?: string;
}

const NORM_CASES: { maxNorm: number; normType: number }[] = [
  { maxNorm: 1.0, normType: 2 },
  { maxNorm: 1000, normType: 2 },
  { maxNorm: 0.5, normType: 1 },
  { maxNorm: 2.5, normType: 3 },
  { maxNorm: 0.75, normType: 0.5 },
  { maxNorm: 1.5, normType: Infinity },
  { maxNorm: 100, normType: Infinity },
];

const CLIP_VALUE = 0.8;

let normGrads: Tensor[];
let valueGrads: Tensor[];
let normRefs: ClipReply[];
let nanRef: ClipReply;
let valueRef: ClipReply;

before(() => {
  normGrads = sampleGrads(3);
  valueGrads = sampleGrads(4);
  const normRequests = NORM_CASES.map(({ maxNorm, normType }) => ({
    op: 'clip',
    kind: 'norm',
    grads: normGrads.map(toJson),
    max_norm: maxNorm,
    norm_type: normType === Infinity ? 'inf' : normType,
    error_if_nonfinite: true,
  }));
  const nanRequest = {
    op: 'clip',
    kind: 'norm',
    grads: [toJson(torch.tensor([1, 0])), toJson(torch.tensor([2]))],
    max_norm: 1,
    norm_type: 2,
    error_if_nonfinite: true,
    nan_in_first: true,
  };
  const valueRequest = { op: 'clip', kind: 'value', grads: valueGrads.map(toJson), clip_value: CLIP_VALUE, norm_type: 2 };
  const replies = runPython<ClipReply[]>('optim_ref.py', { op: 'batch', requests: [...normRequests, nanRequest, valueRequest] });
  normRefs = replies.slice(0, NORM_CASES.length);
  [nanRef, valueRef] = replies.slice(NORM_CASES.length);
});

test('clipGradNorm_ returns the total norm and clips gradients as PyTorch does', () => {
  NORM_CASES.forEach(({ maxNorm, normType }, i) => {
    const what = `maxNorm ${maxNorm}, normType ${normType}`;
    const params = withGrads(normGrads);
    const total = clipGradNorm_(params, maxNorm, { normType, errorIfNonfinite: true });
    // clipGradNorm_ runs clip_grad_norm_'s ops (per-tensor norms, norm of the stack, (t + 1e-6).reciprocal() * maxNorm, clamp, mul_): bit for bit.
    assertClose(total, normRefs[i].total_norm!, { rtol: 0, atol: 0, what: `${what}: total norm` });
    params.forEach((p, k) => assertClose(p.grad!, normRefs[i].grads[k], { rtol: 0, atol: 0, what: `${what}: grad ${k}` }));
  });
});

test('clipGradNorm_ skips parameters without gradients, takes a single tensor, and returns 0 for none', () => {
  const [a, b] = withGrads([torch.tensor([3, 4]), torch.tensor([1])]);
  const noGrad = torch.ones([2], { requiresGrad: true });
  const total = clipGradNorm_([a, noGrad, b], 1);
  // Whole-number squares sum exactly and sqrt rounds correctly: the float32 nearest sqrt(26), and exactly 10 below.
  assert.equal(total.item(), Math.fround(Math.sqrt(26)));
  assert.equal(noGrad.grad, null);
  const single = withGrads([torch.tensor([6, 8])])[0];
  assert.equal(clipGradNorm_(single, 5).item(), 10);
  assert.deepEqual(single.grad!.toFlatArray().map((v) => Math.round(v * 1e4) / 1e4), [3, 4]);
  const none = clipGradNorm_([noGrad], 1);
  assert.equal(none.item(), 0);
  assert.equal(none.dtype, 'float32');
});

test('errorIfNonfinite throws on a NaN norm as PyTorch does; without it the NaN spreads', () => {
  const grads = [torch.tensor([1, Number.NaN]), torch.tensor([2])];
  assert.match(nanRef.error ?? '', /non-finite/, 'PyTorch raises too');
  assert.throws(() => clipGradNorm_(withGrads(grads), 1, { errorIfNonfinite: true }), /non-finite.*errorIfNonfinite: false/);
  const params = withGrads(grads);
  assert.ok(Number.isNaN(clipGradNorm_(params, 1).item()));
  assert.ok(Number.isNaN(params[1].grad!.item()));
});

test('clipGradValue_ clamps every gradient as PyTorch does', () => {
  const params = withGrads(valueGrads);
  clipGradValue_(params, CLIP_VALUE);
  params.forEach((p, k) => assertClose(p.grad!, valueRef.grads[k], { rtol: 0, atol: 0, what: `grad ${k}` }));
});
