import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { optim, type Tensor } from '../src/index.js';
import { runPython, assertClose, fromJson, toJson, type JsonTensor } from './helpers/python.js';
import { makeProblem, problemWith, problemJson, backward, PARAM_NAMES, type ParamName, type Problem } from './helpers/optim-problem.js';

type Kind = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
interface Case {
  name: string;
  kind: Kind;
  defaults: Record<string, unknown>;
  groups?: ({ params: ParamName[] } & Record<string, unknown>)[];
  /** -1 with maximize: ascending the negated loss descends the loss. */
  sign?: number;
}

const CASES: Case[] = [
  { name: 'SGD plain', kind: 'SGD', defaults: { lr: 0.1 } },
  { name: 'SGD momentum', kind: 'SGD', defaults: { lr: 0.05, momentum: 0.9 } },
  { name: 'SGD momentum, dampening, weight decay', kind: 'SGD', defaults: { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 } },
  { name: 'SGD nesterov, weight decay', kind: 'SGD', defaults: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001 } },
  { name: 'SGD maximize', kind: 'SGD', defaults: { lr: 0.05, momentum: 0.5, maximize: true }, sign: -1 },
  {
    name: 'SGD param groups',
    kind: 'SGD',
    defaults: { lr: 0.05, momentum: 0.5 },
    groups: [{ params: ['w1', 'b1', 'u'], lr: 0.1, momentum: 0.9 }, { params: ['w2', 'b2'], weightDecay: 0.01 }],
  },
  { name: 'Adam defaults', kind: 'Adam', defaults: {} },
  { name: 'Adam betas, weight decay', kind: 'Adam', defaults: { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.01 } },
  { name: 'Adam amsgrad', kind: 'Adam', defaults: { lr: 0.01, amsgrad: true } },
  { name: 'Adam maximize, eps', kind: 'Adam', defaults: { lr: 0.01, eps: 1e-6, maximize: true }, sign: -1 },
  {
    name: 'Adam param groups',
    kind: 'Adam',
    defaults: { lr: 0.01 },
    groups: [{ params: ['w1', 'b1', 'u'], lr: 0.02, amsgrad: true }, { params: ['w2', 'b2'], betas: [0.5, 0.9] }],
  },
  { name: 'AdamW defaults', kind: 'AdamW', defaults: { lr: 0.01 } },
  { name: 'AdamW weight decay, amsgrad', kind: 'AdamW', defaults: { lr: 0.01, weightDecay: 0.1, amsgrad: true } },
  {
    name: 'AdamW param groups, maximize',
    kind: 'AdamW',
    defaults: { lr: 0.01, maximize: true },
    groups: [{ params: ['w1', 'b1'], weightDecay: 0 }, { params: ['u', 'w2', 'b2'], lr: 0.003 }],
    sign: -1,
  },
  { name: 'RMSprop defaults', kind: 'RMSprop', defaults: {} },
  { name: 'RMSprop momentum', kind: 'RMSprop', defaults: { lr: 0.01, momentum: 0.9 } },
  { name: 'RMSprop centered', kind: 'RMSprop', defaults: { lr: 0.01, centered: true } },
  { name: 'RMSprop centered, momentum, alpha, weight decay', kind: 'RMSprop', defaults: { lr: 0.005, alpha: 0.9, centered: true, momentum: 0.5, weightDecay: 0.01 } },
  {
    name: 'RMSprop param groups, maximize',
    kind: 'RMSprop',
    defaults: { lr: 0.01, maximize: true },
    groups: [{ params: ['w1', 'b1', 'u'], centered: true }, { params: ['w2', 'b2'], lr: 0.002, momentum: 0.9 }],
    sign: -1,
  },
];

const STEPS = 20;
const RECORD = [1, 5, 10, 15, 20];
const PYTORCH_ONLY_GROUP_KEYS = new Set(['foreach', 'differentiable', 'capturable', 'fused']);

const snake = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

function pythonSpec(c: Case) {
  return { kind: c.kind, defaults: snake(c.defaults), params: PARAM_NAMES, groups: c.groups?.map(snake) };
}

function makeOptimizer(c: Case, problem: Problem): optim.Optimizer {
  const Ctor = { SGD: optim.SGD, Adam: optim.Adam, AdamW: optim.AdamW, RMSprop: optim.RMSprop }[c.kind] as unknown as new (
    params: unknown,
    options: unknown,
  ) => optim.Optimizer;
  const params = c.groups
    ? c.groups.map((g) => ({ ...g, params: g.params.map((n) => problem.params[n]) }))
    : PARAM_NAMES.map((n) => problem.params[n]);
  return new Ctor(params, c.defaults);
}

function run(c: Case, optimizer: optim.Optimizer, problem: Problem, steps: number, onStep?: (step: number) => void): void {
  for (let step = 1; step <= steps; step++) {
    optimizer.zeroGrad();
    backward(problem, c.sign ?? 1);
    optimizer.step();
    onStep?.(step);
  }
}

type JsonStateDict = { state: Record<string, Record<string, JsonTensor | number | null>>; param_groups: Record<string, unknown>[] };

function stateDictFromJson(sd: JsonStateDict): optim.OptimizerStateDict {
  const state = new Map<number, Record<string, optim.StateValue>>();
  for (const [i, s] of Object.entries(sd.state)) {
    state.set(Number(i), Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v !== null && typeof v === 'object' ? fromJson(v) : v])));
  }
  return { state, param_groups: sd.param_groups };
}

function stateDictToJson(sd: optim.OptimizerStateDict): JsonStateDict {
  const state: JsonStateDict['state'] = {};
  for (const [i, s] of sd.state) {
    state[String(i)] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof torch.Tensor ? toJson(v) : v]));
  }
  return { state, param_groups: sd.param_groups };
}

function assertStateDictMatches(actual: optim.OptimizerStateDict, expected: JsonStateDict, what: string): void {
  assert.deepEqual([...actual.state.keys()].sort(), Object.keys(expected.state).map(Number).sort(), `${what}: parameters with state`);
  for (const [i, s] of actual.state) {
    const e = expected.state[String(i)];
    assert.deepEqual(Object.keys(s).sort(), Object.keys(e).sort(), `${what}: state keys of parameter ${i}`);
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof torch.Tensor) assertClose(v, e[k] as JsonTensor, { rtol: 1.3e-6, atol: 1e-9, what: `${what}: state[${i}].${k}` });
      else assert.equal(v, e[k], `${what}: state[${i}].${k}`);
    }
  }
  assert.equal(actual.param_groups.length, expected.param_groups.length);
  actual.param_groups.forEach((g, i) => {
    const e = expected.param_groups[i];
    for (const [k, v] of Object.entries(g)) assert.deepEqual(v, e[k], `${what}: param_groups[${i}].${k}`);
    const missing = Object.keys(e).filter((k) => !(k in g) && !PYTORCH_ONLY_GROUP_KEYS.has(k));
    assert.deepEqual(missing, [], `${what}: param_groups[${i}] lacks PyTorch's keys`);
  });
}

interface TrainReply {
  snapshots: Record<string, Record<ParamName, JsonTensor>>;
  state_dict: JsonStateDict;
}

let start: Problem;
let refs: TrainReply[];
let refsAt10: TrainReply[];

before(() => {
  start = makeProblem(0);
  const base = { op: 'train', ...problemJson(start) };
  const requests = [
    ...CASES.map((c) => ({ ...base, optimizer: pythonSpec(c), steps: STEPS, record: RECORD, sign: c.sign ?? 1 })),
    ...CASES.map((c) => ({ ...base, optimizer: pythonSpec(c), steps: 10, record: [10], sign: c.sign ?? 1 })),
  ];
  const replies = runPython<TrainReply[]>('optim_ref.py', { op: 'batch', requests });
  refs = replies.slice(0, CASES.length);
  refsAt10 = replies.slice(CASES.length);
});

CASES.forEach((c, index) => {
  test(`${c.name}: parameters and state dict match PyTorch over ${STEPS} steps`, (t) => {
    const problem = problemWith(start, start.params);
    const optimizer = makeOptimizer(c, problem);
    const identities = PARAM_NAMES.map((n) => problem.params[n]);
    let worst = 0;
    let exact = 0;
    let total = 0;
    run(c, optimizer, problem, STEPS, (step) => {
      if (!RECORD.includes(step)) return;
      for (const n of PARAM_NAMES) {
        const expected = refs[index].snapshots[String(step)][n];
        assertClose(problem.params[n], expected, { rtol: 1.3e-6, atol: 1e-7, what: `${c.name}, step ${step}, ${n}` });
        problem.params[n].toFlatArray().forEach((v, i) => {
          const e = expected.data[i];
          worst = Math.max(worst, Math.abs(v - e) / Math.max(Math.abs(e), 1e-30));
          exact += v === e ? 1 : 0;
          total += 1;
        });
      }
    });
    assert.ok(PARAM_NAMES.every((n, i) => problem.params[n] === identities[i]), 'parameters keep their identity');
    assert.equal(problem.params.u.grad, null);
    assertStateDictMatches(optimizer.stateDict(), refs[index].state_dict, c.name);
    t.diagnostic(`${exact}/${total} values bit-identical to PyTorch; worst relative difference ${worst.toExponential(2)}`);
  });
});

test("loading PyTorch's state dict resumes as PyTorch does, and PyTorch resumes from ours", () => {
  const secondHalf: unknown[] = [];
  for (const [index, c] of CASES.entries()) {
    // PyTorch's 10-step state into a fresh optimizer over PyTorch's 10-step parameters.
    const at10 = refsAt10[index];
    const values = Object.fromEntries(PARAM_NAMES.map((n) => [n, fromJson(at10.snapshots['10'][n])])) as Record<ParamName, Tensor>;
    const problem = problemWith(start, values);
    const optimizer = makeOptimizer(c, problem);
    optimizer.loadStateDict(stateDictFromJson(at10.state_dict));
    run(c, optimizer, problem, 10);
    for (const n of PARAM_NAMES) assertClose(problem.params[n], refs[index].snapshots['20'][n], { rtol: 1.3e-6, atol: 1e-7, what: `${c.name} resumed, ${n}` });

    // Our 10-step state, resumed by PyTorch.
    const own = problemWith(start, start.params);
    const ownOptimizer = makeOptimizer(c, own);
    run(c, ownOptimizer, own, 10);
    secondHalf.push({
      op: 'train',
      ...problemJson(own),
      optimizer: pythonSpec(c),
      load: stateDictToJson(ownOptimizer.stateDict()),
      steps: 10,
      record: [10],
      sign: c.sign ?? 1,
    });
  }
  const replies = runPython<TrainReply[]>('optim_ref.py', { op: 'batch', requests: secondHalf });
  replies.forEach((reply, index) => {
    for (const n of PARAM_NAMES) {
      assertClose(fromJson(reply.snapshots['10'][n]), refs[index].snapshots['20'][n], { rtol: 1.3e-6, atol: 1e-7, what: `${CASES[index].name} resumed by PyTorch, ${n}` });
    }
  });
});

test('hyper-parameter checks and param-group errors name the problem', () => {
  const p = torch.zeros([2], { requiresGrad: true });
  assert.throws(() => new optim.SGD([p], { lr: -1 }), /SGD: lr must be >= 0, got -1/);
  assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new optim.Adam([p], { betas: [1, 0.9] }), /Adam: betas\[0\] must be in \[0, 1\)/);
  assert.throws(() => new optim.AdamW([p], { eps: -1 }), /AdamW: eps must be >= 0/);
  assert.throws(() => new optim.RMSprop([p], { alpha: -0.5 }), /RMSprop: alpha must be >= 0/);
  assert.throws(() => new optim.SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new optim.SGD(p as unknown as Tensor[], { lr: 0.1 }), /got a single Tensor/);
  assert.throws(() => new optim.SGD([p, p], { lr: 0.1 }), /lists a parameter twice/);
  assert.throws(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one parameter group/);
  assert.throws(() => new optim.SGD([p.mul(2)], { lr: 0.1 }), /not a leaf tensor/);
  const opt = new optim.Adam([p], { lr: 0.1 });
  opt.addParamGroup({ params: [torch.zeros([3], { requiresGrad: true })], lr: 0.5 });
  assert.deepEqual(
    opt.paramGroups.map((g) => [g.lr, g.betas, g.weightDecay]),
    [[0.1, [0.9, 0.999], 0], [0.5, [0.9, 0.999], 0]],
  );
});

test('zeroGrad drops gradients by default and zero-fills them with setToNone false', () => {
  const p = torch.ones([3], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 0.1 });
  p.mul(2).sum().backward();
  assert.deepEqual(p.grad!.tolist(), [2, 2, 2]);
  opt.zeroGrad({ setToNone: false });
  assert.deepEqual(p.grad!.tolist(), [0, 0, 0]);
  opt.zeroGrad();
  assert.equal(p.grad, null);
});
