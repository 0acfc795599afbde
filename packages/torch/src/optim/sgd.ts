import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend the objective instead of descending it. */
  maximize?: boolean;
}

type SGDHyper = Required<SGDOptions>;

export interface SGDState {
  momentumBuffer: Tensor | null;
}

/** Stochastic gradient descent with optional (Nesterov) momentum, PyTorch 1.13's `torch.optim.SGD`. */
export class SGD extends Optimizer<SGDHyper, SGDState> {
  constructor(params: Params<SGDHyper>, options: SGDOptions) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = options;
    if (!(lr >= 0)) throw new RangeError(`SGD: lr must be >= 0, got ${lr}`);
    if (!(momentum >= 0)) throw new RangeError(`SGD: momentum must be >= 0, got ${momentum}`);
    if (!(weightDecay >= 0)) throw new RangeError(`SGD: weightDecay must be >= 0, got ${weightDecay}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError('SGD: nesterov needs momentum > 0 and dampening 0');
    }
    super(params, { lr, momentum, dampening, weightDecay, nesterov, maximize });
  }

  protected updateGroup(group: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    // Each parameter's temporaries are freed before the next parameter's are made, as Python's
    // refcounting frees them, so the next ones reuse the same (cache-warm) memory.
    const temporaries: Tensor[] = [];
    const temporary = (t: Tensor): Tensor => (temporaries.push(t), t);
    for (const [param, grad] of this.withGrads(group)) {
      const state = this.state.get(param);
      let dP = maximize ? temporary(grad.neg()) : grad;
      if (weightDecay !== 0) dP = temporary(dP.add(param, { alpha: weightDecay }));
      let buf = state?.momentumBuffer ?? null;
      if (momentum !== 0) {
        if (buf === null) {
          buf = dP.clone().keep();
        } else {
          buf.mul_(momentum).add_(dP, { alpha: 1 - dampening });
        }
        dP = nesterov ? temporary(dP.add(buf, { alpha: momentum })) : buf;
      }
      param.add_(dP, { alpha: -lr });
      if (state === undefined) this.state.set(param, { momentumBuffer: buf });
      else state.momentumBuffer = buf;
      for (const t of temporaries.splice(0)) t.dispose();
    }
  }
}
