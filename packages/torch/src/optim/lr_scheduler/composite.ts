import type { Optimizer } from '../optimizer.js';
import type { LRScheduler, Scheduler, SchedulerOptions, SchedulerStateDict } from './scheduler.js';

/**
 * Runs `schedulers` one after another, switching at each of `milestones` (one fewer than
 * schedulers); e.g. a LinearLR warm-up, then CosineAnnealingLR from milestone 5 on.
 */
export class SequentialLR implements Scheduler {
  readonly optimizer: Optimizer;
  readonly schedulers: LRScheduler[];
  milestones: number[];
  lastEpoch: number;
  private lastLr: number[];

  constructor(optimizer: Optimizer, schedulers: LRScheduler[], milestones: number[], options: SchedulerOptions = {}) {
    if (schedulers.length === 0) throw new RangeError('SequentialLR: pass at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new RangeError(`SequentialLR: scheduler ${i} drives a different optimizer; all must drive the one passed in`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new RangeError(`SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`);
    }
    this.optimizer = optimizer;
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    // Undo the construction steps the schedulers took, then redo only the first one's.
    for (const group of optimizer.paramGroups) group.lr = group.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  step(): void {
    this.lastEpoch += 1;
    const index = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const scheduler = this.schedulers[index];
    // A scheduler taking over starts from its epoch 0, through its closed form.
    if (index > 0 && this.milestones[index - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return {
      last_epoch: this.lastEpoch,
      _milestones: [...this.milestones],
      _last_lr: [...this.lastLr],
      _schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  loadStateDict(stateDict: SchedulerStateDict): void {
    if ('last_epoch' in stateDict) this.lastEpoch = stateDict.last_epoch as number;
    if ('_milestones' in stateDict) this.milestones = [...(stateDict._milestones as number[])];
    if ('_last_lr' in stateDict) this.lastLr = [...(stateDict._last_lr as number[])];
    loadChildren('SequentialLR', this.schedulers, stateDict);
  }
}

/** Steps every scheduler at once, each applying its factor to the rate the previous one left. */
export class ChainedScheduler implements Scheduler {
  readonly optimizer: Optimizer;
  readonly schedulers: Scheduler[];
  private lastLr: number[];

  constructor(schedulers: Scheduler[]) {
    if (schedulers.length === 0) throw new RangeError('ChainedScheduler: pass at least one scheduler');
    this.optimizer = schedulers[0].optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer) throw new RangeError(`ChainedScheduler: scheduler ${i} drives a different optimizer than scheduler 0`);
    });
    this.schedulers = [...schedulers];
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { _last_lr: [...this.lastLr], _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  loadStateDict(stateDict: SchedulerStateDict): void {
    if ('_last_lr' in stateDict) this.lastLr = [...(stateDict._last_lr as number[])];
    loadChildren('ChainedScheduler', this.schedulers, stateDict);
  }
}

function loadChildren(name: string, schedulers: Scheduler[], stateDict: SchedulerStateDict): void {
  const saved = stateDict._schedulers as SchedulerStateDict[] | undefined;
  if (saved === undefined) return;
  if (saved.length !== schedulers.length) {
    throw new RangeError(`${name}.loadStateDict: the state dict has ${saved.length} schedulers, this one ${schedulers.length}`);
  }
  saved.forEach((s, i) => schedulers[i].loadStateDict(s));
}
