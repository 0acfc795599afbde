import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo } from '../src/models/index.js';
import { DenseNet } from '../src/models/densenet.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';
import { assertSameTensors, assertStateDictsClose, assertRegistryMatches, assertPretrainedMatchesBuilder, type StructureRef } from './helpers/zoo-parity.js';

const tmp = tempDir();
after(() => tmp.cleanup());

describe('DenseNet-121 parity with torchvision (10 classes, dense-layer dropout 0.2)', () => {
  let model: DenseNet;
  let io: Map<string, Tensor>;
  before(() => {
    runPython('densenet_inception_ref.py', {
      op: 'forward',
      arch: 'densenet121',
      kwargs: { num_classes: 10, drop_rate: 0.2 },
      seed: 11,
      input_seed: 12,
      input_shape: [2, 3, 64, 64],
      extra_inputs: [[1, 3, 32, 32]],
      hooks: ['features.denseblock1', 'features.denseblock2', 'features.denseblock3', 'features.norm5'],
      train_seed: 13,
      threads: torch.getNumThreads(),
      dir: tmp.path,
    });
    io = loadStateDictFile(join(tmp.path, 'io.pt'));
    torch.manualSeed(11);
    model = createModel('densenet121', { numClasses: 10, layerDropRate: 0.2 }) as DenseNet;
  });

  it('same seed, same initial weights as torchvision', () => {
    assertSameTensors(model.stateDict(), loadStateDictFile(join(tmp.path, 'init.pt')), 'initial state dict');
  });

  it('eval-mode output and stage outputs equal torchvision\'s, with its weights loaded strictly', () => {
    model.loadStateDict(loadStateDictFile(join(tmp.path, 'weights.pt')));
    model.eval();
    torch.noGrad(() => {
      assertMaxRelClose(model.forward(io.get('input')!), io.get('eval')!, { what: 'eval logits 64x64' });
      assertMaxRelClose(model.forward(io.get('extra.0.input')!), io.get('extra.0.eval')!, { what: 'eval logits 32x32' });
      const stages = model.forwardStages(io.get('input')!);
      assert.deepEqual(model.featureInfo.map((f) => f.module), ['features.denseblock1', 'features.denseblock2', 'features.denseblock3', 'features.norm5']);
      model.featureInfo.forEach((f, i) => {
        // torchvision's forward applies ReLU to norm5's output; the last stage is that map, as forwardFeatures.
        const ref = f.module === 'features.norm5' ? io.get(`hook.${f.module}`)!.relu() : io.get(`hook.${f.module}`)!;
        assertMaxRelClose(stages[i], ref, { what: `stage ${f.module}` });
        assert.equal(stages[i].shape[1], f.channels, `${f.module} channels`);
        assert.equal(64 / stages[i].shape[2], f.reduction, `${f.module} reduction`);
      });
      assert.deepEqual(model.forwardHead(model.forwardFeatures(io.get('input')!), { preLogits: true }).shape, [2, 1024]);
    });
  });

  it('training-mode output (dropout with the same seed) and updated running stats equal torchvision\'s', () => {
    model.train();
    torch.manualSeed(13);
    torch.noGrad(() => assertMaxRelClose(model.forward(io.get('input')!), io.get('train.logits')!, { what: 'train logits' }));
    assertStateDictsClose(model.stateDict(), loadStateDictFile(join(tmp.path, 'after_train.pt')), 'state dict after a training forward');
  });
});

describe('DenseNet variants', () => {
  const names = ['densenet121', 'densenet161', 'densenet169', 'densenet201'];

  it('state-dict keys and shapes, parameter counts and registry metadata equal torchvision\'s', () => {
    const ref = runPython<Record<string, StructureRef>>('densenet_inception_ref.py', { op: 'structure', archs: Object.fromEntries(names.map((n) => [n, {}])) });
    for (const name of names) {
      const model = createModel(name);
      assert.deepEqual([...model.stateDict()].map(([k, v]) => [k, v.shape]), ref[name].keys, `${name}: state-dict keys and shapes`);
      assert.equal(model.numParameters(), ref[name].param_count, `${name}: parameter count`);
      assertRegistryMatches(modelInfo(name), ref[name]);
    }
  });

  it('the weights keyMap renames torchvision\'s legacy file keys (denselayer1.norm.1.weight) as its _load_state_dict does', () => {
    const { keyMap } = modelInfo('densenet121').weights[0];
    const keys = [...new DenseNet({ blockConfig: [2, 2, 2, 2] }).stateDict().keys()];
    const legacy = keys.map((k) => k.replace(/(denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$/, '$1.$2.$3'));
    assert.ok(legacy.some((k) => k.endsWith('denselayer1.norm.1.weight')), 'the legacy names exist');
    assert.deepEqual(legacy.map((k) => keyMap!(k)), keys);
  });

  it('inChannels, dropRate and resetClassifier change what they say', () => {
    const model = new DenseNet({ blockConfig: [1, 1, 1, 1], growthRate: 8, numInitFeatures: 16, inChannels: 1, numClasses: 5, dropRate: 1 });
    const x = torch.randn([2, 1, 32, 32]);
    // Dropout with p = 1 zeroes the pooled features in training: the logits are the classifier's bias.
    const bias = (model.classifier as torch.nn.Linear).bias!;
    torch.noGrad(() => assert.ok(torch.equal(model.forward(x), bias.unsqueeze(0).expand([2, 5]))));
    model.eval();
    assert.deepEqual(model.forward(x).shape, [2, 5]);
    model.resetClassifier(0);
    assert.deepEqual(model.forward(x).shape, [2, model.featureInfo[3].channels]);
    assert.equal(model.numClasses, 0);
  });

  it('createModel with pretrained: true reads torchvision\'s 2017 file format (legacy key names, no num_batches_tracked) and equals torchvision\'s densenet121(weights=DEFAULT) on the same file', () => {
    assertPretrainedMatchesBuilder(
      'densenet121',
      { legacy_densenet: true, drop_num_batches_tracked: true, input_shape: [1, 3, 64, 64] },
      {
        check: (model) => {
          const counts = [...model.stateDict()].filter(([k]) => k.endsWith('num_batches_tracked')).map(([, v]) => v.item());
          assert.ok(counts.length === 121 && counts.every((c) => c === 0), 'every num_batches_tracked is 0, as PyTorch fills it');
        },
      },
    );
  });

  it('a small DenseNet file in that format loads by path (the entry\'s keyMap) as torchvision\'s _load_state_dict loads it; a missing key is named by its new name', () => {
    const kwargs = { growth_rate: 8, block_config: [2, 2, 2, 2], num_init_features: 16, num_classes: 10 };
    const options = { growthRate: 8, blockConfig: [2, 2, 2, 2] as [number, number, number, number], numInitFeatures: 16, numClasses: 10 };
    const file = join(tmp.path, 'densenet-legacy.pt');
    const brokenFile = join(tmp.path, 'densenet-legacy-broken.pt');
    const drop = 'features.denseblock2.denselayer1.norm.2.running_mean';
    const ref = runPython<{ keys: string[]; broken_error: string }>('densenet_inception_ref.py', {
      op: 'legacy_file',
      kwargs,
      seed: 51,
      input_seed: 52,
      input_shape: [2, 3, 32, 32],
      file,
      broken_file: brokenFile,
      drop,
      threads: torch.getNumThreads(),
      dir: tmp.path,
    });
    assert.ok(ref.keys.includes('features.denseblock1.denselayer1.norm.1.weight') && !ref.keys.some((k) => k.endsWith('num_batches_tracked')), 'the file has the old format');
    const model = createModel('densenet121', { ...options, pretrained: file });
    const io = loadStateDictFile(join(tmp.path, 'legacy_io.pt'));
    model.eval();
    torch.noGrad(() => assertMaxRelClose(model.forward(io.get('input')!), io.get('eval')!, { what: 'eval logits of the legacy file' }));
    const renamed = 'features.denseblock2.denselayer1.norm2.running_mean';
    assert.ok(ref.broken_error.includes(`"${renamed}"`), ref.broken_error);
    assert.throws(
      () => createModel('densenet121', { ...options, pretrained: brokenFile }),
      (e: Error) => e.message.includes(`does not fit the model as built: missing '${renamed}'.`) && !e.message.includes('num_batches_tracked'),
    );
  });
});
