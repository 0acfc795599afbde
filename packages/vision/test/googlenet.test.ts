import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile, saveSafetensors } from '@iris/torch/io';
import { createModel, modelConfig, modelInfo } from '../src/models/index.js';
import { GoogLeNet } from '../src/models/googlenet.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';
import { assertSameTensors, assertStateDictsClose, assertRegistryMatches, assertPretrainedMatchesBuilder, captureWarnings, type StructureRef } from './helpers/zoo-parity.js';

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
    model = createModel('googlenet', { numClasses: 10, transformInput: true }) as GoogLeNet;
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
  it('state-dict keys and shapes and parameter counts equal torchvision\'s, with aux heads (the default without weights, as torchvision\'s) and without (as its weights); the registry has its weights\' metadata', () => {
    const ref = runPython<Record<string, StructureRef>>('densenet_inception_ref.py', {
      op: 'structure',
      archs: { googlenet: { init_weights: false }, 'googlenet:noaux': { init_weights: false, aux_logits: false } },
    });
    const keysAndShapes = (m: torch.nn.Module) => [...m.stateDict()].map(([k, v]) => [k, v.shape]);
    const withAux = createModel('googlenet', { initWeights: false });
    assert.deepEqual(keysAndShapes(withAux), ref.googlenet.keys);
    assert.equal(withAux.numParameters(), ref.googlenet.param_count);
    const model = createModel('googlenet', { auxLogits: false, initWeights: false });
    assert.deepEqual(keysAndShapes(model), ref['googlenet:noaux'].keys);
    assert.equal(model.numParameters(), ref['googlenet:noaux'].param_count);
    // paramCount is the weights' (no aux heads): 6.6M, where the default build without weights has 13.0M.
    assertRegistryMatches(modelInfo('googlenet'), ref.googlenet);
    assert.equal(modelInfo('googlenet').paramCount, ref['googlenet:noaux'].param_count);
    // The weights file has (untrained) aux heads: a model without them drops their keys, a model with them keeps them.
    const file = new Map(withAux.stateDict());
    assert.deepEqual([...(model as GoogLeNet).adaptStateDict(file).keys()], ref['googlenet:noaux'].keys.map(([k]) => k));
    assert.equal((withAux as GoogLeNet).adaptStateDict(file), file);
  });

  it('transformInput is off without weights (as torchvision\'s googlenet()), on when asked for; resetClassifier replaces fc and the aux heads\' fc2', () => {
    assert.equal((createModel('googlenet', { initWeights: false }) as GoogLeNet).transformInput, false);
    assert.equal((createModel('googlenet', { initWeights: false, transformInput: true }) as GoogLeNet).transformInput, true);
    assert.throws(() => createModel('googlenet', { inChannels: 1, initWeights: false, transformInput: true }), /transformInput rescales 3 RGB channels/);
    const model = new GoogLeNet({ numClasses: 4, initWeights: false });
    assert.equal(model.transformInput, false);
    model.resetClassifier(7);
    const sd = model.stateDict();
    assert.deepEqual([sd.get('fc.weight')!.shape, sd.get('aux1.fc2.weight')!.shape, sd.get('aux2.fc2.weight')!.shape], [[7, 1024], [7, 1024], [7, 1024]]);
  });

  it('createModel with pretrained: true equals torchvision\'s googlenet(weights=DEFAULT) on the same file (transform_input on, aux heads in the file dropped, no warning)', () => {
    assertPretrainedMatchesBuilder('googlenet', { file_kwargs: { aux_logits: true, init_weights: true }, input_shape: [1, 3, 64, 64] }, {
      check: (model) => {
        const m = model as GoogLeNet;
        assert.deepEqual([m.transformInput, m.aux1, m.aux2], [true, null, null]);
        // The weights' builder settings are recorded: createModel(name, options) rebuilds the same model for a checkpoint.
        assert.deepEqual(modelConfig(model)!.options, { auxLogits: false, transformInput: true });
        const again = createModel('googlenet', { ...modelConfig(model)!.options, initWeights: false }) as GoogLeNet;
        assert.deepEqual([again.transformInput, again.aux1], [true, null]);
      },
    });
  });

  it('with auxLogits: true it keeps the file\'s (untrained) aux heads and warns, as googlenet(weights=DEFAULT, aux_logits=True); missing keys are named', () => {
    assertPretrainedMatchesBuilder(
      'googlenet',
      { file_kwargs: { aux_logits: true, init_weights: true }, builder_kwargs: { aux_logits: true }, input_shape: [1, 3, 64, 64] },
      {
        createOptions: { auxLogits: true },
        check: (model, ref, path) => {
          assert.ok(ref.keys.includes('aux1.fc2.weight') && ref.warnings.length === 1, 'torchvision keeps the heads and warns once');
          const file = loadStateDictFile(path);
          const own = model.stateDict();
          for (const [key, value] of file) if (key.startsWith('aux')) assert.ok(torch.equal(own.get(key)!, value), `${key} comes from the file`);
          // Another class count: the aux heads' fc2 is new, as fc is; the rest of them is the file's.
          const ten = createModel('googlenet', { pretrained: true, auxLogits: true, numClasses: 10 }).stateDict();
          assert.deepEqual(ten.get('aux1.fc2.weight')!.shape, [10, 1024]);
          assert.ok(torch.equal(ten.get('aux2.fc1.weight')!, file.get('aux2.fc1.weight')!));
          // A file path is not the registered weights: no warning. A trunk key the file lacks is named ...
          const trunkless = join(tmp.path, 'googlenet-trunkless.safetensors');
          saveSafetensors(trunkless, new Map([...file].filter(([k]) => k !== 'inception4a.branch1.conv.weight')));
          for (const auxLogits of [false, true]) {
            assert.throws(
              () => createModel('googlenet', { pretrained: trunkless, auxLogits }),
              (e: Error) => e.message.includes("does not fit the model as built: missing 'inception4a.branch1.conv.weight'."),
            );
          }
          // ... and so are the aux heads, for a model that has them and a file that does not.
          const auxless = join(tmp.path, 'googlenet-auxless.safetensors');
          saveSafetensors(auxless, new Map([...file].filter(([k]) => !k.startsWith('aux'))));
          const { warnings } = captureWarnings(() => createModel('googlenet', { pretrained: auxless }));
          assert.deepEqual(warnings, []);
          assert.throws(() => createModel('googlenet', { pretrained: auxless, auxLogits: true }), /missing 'aux1\.conv\.conv\.weight'/);
        },
      },
    );
  });
});
