// The epoch-indexed schedulers of torch.optim.lr_scheduler (1.13), formula for formula, so the
// rates equal PyTorch's to the last bit or so (Math.cos and ** may differ from C's by an ulp).
import type { Optimizer } from '../optimizer.js';
import { LRScheduler, type SchedulerOptions, type SchedulerStateDict } from './scheduler.js';

const lrs = (optimizer: Optimizer): number[] => optimizer.paramGroups.map((group) => group.lr);

/** Multiplies each group's initial rate by `lrLambda(epoch)` (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: ((epoch: number) => number)[];

  constructor(optimizer: Optimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[], options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    const groups = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda) && lrLambda.length !== groups) {
      throw new RangeError(`LambdaLR: expected ${groups} lrLambdas (one per param group), got ${lrLambda.length}`);
    }
    this.lrLambdas = Array.isArray(lrLambda) ? [...lrLambda] : Array.from({ length: groups }, () => lrLambda);
    this.initialStep();
  }

  protected getLr(): number[] {
    return this.lrLambdas.map((lambda, i) => this.baseLrs[i] * lambda(this.lastEpoch));
  }

  /** Functions are not saved: `lr_lambdas` holds null per group, as PyTorch's does for plain functions. */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: this.lrLambdas.map(() => null) };
  }
}

/** Multiplies the rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer, stepSize: number, options: SchedulerOptions & { gamma?: number } = {}) {
    super(optimizer, options.lastEpoch);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs(this.optimizer);
    return lrs(this.optimizer).map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected override stateKeys(): Record<string, string> {
    return { ...super.stateKeys(), step_size: 'stepSize', gamma: 'gamma' };
  }
}

/** Multiplies the rate by `gamma` at each milestone epoch (twice if listed twice). */
export class MultiStepLR extends LRScheduler {
  /** Milestone epoch → how many times it is listed (PyTorch's Counter). */
  milestones: Map<number, number>;
  gamma: number;

  constructor(optimizer: Optimizer, milestones: number[], options: SchedulerOptions & { gamma?: number } = {}) {
    super(optimizer, options.lastEpoch);
    this.milestones = new Map();
    for (const m of milestones) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return lrs(this.optimizer);
    return lrs(this.optimizer).map((lr) => lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    let passed = 0;
    for (const [m, count] of this.milestones) if (m <= this.lastEpoch) passed += count;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }

  protected override stateKeys(): Record<string, string> {
    return { ...super.stateKeys(), milestones: 'milestones', gamma: 'gamma' };
  }
}

/** Multiplies the rate by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: Optimizer, gamma: number, options: SchedulerOptions = {}) {
    super(optimizer, options.lastEpoch);
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return lrs(this.optimizer);
    return lrs(this.optimizer).map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }

  protected override stateKeys(): Record<string, string> {
    return { ...super.stateKeys(), gamma: 'gamma' };
  }
}

export interface LinearLROptions extends SchedulerOptions {
  /** Factor on the initial rate at epoch 0 (default 1/3). */
  startFactor?: number;
  /** Factor reached at `totalIters` and kept after (default 1). */
  endFactor?: number;
  totalIters?: number;
}

/** Scales the rate linearly from `startFactor` to `endFactor` over `totalIters` epochs (warm-up). */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer, options.lastEpoch);
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = options;
    if (!(startFactor >= 0 && startFactor <= 1)) throw new RangeError(`LinearLR: startFactor must be in [0, 1], got ${startFactor}`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new RangeError(`LinearLR: endFactor must be in [0, 1], got ${endFactor}`);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { startFactor, endFactor, totalIters, lastEpoch } = this;
    if (lastEpoch === 0) return lrs(this.optimizer).map((lr) => lr * startFactor);
    if (lastEpoch > totalIters) return lrs(this.optimizer);
    const factor = 1 + (endFactor - startFactor) / (totalIters * startFactor + (lastEpoch - 1) * (endFactor - startFactor));
    return lrs(this.optimizer).map((lr) => lr * factor);
  }

  protected override closedFormLr(): number[] {
    const { startFactor, endFactor, totalIters, lastEpoch } = this;
    return this.baseLrs.map((base) => base * (startFactor + ((endFactor - startFactor) * Math.min(totalIters, lastEpoch)) / totalIters));
  }

  protected override stateKeys(): Record<string, string> {
    return { ...super.stateKeys(), start_factor: 'startFactor', end_factor: 'endFactor', total_iters: 'totalIters' };
  }
}

/**
 * Cosine annealing from the initial rate to `etaMin` over `tMax` epochs (and back up after, the
 * cosine's next half-period). Uses PyTorch's recursive form, so rates changed from outside carry on.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: Optimizer, tMax: number, options: SchedulerOptions & { etaMin?: number } = {}) {
    super(optimizer, options.lastEpoch);
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { tMax, etaMin, lastEpoch } = this;
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === 0) return lrs(this.optimizer);
    if (this.stepCount === 1 && lastEpoch > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((lastEpoch * Math.PI) / tMax))) / 2);
    }
    if ((lastEpoch - 1 - tMax) % (2 * tMax) === 0) {
      return groups.map((group, i) => group.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return groups.map(
      (group) => ((1 + Math.cos((Math.PI * lastEpoch) / tMax)) / (1 + Math.cos((Math.PI * (lastEpoch - 1)) / tMax))) * (group.lr - etaMin) + etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    const { tMax, etaMin, lastEpoch } = this;
    return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * lastEpoch) / tMax))) / 2);
  }

  protected override stateKeys(): Record<string, string> {
    return { ...super.stateKeys(), T_max: 'tMax', eta_min: 'etaMin' };
  }
}
