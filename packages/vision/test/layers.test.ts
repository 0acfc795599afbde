import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { makeDivisible } from '../src/layers/make-divisible.js';
import { Conv2dNormActivation, hardswish, relu6, silu, type ActivationLayer, type Conv2dNormActivationOptions, type NormLayer } from '../src/layers/conv-norm-activation.js';
import { SqueezeExcitation } from '../src/layers/squeeze-excitation.js';
import { stochasticDepth, StochasticDepth } from '../src/layers/stochastic-depth.js';
import { runPython, assertClose, toJson, fromJson, type JsonTensor } from './helpers/reference.js';

const NORMS: Record<string, NormLayer | null> = {
  none: null,
  bn: (n) => new nn.BatchNorm2d(n),
  bn_tf: (n) => new nn.BatchNorm2d(n, { eps: 0.001, momentum: 0.01 }),
};
const ACTIVATIONS: Record<string, ActivationLayer | null> = { none: null, relu6, hardswish, silu };

interface ModuleReference {
  init: Record<string, JsonTensor>;
  state: Record<string, JsonTensor>;
  repr: string;
  eval: JsonTensor;
  train: JsonTensor;
}

function stateOf(json: Record<string, JsonTensor>): Map<string, Tensor> {
  return new Map(Object.entries(json).map(([k, v]) => [k, fromJson(v)]));
}

/** Checks a module built after manualSeed(seed) against torchvision's: init, keys, repr, eval and train outputs. */
function checkAgainst(module: nn.Module, ref: ModuleReference, x: Tensor, seed: number, what: string): void {
  const own = module.stateDict();
  assert.deepEqual([...own.keys()], Object.keys(ref.init), `${what}: state-dict keys`);
  for (const [k, v] of own) assertClose(v, ref.init[k], { rtol: 0, atol: 0, what: `${what}: seeded init ${k}` });
  assert.equal(String(module), ref.repr, `${what}: repr`);
  module.loadStateDict(stateOf(ref.state));
  module.eval();
  torch.noGrad(() => assertClose(module.call(x), ref.eval, { rtol: 1e-4, atol: 1e-5, what: `${what}: eval` }));
  module.train();
  torch.manualSeed(seed);
  torch.noGrad(() => assertClose(module.call(x), ref.train, { rtol: 1e-4, atol: 1e-5, what: `${what}: train` }));
}

test('makeDivisible equals torchvision _make_divisible', () => {
  const cases: [number, number, number | null][] = [];
  for (const v of [1, 3.5, 7.9, 8, 11.99, 12, 16 * 0.75, 24 * 1.1, 32 * 0.35, 40 * 1.4, 96 * 0.5, 112 * 1.8, 320 * 2.0, 1280 * 1.3, 72 / 4, 960 / 4]) {
    for (const [d, m] of [[8, null], [3, null], [8, 16], [4, 1]] as [number, number | null][]) cases.push([v, d, m]);
  }
  const ref = runPython<number[]>('layers_ref.py', { op: 'make_divisible', cases });
  assert.deepEqual(cases.map(([v, d, m]) => makeDivisible(v, d, m ?? undefined)), ref);
});

test('Conv2dNormActivation equals torchvision.ops.Conv2dNormActivation', () => {
  const cases: { in: number; out: number; kwargs: Record<string, unknown>; norm: string | null; activation: string | null }[] = [
    { in: 4, out: 8, kwargs: { kernel_size: 3, stride: 2 }, norm: 'bn', activation: 'relu6' },
    { in: 8, out: 8, kwargs: { kernel_size: 5, groups: 8, dilation: 2 }, norm: 'bn_tf', activation: 'hardswish' },
    { in: 4, out: 6, kwargs: { kernel_size: 1 }, norm: null, activation: null },
    { in: 4, out: 6, kwargs: { kernel_size: 3, bias: true, padding: 0, inplace: false }, norm: 'bn', activation: 'silu' },
  ];
  const xs = cases.map((c, i) => torch.randn([3, c.in, 9, 11], { dtype: 'float32' }).mul(1 + i));
  const ref = runPython<ModuleReference[]>('layers_ref.py', {
    op: 'conv_norm_activation',
    cases: cases.map((c, i) => ({ ...c, seed: 10 + i, x: toJson(xs[i]) })),
  });
  cases.forEach((c, i) => {
    const k = c.kwargs as { kernel_size: number; stride?: number; groups?: number; dilation?: number; bias?: boolean; padding?: number; inplace?: boolean };
    const options: Conv2dNormActivationOptions = {
      kernelSize: k.kernel_size, stride: k.stride, groups: k.groups, dilation: k.dilation, bias: k.bias, padding: k.padding, inplace: k.inplace,
      normLayer: NORMS[c.norm ?? 'none'], activationLayer: ACTIVATIONS[c.activation ?? 'none'],
    };
    torch.manualSeed(10 + i);
    const m = new Conv2dNormActivation(c.in, c.out, options);
    assert.equal(m.outChannels, c.out);
    checkAgainst(m, ref[i], xs[i], 10 + i, `case ${i}`);
  });
});

test('SqueezeExcitation equals torchvision.ops.SqueezeExcitation', () => {
  const cases = [
    { in: 16, squeeze: 8, activation: 'relu', scale: 'hardsigmoid', make: () => ({ scaleActivation: () => new nn.Hardsigmoid() }) },
    { in: 12, squeeze: 3, activation: 'silu_inplace', scale: 'sigmoid', make: () => ({ activation: () => new nn.SiLU({ inplace: true }) }) },
  ];
  const xs = cases.map((c) => torch.randn([2, c.in, 5, 7]).mul(2));
  const ref = runPython<ModuleReference[]>('layers_ref.py', {
    op: 'squeeze_excitation',
    cases: cases.map(({ make: _, ...c }, i) => ({ ...c, seed: 20 + i, x: toJson(xs[i]) })),
  });
  cases.forEach((c, i) => {
    torch.manualSeed(20 + i);
    const m = new SqueezeExcitation(c.in, c.squeeze, c.make());
    assert.deepEqual(m.scale(xs[i]).shape, [2, c.in, 1, 1]);
    checkAgainst(m, ref[i], xs[i], 20 + i, `case ${i}`);
  });
});

test('stochasticDepth in training draws the same mask as torchvision.ops.stochastic_depth after the same seed', () => {
  const x = torch.randn([16, 3, 2, 2]);
  const cases: [number, 'row' | 'batch', boolean][] = [
    [0.3, 'row', true],
    [0.5, 'batch', true],
    [0.0, 'row', true],
    [1.0, 'row', true],
    [0.7, 'row', false],
  ];
  const ref = runPython<JsonTensor[]>('layers_ref.py', { op: 'stochastic_depth', x: toJson(x), seed: 7, cases });
  cases.forEach(([p, mode, training], i) => {
    torch.manualSeed(7);
    // torchvision's op sequence (bernoulli_, div_(survival), mul), so exact on any CPU.
    assertClose(stochasticDepth(x, p, mode, training), ref[i], { rtol: 0, atol: 0, what: `p=${p} ${mode} training=${training}` });
  });
  // Some rows dropped and some kept: the case is not trivially all-or-nothing.
  const rows = ref[0].data.filter((_, j) => j % 12 === 0).map((v, r) => v === 0 && x.toFlatArray()[r * 12] !== 0);
  assert.ok(rows.some((d) => d) && rows.some((d) => !d));
  const module = new StochasticDepth(0.3, 'row').eval();
  assert.equal(module.call(x), x);
});
