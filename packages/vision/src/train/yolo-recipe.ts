// Ultralytics' training recipe (ultralytics/engine/trainer.py, 8.3): three parameter groups
// (biases, norm weights, other weights with decay), the 'auto' optimizer rule, weight decay scaled
// to the nominal batch of 64, a per-batch warm-up of the learning rate, momentum and gradient
// accumulation, then a linear (or cosine) decay per epoch. Every value here is a function of the
// batch index and epoch alone, so a resumed run sets exactly what the uninterrupted one did.
import * as torch from '@iris/torch';
import { nn } from '@iris/torch';

type Optimizer = InstanceType<typeof torch.optim.Optimizer>;

export type YoloOptimizerName = 'auto' | 'SGD' | 'Adam' | 'AdamW';

/** Ultralytics' hyper-parameters of the optimizer and schedule (cfg/default.yaml), camelCased. */
export interface YoloHyperparameters {
  optimizer: YoloOptimizerName;
  lr0: number;
  /** Final learning rate as a fraction of lr0. */
  lrf: number;
  momentum: number;
  weightDecay: number;
  warmupEpochs: number;
  warmupMomentum: number;
  warmupBiasLr: number;
  /** Nominal batch size: gradients accumulate to about this many images per step. */
  nbs: number;
  /** Cosine instead of linear decay. */
  cosLr: boolean;
}

export const YOLO_DEFAULT_HYPERPARAMETERS: Readonly<YoloHyperparameters> = {
  optimizer: 'auto',
  lr0: 0.01,
  lrf: 0.01,
  momentum: 0.937,
  weightDecay: 0.0005,
  warmupEpochs: 3,
  warmupMomentum: 0.8,
  warmupBiasLr: 0.1,
  nbs: 64,
  cosLr: false,
};

/** The groups Ultralytics' build_optimizer makes, in its order: biases first (the group warm-up treats apart). */
export function yoloParamGroups(model: nn.Module): { bias: nn.Parameter[]; normWeights: nn.Parameter[]; weights: nn.Parameter[] } {
  const groups = { bias: [] as nn.Parameter[], normWeights: [] as nn.Parameter[], weights: [] as nn.Parameter[] };
  for (const [moduleName, module] of model.namedModules()) {
    const isNorm = module.constructor.name.includes('Norm');
    for (const [name, p] of module.namedParameters({ recurse: false })) {
      const full = moduleName ? `${moduleName}.${name}` : name;
      if (full.includes('bias')) groups.bias.push(p);
      else if (isNorm) groups.normWeights.push(p);
      else groups.weights.push(p);
    }
  }
  return groups;
}

/** What build_optimizer settled on (the 'auto' rule resolved), for the log and run.json. */
export interface YoloOptimizerSettings {
  name: Exclude<YoloOptimizerName, 'auto'>;
  lr: number;
  momentum: number;
  /** Decay of the weights group, after scaling to the nominal batch. */
  weightDecay: number;
  /** 0 when 'auto' chose (Ultralytics: "no higher than 0.01 for Adam"). */
  warmupBiasLr: number;
  accumulate: number;
  iterations: number;
}

export interface YoloOptimizerContext {
  /** Object classes (Ultralytics' nc, no background). */
  numClasses: number;
  /** Training images per epoch. */
  datasetSize: number;
  batchSize: number;
  epochs: number;
}

/** Resolves 'auto' and the weight-decay scaling as Ultralytics' trainer does before build_optimizer. */
export function resolveYoloOptimizer(hyp: YoloHyperparameters, context: YoloOptimizerContext): YoloOptimizerSettings {
  const { numClasses, datasetSize, batchSize, epochs } = context;
  const accumulate = Math.max(roundHalfEven(hyp.nbs / batchSize), 1);
  const weightDecay = (hyp.weightDecay * batchSize * accumulate) / hyp.nbs;
  const iterations = Math.ceil(datasetSize / Math.max(batchSize, hyp.nbs)) * epochs;
  if (hyp.optimizer !== 'auto') return { name: hyp.optimizer, lr: hyp.lr0, momentum: hyp.momentum, weightDecay, warmupBiasLr: hyp.warmupBiasLr, accumulate, iterations };
  // Long runs get SGD; short ones AdamW at a rate fitted to the class count (rounded to 6 decimals as Ultralytics does).
  const lrFit = Math.round((0.002 * 5 * 1e6) / (4 + numClasses)) / 1e6;
  return iterations > 10000
    ? { name: 'SGD', lr: 0.01, momentum: 0.9, weightDecay, warmupBiasLr: 0, accumulate, iterations }
    : { name: 'AdamW', lr: lrFit, momentum: 0.9, weightDecay, warmupBiasLr: 0, accumulate, iterations };
}

/** The optimizer with Ultralytics' groups: [biases (no decay), weights (decay), norm weights (no decay)]. */
export function buildYoloOptimizer(model: nn.Module, settings: YoloOptimizerSettings): Optimizer {
  const { bias, normWeights, weights } = yoloParamGroups(model);
  const trainable = (ps: nn.Parameter[]) => ps.filter((p) => p.requiresGrad);
  const groups = [
    { params: trainable(bias), weightDecay: 0, paramGroup: 'bias' },
    { params: trainable(weights), weightDecay: settings.weightDecay, paramGroup: 'weight' },
    { params: trainable(normWeights), weightDecay: 0, paramGroup: 'bn' },
  ];
  const { name, lr, momentum } = settings;
  // Adam's betas carry the momentum (and warm-up leaves it alone, as Ultralytics' `if "momentum" in x` does).
  if (name === 'SGD') return new torch.optim.SGD(groups, { lr, momentum, nesterov: true });
  const betas: [number, number] = [momentum, 0.999];
  return name === 'AdamW' ? new torch.optim.AdamW(groups, { lr, betas, weightDecay: 0 }) : new torch.optim.Adam(groups, { lr, betas, weightDecay: 0 });
}

export interface YoloScheduleOptions {
  epochs: number;
  batchesPerEpoch: number;
  batchSize: number;
  hyp: Pick<YoloHyperparameters, 'lrf' | 'cosLr' | 'warmupEpochs' | 'warmupMomentum' | 'momentum' | 'nbs'>;
  /** The resolved settings: their warmupBiasLr and momentum win over hyp's. */
  settings: YoloOptimizerSettings;
}

/**
 * The learning rate, momentum and accumulation of every batch. `apply(globalBatch, epoch)` runs
 * before the batch's forward pass, as Ultralytics' loop sets them at the top of each iteration.
 */
export class YoloSchedule {
  /** Warm-up batches: at least 100 (Ultralytics' floor), -1 for none. */
  readonly warmupBatches: number;
  private readonly initialLr: number[];

  constructor(
    private readonly optimizer: Optimizer,
    private readonly options: YoloScheduleOptions,
  ) {
    const { hyp, batchesPerEpoch } = options;
    this.warmupBatches = hyp.warmupEpochs > 0 ? Math.max(roundHalfEven(hyp.warmupEpochs * batchesPerEpoch), 100) : -1;
    this.initialLr = optimizer.paramGroups.map((g) => g.lr);
    optimizer.paramGroups.forEach((g, i) => (g.initialLr = this.initialLr[i]));
  }

  /** The decay factor of `epoch` (LambdaLR's lr_lambda): linear 1 -> lrf, or cosine (one_cycle). */
  lambda(epoch: number): number {
    const { epochs, hyp } = this.options;
    if (hyp.cosLr) return Math.max((1 - Math.cos((epoch * Math.PI) / epochs)) / 2, 0) * (hyp.lrf - 1) + 1;
    return Math.max(1 - epoch / epochs, 0) * (1 - hyp.lrf) + hyp.lrf;
  }

  /** Batches per optimizer step at `globalBatch`: ramps from 1 to nbs / batchSize during warm-up. */
  accumulate(globalBatch: number): number {
    const { hyp, batchSize, settings } = this.options;
    if (globalBatch > this.warmupBatches) return settings.accumulate;
    return Math.max(1, roundHalfEven(interp(globalBatch, this.warmupBatches, 1, hyp.nbs / batchSize)));
  }

  /** Sets each group's lr (and SGD's momentum) for the batch `globalBatch` of `epoch`. */
  apply(globalBatch: number, epoch: number): void {
    const { settings, hyp } = this.options;
    const factor = this.lambda(epoch);
    const warming = globalBatch <= this.warmupBatches;
    this.optimizer.paramGroups.forEach((g, i) => {
      const target = this.initialLr[i] * factor;
      // The bias group falls from warmupBiasLr to its rate; the others rise from 0.
      g.lr = warming ? interp(globalBatch, this.warmupBatches, g.paramGroup === 'bias' ? settings.warmupBiasLr : 0, target) : target;
      if ('momentum' in g) g.momentum = warming ? interp(globalBatch, this.warmupBatches, hyp.warmupMomentum, settings.momentum) : settings.momentum;
    });
  }
}

/** Python's round() and numpy's: halves go to the even neighbour (2.5 -> 2), which decides the accumulation at some batches. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.interp(x, [0, end], [from, to]) for 0 <= x (clamped at end). */
function interp(x: number, end: number, from: number, to: number): number {
  if (x >= end) return to;
  return from + ((to - from) * x) / end;
}
