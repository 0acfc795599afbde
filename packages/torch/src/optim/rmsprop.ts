import type { Tensor } from '../tensor.js';
import { Optimizer, zeroState, type ParamGroup, type Params } from './optimizer.js';

export interface RMSpropOptions {
  lr?: number;
  /** Smoothing constant of the squared-gradient average. */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalise by the estimated variance of the gradient instead of its second moment. */
  centered?: boolean;
  /** Ascend the objective instead of descending it. */
  maximize?: boolean;
}

type RMSpropHyper = Required<RMSpropOptions>;

export interface RMSpropState {
  /** A plain number, as in PyTorch 1.13's state dicts. */
  step: number;
  squareAvg: Tensor;
  momentumBuffer?: Tensor;
  gradAvg?: Tensor;
}

/** RMSprop, PyTorch 1.13's `torch.optim.RMSprop`. */
export class RMSprop extends Optimizer<RMSpropHyper, RMSpropState> {
  constructor(params: Params<RMSpropHyper>, options: RMSpropOptions = {}) {
    const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false, maximize = false } = options;
    for (const [name, value] of Object.entries({ lr, alpha, eps, weightDecay, momentum })) {
      if (!(value >= 0)) throw new RangeError(`RMSprop: ${name} must be >= 0, got ${value}`);
    }
    super(params, { lr, alpha, eps, weightDecay, momentum, centered, maximize });
  }

  protected updateGroup(group: ParamGroup<RMSpropHyper>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const [param, g] of this.withGrads(group)) {
      let state = this.state.get(param);
      if (state === undefined) {
        state = { step: 0, squareAvg: zeroState(param) };
        if (momentum > 0) state.momentumBuffer = zeroState(param);
        if (centered) state.gradAvg = zeroState(param);
        this.state.set(param, state);
      }
      state.step += 1;

      let grad = maximize ? g.neg() : g;
      if (weightDecay !== 0) grad = grad.add(param, { alpha: weightDecay });
      const { squareAvg } = state;
      squareAvg.mul_(alpha).addcmul_(grad, grad, { value: 1 - alpha });
      let avg: Tensor;
      if (centered) {
        const gradAvg = required(state.gradAvg, 'gradAvg', 'centered');
        gradAvg.mul_(alpha).add_(grad, { alpha: 1 - alpha });
        avg = squareAvg.addcmul(gradAvg, gradAvg, { value: -1 }).sqrt_();
      } else {
        avg = squareAvg.sqrt();
      }
      avg = avg.add_(eps);
      if (momentum > 0) {
        const buf = required(state.momentumBuffer, 'momentumBuffer', 'momentum > 0');
        buf.mul_(momentum).addcdiv_(grad, avg);
        param.add_(buf, { alpha: -lr });
      } else {
        param.addcdiv_(grad, avg, { value: -lr });
      }
    }
  }
}

/** State a group setting needs but the parameter's state lacks (the setting changed after its first step). */
function required(value: Tensor | undefined, key: string, setting: string): Tensor {
  if (value === undefined) throw new Error(`RMSprop: ${setting} but the parameter's state has no ${key}; its state was created under other settings`);
  return value;
}
