import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { optim } from '../src/index.js';
import { runPython } from './helpers/python.js';

const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, OneCycleLR, SequentialLR, ChainedScheduler } = optim.lrScheduler;
type Scheduler = optim.lrScheduler.Scheduler;
type Optimizer = optim.Optimizer;

const LAMBDAS: Record<string, (epoch: number) => number> = {
  exp95: (epoch) => 0.95 ** epoch,
  warmup5: (epoch) => Math.min(1.0, (epoch + 1) / 5),
};

interface Case {
  name: string;
  optimizer: 'SGD' | 'Adam';
  /** The scheduler as test/optim_ref.py builds it. */
  py: Record<string, unknown>;
  js: (opt: Optimizer) => Scheduler;
  /** PyTorch state-dict keys whose values must match after the run. */
  compareState?: string[];
}

const BASE_KEYS = ['base_lrs', 'last_epoch', '_step_count', '_last_lr'];

const CASES: Case[] = [
  { name: 'StepLR', optimizer: 'SGD', py: { kind: 'StepLR', args: { step_size: 7, gamma: 0.5 } }, js: (o) => new StepLR(o, 7, { gamma: 0.5 }), compareState: [...BASE_KEYS, 'step_size', 'gamma'] },
  {
    name: 'MultiStepLR with a repeated milestone',
    optimizer: 'SGD',
    py: { kind: 'MultiStepLR', args: { milestones: [3, 10, 10, 25], gamma: 0.3 } },
    js: (o) => new MultiStepLR(o, [3, 10, 10, 25], { gamma: 0.3 }),
    compareState: [...BASE_KEYS, 'milestones', 'gamma'],
  },
  { name: 'ExponentialLR', optimizer: 'Adam', py: { kind: 'ExponentialLR', args: { gamma: 0.9 } }, js: (o) => new ExponentialLR(o, 0.9), compareState: [...BASE_KEYS, 'gamma'] },
  {
    name: 'CosineAnnealingLR past T_max',
    optimizer: 'SGD',
    py: { kind: 'CosineAnnealingLR', args: { T_max: 10, eta_min: 0.001 } },
    js: (o) => new CosineAnnealingLR(o, 10, { etaMin: 0.001 }),
    compareState: [...BASE_KEYS, 'T_max', 'eta_min'],
  },
  { name: 'CosineAnnealingLR', optimizer: 'Adam', py: { kind: 'CosineAnnealingLR', args: { T_max: 30 } }, js: (o) => new CosineAnnealingLR(o, 30) },
  {
    name: 'LinearLR warm-up',
    optimizer: 'SGD',
    py: { kind: 'LinearLR', args: { start_factor: 0.1, end_factor: 0.9, total_iters: 8 } },
    js: (o) => new LinearLR(o, { startFactor: 0.1, endFactor: 0.9, totalIters: 8 }),
    compareState: [...BASE_KEYS, 'start_factor', 'end_factor', 'total_iters'],
  },
  { name: 'LambdaLR', optimizer: 'SGD', py: { kind: 'LambdaLR', lambdas: ['exp95'] }, js: (o) => new LambdaLR(o, LAMBDAS.exp95), compareState: [...BASE_KEYS, 'lr_lambdas'] },
  { name: 'LambdaLR per group', optimizer: 'SGD', py: { kind: 'LambdaLR', lambdas: ['warmup5', 'exp95'] }, js: (o) => new LambdaLR(o, [LAMBDAS.warmup5, LAMBDAS.exp95]) },
  {
    name: 'OneCycleLR cos, SGD momentum',
    optimizer: 'SGD',
    py: { kind: 'OneCycleLR', args: { max_lr: [0.5, 0.2], total_steps: 40 } },
    js: (o) => new OneCycleLR(o, [0.5, 0.2], { totalSteps: 40 }),
    compareState: [...BASE_KEYS, 'total_steps', '_schedule_phases', 'cycle_momentum', 'use_beta1'],
  },
  {
    name: 'OneCycleLR linear, three phases, Adam beta1',
    optimizer: 'Adam',
    py: { kind: 'OneCycleLR', args: { max_lr: 0.01, epochs: 5, steps_per_epoch: 8, pct_start: 0.25, anneal_strategy: 'linear', three_phase: true, base_momentum: 0.8, max_momentum: 0.9, div_factor: 10.0, final_div_factor: 100.0 } },
    js: (o) => new OneCycleLR(o, 0.01, { epochs: 5, stepsPerEpoch: 8, pctStart: 0.25, annealStrategy: 'linear', threePhase: true, baseMomentum: 0.8, maxMomentum: 0.9, divFactor: 10, finalDivFactor: 100 }),
    compareState: [...BASE_KEYS, 'total_steps', '_schedule_phases', 'use_beta1'],
  },
  {
    name: 'OneCycleLR without momentum cycling',
    optimizer: 'SGD',
    py: { kind: 'OneCycleLR', args: { max_lr: 1.0, total_steps: 36, cycle_momentum: false, three_phase: true } },
    js: (o) => new OneCycleLR(o, 1, { totalSteps: 36, cycleMomentum: false, threePhase: true }),
  },
  {
    name: 'SequentialLR: LinearLR warm-up then CosineAnnealingLR',
    optimizer: 'SGD',
    py: {
      kind: 'SequentialLR',
      schedulers: [
        { kind: 'LinearLR', args: { start_factor: 0.01, total_iters: 5 } },
        { kind: 'CosineAnnealingLR', args: { T_max: 25, eta_min: 1e-4 } },
      ],
      milestones: [5],
    },
    js: (o) => new SequentialLR(o, [new LinearLR(o, { startFactor: 0.01, totalIters: 5 }), new CosineAnnealingLR(o, 25, { etaMin: 1e-4 })], [5]),
    compareState: ['last_epoch', '_milestones', '_last_lr'],
  },
  {
    name: 'SequentialLR with three schedulers',
    optimizer: 'Adam',
    py: {
      kind: 'SequentialLR',
      schedulers: [
        { kind: 'ExponentialLR', args: { gamma: 1.2 } },
        { kind: 'StepLR', args: { step_size: 4, gamma: 0.5 } },
        { kind: 'CosineAnnealingLR', args: { T_max: 8 } },
      ],
      milestones: [4, 15],
    },
    js: (o) => new SequentialLR(o, [new ExponentialLR(o, 1.2), new StepLR(o, 4, { gamma: 0.5 }), new CosineAnnealingLR(o, 8)], [4, 15]),
  },
  {
    name: 'ChainedScheduler: warm-up times exponential decay',
    optimizer: 'SGD',
    py: {
      kind: 'ChainedScheduler',
      schedulers: [
        { kind: 'LinearLR', args: { start_factor: 0.2, total_iters: 6 } },
        { kind: 'ExponentialLR', args: { gamma: 0.95 } },
        { kind: 'MultiStepLR', args: { milestones: [12, 20] } },
      ],
    },
    js: (o) => new ChainedScheduler([new LinearLR(o, { startFactor: 0.2, totalIters: 6 }), new ExponentialLR(o, 0.95), new MultiStepLR(o, [12, 20])]),
    compareState: ['_last_lr'],
  },
];

const STEPS = 35;
const GROUP_LRS = [0.1, 0.02];

function makeOptimizer(kind: 'SGD' | 'Adam'): Optimizer {
  const groups = GROUP_LRS.map((lr) => ({ params: [torch.zeros([2], { requiresGrad: true })], lr }));
  return kind === 'SGD' ? new optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new optim.Adam(groups);
}

const momenta = (opt: Optimizer) => opt.paramGroups.map((g) => (g.betas ? (g.betas as number[])[0] : ((g.momentum as number | undefined) ?? 0)));

function assertSequenceClose(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((row, step) =>
    row.forEach((v, g) => {
      const e = expected[step][g];
      assert.ok(Math.abs(v - e) <= 1e-12 * Math.abs(e), `${what}: step ${step}, group ${g}: ${v}, PyTorch ${e}`);
    }),
  );
}

/** Maps (Counter) as PyTorch's JSON has them: objects with string keys. */
const plain = (v: unknown): unknown => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [String(k), x])) : v);

interface ScheduleReply {
  lrs: number[][];
  momenta: number[][];
  state_dict: Record<string, unknown>;
  initial_lrs: number[];
}

let refs: ScheduleReply[];

before(() => {
  const requests = CASES.map((c) => ({
    op: 'schedule',
    optimizer: { kind: c.optimizer, defaults: c.optimizer === 'SGD' ? { lr: 0.1, momentum: 0.9 } : {} },
    group_lrs: GROUP_LRS,
    scheduler: c.py,
    steps: STEPS,
  }));
  refs = runPython<ScheduleReply[]>('optim_ref.py', { op: 'batch', requests });
});

CASES.forEach((c, index) => {
  test(`${c.name}: ${STEPS} steps of rates (and momenta) equal PyTorch's`, (t) => {
    const opt = makeOptimizer(c.optimizer);
    const scheduler = c.js(opt);
    const lrs = [scheduler.getLastLr()];
    const moms = [momenta(opt)];
    for (let i = 0; i < STEPS; i++) {
      opt.step();
      scheduler.step();
      lrs.push(scheduler.getLastLr());
      moms.push(momenta(opt));
    }
    const ref = refs[index];
    assertSequenceClose(lrs, ref.lrs, 'lr');
    assertSequenceClose(moms, ref.momenta, 'momentum');
    assert.deepEqual(
      opt.paramGroups.map((g) => g.initialLr),
      ref.initial_lrs,
      'initialLr',
    );
    const state = scheduler.stateDict();
    for (const key of c.compareState ?? []) assert.deepEqual(plain(state[key]), ref.state_dict[key], `stateDict().${key}`);
    const exact = lrs.flat().filter((v, i) => v === ref.lrs.flat()[i]).length;
    t.diagnostic(`${exact}/${lrs.flat().length} rates bit-identical to PyTorch`);
  });
});

test('scheduler stateDict round trip resumes the same schedule', () => {
  for (const c of CASES) {
    const whole = makeOptimizer(c.optimizer);
    const wholeScheduler = c.js(whole);
    for (let i = 0; i < 20; i++) wholeScheduler.step();

    const first = makeOptimizer(c.optimizer);
    const firstScheduler = c.js(first);
    for (let i = 0; i < 10; i++) firstScheduler.step();
    const savedOptimizer = first.stateDict();
    const savedScheduler = firstScheduler.stateDict();

    // As PyTorch resumes: build both afresh, then load the optimizer's state and the scheduler's.
    const second = makeOptimizer(c.optimizer);
    const secondScheduler = c.js(second);
    second.loadStateDict(savedOptimizer);
    secondScheduler.loadStateDict(savedScheduler);
    for (let i = 0; i < 10; i++) secondScheduler.step();
    assert.deepEqual(secondScheduler.getLastLr(), wholeScheduler.getLastLr(), c.name);
    assert.deepEqual(momenta(second), momenta(whole), `${c.name}: momenta`);
  }
});

test('OneCycleLR refuses to step past totalSteps; schedulers check their arguments', () => {
  const opt = makeOptimizer('SGD');
  const s = new OneCycleLR(opt, 0.1, { totalSteps: 3 });
  for (let i = 0; i < 3; i++) s.step();
  assert.throws(() => s.step(), /tried to step 5 times; the cycle has totalSteps 3/);
  assert.throws(() => new OneCycleLR(makeOptimizer('SGD'), 0.1), /pass totalSteps, or epochs and stepsPerEpoch/);
  assert.throws(() => new OneCycleLR(makeOptimizer('SGD'), [0.1], { totalSteps: 5 }), /expected 2 values for maxLr/);
  assert.throws(() => new LinearLR(makeOptimizer('SGD'), { startFactor: 2 }), /startFactor must be in \[0, 1\]/);
  assert.throws(() => new LambdaLR(makeOptimizer('SGD'), [LAMBDAS.exp95]), /expected 2 lrLambdas/);
  assert.throws(() => new StepLR(makeOptimizer('SGD'), 3, { lastEpoch: 4 }), /has no initialLr/);
  const other = makeOptimizer('SGD');
  assert.throws(() => new SequentialLR(opt, [new StepLR(other, 2)], []), /drives a different optimizer/);
  assert.throws(() => new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 3)], []), /expected 1 milestones/);
});
