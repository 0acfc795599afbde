import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { optim } from '../src/index.js';
import { clipGradNorm_ } from '../src/nn/utils/clip-grad.js';
import { runPython, assertClose, type JsonTensor } from './helpers/python.js';
import { makeProblem, problemWith, problemJson, backward, PARAM_NAMES, type Problem, type ParamName } from './helpers/optim-problem.js';
import { collectGarbage } from './helpers/gc.js';

const { OneCycleLR, SequentialLR, LinearLR, CosineAnnealingLR, StepLR, ChainedScheduler, ExponentialLR } = optim.lrScheduler;

interface Setup {
  name: string;
  make: (params: torch.Tensor[]) => { optimizer: optim.Optimizer; scheduler: optim.lrScheduler.Scheduler };
  /** The same optimizer and scheduler for test/optim_ref.py. */
  py: { optimizer: Record<string, unknown>; scheduler: Record<string, unknown> };
}

const SETUPS: Setup[] = [
  {
    name: 'Adam + OneCycleLR (beta1 cycling)',
    make: (params) => {
      const optimizer = new optim.Adam(params, { lr: 0.01 });
      return { optimizer, scheduler: new OneCycleLR(optimizer, 0.05, { totalSteps: 25 }) };
    },
    py: { optimizer: { kind: 'Adam', defaults: { lr: 0.01 } }, scheduler: { kind: 'OneCycleLR', args: { max_lr: 0.05, total_steps: 25 } } },
  },
  {
    name: 'SGD nesterov + LinearLR warm-up then cosine',
    make: (params) => {
      const optimizer = new optim.SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
      const warmup = new LinearLR(optimizer, { startFactor: 0.1, totalIters: 4 });
      return { optimizer, scheduler: new SequentialLR(optimizer, [warmup, new CosineAnnealingLR(optimizer, 16)], [4]) };
    },
    py: {
      optimizer: { kind: 'SGD', defaults: { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 1e-3 } },
      scheduler: {
        kind: 'SequentialLR',
        schedulers: [{ kind: 'LinearLR', args: { start_factor: 0.1, total_iters: 4 } }, { kind: 'CosineAnnealingLR', args: { T_max: 16 } }],
        milestones: [4],
      },
    },
  },
  {
    name: 'RMSprop centered with momentum + StepLR',
    make: (params) => {
      const optimizer = new optim.RMSprop(params, { lr: 0.01, centered: true, momentum: 0.5 });
      return { optimizer, scheduler: new StepLR(optimizer, 6, { gamma: 0.5 }) };
    },
    py: { optimizer: { kind: 'RMSprop', defaults: { lr: 0.01, centered: true, momentum: 0.5 } }, scheduler: { kind: 'StepLR', args: { step_size: 6, gamma: 0.5 } } },
  },
  {
    name: 'AdamW amsgrad + ChainedScheduler',
    make: (params) => {
      const optimizer = new optim.AdamW(params, { lr: 0.01, amsgrad: true });
      return { optimizer, scheduler: new ChainedScheduler([new LinearLR(optimizer, { startFactor: 0.5, totalIters: 5 }), new ExponentialLR(optimizer, 0.9)]) };
    },
    py: {
      optimizer: { kind: 'AdamW', defaults: { lr: 0.01, amsgrad: true } },
      scheduler: { kind: 'ChainedScheduler', schedulers: [{ kind: 'LinearLR', args: { start_factor: 0.5, total_iters: 5 } }, { kind: 'ExponentialLR', args: { gamma: 0.9 } }] },
    },
  },
];

const paramList = (p: Problem) => PARAM_NAMES.map((n) => p.params[n]);

function train(problem: Problem, setup: { optimizer: optim.Optimizer; scheduler: optim.lrScheduler.Scheduler }, steps: number): number[][] {
  const lrs: number[][] = [];
  for (let i = 0; i < steps; i++) {
    setup.optimizer.zeroGrad();
    backward(problem);
    setup.optimizer.step();
    setup.scheduler.step();
    lrs.push(setup.scheduler.getLastLr());
  }
  return lrs;
}

test('optimizer + scheduler state dicts: 10 steps, save, load into new ones, 10 more == 20 straight, bit for bit', () => {
  const start = makeProblem(1);
  const requests = SETUPS.map((s) => ({ op: 'train', ...problemJson(start), optimizer: { ...s.py.optimizer, params: PARAM_NAMES }, scheduler: s.py.scheduler, steps: 20, record: [20] }));
  const refs = runPython<{ snapshots: Record<string, Record<ParamName, JsonTensor>>; lrs: number[][] }[]>('optim_ref.py', { op: 'batch', requests });

  SETUPS.forEach((s, index) => {
    const straight = problemWith(start, start.params);
    const straightLrs = train(straight, s.make(paramList(straight)), 20);

    const resumed = problemWith(start, start.params);
    const first = s.make(paramList(resumed));
    const firstLrs = train(resumed, first, 10);
    const savedOptimizer = first.optimizer.stateDict();
    const savedScheduler = first.scheduler.stateDict();
    const savedFirstState = torch.tidy(() => [...savedOptimizer.state.values()].flatMap((st) => Object.values(st)).filter((v) => v instanceof torch.Tensor).map((t) => (t as torch.Tensor).clone()));

    const second = s.make(paramList(resumed));
    second.optimizer.loadStateDict(savedOptimizer);
    second.scheduler.loadStateDict(savedScheduler);
    const secondLrs = train(resumed, second, 10);

    for (const n of PARAM_NAMES) {
      assert.ok(resumed.params[n].equal(straight.params[n]), `${s.name}: ${n} after resuming differs from the straight run`);
      assertClose(straight.params[n], refs[index].snapshots['20'][n], { rtol: 1.3e-6, atol: 1e-7, what: `${s.name}: ${n} vs PyTorch` });
    }
    assert.deepEqual([...firstLrs, ...secondLrs], straightLrs, `${s.name}: learning rates`);
    straightLrs.forEach((row, i) =>
      row.forEach((lr, g) => assert.ok(Math.abs(lr - refs[index].lrs[i][g]) <= 1e-12 * Math.abs(refs[index].lrs[i][g]), `${s.name}: lr at step ${i + 1}`)),
    );
    // Loading copied the state: the second optimizer's steps left the first one's alone.
    const firstState = [...first.optimizer.state.values()].flatMap((st) => Object.values(st)).filter((v) => v instanceof torch.Tensor) as torch.Tensor[];
    firstState.forEach((t, i) => assert.ok(t.equal(savedFirstState[i]), `${s.name}: the saved optimizer's state changed`));
  });
});

test('liveTensors stays constant over 200 steps of each optimizer, scheduler and gradient clipping', () => {
  const start = makeProblem(2);
  for (const s of SETUPS) {
    const problem = problemWith(start, start.params);
    const { optimizer, scheduler } = s.make(paramList(problem));
    const stepOnce = () => {
      optimizer.zeroGrad();
      backward(problem);
      clipGradNorm_(paramList(problem), 1.0).dispose();
      optimizer.step();
      if (scheduler instanceof OneCycleLR) return; // 25 steps only
      scheduler.step();
    };
    for (let i = 0; i < 5; i++) stepOnce();
    collectGarbage();
    const before = torch.liveTensors();
    for (let i = 0; i < 200; i++) stepOnce();
    collectGarbage();
    assert.equal(torch.liveTensors(), before, `${s.name}: tensors leaked over 200 steps`);
    optimizer.loadStateDict(optimizer.stateDict());
    collectGarbage();
    assert.equal(torch.liveTensors(), before, `${s.name}: loadStateDict leaked the state it replaced`);
  }
});
