import type { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';
import { Optimizer, zeroState, type ParamGroup, type Params } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Normalise by the running maximum of the second moment (AMSGrad). */
  amsgrad?: boolean;
  /** Ascend the objective instead of descending it. */
  maximize?: boolean;
}

export type AdamHyper = Required<AdamOptions>;

export interface AdamState {
  /** A float32 scalar tensor, as in PyTorch 1.13's state dicts. */
  step: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor;
}

/** Adam's update; Adam and AdamW differ only in how weight decay applies. */
export abstract class AdamBase extends Optimizer<AdamHyper, AdamState> {
  /** AdamW decays the weights directly (`param *= 1 - lr * weightDecay`) instead of adding to the gradient. */
  protected abstract readonly decoupledWeightDecay: boolean;

  protected updateGroup(group: ParamGroup<AdamHyper>): void {
    const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = betas;
    for (const [param, g] of this.withGrads(group)) {
      const state = this.stateOf(param, amsgrad);
      let grad = maximize ? g.neg() : g;
      const { expAvg, expAvgSq } = state;
      state.step.add_(1);
      if (this.decoupledWeightDecay) param.mul_(1 - lr * weightDecay);
      else if (weightDecay !== 0) grad = grad.add(param, { alpha: weightDecay });

      expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
      expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });

      const step = state.step.item();
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      const stepSize = lr / biasCorrection1;
      const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
      let denom: Tensor;
      if (amsgrad) {
        const maxExpAvgSq = state.maxExpAvgSq;
        if (maxExpAvgSq === undefined) throw new Error(`${this.constructor.name}: amsgrad is on but parameter state has no maxExpAvgSq; it was created with amsgrad off`);
        maxExpAvgSq.copy_(maxExpAvgSq.maximum(expAvgSq));
        denom = maxExpAvgSq.sqrt().div(biasCorrection2Sqrt).add_(eps);
      } else {
        denom = expAvgSq.sqrt().div(biasCorrection2Sqrt).add_(eps);
      }
      param.addcdiv_(expAvg, denom, { value: -stepSize });
    }
  }

  private stateOf(param: Tensor, amsgrad: boolean): AdamState {
    let state = this.state.get(param);
    if (state === undefined) {
      state = {
        step: tensor(0).keep(),
        expAvg: zeroState(param),
        expAvgSq: zeroState(param),
      };
      if (amsgrad) state.maxExpAvgSq = zeroState(param);
      this.state.set(param, state);
    }
    return state;
  }
}

/** Adam, PyTorch 1.13's `torch.optim.Adam` (weight decay added to the gradient, L2 style). */
export class Adam extends AdamBase {
  protected readonly decoupledWeightDecay = false;

  constructor(params: Params<AdamHyper>, options: AdamOptions = {}) {
    super(params, adamDefaults('Adam', options, 0));
  }
}

/** PyTorch's defaults and argument checks, shared by Adam and AdamW. */
export function adamDefaults(name: string, options: AdamOptions, defaultWeightDecay: number): AdamHyper {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultWeightDecay, amsgrad = false, maximize = false } = options;
  if (!(lr >= 0)) throw new RangeError(`${name}: lr must be >= 0, got ${lr}`);
  if (!(eps >= 0)) throw new RangeError(`${name}: eps must be >= 0, got ${eps}`);
  betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new RangeError(`${name}: betas[${i}] must be in [0, 1), got ${b}`);
  });
  if (!(weightDecay >= 0)) throw new RangeError(`${name}: weightDecay must be >= 0, got ${weightDecay}`);
  return { lr, betas: [betas[0], betas[1]], eps, weightDecay, amsgrad, maximize };
}
