// A small deterministic problem for the optimizer tests: a 2-layer tanh MLP regressing fixed data,
// written with plain tensors so the same ops run here and in test/optim_ref.py (bit-equal gradients).
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { toJson, type JsonTensor } from './python.js';

export const PARAM_NAMES = ['w1', 'b1', 'u', 'w2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export interface Problem {
  /** `u` takes no part in the loss: its grad stays null and optimizers must skip it. */
  params: Record<ParamName, Tensor>;
  x: Tensor;
  y: Tensor;
}

export function makeProblem(seed = 0): Problem {
  torch.manualSeed(seed);
  const leaf = (t: Tensor) => t.requiresGrad_();
  const params = {
    w1: leaf(torch.randn([6, 4]).mul_(0.5)),
    b1: leaf(torch.randn([6]).mul_(0.1)),
    u: leaf(torch.randn([3])),
    w2: leaf(torch.randn([3, 6]).mul_(0.5)),
    b2: leaf(torch.randn([3]).mul_(0.1)),
  };
  return { params, x: torch.randn([16, 4]), y: torch.randn([16, 3]) };
}

/** A copy of the problem whose parameters hold `values` (e.g. PyTorch's at some step). */
export function problemWith(base: Problem, values: Record<ParamName, Tensor>): Problem {
  const params = Object.fromEntries(PARAM_NAMES.map((n) => [n, values[n].detach().clone().requiresGrad_()])) as Record<ParamName, Tensor>;
  return { params, x: base.x, y: base.y };
}

/** Forward and backward; `sign` -1 makes the loss one to maximise. */
export function backward(problem: Problem, sign = 1): void {
  torch.tidy(() => {
    const { w1, b1, w2, b2 } = problem.params;
    const out = problem.x.matmul(w1.t()).add(b1).tanh().matmul(w2.t()).add(b2);
    torch.mseLoss(out, problem.y).mul(sign).backward();
  });
}

export function paramsJson(problem: Problem): Record<string, JsonTensor> {
  return Object.fromEntries(PARAM_NAMES.map((n) => [n, toJson(problem.params[n])]));
}

export function problemJson(problem: Problem): { params: Record<string, JsonTensor>; x: JsonTensor; y: JsonTensor } {
  return { params: paramsJson(problem), x: toJson(problem.x), y: toJson(problem.y) };
}
