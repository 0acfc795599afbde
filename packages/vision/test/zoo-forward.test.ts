// Every registered model that torchvision 0.14 also has, against torchvision: built seeded with
// the registry's defaults, weights saved by torchvision and loaded strictly, eval forward on a fixed
// input: max |Δ| ≤ 1e-4 · max |ref|. Parametrized over listModels(), so a new entry is covered
// without new code; the family tests go deeper (train steps, options, features).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, listModels, modelInfo } from '../src/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

torch.setNumThreads(2);
const NUM_CLASSES = 10;

/** How torchvision must be called to build what the registry builds, and the input to use. */
function caseFor(name: string): { iris: Record<string, unknown>; kwargs: Record<string, unknown>; input: number[] } {
  const family = modelInfo(name).family;
  if (family === 'vit') return { iris: { imageSize: 64 }, kwargs: { image_size: 64 }, input: [2, 3, 64, 64] };
  // Without weights GoogLeNet and Inception v3 have their aux heads and no input transform on both
  // sides (registry-defaults.test.ts); init_weights only spares torchvision's FutureWarning.
  if (name === 'googlenet') return { iris: {}, kwargs: { init_weights: true }, input: [2, 3, 64, 64] };
  if (name === 'inception_v3') return { iris: {}, kwargs: { init_weights: true }, input: [2, 3, 80, 80] };
  return { iris: {}, kwargs: {}, input: [2, 3, 64, 64] };
}

const available = runPython<string[]>('zoo_forward_ref.py', { cmd: 'available', names: listModels() });

test('the parity sweep covers every architecture the issue names that torchvision 0.14 has', () => {
  const named = [
    'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'wide_resnet50_2', 'inception_v3', 'googlenet',
    'densenet121', 'densenet161', 'densenet169', 'densenet201', 'vit_b_16', 'vit_b_32', 'vit_l_16', 'mobilenet_v2', 'mobilenet_v3_large',
    'mobilenet_v3_small', ...Array.from({ length: 8 }, (_, i) => `efficientnet_b${i}`),
    ...['vgg11', 'vgg13', 'vgg16', 'vgg19'].flatMap((v) => [v, `${v}_bn`]),
  ];
  for (const name of named) assert.ok(available.includes(name), `${name} is registered and in torchvision`);
  // What is left out is what torchvision lacks: timm's Xception, ViT-S/Ti and Iris's own small CNN.
  assert.deepEqual(listModels().filter((n) => !available.includes(n)), ['legacy_xception', 'simple_cnn', 'vit_s_16', 'vit_ti_16']);
});

const families = new Map<string, string[]>();
for (const name of available) families.set(modelInfo(name).family, [...(families.get(modelInfo(name).family) ?? []), name]);

for (const [family, names] of families) {
  describe(`${family} models against torchvision`, () => {
    const dir = tempDir();
    // One Python process per family writes its reference files; they are removed when it is done.
    before(() => {
      const cases = names.map((name) => ({ name, num_classes: NUM_CLASSES, input: caseFor(name).input, kwargs: caseFor(name).kwargs }));
      runPython('zoo_forward_ref.py', { cmd: 'forward', dir: dir.path, cases }, { timeoutMs: 900_000 });
    });
    after(() => dir.cleanup());

    for (const name of names) {
      test(`${name}: eval forward with torchvision's weights (strict load) matches torchvision`, () => {
        const model = createModel(name, { numClasses: NUM_CLASSES, ...caseFor(name).iris });
        const weights = loadStateDictFile(join(dir.path, `${name}.pt`));
        model.loadStateDict(weights);
        model.eval();
        const io = loadStateDictFile(join(dir.path, `${name}-io.pt`));
        const out = torch.tidy(() => torch.noGrad(() => model.call(io.get('input')!)));
        const { maxDiff, maxRef } = assertMaxRelClose(out, io.get('output')!, { what: `${name} logits` });
        assert.ok(maxRef > 1e-3, `${name}: the reference output should not be degenerate (max |ref| ${maxRef}, Δ ${maxDiff})`);
        // The big variants hold gigabytes: free them now rather than at the next GC.
        for (const t of [...weights.values(), ...io.values(), ...model.parameters(), ...model.buffers(), out]) t.dispose();
      });
    }
  });
}
