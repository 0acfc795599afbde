// Ultralytics YOLOv8 / YOLO11 detection architectures against Ultralytics' published model
// summaries and layouts (the ultralytics package is not installable here, so the numbers it
// prints are the reference). Parameter counts for 80 classes are the "summary: ... N parameters"
// comments on the scales of ultralytics/cfg/models/v8/yolov8.yaml and 11/yolo11.yaml (the same
// numbers DetectionModel.info() prints); key names and shapes follow Ultralytics' module paths.
// Forward numerics are checked against detection_yolo_ref.py: Ultralytics' modules and
// parse_model written in Python from its source, run on PyTorch 1.13 with the same weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { DFL } from '../src/detection/models/yolo/blocks.js';
import { buildYolo, catLevels, makeDivisible, YOLO_NAMES, type YOLO } from '../src/detection/models/yolo/yolo.js';
import { assertMaxRelClose, runPython, tempDir } from './helpers/reference.js';

torch.setNumThreads(1);

const FORWARD_CASES = [
  { id: 'v8n', name: 'yolov8n', nc: 5, input: [2, 3, 64, 96], seed: 1 },
  { id: '11n', name: 'yolo11n', nc: 5, input: [2, 3, 96, 64], seed: 2 },
  // m: C3k inside every C3k2 and a 4-head C2PSA.
  { id: '11m', name: 'yolo11m', nc: 3, input: [1, 3, 64, 64], seed: 3 },
];

const dir = tempDir();
after(() => dir.cleanup());
let reference: { structure: Record<string, { params: number; keys: [string, number[]][] }> };
before(() => {
  reference = runPython('detection_yolo_ref.py', {
    cmds: [
      { cmd: 'structure', names: YOLO_NAMES },
      { cmd: 'forward', dir: dir.path, cases: FORWARD_CASES },
      { cmd: 'train_step', dir: dir.path, name: 'yolo11n', nc: 4, input: [2, 3, 64, 64], seed: 4 },
      { cmd: 'dfl', dir: dir.path, shape: [2, 64, 30] },
    ],
  });
});

// yolov8.yaml's scales comments ("YOLOv8n summary: 225 layers, 3157200 parameters, 3157184 gradients");
// yolo11.yaml's ("summary: 319 layers, 2624080 parameters, 2624064 gradients"). The gradients figure is
// 16 less: DFL's frozen 1x1 conv.
const PUBLISHED: Record<string, number> = {
  yolov8n: 3_157_200,
  yolov8s: 11_166_560,
  yolov8m: 25_902_640,
  yolov8l: 43_691_520,
  yolov8x: 68_229_648,
  yolo11n: 2_624_080,
  yolo11s: 9_458_752,
  yolo11m: 20_114_688,
  yolo11l: 25_372_160,
  yolo11x: 56_966_176,
};

function counts(model: YOLO): { params: number; grads: number } {
  let params = 0;
  let grads = 0;
  for (const p of model.parameters()) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    params += n;
    if (p.requiresGrad) grads += n;
  }
  return { params, grads };
}

function dispose(model: YOLO): void {
  for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
}

for (const [name, published] of Object.entries(PUBLISHED)) {
  test(`${name}: parameter count for 80 classes equals Ultralytics' summary (${published})`, () => {
    const model = buildYolo(name);
    const { params, grads } = counts(model);
    assert.equal(params, published);
    assert.equal(grads, published - 16, 'all but DFL trainable');
    dispose(model);
  });
}

function shapes(model: YOLO): Map<string, number[]> {
  const sd = model.stateDict();
  const out = new Map([...sd].map(([k, v]) => [k, v.shape]));
  for (const t of sd.values()) t.dispose();
  return out;
}

/** Runs the finalizers of tensors earlier tests forgot, so a live-tensor count before/after is exact. */
async function settleGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function assertKeys(actual: Map<string, number[]>, expected: Record<string, number[]>, what: string): void {
  for (const [key, shape] of Object.entries(expected)) {
    assert.ok(actual.has(key), `${what}: missing ${key}`);
    assert.deepEqual(actual.get(key), shape, `${what}: ${key}`);
  }
}

test('yolov8n: state-dict keys and shapes follow Ultralytics module paths', () => {
  const model = buildYolo('yolov8n');
  const sd = shapes(model);
  const keys = [...sd.keys()];
  assert.equal(keys[0], 'model.0.conv.weight');
  assert.ok(keys.every((k) => k.startsWith('model.')), 'every key under model.');
  assertKeys(
    sd,
    {
      'model.0.conv.weight': [16, 3, 3, 3],
      'model.0.bn.weight': [16],
      'model.0.bn.running_mean': [16],
      'model.0.bn.running_var': [16],
      'model.0.bn.num_batches_tracked': [],
      // C2f(32, 32, n=1, shortcut): c = 16, cv1 to 2c, cv2 from (2 + n) c, Bottleneck e=1.0 3x3/3x3.
      'model.2.cv1.conv.weight': [32, 32, 1, 1],
      'model.2.cv2.conv.weight': [32, 48, 1, 1],
      'model.2.m.0.cv1.conv.weight': [16, 16, 3, 3],
      'model.2.m.0.cv2.conv.weight': [16, 16, 3, 3],
      'model.4.m.1.cv2.conv.weight': [32, 32, 3, 3],
      // SPPF(256, 256): cv1 to 128, cv2 from 4 * 128.
      'model.9.cv1.conv.weight': [128, 256, 1, 1],
      'model.9.cv2.conv.weight': [256, 512, 1, 1],
      // Detect(ch 64/128/256): c2 = max(16, 64 // 4, 64) = 64, c3 = max(64, 80) = 80, legacy 3x3 class branch.
      'model.22.cv2.0.0.conv.weight': [64, 64, 3, 3],
      'model.22.cv2.0.2.weight': [64, 64, 1, 1],
      'model.22.cv2.2.0.conv.weight': [64, 256, 3, 3],
      'model.22.cv3.0.0.conv.weight': [80, 64, 3, 3],
      'model.22.cv3.0.1.conv.weight': [80, 80, 3, 3],
      'model.22.cv3.0.2.weight': [80, 80, 1, 1],
      'model.22.cv3.2.2.bias': [80],
      'model.22.dfl.conv.weight': [1, 16, 1, 1],
    },
    'yolov8n',
  );
  assert.equal(keys[keys.length - 1], 'model.22.dfl.conv.weight');
  assert.ok(!sd.has('model.23.dfl.conv.weight'));
  dispose(model);
});

test('yolo11n: state-dict keys and shapes follow Ultralytics module paths (C3k2, C3k, C2PSA, depthwise Detect)', () => {
  const model = buildYolo('yolo11n');
  const sd = shapes(model);
  assert.equal([...sd.keys()][0], 'model.0.conv.weight');
  assertKeys(
    sd,
    {
      'model.0.conv.weight': [16, 3, 3, 3],
      // C3k2(32, 64, n=1, c3k False, e=0.25): c = 16, Bottleneck(16, 16, e 0.5) inside.
      'model.2.cv1.conv.weight': [32, 32, 1, 1],
      'model.2.cv2.conv.weight': [64, 48, 1, 1],
      'model.2.m.0.cv1.conv.weight': [8, 16, 3, 3],
      'model.2.m.0.cv2.conv.weight': [16, 8, 3, 3],
      // C3k2(128, 128, c3k True): C3k(64, 64, n=2) with c_ = 32.
      'model.6.m.0.cv1.conv.weight': [32, 64, 1, 1],
      'model.6.m.0.cv2.conv.weight': [32, 64, 1, 1],
      'model.6.m.0.cv3.conv.weight': [64, 64, 1, 1],
      'model.6.m.0.m.1.cv2.conv.weight': [32, 32, 3, 3],
      'model.9.cv1.conv.weight': [128, 256, 1, 1],
      // C2PSA(256): c = 128, PSABlock with 128 // 64 = 2 heads, head_dim 64, key_dim 32: qkv 128 + 2 * 2 * 32.
      'model.10.cv1.conv.weight': [256, 256, 1, 1],
      'model.10.cv2.conv.weight': [256, 256, 1, 1],
      'model.10.m.0.attn.qkv.conv.weight': [256, 128, 1, 1],
      'model.10.m.0.attn.qkv.bn.running_var': [256],
      'model.10.m.0.attn.proj.conv.weight': [128, 128, 1, 1],
      'model.10.m.0.attn.pe.conv.weight': [128, 1, 3, 3],
      'model.10.m.0.ffn.0.conv.weight': [256, 128, 1, 1],
      'model.10.m.0.ffn.1.conv.weight': [128, 256, 1, 1],
      // Detect(ch 64/128/256): cv3 is DWConv 3x3 + Conv 1x1, twice, then the 1x1 classifier.
      'model.23.cv2.0.0.conv.weight': [64, 64, 3, 3],
      'model.23.cv2.1.2.bias': [64],
      'model.23.cv3.0.0.0.conv.weight': [64, 1, 3, 3],
      'model.23.cv3.0.0.1.conv.weight': [80, 64, 1, 1],
      'model.23.cv3.0.1.0.conv.weight': [80, 1, 3, 3],
      'model.23.cv3.0.1.1.conv.weight': [80, 80, 1, 1],
      'model.23.cv3.2.0.0.conv.weight': [256, 1, 3, 3],
      'model.23.cv3.0.2.weight': [80, 80, 1, 1],
      'model.23.dfl.conv.weight': [1, 16, 1, 1],
    },
    'yolo11n',
  );
  dispose(model);
});

test("Ultralytics' initialisation: BN eps 1e-3 / momentum 0.03, DFL bins 0..15 frozen, Detect bias_init at strides 8/16/32", () => {
  const model = buildYolo('yolo11n', { numClasses: 3 });
  const bn = model.model.at(0) as unknown as { bn: { eps: number; momentum: number } };
  assert.equal(bn.bn.eps, 1e-3);
  assert.equal(bn.bn.momentum, 0.03);
  const sd = model.stateDict();
  assert.deepEqual(sd.get('model.23.dfl.conv.weight')!.toFlatArray(), Array.from({ length: 16 }, (_, i) => i));
  assert.ok(sd.get('model.23.cv2.0.2.bias')!.toFlatArray().every((v) => v === 1));
  // bias_init: log(5 / nc / (640 / s)^2), e.g. s = 8: log(5 / 3 / 6400).
  [8, 16, 32].forEach((s, i) => {
    const want = Math.log(5 / 3 / (640 / s) ** 2);
    for (const v of sd.get(`model.23.cv3.${i}.2.bias`)!.toFlatArray()) assert.ok(Math.abs(v - want) < 1e-6, `level ${i}: ${v} vs ${want}`);
  });
  // make_divisible rounds up to a multiple of 8: 75 -> 80, 576 stays.
  assert.equal(makeDivisible(75), 80);
  assert.equal(makeDivisible(576), 576);
  for (const t of sd.values()) t.dispose();
  dispose(model);
});

for (const name of ['yolov8n', 'yolo11n']) {
  test(`${name}: raw outputs per level and P3-P5 features for 640x640 and 320x256 inputs, no tensors left`, async () => {
    const model = buildYolo(name, { numClasses: 80 }).eval();
    await settleGarbage();
    const no = 80 + 4 * 16;
    for (const [h, w] of [
      [640, 640],
      [320, 256],
    ]) {
      const x = torch.rand([1, 3, h, w]);
      const before = torch.liveTensors();
      const levels = torch.noGrad(() => model.call(x));
      assert.deepEqual(
        levels.map((l) => l.shape),
        [8, 16, 32].map((s) => [1, no, h / s, w / s]),
      );
      const flat = catLevels(levels);
      assert.deepEqual(flat.shape, [1, no, [8, 16, 32].reduce((a, s) => a + (h / s) * (w / s), 0)]);
      if (h === 640) assert.equal(flat.shape[2], 8400);
      const features = torch.noGrad(() => model.forwardFeatures(x));
      assert.deepEqual(
        features.map((f) => f.shape),
        [8, 16, 32].map((s, i) => [1, model.featureChannels[i], h / s, w / s]),
      );
      for (const t of [...levels, flat, ...features]) t.dispose();
      assert.equal(torch.liveTensors(), before, 'tensors left by forward');
      x.dispose();
    }
    assert.deepEqual(model.featureChannels, [64, 128, 256]);
    dispose(model);
  });
}

test('bad input: unknown names, numClasses and non-stride-multiple sizes are refused with a clear error', () => {
  assert.throws(() => buildYolo('yolov9n'), /unknown model 'yolov9n'/);
  assert.throws(() => buildYolo('yolo11n', { numClasses: 0 }), /numClasses should be a positive integer/);
  const model = buildYolo('yolov8n', { numClasses: 2 });
  const x = torch.rand([1, 3, 100, 96]);
  assert.throws(() => model.call(x), /multiple of the stride 32/);
  x.dispose();
  dispose(model);
});

test('every scale: state-dict keys and shapes, in order, equal the PyTorch rewrite of Ultralytics\' modules', () => {
  for (const name of YOLO_NAMES) {
    const model = buildYolo(name);
    assert.deepEqual([...shapes(model)], reference.structure[name].keys, `${name}: state-dict keys and shapes`);
    assert.equal(reference.structure[name].params, PUBLISHED[name], `${name}: the Python rewrite's count`);
    dispose(model);
  }
});

for (const c of FORWARD_CASES) {
  test(`${c.name}: eval forward with PyTorch's weights (loaded strictly) equals the PyTorch reference`, async (t) => {
    const model = buildYolo(c.name, { numClasses: c.nc });
    const weights = loadStateDictFile(join(dir.path, `${c.id}.pt`));
    model.loadStateDict(weights);
    model.eval();
    const io = loadStateDictFile(join(dir.path, `${c.id}-io.pt`));
    await settleGarbage();
    const before = torch.liveTensors();
    const outs = torch.noGrad(() => model.call(io.get('input')!));
    outs.forEach((o, i) => {
      const { maxDiff, maxRef } = assertMaxRelClose(o, io.get(`out${i}`)!, { tol: 1e-4, what: `${c.name} level ${i}` });
      t.diagnostic(`level ${i}: max |Δ| ${maxDiff.toExponential(2)} of max |ref| ${maxRef.toFixed(2)}`);
    });
    for (const o of outs) o.dispose();
    assert.equal(torch.liveTensors(), before, 'tensors left by forward');
    for (const t of [...weights.values(), ...io.values()]) t.dispose();
    dispose(model);
  });
}

test('DFL: softmax over 16 bins and the expected distance equal the PyTorch reference', (t) => {
  const io = loadStateDictFile(join(dir.path, 'dfl-io.pt'));
  const dfl = new DFL(16);
  const y = torch.noGrad(() => dfl.call(io.get('input')!));
  const { maxDiff } = assertMaxRelClose(y, io.get('output')!, { tol: 1e-5, what: 'DFL' });
  t.diagnostic(`max |Δ| ${maxDiff.toExponential(2)}`);
  for (const t of [y, ...io.values(), ...dfl.parameters()]) t.dispose();
});

test('yolo11n: a train-mode forward (batch statistics) and the gradients of every parameter equal the PyTorch reference', (t) => {
  const model = buildYolo('yolo11n', { numClasses: 4 });
  const init = loadStateDictFile(join(dir.path, 'train-init.pt'));
  model.loadStateDict(init);
  model.train();
  const io = loadStateDictFile(join(dir.path, 'train-out.pt'));
  const outs = model.call(io.get('input')!);
  const loss = torch.tidy(() => outs.map((o) => o.square().mean()).reduce((a, b) => a.add(b)));
  outs.forEach((o, i) => assertMaxRelClose(o, io.get(`out${i}`)!, { tol: 1e-4, what: `train-mode level ${i}` }));
  assertMaxRelClose(loss, io.get('loss')!, { tol: 1e-5, what: 'loss' });
  loss.backward();
  const grads = [...io].filter(([k]) => k.startsWith('grad.'));
  const globalMax = Math.max(...grads.map(([, g]) => g.toFlatArray().reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  let worst = 0;
  const named = new Map(model.namedParameters());
  assert.equal(grads.length, named.size - 1, 'every parameter but DFL has a gradient in the reference');
  for (const [key, g] of grads) {
    const p = named.get(key.slice('grad.'.length));
    assert.ok(p?.grad, `${key}: no gradient on Iris' side`);
    const { maxDiff } = assertMaxRelClose(p.grad, g, { tol: 1e-4, floor: 1e-3 * globalMax, what: key });
    worst = Math.max(worst, maxDiff / globalMax);
  }
  // Running statistics after one step with momentum 0.03.
  const after = model.stateDict();
  for (const [key, v] of io) {
    if (key.startsWith('after.') && /running_(mean|var)$/.test(key)) assertMaxRelClose(after.get(key.slice('after.'.length))!, v, { tol: 1e-5, what: key });
  }
  for (const x of after.values()) x.dispose();
  t.diagnostic(`gradients: worst max |Δ| ${worst.toExponential(2)} of the largest gradient`);
  for (const x of [...init.values(), ...io.values(), loss, ...outs]) x.dispose();
  dispose(model);
});
