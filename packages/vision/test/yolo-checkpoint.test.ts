// Ultralytics YOLO checkpoints read without pickle's code execution, against files that
// yolo_checkpoint_ref.py writes at test time with PyTorch 1.13: whole DetectionModel objects pickled
// under Ultralytics' class paths and attribute layout, the dicts of its trainer's save_model (last.pt)
// and strip_optimizer (final), fp16 and fp32, protocol 2 and 1; plus malicious and broken files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile, saveSafetensors } from '@iris/torch/io';
import { buildYolo, loadYoloCheckpoint, readUltralyticsCheckpoint, readYoloSafetensors, saveYoloSafetensors, type YOLO } from '../src/detection/models/yolo/index.js';
import { createDetector } from '../src/detection/models/index.js';
import { assertMaxRelClose, runPython, tempDir } from './helpers/reference.js';

torch.setNumThreads(1);

interface Case {
  id: string;
  name: string;
  nc: number;
  style: 'last' | 'final' | 'both';
  half: boolean;
  seed: number;
  protocol?: number;
  names?: string[];
}

const CASES: Case[] = [
  { id: '11n-80-last', name: 'yolo11n', nc: 80, style: 'last', half: true, seed: 1 },
  { id: 'v8n-3-final', name: 'yolov8n', nc: 3, style: 'final', half: true, seed: 2, names: ['shirt', 'ankle boot', 'sac à dos'] },
  { id: '11n-3-fp32', name: 'yolo11n', nc: 3, style: 'final', half: false, seed: 3 },
  { id: 'v8n-80-fp32', name: 'yolov8n', nc: 80, style: 'last', half: false, seed: 4 },
  // Ultralytics 8.0's last.pt held both the raw model and its EMA; protocol 1 pickles objects through copyreg._reconstructor.
  { id: '11n-2-both-p1', name: 'yolo11n', nc: 2, style: 'both', half: true, seed: 5, protocol: 1 },
];

interface Written {
  id: string;
  names: string[];
  train_args: Record<string, unknown>;
  epoch: number;
  version: string;
}

const dir = tempDir();
after(() => dir.cleanup());
const written = new Map<string, Written>();
before(() => {
  const reply = runPython<{ written: Written[] }>('yolo_checkpoint_ref.py', { dir: dir.path, cases: CASES, evil: true });
  for (const w of reply.written) written.set(w.id, w);
});

const file = (name: string): string => join(dir.path, name);

function disposeAll(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.dispose();
}

function disposeModel(model: YOLO): void {
  disposeAll([...model.parameters(), ...model.buffers()]);
}

/** Same keys in the same order, same dtypes, and bit-equal values. */
function assertStateDictsEqual(actual: Map<string, Tensor>, expected: Map<string, Tensor>, what: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${what}: keys`);
  for (const [key, e] of expected) {
    const a = actual.get(key)!;
    assert.equal(a.dtype, e.dtype, `${what}: ${key} dtype`);
    assert.deepEqual(a.shape, e.shape, `${what}: ${key} shape`);
    assert.ok(a.equal(e), `${what}: ${key} differs`);
  }
}

for (const c of CASES) {
  test(`${c.id}: ${c.style} ${c.half ? 'fp16' : 'fp32'} ${c.name} checkpoint reads to the saved tensors, names, nc, stride and run args`, () => {
    const w = written.get(c.id)!;
    const ckpt = readUltralyticsCheckpoint(file(`${c.id}.pt`));
    assert.equal(ckpt.modelName, c.name);
    assert.equal(ckpt.family, c.name.slice(0, -1));
    assert.equal(ckpt.scale, c.name.slice(-1));
    assert.equal(ckpt.numClasses, c.nc);
    assert.deepEqual(ckpt.names, w.names);
    assert.deepEqual(ckpt.stride, [8, 16, 32]);
    assert.equal(ckpt.dtype, c.half ? 'float16' : 'float32');
    assert.equal(ckpt.use, c.style === 'final' ? 'model' : 'ema', 'ema preferred when present');
    assert.equal(ckpt.epoch, w.epoch);
    assert.equal(ckpt.version, w.version);
    assert.deepEqual(ckpt.trainArgs, w.train_args);
    const saved = loadStateDictFile(file(`${c.id}-sd.pt`));
    assertStateDictsEqual(ckpt.stateDict, saved, c.id);
    // The same module paths as Iris's architecture, in its order.
    const model = buildYolo(c.name, { numClasses: c.nc });
    const own = model.stateDict();
    assert.deepEqual([...ckpt.stateDict.keys()], [...own.keys()]);
    disposeAll(own.values());
    disposeModel(model);
    disposeAll(ckpt.stateDict.values());
    disposeAll(saved.values());
  });
}

for (const c of CASES.filter((x) => !x.half)) {
  test(`${c.id}: the loaded model's eval forward equals the Python model's (1e-4)`, (t) => {
    const model = loadYoloCheckpoint(file(`${c.id}.pt`));
    assert.equal(model.name, c.name);
    assert.equal(model.training, false, 'loaded in eval mode');
    assert.deepEqual(model.names, written.get(c.id)!.names);
    const io = loadStateDictFile(file(`${c.id}-io.pt`));
    const outs = torch.noGrad(() => model.forward(io.get('input')!));
    outs.forEach((o, i) => {
      const { maxDiff, maxRef } = assertMaxRelClose(o, io.get(`out${i}`)!, { tol: 1e-4, what: `${c.id} level ${i}` });
      t.diagnostic(`level ${i}: max |Δ| ${maxDiff.toExponential(2)} of max |ref| ${maxRef.toFixed(3)}`);
    });
    disposeAll(outs);
    disposeAll(io.values());
    disposeModel(model);
  });
}

test("a checkpoint holding both model and EMA: 'ema' by default, { use: 'model' } reads the raw model", () => {
  const id = '11n-2-both-p1';
  const raw = readUltralyticsCheckpoint(file(`${id}.pt`), { use: 'model' });
  assert.equal(raw.use, 'model');
  const expected = loadStateDictFile(file(`${id}-model-sd.pt`));
  assertStateDictsEqual(raw.stateDict, expected, 'model entry');
  disposeAll(raw.stateDict.values());
  disposeAll(expected.values());
  assert.throws(() => readUltralyticsCheckpoint(file('11n-3-fp32.pt'), { use: 'ema' }), (e: Error) => e.message.startsWith(file('11n-3-fp32.pt')) && /'ema' holds None/.test(e.message));
});

for (const [evil, global] of [
  ['evil-system', 'posix.system'],
  ['evil-eval', 'builtins.eval'],
  ['evil-nested', 'posix.system'],
]) {
  test(`${evil}: a pickle calling ${global} is refused by name and nothing runs`, () => {
    for (const load of [() => readUltralyticsCheckpoint(file(`${evil}.pt`)), () => loadYoloCheckpoint(file(`${evil}.pt`))]) {
      assert.throws(load, (e: Error) => e.message.startsWith(file(`${evil}.pt`)) && e.message.includes(`refuses to load global '${global}'`));
    }
    assert.equal(existsSync(file('MARKER')), false, 'the payload did not run');
  });
}

test('a truncated checkpoint is refused with its path', () => {
  const bytes = readFileSync(file('v8n-3-final.pt'));
  for (const length of [bytes.length >> 1, 200]) {
    const cut = file(`truncated-${length}.pt`);
    writeFileSync(cut, bytes.subarray(0, length));
    assert.throws(() => loadYoloCheckpoint(cut), (e: Error) => e.message.startsWith(cut) && /truncated/.test(e.message));
  }
});

test('an unknown architecture, a missing or an extra module path, and a plain state dict are refused naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['bad-segment', /unknown architecture: class 'ultralytics\.nn\.modules\.head\.Segment'/],
    ['bad-missing', /do not fit yolo11n with 3 classes: missing keys: 'model\.0\.bn\.weight'/],
    ['bad-extra', /do not fit yolov8n with 3 classes: unexpected keys: 'model\.22\.extra'/],
    ['bad-plain', /not an Ultralytics checkpoint/],
  ];
  for (const [name, pattern] of cases) {
    assert.throws(() => loadYoloCheckpoint(file(`${name}.pt`)), (e: Error) => e.message.startsWith(file(`${name}.pt`)) && pattern.test(e.message), name);
  }
});

test('saveYoloSafetensors: the same model with its metadata, loaded back exactly without pickle', () => {
  const model = loadYoloCheckpoint(file('v8n-3-final.pt'));
  const path = file('v8n-3.safetensors');
  saveYoloSafetensors(model, model.names, path);
  const back = readYoloSafetensors(path);
  assert.equal(back.modelName, 'yolov8n');
  assert.equal(back.numClasses, 3);
  assert.deepEqual(back.names, written.get('v8n-3-final')!.names);
  assert.deepEqual(back.stride, [8, 16, 32]);
  const own = model.stateDict();
  assertStateDictsEqual(back.stateDict, own, 'safetensors round trip');
  disposeAll(back.stateDict.values());
  const reloaded = loadYoloCheckpoint(path);
  assert.deepEqual(reloaded.names, model.names);
  const again = reloaded.stateDict();
  assertStateDictsEqual(again, own, 'loadYoloCheckpoint of the safetensors file');
  disposeAll(again.values());
  disposeAll(own.values());
  disposeModel(reloaded);

  assert.throws(() => saveYoloSafetensors(model, ['one'], file('x.safetensors')), /1 names for yolov8n's 3 classes/);
  const bare = file('bare.safetensors');
  const sd = model.stateDict();
  saveSafetensors(bare, sd);
  disposeAll(sd.values());
  assert.throws(() => loadYoloCheckpoint(bare), (e: Error) => e.message.startsWith(bare) && /without Iris YOLO metadata/.test(e.message));
  disposeModel(model);
});

test('createDetector fine-tunes an Ultralytics checkpoint to a new class count: the file\'s head is read, then swapped; the rest keeps the file\'s weights', () => {
  const path = file('11n-80-last.pt');
  const saved = readUltralyticsCheckpoint(path).stateDict;
  // 6 classes with the background: 5 object classes where the file has 80.
  const model = createDetector('yolo11n', { pretrained: path, numClasses: 6, imgsz: 64 });
  assert.equal(model.numClasses, 6);
  const state = model.stateDict();
  assert.deepEqual(state.get('model.23.cv3.0.2.weight')!.shape.slice(0, 1), [5]);
  assert.ok(state.get('model.23.cv2.0.2.weight')!.equal(saved.get('model.23.cv2.0.2.weight')!), 'the box branch keeps the file\'s weights');
  assert.ok(state.get('model.0.conv.weight')!.equal(saved.get('model.0.conv.weight')!), 'the backbone keeps the file\'s weights');
  // The same file at its own class count loads as it is.
  const same = createDetector('yolo11n', { pretrained: path });
  assert.ok(same.stateDict().get('model.23.cv3.0.2.weight')!.equal(saved.get('model.23.cv3.0.2.weight')!));
  disposeAll(saved.values());
});
