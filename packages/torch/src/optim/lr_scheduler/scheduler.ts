import { Optimizer } from '../optimizer.js';

/** A scheduler's state in PyTorch's layout (snake_case keys; sub-schedulers nested). */
export type SchedulerStateDict = Record<string, unknown>;

/** What every scheduler offers; ChainedScheduler and SequentialLR compose them. */
export interface Scheduler {
  readonly optimizer: Optimizer;
  step(): void;
  /** The learning rate of each param group after the latest step. */
  getLastLr(): number[];
  stateDict(): SchedulerStateDict;
  loadStateDict(stateDict: SchedulerStateDict): void;
}

export interface SchedulerOptions {
  /** The index of the last epoch when resuming; -1 (the default) starts the schedule. */
  lastEpoch?: number;
}

/**
 * Base of the epoch-indexed schedulers (PyTorch's `_LRScheduler`). Construction records each
 * group's `initialLr` (when starting) and takes the first step, which sets the epoch-0 rates.
 * A subclass sets its fields after `super()` and then calls `initialStep()`, since TypeScript
 * cannot run the subclass's field set-up before the base constructor as PyTorch does.
 */
export abstract class LRScheduler implements Scheduler {
  readonly optimizer: Optimizer;
  baseLrs: number[];
  lastEpoch: number;
  /** Calls of `step()` since construction (PyTorch's `_step_count`). */
  stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer, lastEpoch = -1) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${new.target.name}: expected an Optimizer, got ${describe(optimizer)}`);
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const group of groups) group.initialLr ??= group.lr;
    } else {
      groups.forEach((group, i) => {
        if (group.initialLr === undefined) {
          throw new RangeError(`${new.target.name}: param group ${i} has no initialLr; resuming at lastEpoch ${lastEpoch} needs the optimizer's state dict loaded first`);
        }
      });
    }
    this.baseLrs = groups.map((group) => group.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Resets the step count and takes the first step (PyTorch's `_initial_step`). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates for `lastEpoch`, usually from the groups' current ones (the chainable form). */
  protected abstract getLr(): number[];

  /** The rates for `lastEpoch` from the base rates alone, for schedulers that have a closed form. */
  protected closedFormLr?(): number[];

  /**
   * Advances one epoch. With `epoch`, jumps to it instead, through the closed form where the
   * scheduler has one (as SequentialLR does at its milestones).
   */
  step(epoch?: number): void {
    this.stepCount += 1;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr ? this.closedFormLr() : this.getLr();
    }
    const groups = this.optimizer.paramGroups;
    groups.forEach((group, i) => (group.lr = values[i]));
    this.lastLr = groups.map((group) => group.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** PyTorch's state-dict key for each field a state dict carries. */
  protected stateKeys(): Record<string, string> {
    return { base_lrs: 'baseLrs', last_epoch: 'lastEpoch', _step_count: 'stepCount', _last_lr: 'lastLr' };
  }

  stateDict(): SchedulerStateDict {
    const fields = this as unknown as Record<string, unknown>;
    const out: SchedulerStateDict = {};
    for (const [key, field] of Object.entries(this.stateKeys())) out[key] = structuredClone(fields[field]);
    return out;
  }

  /** Restores a `stateDict()`; keys it does not know (PyTorch's `verbose`, ...) are ignored. */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const fields = this as unknown as Record<string, unknown>;
    for (const [key, field] of Object.entries(this.stateKeys())) {
      if (key in stateDict) fields[field] = structuredClone(stateDict[key]);
    }
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
