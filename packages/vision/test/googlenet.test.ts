import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo } from '../src/models/index.js';
import { GoogLeNet } from '../src/models/googlenet.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';
import { assertSameTensors, assertStateDictsClose, assertRegistryMatches, assertPretrainedMatchesBuilder, type StructureRef } from './helpers/zoo-parity.js';

const tmp = tempDir();
after(() => tmp.cleanup());

describe('GoogLeNet parity with torchvision (10 classes, aux1/aux2, transform_input)', () => {
  let model: GoogLeNet;
  let io: Map<string, Tensor>;
  before(() => {
    runPython('densenet_inception_ref.py', {
      op: 'forward',
      arch: 'googlenet',
      kwargs: { num_classes: 10, aux_logits: true, transform_input: true, init_weights: true },
      seed: 31,
      input_seed: 32,
      input_shape: [2, 3, 64, 64],
      extra_inputs: [[1, 3, 15, 15]],
      hooks: ['conv3', 'inception3b', 'inception4e', 'inception5b'],
      train_seed: 33,
      threads: torch.getNumThreads(),
      dir: tmp.path,
    });
    io = loadStateDictFile(join(tmp.path, 'io.pt'));
    torch.manualSeed(31);
    model = createModel('googlenet', { numClasses: 10, auxLogits: true }) as GoogLeNet;
  });

  it('same seed, same truncated-normal initial weights as torchvision', () => {
    assertSameTensors(model.stateDict(), loadStateDictFile(join(tmp.path, 'init.pt')), 'initial state dict');
  });

  it('eval-mode output (64x64 and the 15x15 minimum) and stage outputs equal torchvision\'s, with its weights loaded strictly', () => {
    model.loadStateDict(loadStateDictFile(join(tmp.path, 'weights.pt')));
    model.eval();
    torch.noGrad(() => {
      const x = io.get('input')!;
      assertMaxRelClose(model.forward(x), io.get('eval')!, { what: 'eval logits 64x64' });
      assertMaxRelClose(model.forward(io.get('extra.0.input')!), io.get('extra.0.eval')!, { what: 'eval logits 15x15' });
      const withAux = model.forwardWithAux(x);
      assert.deepEqual([withAux.aux1, withAux.aux2], [null, null], 'no auxiliary logits in eval mode');
      const stages = model.forwardStages(x);
      model.featureInfo.forEach((f, i) => {
        assertMaxRelClose(stages[i], io.get(`hook.${f.module}`)!, { what: `stage ${f.module}` });
        assert.equal(stages[i].shape[1], f.channels, `${f.module} channels`);
        assert.equal(64 / stages[i].shape[2], f.reduction, `${f.module} reduction`);
      });
    });
  });

  it('training-mode logits, aux1 and aux2 (three dropouts with the same seed) and updated running stats equal torchvision\'s', () => {
    model.train();
    torch.manualSeed(33);
    const out = torch.noGrad(() => model.forwardWithAux(io.get('input')!));
    assertMaxRelClose(out.logits, io.get('train.logits')!, { what: 'train logits' });
    // torchvision's GoogLeNetOutputs field aux_logits2 holds aux1's output, aux_logits1 aux2's.
    assert.ok(out.aux1 && out.aux2, 'auxiliary logits in training mode');
    assertMaxRelClose(out.aux1, io.get('train.aux_logits2')!, { what: 'train aux1' });
    assertMaxRelClose(out.aux2, io.get('train.aux_logits1')!, { what: 'train aux2' });
    assertStateDictsClose(model.stateDict(), loadStateDictFile(join(tmp.path, 'after_train.pt')), 'state dict after a training forward');
  });
});

describe('GoogLeNet structure', () => {
  it('state-dict keys and shapes and parameter counts equal torchvision\'s, without aux heads (the registry default, as its weights) and with; the registry has its weights\' metadata', () => {
    const ref = runPython<Record<string, StructureRef>>('densenet_inception_ref.py', {
      op: 'structure',
      archs: { googlenet: { init_weights: false, aux_logits: false }, 'googlenet:aux': { init_weights: false, aux_logits: true } },
    });
    const keysAndShapes = (m: torch.nn.Module) => [...m.stateDict()].map(([k, v]) => [k, v.shape]);
    const model = createModel('googlenet', { initWeights: false });
    assert.deepEqual(keysAndShapes(model), ref.googlenet.keys);
    assert.equal(model.numParameters(), ref.googlenet.param_count);
    const withAux = createModel('googlenet', { auxLogits: true, initWeights: false });
    assert.deepEqual(keysAndShapes(withAux), ref['googlenet:aux'].keys);
    assert.equal(withAux.numParameters(), ref['googlenet:aux'].param_count);
    assertRegistryMatches(modelInfo('googlenet'), ref.googlenet);
    // The weights file has (untrained) aux heads; the keyMap drops them for the aux-free default.
    const { keyMap } = modelInfo('googlenet').weights[0];
    assert.deepEqual(ref['googlenet:aux'].keys.map(([k]) => keyMap!(k)).filter((k) => k !== null), ref.googlenet.keys.map(([k]) => k));
  });

  it('transformInput is on in the registry for RGB input, off in the class by default (as torchvision); resetClassifier replaces fc and the aux heads\' fc2', () => {
    assert.equal((createModel('googlenet', { initWeights: false }) as GoogLeNet).transformInput, true);
    assert.equal((createModel('googlenet', { inChannels: 1, initWeights: false }) as GoogLeNet).transformInput, false);
    const model = new GoogLeNet({ numClasses: 4, initWeights: false });
    assert.equal(model.transformInput, false);
    model.resetClassifier(7);
    const sd = model.stateDict();
    assert.deepEqual([sd.get('fc.weight')!.shape, sd.get('aux1.fc2.weight')!.shape, sd.get('aux2.fc2.weight')!.shape], [[7, 1024], [7, 1024], [7, 1024]]);
  });

  it('createModel with pretrained: true equals torchvision\'s googlenet(weights=DEFAULT) on the same file (transform_input on, aux heads in the file dropped)', () => {
    assertPretrainedMatchesBuilder('googlenet', { file_kwargs: { aux_logits: true, init_weights: true }, input_shape: [1, 3, 64, 64] });
  });
});
