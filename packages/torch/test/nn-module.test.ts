// nn.Module against PyTorch: registration order and state-dict keys (torchvision's ResNet-18),
// loading PyTorch weights, strict-mode errors, traversal, modes, conversion and hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { nn } from '../src/index.js';
import { runPython, assertClose, toJson, fromJson, type JsonTensor } from './helpers/python.js';

/** torchvision's BasicBlock, names and order included. */
class BasicBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu: nn.ReLU;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Module | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: nn.Module | null = null) {
    super();
    this.conv1 = new nn.Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(planes);
    this.relu = new nn.ReLU({ inplace: true });
    this.conv2 = new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(planes);
    this.downsample = downsample;
  }

  forward(x: torch.Tensor): torch.Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out.add(identity));
  }
}

/** torchvision's ResNet with chosen widths and depths; the layers are registered by name. */
class ResNet extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu: nn.ReLU;
  maxpool: nn.MaxPool2d;
  avgpool: nn.AdaptiveAvgPool2d;
  fc: nn.Linear;
  private inplanes: number;

  constructor(widths: number[], layers: number[], numClasses: number) {
    super();
    this.inplanes = widths[0];
    this.conv1 = new nn.Conv2d(3, this.inplanes, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new nn.BatchNorm2d(this.inplanes);
    this.relu = new nn.ReLU({ inplace: true });
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    widths.forEach((width, i) => this.registerModule(`layer${i + 1}`, this.makeLayer(width, layers[i], i === 0 ? 1 : 2)));
    this.avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
    this.fc = new nn.Linear(widths[widths.length - 1], numClasses);
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof nn.BatchNorm2d) {
        nn.init.constant_(m.weight!, 1);
        nn.init.constant_(m.bias!, 0);
      }
    }
  }

  private makeLayer(planes: number, blocks: number, stride: number): nn.Sequential {
    const downsample =
      stride !== 1 || this.inplanes !== planes
        ? new nn.Sequential(new nn.Conv2d(this.inplanes, planes, 1, { stride, bias: false }), new nn.BatchNorm2d(planes))
        : null;
    const layers = [new BasicBlock(this.inplanes, planes, stride, downsample)];
    this.inplanes = planes;
    for (let i = 1; i < blocks; i++) layers.push(new BasicBlock(this.inplanes, planes));
    return new nn.Sequential(...layers);
  }

  forward(x: torch.Tensor): torch.Tensor {
    let y = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    for (const [name, child] of this.namedChildren()) if (name.startsWith('layer')) y = child.call(y);
    return this.fc.call(this.avgpool.call(y).flatten(1));
  }
}

const tinySpec = { widths: [4, 8], layers: [1, 2], numClasses: 3 };

interface TinyRef {
  initial: [string, JsonTensor][];
  namedModules: string[];
  namedParameters: string[];
  namedBuffers: string[];
  numParameters: number;
  repr: string;
  trained: [string, JsonTensor][];
  yEval: JsonTensor;
  yEvalDouble: JsonTensor;
}

let tinyRef: { x: torch.Tensor; ref: TinyRef } | undefined;
/** PyTorch's tiny ResNet (seed 7), trained two SGD steps on x; computed once for several tests. */
function tinyResnetRef(): { x: torch.Tensor; ref: TinyRef } {
  if (!tinyRef) {
    torch.manualSeed(99);
    const x = torch.randn([2, 3, 16, 16]);
    tinyRef = { x, ref: runPython<TinyRef>('nn_ref.py', { op: 'tinyResnet', seed: 7, ...tinySpec, x: toJson(x) }) };
  }
  return tinyRef;
}

function tinyResnet(): ResNet {
  return new ResNet(tinySpec.widths, tinySpec.layers, tinySpec.numClasses);
}

const pytorchStateDict = (entries: [string, JsonTensor][]) => new Map(entries.map(([k, v]) => [k, fromJson(v)]));

test("ResNet-18's state-dict keys, order, shapes and dtypes equal torchvision's", () => {
  const model = new ResNet([64, 128, 256, 512], [2, 2, 2, 2], 1000);
  const ours = [...model.stateDict()].map(([k, v]) => [k, v.shape, v.dtype]);
  const ref = runPython<{ keys: [string, number[], string][] }>('nn_ref.py', { op: 'resnet18' });
  assert.deepEqual(ours, ref.keys);
  assert.equal(model.numParameters(), 11_689_512);
});

test('a tiny ResNet matches PyTorch: init bit for bit, traversal order, parameter count, repr', () => {
  const { ref } = tinyResnetRef();
  torch.manualSeed(7);
  const model = tinyResnet();
  const state = model.stateDict();
  assert.deepEqual([...state.keys()], ref.initial.map(([k]) => k));
  for (const [key, value] of ref.initial) assertClose(state.get(key)!, value, { rtol: 0, atol: 0, what: key });
  assert.deepEqual(model.namedModules().map(([n]) => n), ref.namedModules);
  assert.deepEqual(model.namedParameters().map(([n]) => n), ref.namedParameters);
  assert.deepEqual(model.namedBuffers().map(([n]) => n), ref.namedBuffers);
  assert.equal(model.numParameters(), ref.numParameters);
  assert.equal(String(model).replace(/^ResNet/, 'TinyResNet'), ref.repr);
  assert.equal(model.getSubmodule('layer2.0.downsample.1'), (model.getSubmodule('layer2') as nn.Sequential).at(0).getSubmodule('downsample.1'));
  assert.throws(() => model.getSubmodule('layer2.5'), /Sequential has no submodule '5'; it has '0', '1'/);
});

test("loadStateDict takes PyTorch's trained weights: eval outputs match in float32 and after to('float64')", () => {
  const { x, ref } = tinyResnetRef();
  torch.manualSeed(1234);
  const model = tinyResnet();
  const result = model.loadStateDict(pytorchStateDict(ref.trained));
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const loaded = model.stateDict();
  for (const [key, value] of ref.trained) assertClose(loaded.get(key)!, value, { rtol: 0, atol: 0, what: `loaded ${key}` });
  model.eval();
  assertClose(
    torch.noGrad(() => model.call(x)),
    ref.yEval,
    { what: 'eval output' },
  );
  model.to('float64');
  assert.equal(model.conv1.weight.dtype, 'float64');
  assert.equal(model.bn1.runningMean!.dtype, 'float64');
  assert.equal(model.bn1.numBatchesTracked!.dtype, 'int64', 'integer buffers keep their dtype');
  assertClose(
    torch.noGrad(() => model.call(x.double())),
    ref.yEvalDouble,
    { rtol: 1e-10, atol: 1e-12, what: 'float64 eval output' },
  );
});

test('loadStateDict in strict mode throws one error naming missing, unexpected and mismatched keys', () => {
  const model = new nn.Sequential(new Map<string, nn.Module>([['features', new nn.Linear(4, 3)], ['fc', new nn.Linear(3, 10)]]));
  const before = model.stateDict();
  const beforeWeight = before.get('features.weight')!.clone();
  const dict = new Map([
    ['features.weight', torch.ones([3, 4])],
    ['fc.weight', torch.zeros([1000, 3])],
    ['fc.bias', torch.zeros([10])],
    ['head.weight', torch.zeros([2, 2])],
  ]);
  assert.throws(
    () => model.loadStateDict(dict),
    (e: Error) => {
      assert.equal(
        e.message,
        'loadStateDict: the state dict does not fit Sequential:\n' +
          "  missing keys: 'features.bias'\n" +
          "  unexpected keys: 'head.weight'\n" +
          "  key 'fc.weight' has shape [1000, 3], model expects [10, 3]\n" +
          "To fix: build the model with the checkpoint's shapes, or drop those keys from the state dict.",
      );
      return true;
    },
  );
  assert.throws(() => model.loadStateDict(dict, { strict: false }), /key 'fc.weight' has shape \[1000, 3\], model expects \[10, 3\]/, 'shape mismatches throw even when not strict, as in PyTorch');
  assert.deepEqual(model.stateDict().get('features.weight')!.tolist(), beforeWeight.tolist(), 'a failed load changes nothing');

  dict.set('fc.weight', torch.full([10, 3], 2, { dtype: 'float64' }));
  assert.throws(() => model.loadStateDict(dict), /missing keys: 'features.bias'\n {2}unexpected keys: 'head.weight'\nTo fix: pass \{ strict: false \}/);
  const result = model.loadStateDict(dict, { strict: false });
  assert.deepEqual(result, { missingKeys: ['features.bias'], unexpectedKeys: ['head.weight'] });
  const after = model.stateDict();
  assert.deepEqual(after.get('features.weight')!.tolist(), torch.ones([3, 4]).tolist());
  assert.equal(after.get('fc.weight')!.dtype, 'float32', 'values are converted to the parameter dtype, as copy_ does');
  assert.equal(after.get('fc.weight')!.sum().item(), 60);
});

test("a state dict without num_batches_tracked (pre-0.4.1 files) loads strictly with those buffers 0, as PyTorch's _NormBase; other missing keys are still named", () => {
  torch.manualSeed(98);
  const x = torch.randn([2, 3, 16, 16]);
  const drop = 'layer1.0.bn1.running_var';
  const ref = runPython<{
    stateDict: [string, JsonTensor][];
    missingKeys: string[];
    unexpectedKeys: string[];
    numBatchesTracked: Record<string, number>;
    yEval: JsonTensor;
    brokenStrictError: string;
    brokenMissingKeys: string[];
  }>('nn_ref.py', { op: 'legacyBatchNorm', seed: 7, ...tinySpec, x: toJson(x), drop });
  const stripped = pytorchStateDict(ref.stateDict);
  assert.ok(![...stripped.keys()].some((k) => k.endsWith('num_batches_tracked')), 'the file has no num_batches_tracked');
  assert.deepEqual([ref.missingKeys, ref.unexpectedKeys], [[], []], 'PyTorch loads it strictly');

  const model = tinyResnet();
  // A count that keeping the old value, instead of filling 0, would show.
  for (const m of model.modules()) if (m instanceof nn.BatchNorm2d) m.numBatchesTracked!.fill_(5);
  assert.deepEqual(model.stateDictDefaults(), new Map(Object.keys(ref.numBatchesTracked).map((k) => [k, 0])));
  assert.deepEqual(model.loadStateDict(stripped), { missingKeys: [], unexpectedKeys: [] });
  const counts = Object.fromEntries([...model.stateDict()].filter(([k]) => k.endsWith('num_batches_tracked')).map(([k, v]) => [k, v.item()]));
  assert.deepEqual(counts, ref.numBatchesTracked);
  assert.equal(model.bn1.numBatchesTracked!.dtype, 'int64');
  model.eval();
  const y = torch.noGrad(() => model.call(x));
  const yRef = fromJson(ref.yEval);
  const maxDiff = y.sub(yRef).abs().amax().item();
  const maxRef = yRef.abs().amax().item();
  assert.ok(maxDiff <= 1e-4 * maxRef, `eval output: max |Δ| ${maxDiff} > 1e-4 · max |ref| ${maxRef}`);

  // A genuinely missing running_var is reported by name, as PyTorch does; num_batches_tracked is not.
  stripped.delete(drop);
  assert.ok(ref.brokenStrictError.includes(`"${drop}"`), ref.brokenStrictError);
  assert.throws(() => tinyResnet().loadStateDict(stripped), (e: Error) => e.message.includes(`missing keys: '${drop}'\n`) && !e.message.includes('num_batches_tracked'));
  assert.deepEqual(tinyResnet().loadStateDict(stripped, { strict: false }).missingKeys, ref.brokenMissingKeys);
  // Without running stats there is no num_batches_tracked to fill.
  assert.equal(new nn.BatchNorm2d(3, { trackRunningStats: false }).stateDictDefaults().size, 0);
});

test('tied weights and non-persistent buffers follow PyTorch: both keys in the state dict, each parameter once', () => {
  class Tied extends nn.Module {
    embed = new nn.Embedding(6, 4);
    head = new nn.Linear(4, 6, { bias: false });
    constructor() {
      super();
      this.head.weight = this.embed.weight;
      this.registerBuffer('scale', torch.ones([4]));
      this.registerBuffer('cache', torch.zeros([2]), { persistent: false });
    }
    forward(x: torch.Tensor): torch.Tensor {
      return this.head.call(this.embed.call(x));
    }
  }
  torch.manualSeed(3);
  const model = new Tied();
  const ref = runPython('nn_ref.py', { op: 'tied', seed: 3 });
  const state = model.stateDict();
  assert.deepEqual([...state.keys()], ref.stateDict.map(([k]: [string]) => k));
  for (const [key, value] of ref.stateDict) assertClose(state.get(key)!, value, { rtol: 0, atol: 0, what: key });
  assert.deepEqual(model.namedParameters().map(([n]) => n), ref.namedParameters);
  assert.deepEqual(model.namedBuffers().map(([n]) => n), ref.namedBuffers);
  assert.equal(model.numParameters(), 24);
  model.to('float64');
  assert.equal(model.head.weight, model.embed.weight, 'to() keeps tied parameters tied');
  assert.equal(model.embed.weight.dtype, 'float64');
});

test('train/eval reach every submodule; freeze, unfreeze, requiresGrad_ and zeroGrad act on all parameters', () => {
  const model = tinyResnet();
  assert.ok(model.modules().every((m) => m.training));
  model.eval();
  assert.ok(model.modules().every((m) => !m.training));
  model.train();
  assert.ok(model.modules().every((m) => m.training));
  model.freeze();
  assert.ok(model.parameters().every((p) => !p.requiresGrad));
  assert.equal(model.numParameters({ onlyTrainable: true }), 0);
  model.fc.unfreeze();
  assert.equal(model.numParameters({ onlyTrainable: true }), 8 * 3 + 3);
  model.unfreeze();
  assert.equal(model.numParameters({ onlyTrainable: true }), model.numParameters());

  const { x } = tinyResnetRef();
  model.call(x).sum().backward();
  assert.ok(model.parameters().every((p) => p.grad !== null));
  model.zeroGrad({ setToNone: false });
  assert.ok(model.parameters().every((p) => p.grad!.abs().sum().item() === 0));
  model.zeroGrad();
  assert.ok(model.parameters().every((p) => p.grad === null));
});

test("to() converts in place: new Parameters on the same properties, old ones disposed; a no-op keeps identity", () => {
  const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
  const linear = model.at(0) as nn.Linear;
  const weight = linear.weight;
  model.to('float32');
  assert.equal(linear.weight, weight, 'nothing to convert: the same Parameter');
  model.to({ dtype: 'float64' });
  assert.notEqual(linear.weight, weight);
  assert.ok(linear.weight instanceof nn.Parameter);
  assert.equal(linear.weight.requiresGrad, true);
  assert.ok(weight.isDisposed, 'the float32 parameter was freed');
  assert.equal(model.parameters()[0], linear.weight);
  assert.equal(model.forward(torch.randn([3, 2], { dtype: 'float64' })).dtype, 'float64');
  assert.throws(() => model.to('int64'), /only floating-point dtypes/);

  const conv = new nn.Conv2d(2, 4, 3);
  conv.to({ memoryFormat: 'channelsLast' });
  assert.ok(conv.weight.isContiguous('channelsLast') && !conv.weight.isContiguous(), '4-D weights take the memory format');
  assert.ok(conv.bias!.isContiguous(), 'other tensors keep theirs');
});

test('apply visits children before their parent, as PyTorch', () => {
  const inner = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
  const model = new nn.Sequential(inner, new nn.Linear(2, 1));
  const visited: string[] = [];
  model.apply((m) => visited.push(m === model ? 'outer' : m === inner ? 'inner' : m.constructor.name));
  assert.deepEqual(visited, ['Linear', 'ReLU', 'inner', 'Linear', 'outer']);
  model.apply((m) => {
    if (m instanceof nn.Linear) nn.init.zeros_(m.weight);
  });
  assert.ok(model.parameters().filter((p) => p.ndim === 2).every((p) => p.abs().sum().item() === 0));
});

test('state-dict keys: camelCase properties become snake_case, other names stay', () => {
  assert.equal(nn.stateDictKey('runningMean'), 'running_mean');
  assert.equal(nn.stateDictKey('numBatchesTracked'), 'num_batches_tracked');
  assert.equal(nn.stateDictKey('inProjWeight'), 'in_proj_weight');
  assert.equal(nn.stateDictKey('layer1'), 'layer1');
  assert.equal(nn.stateDictKey('ln_1'), 'ln_1');
  assert.equal(nn.stateDictKey('Mixed_5b'), 'Mixed_5b');
  assert.equal(nn.stateDictKey('AuxLogits'), 'AuxLogits');
  assert.equal(nn.stateDictKey('0'), '0');
});

test('registration errors name the property and the fix', () => {
  class Bad extends nn.Module {
    weight = new nn.Parameter(torch.ones([2]));
    forward(x: torch.Tensor): torch.Tensor {
      return x;
    }
  }
  const bad = new Bad();
  assert.throws(() => bad.registerBuffer('weight', torch.ones([2])), /cannot register buffer 'weight': the name already holds a parameter/);
  assert.throws(() => bad.registerModule('forward', new nn.ReLU()), /cannot register module 'forward': the name already holds function/);
  bad.parameters();
  (bad as unknown as { weight: torch.Tensor }).weight = torch.ones([2]);
  assert.throws(() => bad.parameters(), /Bad.weight is a registered parameter but holds a Tensor of shape \[2\]; wrap tensors: new Parameter\(t\)/);
  (bad as unknown as Record<string, unknown>).running_mean = new nn.Parameter(torch.ones([1]));
  (bad as unknown as Record<string, unknown>).runningMean = new nn.Parameter(torch.ones([1]));
  assert.throws(() => bad.stateDict(), /properties 'running_mean' and 'runningMean' would both have the state-dict key 'running_mean'/);
});

test('Parameters and modules built inside tidy survive it; state-dict values are detached views', () => {
  const model = torch.tidy(() => {
    const m = new nn.Linear(3, 2);
    m.forward(torch.ones([1, 3]));
    return m;
  });
  assert.equal(model.weight.isDisposed, false);
  assert.equal(model.weight.requiresGrad, true);
  const state = model.stateDict();
  const w = state.get('weight')!;
  assert.equal(w.requiresGrad, false);
  w.dispose();
  assert.equal(model.weight.isDisposed, false);
  assert.deepEqual(model.stateDict({ keepVars: true }).get('weight'), model.weight);
});

test('call runs forward pre-hooks and hooks; removing a hook stops it', () => {
  const relu = new nn.ReLU();
  const seen: number[][] = [];
  const pre = relu.registerForwardPreHook((_m, [x]) => [x.mul(-1)]);
  const post = relu.registerForwardHook((_m, _inputs, out: torch.Tensor) => {
    seen.push(out.toFlatArray());
  });
  const x = torch.tensor([1, -2]);
  assert.deepEqual(relu.call(x).tolist(), [0, 2]);
  assert.deepEqual(seen, [[0, 2]]);
  pre.remove();
  post.remove();
  assert.deepEqual(relu.call(x).tolist(), [1, 0]);
  assert.equal(seen.length, 1);
  assert.deepEqual(relu.forward(x).tolist(), [1, 0], 'forward skips hooks');
});

test('Sequential, ModuleList and ModuleDict register children under PyTorch keys', () => {
  const [a, b, c] = [new nn.ReLU(), new nn.Tanh(), new nn.Sigmoid()];
  const seq = new nn.Sequential(a, b, a);
  assert.equal(seq.length, 3);
  assert.equal(seq[0], a);
  assert.equal(seq.at(-2), b);
  assert.deepEqual([...seq], [a, b, a], 'a repeated module runs each time');
  assert.deepEqual(seq.namedChildren().map(([k]) => k), ['0', '1'], 'namedChildren lists each module once, as PyTorch');
  const input = torch.tensor([-1, 2]);
  assert.deepEqual(seq.forward(input).tolist(), input.relu().tanh().relu().tolist());

  const list = new nn.ModuleList([a, b]);
  list.insert(1, c);
  assert.deepEqual([...list], [a, c, b]);
  assert.equal(list.pop(0), a);
  assert.deepEqual([...list], [c, b]);
  assert.deepEqual(list.namedChildren().map(([k, m]) => [k, m]), [['0', c], ['1', b]]);
  assert.throws(() => list.forward(), /ModuleList has no forward/);

  const parent = new (class Heads extends nn.Module {
    heads = new nn.ModuleDict({ classifier: new nn.Linear(2, 3), boxRegressor: new nn.Linear(2, 4) });
    forward(): void {}
  })();
  assert.deepEqual([...parent.stateDict().keys()], ['heads.classifier.weight', 'heads.classifier.bias', 'heads.boxRegressor.weight', 'heads.boxRegressor.bias'], 'ModuleDict keys are kept literally');
  assert.equal(parent.heads.get('classifier')?.constructor.name, 'Linear');
  assert.ok(parent.heads.delete('classifier'));
  assert.deepEqual(parent.heads.keys(), ['boxRegressor']);
  assert.throws(() => parent.heads.set('keys', new nn.ReLU()), /cannot register module 'keys'/);
});
