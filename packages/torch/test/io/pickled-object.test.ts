// Whole-module pickles read as inert records: moduleStateDict against PyTorch's own state_dict() of
// the same model, which pickled_object_ref.py writes at test time (protocols 1 and 2).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { moduleStateDict, PickleClass, PickledObject, torchModuleClasses } from '../../src/io/pickled-object.js';
import { findStateDict, readTorchCheckpoint } from '../../src/io/torch-checkpoint.js';
import { runPython } from '../helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'iris-pickled-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let reference: { keys: string[]; kernel_size: number[]; scale_factor: number };
before(() => {
  reference = runPython('io/pickled_object_ref.py', { dir });
});

const torchClasses = (module: string, name: string): PickleClass | undefined =>
  torchModuleClasses.has(`${module}.${name}`) ? new PickleClass(`${module}.${name}`) : undefined;

for (const protocol of [1, 2]) {
  test(`protocol ${protocol}: a pickled nn.Module tree becomes records whose state dict equals PyTorch's state_dict()`, () => {
    const path = join(dir, `module-p${protocol}.pt`);
    const top = readTorchCheckpoint(readFileSync(path), path, { findClass: torchClasses }) as Map<string, unknown>;
    const model = top.get('model');
    assert.ok(model instanceof PickledObject);
    assert.equal(model.className, 'torch.nn.modules.container.Sequential');
    assert.equal(model.attr('tag'), 'plain attribute');
    const children = [...(model.attr('_modules') as Map<string, PickledObject>).values()];
    assert.deepEqual(children[0].attr('kernel_size'), reference.kernel_size);
    // One SiLU object in two places stays one record (the pickle memo).
    const inner = [...(children[3].attr('_modules') as Map<string, PickledObject>).values()];
    assert.equal(inner[1], children[2]);
    assert.equal(inner[2].attr('scale_factor'), reference.scale_factor);

    const state = moduleStateDict(model, path);
    assert.deepEqual([...state.keys()], reference.keys, 'keys and order; the non-persistent buffer and the None bias left out');
    const statePath = join(dir, 'state.pt');
    const expected = findStateDict(readTorchCheckpoint(readFileSync(statePath), statePath), statePath);
    for (const [key, raw] of expected) {
      const got = state.get(key)!;
      assert.equal(got.dtype, raw.dtype, key);
      assert.deepEqual(got.shape, raw.shape, key);
      assert.deepEqual(Buffer.from(got.data), Buffer.from(raw.data), key);
    }
  });
}

test('classes outside the allow-list, and copyreg._reconstructor without one, are still refused by name', () => {
  const path = join(dir, 'module-p1.pt');
  const bytes = readFileSync(path);
  const noUpsample = (module: string, name: string) => (name === 'Upsample' ? undefined : torchClasses(module, name));
  assert.throws(() => readTorchCheckpoint(bytes, path, { findClass: noUpsample }), /refuses to load global 'torch\.nn\.modules\.upsampling\.Upsample'/);
  assert.throws(() => readTorchCheckpoint(bytes, path), /refuses to load global 'copyreg\._reconstructor'/);
});
