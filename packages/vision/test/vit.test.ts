import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo } from '../src/models/index.js';
import { VisionTransformer, interpolateEmbeddings, timmVitKey, type VisionTransformerConfig, type VisionTransformerOptions } from '../src/models/vit.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

interface PythonConfig {
  imageSize: number;
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
  numClasses: number;
  representationSize?: number;
}

function irisModel(c: PythonConfig, extra: VisionTransformerOptions = {}): VisionTransformer {
  const config: VisionTransformerConfig = { patchSize: c.patchSize, numLayers: c.numLayers, numHeads: c.numHeads, hiddenDim: c.hiddenDim, mlpDim: c.mlpDim };
  return new VisionTransformer(config, { imageSize: c.imageSize, numClasses: c.numClasses, representationSize: c.representationSize, ...extra });
}

function assertSameTensors(actual: Map<string, Tensor>, expected: Map<string, Tensor>, what: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${what}: keys`);
  for (const [k, v] of expected) {
    const a = actual.get(k)!;
    assert.deepEqual(a.shape, v.shape, `${what}: ${k} shape`);
    assert.ok(torch.equal(a, v), `${what}: ${k} differs`);
  }
}

const tmp = tempDir();
after(() => tmp.cleanup());

describe('ViT structure', () => {
  it('vit_b_16, vit_b_32 and vit_l_16 have torchvision\'s state-dict keys, shapes and parameter counts; the timm-sized variants count as torchvision builds them', () => {
    // The DeiT/timm small and tiny sizes, in torchvision's layout.
    const small: PythonConfig[] = [
      { imageSize: 224, patchSize: 16, numLayers: 12, numHeads: 6, hiddenDim: 384, mlpDim: 1536, numClasses: 1000 },
      { imageSize: 224, patchSize: 16, numLayers: 12, numHeads: 3, hiddenDim: 192, mlpDim: 768, numClasses: 1000 },
    ];
    const ref = runPython('vit_ref.py', { mode: 'structure', names: ['vit_b_16', 'vit_b_32', 'vit_l_16'], configs: small });
    for (const name of ['vit_b_16', 'vit_b_32', 'vit_l_16']) {
      const model = createModel(name);
      assert.equal(model.numParameters(), ref[name].params, `${name}: parameter count`);
      assert.equal(modelInfo(name).paramCount, ref[name].params, `${name}: registry paramCount`);
      assert.deepEqual([...model.stateDict()].map(([k, v]) => [k, v.shape]), ref[name].keys, `${name}: state-dict keys and shapes`);
    }
    ['vit_s_16', 'vit_ti_16'].forEach((name, i) => {
      assert.equal(createModel(name).numParameters(), ref.configParams[i], `${name}: parameter count`);
      assert.equal(modelInfo(name).paramCount, ref.configParams[i], `${name}: registry paramCount`);
    });
  });
});

// Built with stochastic depth, which must be the identity in eval mode and draws nothing at construction.
const PARITY_CASES: { what: string; config: PythonConfig; make: () => VisionTransformer; seed: number }[] = [
  {
    what: 'vit_ti_16 at 64x64',
    config: { imageSize: 64, patchSize: 16, numLayers: 12, numHeads: 3, hiddenDim: 192, mlpDim: 768, numClasses: 10 },
    make: () => createModel('vit_ti_16', { imageSize: 64, numClasses: 10, dropPathRate: 0.5 }) as VisionTransformer,
    seed: 3,
  },
  {
    what: 'vit_b_32 at 64x64',
    config: { imageSize: 64, patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072, numClasses: 10 },
    make: () => createModel('vit_b_32', { imageSize: 64, numClasses: 10, dropPathRate: 0.5 }) as VisionTransformer,
    seed: 4,
  },
  {
    what: 'small config with pre-logits',
    config: { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 64, mlpDim: 128, numClasses: 7, representationSize: 48 },
    make: () => irisModel(PARITY_CASES[2].config, { dropPathRate: 0.5 }),
    seed: 5,
  },
];

for (const c of PARITY_CASES) {
  describe(`ViT parity: ${c.what}`, () => {
    const paths = { initPath: join(tmp.path, `${c.seed}-init.pt`), weightsPath: join(tmp.path, `${c.seed}-w.pt`), ioPath: join(tmp.path, `${c.seed}-io.pt`) };
    let model: VisionTransformer;
    let io: Map<string, Tensor>;
    before(() => {
      torch.manualSeed(c.seed);
      model = c.make();
      const stageIndices = model.featureInfo.map((f) => Number(/encoder_layer_(\d+)$/.exec(f.module)![1]));
      runPython('vit_ref.py', { mode: 'parity', config: c.config, seed: c.seed, stageIndices, ...paths });
      io = loadStateDictFile(paths.ioPath);
    });

    it('seeded construction draws the same parameters as torchvision', () => {
      assertSameTensors(model.stateDict(), loadStateDictFile(paths.initPath), 'initial state dict');
    });

    it('eval output, pre-logits and encoder stages match torchvision with the same weights', () => {
      model.loadStateDict(loadStateDictFile(paths.weightsPath));
      model.eval();
      torch.noGrad(() => {
        const x = io.get('input')!;
        assertMaxRelClose(model.forward(x), io.get('output')!, { what: 'logits' });
        const features = model.forwardFeatures(x);
        assertMaxRelClose(model.forwardHead(features, { preLogits: true }), io.get('pre_logits')!, { what: 'pre-logits' });
        const grid = c.config.imageSize / c.config.patchSize;
        model.forwardStages(x).forEach((stage, i) => {
          const { module, channels, reduction } = model.featureInfo[i];
          const ref = io.get(`stage_${/(\d+)$/.exec(module)![1]}`)!;
          assert.deepEqual(stage.shape, [2, channels, c.config.imageSize / reduction, c.config.imageSize / reduction]);
          // Patch tokens (class token dropped) in row-major grid order become the channels-first map.
          const expected = ref.narrow(1, 1, grid * grid).transpose(1, 2).reshape(stage.shape);
          assertMaxRelClose(stage, expected, { what: `stage ${module}` });
        });
      });
    });

    it('stochastic depth drops residual branches in training mode', () => {
      model.train();
      torch.manualSeed(0);
      const trained = torch.noGrad(() => model.forward(io.get('input')!));
      model.eval();
      assert.ok(!torch.allclose(trained, io.get('output')!, { rtol: 1e-3, atol: 1e-3 }), 'training mode with dropPathRate 0.5 must drop some branches');
    });
  });
}

describe('ViT position-embedding interpolation', () => {
  const c = PARITY_CASES[0];
  const outPath = join(tmp.path, 'interp.pt');
  let ref: Map<string, Tensor>;
  const sizes = [96, 32];
  before(() => {
    const weightsPath = join(tmp.path, `${c.seed}-w.pt`);
    runPython('vit_ref.py', { mode: 'interpolate', config: c.config, seed: 11, imageSizes: sizes, weightsPath, outPath });
    ref = loadStateDictFile(outPath);
  });

  it('interpolateEmbeddings equals torchvision\'s interpolate_embeddings', () => {
    const state = loadStateDictFile(join(tmp.path, `${c.seed}-w.pt`));
    for (const size of sizes) {
      const resized = interpolateEmbeddings(state, size, c.config.patchSize);
      // The same ops as torchvision's interpolate_embeddings (narrow, permute, reshape, bicubic interpolate, cat) on the same LibTorch: the same bits on any CPU.
      assertMaxRelClose(resized.get('encoder.pos_embedding')!, ref.get(`pos_embedding_${size}`)!, { tol: 0, what: `pos_embedding at ${size}` });
      assert.equal(resized.get('heads.head.weight'), state.get('heads.head.weight'), 'other tensors are shared');
    }
    assert.ok(!interpolateEmbeddings(state, 96, 16, { resetHeads: true }).has('heads.head.bias'), 'resetHeads drops the heads');
  });

  it('a model built for another imageSize loads 64x64 weights and matches torchvision', () => {
    for (const size of sizes) {
      const model = createModel('vit_ti_16', { imageSize: size, numClasses: 10 }).eval();
      model.loadStateDict(loadStateDictFile(join(tmp.path, `${c.seed}-w.pt`)));
      torch.noGrad(() => assertMaxRelClose(model.forward(ref.get(`input_${size}`)!), ref.get(`output_${size}`)!, { what: `logits at ${size}` }));
      assert.throws(() => model.forward(torch.zeros([1, 3, 64, 64])), /built for/);
    }
  });
});

describe('ViT weights in other layouts', () => {
  const c = PARITY_CASES[0];
  const timmPath = join(tmp.path, 'timm.pt');
  const legacyPath = join(tmp.path, 'legacy.pt');
  let reply: { timmMaxDiff: number; legacyMaxDiff: number; timmKeys: string[] };
  let io: Map<string, Tensor>;
  before(() => {
    reply = runPython('vit_ref.py', {
      mode: 'timm', config: c.config, weightsPath: join(tmp.path, `${c.seed}-w.pt`), ioPath: join(tmp.path, `${c.seed}-io.pt`), timmPath, legacyPath,
    });
    io = loadStateDictFile(join(tmp.path, `${c.seed}-io.pt`));
  });

  it('timmVitKey loads a timm-layout state dict (checked by a timm-style forward in Python) with identical outputs', () => {
    assert.ok(reply.timmMaxDiff < 1e-4, `the Python timm-style forward reproduces torchvision (max |Δ| ${reply.timmMaxDiff})`);
    const timmState = loadStateDictFile(timmPath);
    assert.deepEqual([...timmState.keys()], reply.timmKeys);
    const mapped = new Map([...timmState].map(([k, v]) => [timmVitKey(k), v]));
    const model = createModel('vit_ti_16', { imageSize: 64, numClasses: 10 }).eval();
    model.loadStateDict(mapped);
    torch.noGrad(() => assertMaxRelClose(model.forward(io.get('input')!), io.get('output')!, { what: 'logits from timm keys' }));
    assert.equal(modelInfo('vit_s_16').weights[0].keyMap, timmVitKey);
    assert.equal(timmVitKey('blocks.0.ls1.gamma'), 'blocks.0.ls1.gamma', 'unknown keys pass through for a strict load to name');
  });

  it("torchvision's pre-0.13 MLP names (linear_1, linear_2) load through the weights' keyMap", () => {
    assert.ok(reply.legacyMaxDiff === 0, 'torchvision loads the legacy names');
    const keyMap = modelInfo('vit_b_16').weights[0].keyMap!;
    const mapped = new Map([...loadStateDictFile(legacyPath)].map(([k, v]) => [keyMap(k)!, v]));
    const model = createModel('vit_ti_16', { imageSize: 64, numClasses: 10 }).eval();
    model.loadStateDict(mapped);
    torch.noGrad(() => assertMaxRelClose(model.forward(io.get('input')!), io.get('output')!, { what: 'logits from legacy keys' }));
  });
});

describe('ViT head', () => {
  it('resetClassifier replaces the head and keeps pre-logits; numClasses 0 returns pooled features', () => {
    const model = irisModel(PARITY_CASES[2].config).eval();
    const preLogits = model.heads.at(0);
    const x = torch.randn([2, 3, 32, 32]);
    const pooled = torch.noGrad(() => model.forwardHead(model.forwardFeatures(x), { preLogits: true }));
    model.resetClassifier(3);
    assert.equal(model.heads.at(0), preLogits);
    assert.deepEqual(model.forward(x).shape, [2, 3]);
    assert.deepEqual(model.stateDict().get('heads.head.weight')!.shape, [3, 48]);
    model.resetClassifier(0);
    torch.noGrad(() => assert.ok(torch.equal(model.forward(x), pooled)));
    assert.throws(() => createModel('vit_b_16', { imageSize: 100 }), /multiple of patchSize/);
  });
});
