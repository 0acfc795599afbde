export { LRScheduler, type Scheduler, type SchedulerOptions, type SchedulerStateDict } from './scheduler.js';
export { LambdaLR, StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR, type LinearLROptions } from './decay.js';
export { OneCycleLR, type OneCycleLROptions } from './one-cycle.js';
export { SequentialLR, ChainedScheduler } from './composite.js';
