import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo } from '../src/models/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

const tmp = tempDir();
after(() => tmp.cleanup());

describe('legacy_xception', () => {
  const seed = 7;
  const imageSize = 64;
  const paths = { initPath: join(tmp.path, 'init.pt'), weightsPath: join(tmp.path, 'w.pt'), ioPath: join(tmp.path, 'io.pt') };
  let io: Map<string, Tensor>;
  let model: ReturnType<typeof createModel>;
  before(() => {
    torch.manualSeed(seed);
    model = createModel('legacy_xception', { numClasses: 10 });
    runPython('xception_ref.py', { mode: 'parity', seed, numClasses: 10, imageSize, ...paths });
    io = loadStateDictFile(paths.ioPath);
  });

  it("has timm's state-dict keys and shapes and 22,855,952 parameters for 1000 classes", () => {
    const ref = runPython('xception_ref.py', { mode: 'structure' });
    const full = createModel('legacy_xception');
    assert.equal(ref.params, 22_855_952);
    assert.equal(full.numParameters(), ref.params);
    assert.equal(modelInfo('legacy_xception').paramCount, ref.params);
    assert.deepEqual([...full.stateDict()].map(([k, v]) => [k, v.shape]), ref.keys);
  });

  it('seeded construction draws the same parameters as the PyTorch reference', () => {
    const init = loadStateDictFile(paths.initPath);
    const own = model.stateDict();
    assert.deepEqual([...own.keys()], [...init.keys()]);
    for (const [k, v] of init) assert.ok(torch.equal(own.get(k)!, v), `${k} differs`);
  });

  it('eval output and feature stages match the PyTorch reference with the same weights', () => {
    model.loadStateDict(loadStateDictFile(paths.weightsPath));
    model.eval();
    torch.noGrad(() => {
      const x = io.get('input')!;
      assertMaxRelClose(model.forward(x), io.get('output')!, { what: 'logits' });
      const stages = model.forwardStages(x);
      assert.equal(stages.length, model.featureInfo.length);
      stages.forEach((stage, i) => {
        const { module, channels } = model.featureInfo[i];
        assert.equal(stage.shape[1], channels, `${module}: channels`);
        assertMaxRelClose(stage, io.get(`stage:${module}`)!, { what: `stage ${module}` });
      });
      const pooled = model.forwardHead(model.forwardFeatures(x), { preLogits: true });
      assert.deepEqual(pooled.shape, [2, 2048]);
    });
  });

  it('resetClassifier and inChannels reshape the model as asked', () => {
    model.resetClassifier(4);
    assert.deepEqual(torch.noGrad(() => model.forward(torch.zeros([1, 3, 48, 48]))).shape, [1, 4]);
    const gray = createModel('legacy_xception', { inChannels: 1, numClasses: 2 });
    assert.deepEqual(gray.stateDict().get('conv1.weight')!.shape, [32, 1, 3, 3]);
    const info = modelInfo('legacy_xception');
    assert.deepEqual(info.defaultInput, [3, 299, 299]);
    assert.equal(info.preprocessing.resizeSize, Math.floor(299 / 0.8975));
  });
});
