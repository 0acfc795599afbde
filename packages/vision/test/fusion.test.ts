// Conv–BN folding: one pair against PyTorch 1.13's torch.nn.utils.fusion.fuse_conv_bn_eval, then
// fuseConvBn over every registered model (parametrized over listModels()): with the BatchNorms'
// running stats and affine parameters perturbed, the folded model's eval output equals the
// unfolded one's within 1e-4 · max |ref|, and restore() gives the original model back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { nn } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, listModels } from '../src/models/index.js';
import { runPython, tempDir, assertClose, assertMaxRelClose } from './helpers/reference.js';

torch.setNumThreads(2);
const dir = tempDir();
after(() => dir.cleanup());

const PAIRS = [
  { inChannels: 4, outChannels: 6, kernelSize: 3, stride: 1, padding: 1, groups: 1, bias: false, affine: true, eps: 1e-5 },
  { inChannels: 6, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, groups: 6, bias: true, affine: true, eps: 1e-3 },
  { inChannels: 4, outChannels: 8, kernelSize: 1, stride: 1, padding: 0, groups: 2, bias: true, affine: false, eps: 1e-5 },
].map((spec, i) => ({ ...spec, seed: i, path: join(dir.path, `pair${i}.pt`) }));

test('fuseConvBnEval equals torch.nn.utils.fusion.fuse_conv_bn_eval (plain, depthwise with bias, grouped with a non-affine BN)', () => {
  runPython('fusion_ref.py', { cases: PAIRS });
  for (const spec of PAIRS) {
    const saved = loadStateDictFile(spec.path);
    const conv = new nn.Conv2d(spec.inChannels, spec.outChannels, spec.kernelSize, spec);
    const bn = new nn.BatchNorm2d(spec.outChannels, { eps: spec.eps, affine: spec.affine });
    conv.loadStateDict(new Map([...saved].filter(([k]) => k.startsWith('conv.')).map(([k, v]) => [k.slice(5), v])));
    bn.loadStateDict(new Map([...saved].filter(([k]) => k.startsWith('bn.')).map(([k, v]) => [k.slice(3), v])));
    const what = JSON.stringify({ groups: spec.groups, bias: spec.bias, affine: spec.affine });
    assert.throws(() => nn.utils.fuseConvBnEval(conv, bn), /only for eval mode/);
    conv.eval();
    bn.eval();
    const fused = nn.utils.fuseConvBnEval(conv, bn);
    assertClose(fused.weight, saved.get('fused.weight')!, { rtol: 1e-6, atol: 1e-7, what: `${what} weight` });
    assertClose(fused.bias!, saved.get('fused.bias')!, { rtol: 1e-6, atol: 1e-7, what: `${what} bias` });
    const x = saved.get('x')!;
    torch.noGrad(() => {
      assertMaxRelClose(fused.forward(x), saved.get('out')!, { tol: 1e-5, what: `${what} fused output` });
      assertMaxRelClose(fused.forward(x), bn.forward(conv.forward(x)), { tol: 1e-5, what: `${what} fused vs unfused` });
    });
    assert.equal(conv.bias === null, !spec.bias, 'the input conv is left as it was');
  }
});

test('fuseConvBn refuses a model in training mode and a BatchNorm without running stats', () => {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4));
  assert.throws(() => nn.utils.fuseConvBn(model), /training mode; call model\.eval\(\) first/);
  const noStats = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4, { trackRunningStats: false })).eval();
  const fusion = nn.utils.fuseConvBn(noStats);
  assert.deepEqual(fusion.pairs, [], 'a BN that normalises with batch statistics stays');
  fusion.restore();
  assert.throws(() => fusion.restore(), /already called/);
});

/** The BatchNorms that cannot fold because no conv feeds them: DenseNet's pre-activation norms. */
const UNFOLDABLE = /^features\.(denseblock\d\.denselayer\d+\.norm[12]|transition\d\.norm|norm5)$/;

/** Input side: the 28 px the small CNN's head is sized for, 75 px for Inception v3's stem, else 32 (one pixel at stride 32); ViT is never run (no BN). */
const sizeFor = (name: string) => (name === 'simple_cnn' ? 28 : name === 'inception_v3' ? 75 : name === 'googlenet' ? 64 : 32);

for (const name of listModels()) {
  test(`${name}: fuseConvBn folds every conv→BN pair and the output equals the unfolded model's within 1e-4`, () => {
    torch.manualSeed(0);
    const model = createModel(name, { numClasses: 10 });
    const inChannels = model.parameters().find((p) => p.ndim === 4)!.shape[1];
    try {
      torch.noGrad(() => {
        for (const m of model.modules()) {
          if (!(m instanceof nn.BatchNorm2d)) continue;
          m.runningMean!.normal_({ mean: 0, std: 0.2 });
          m.runningVar!.uniform_({ from: 0.5, to: 1.5 });
          m.weight!.uniform_({ from: 0.5, to: 1.5 });
          m.bias!.normal_({ mean: 0, std: 0.2 });
        }
      });
      model.eval();
      const bnPaths = model.namedModules().filter(([, m]) => m instanceof nn.BatchNorm2d).map(([p]) => p);
      const keys = [...model.stateDict().keys()];
      const fusion = nn.utils.fuseConvBn(model);
      assert.deepEqual([...fusion.pairs].sort(), bnPaths.filter((p) => !UNFOLDABLE.test(p)).sort(), 'the BatchNorms folded');
      if (fusion.pairs.length === 0) return fusion.restore();
      assert.ok(model.namedModules().every(([p, m]) => !(m instanceof nn.BatchNorm2d) || UNFOLDABLE.test(p)), 'no foldable BatchNorm is left');
      const x = torch.randn([2, inChannels, sizeFor(name), sizeFor(name)]);
      const folded = torch.noGrad(() => model.call(x));
      fusion.restore();
      assert.deepEqual([...model.stateDict().keys()], keys, 'restore() gives back the state dict keys');
      const unfolded = torch.noGrad(() => model.call(x));
      const { maxDiff, maxRef } = assertMaxRelClose(folded, unfolded, { tol: 1e-4, what: `${name} folded vs unfolded` });
      console.log(`# ${name}: ${fusion.pairs.length} pairs folded, max |Δ| ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toExponential(2)})`);
      for (const t of [x, folded, unfolded]) t.dispose();
    } finally {
      for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
    }
  });
}
