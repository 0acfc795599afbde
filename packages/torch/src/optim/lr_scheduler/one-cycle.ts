import type { Optimizer } from '../optimizer.js';
import { camelCase } from '../keys.js';
import { LRScheduler, type SchedulerOptions } from './scheduler.js';

export interface OneCycleLROptions extends SchedulerOptions {
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent raising the rate (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's `momentum`, Adam's `betas[0]`) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** The paper's three phases (up, down to initialLr, annihilate) instead of fastai's two. */
  threePhase?: boolean;
}

/** One phase of the cycle, in PyTorch's state-dict layout: the group keys it anneals between. */
interface Phase {
  end_step: number;
  start_lr: string;
  end_lr: string;
  start_momentum: string;
  end_momentum: string;
}

/**
 * The 1cycle policy (PyTorch's `OneCycleLR`): the rate rises from maxLr/divFactor to maxLr, then
 * anneals far below the start, while momentum does the opposite. Step it after every batch.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  schedulePhases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;

  constructor(optimizer: Optimizer, maxLr: number | number[], options: OneCycleLROptions = {}) {
    const {
      totalSteps, epochs, stepsPerEpoch, pctStart = 0.3, annealStrategy = 'cos', cycleMomentum = true,
      baseMomentum = 0.85, maxMomentum = 0.95, divFactor = 25, finalDivFactor = 1e4, threePhase = false, lastEpoch = -1,
    } = options;
    const total = totalStepsOf(totalSteps, epochs, stepsPerEpoch);
    if (!(pctStart >= 0 && pctStart <= 1)) throw new RangeError(`OneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new RangeError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got '${annealStrategy}'`);
    }
    const groups = optimizer.paramGroups;
    // PyTorch sets the groups' rates before the base constructor reads initialLr.
    const maxLrs = perGroup('maxLr', groups.length, maxLr);
    if (lastEpoch === -1) {
      groups.forEach((group, i) => {
        group.initialLr = maxLrs[i] / divFactor;
        group.maxLr = maxLrs[i];
        group.minLr = group.initialLr / finalDivFactor;
      });
    }
    const useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !useBeta1) {
        throw new TypeError('OneCycleLR: cycleMomentum needs an optimizer with momentum or betas; pass cycleMomentum: false');
      }
      const maxMomenta = perGroup('maxMomentum', groups.length, maxMomentum);
      const baseMomenta = perGroup('baseMomentum', groups.length, baseMomentum);
      if (lastEpoch === -1) {
        groups.forEach((group, i) => {
          if (useBeta1) group.betas = [maxMomenta[i], ...(group.betas as number[]).slice(1)];
          else group.momentum = maxMomenta[i];
          group.maxMomentum = maxMomenta[i];
          group.baseMomentum = baseMomenta[i];
        });
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.schedulePhases = threePhase
      ? [
          { end_step: pctStart * total - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
          { end_step: 2 * pctStart * total - 2, start_lr: 'max_lr', end_lr: 'initial_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
          { end_step: total - 1, start_lr: 'initial_lr', end_lr: 'min_lr', start_momentum: 'max_momentum', end_momentum: 'max_momentum' },
        ]
      : [
          { end_step: pctStart * total - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
          { end_step: total - 1, start_lr: 'max_lr', end_lr: 'min_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
        ];
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`OneCycleLR: tried to step ${stepNum + 1} times; the cycle has totalSteps ${this.totalSteps}`);
    }
    const phases = this.schedulePhases;
    return this.optimizer.paramGroups.map((group) => {
      const value = (key: string) => group[camelCase(key)] as number;
      let startStep = 0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i];
        if (stepNum <= phase.end_step || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.end_step - startStep);
          if (this.cycleMomentum) {
            const momentum = this.anneal(value(phase.start_momentum), value(phase.end_momentum), pct);
            if (this.useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
            else group.momentum = momentum;
          }
          return this.anneal(value(phase.start_lr), value(phase.end_lr), pct);
        }
        startStep = phase.end_step;
      }
      throw new Error('OneCycleLR: no phase covers the step');
    });
  }

  protected override stateKeys(): Record<string, string> {
    return {
      ...super.stateKeys(),
      total_steps: 'totalSteps',
      _schedule_phases: 'schedulePhases',
      _anneal_func_type: 'annealStrategy',
      cycle_momentum: 'cycleMomentum',
      use_beta1: 'useBeta1',
    };
  }
}

function totalStepsOf(totalSteps?: number, epochs?: number, stepsPerEpoch?: number): number {
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (totalSteps !== undefined) {
    if (!positiveInt(totalSteps)) throw new RangeError(`OneCycleLR: totalSteps must be a positive integer, got ${totalSteps}`);
    return totalSteps;
  }
  if (epochs === undefined || stepsPerEpoch === undefined) {
    throw new TypeError('OneCycleLR: pass totalSteps, or epochs and stepsPerEpoch');
  }
  if (!positiveInt(epochs)) throw new RangeError(`OneCycleLR: epochs must be a positive integer, got ${epochs}`);
  if (!positiveInt(stepsPerEpoch)) throw new RangeError(`OneCycleLR: stepsPerEpoch must be a positive integer, got ${stepsPerEpoch}`);
  return epochs * stepsPerEpoch;
}

function perGroup(name: string, groups: number, value: number | number[]): number[] {
  if (!Array.isArray(value)) return Array.from({ length: groups }, () => value);
  if (value.length !== groups) throw new RangeError(`OneCycleLR: expected ${groups} values for ${name} (one per param group), got ${value.length}`);
  return value;
}
