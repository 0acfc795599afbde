// What `iris train --task detect` does differently for a YOLO: Ultralytics' recipe (three parameter
// groups, the 'auto' optimizer rule, per-batch warm-up of lr, momentum and accumulation, linear or
// cosine decay per epoch, summed accumulation to the nominal batch, clipping at 10, EMA with tau
// 2000) and its validation settings (conf 0.001, IoU 0.7, multi-label) for every evaluation.
import type { Detector } from '@iris/vision/detection';
import { YOLO_VAL_SETTINGS } from '@iris/vision/detection';
import { YOLO_DEFAULT_HYPERPARAMETERS, YoloSchedule, buildYoloOptimizer, resolveYoloOptimizer, type TrainerOptions, type YoloHyperparameters, type YoloOptimizerSettings } from '@iris/vision/train';
import type { Value } from '../options.js';

type Values = Record<string, Value>;

/** The recipe's hyper-parameters from a run's flags (Ultralytics' names in camelCase; --lr is lr0). */
export function yoloHyperparameters(flags: Values): YoloHyperparameters {
  const optimizer = String(flags.optimizer ?? 'auto').toLowerCase();
  const names: Record<string, YoloHyperparameters['optimizer']> = { auto: 'auto', sgd: 'SGD', adam: 'Adam', adamw: 'AdamW' };
  if (!(optimizer in names)) throw new RangeError(`--optimizer ${optimizer}: a YOLO trains with auto, sgd, adam or adamw (Ultralytics' choices here)`);
  const number = (name: string, fallback: number) => (flags[name] === undefined ? fallback : Number(flags[name]));
  return {
    optimizer: names[optimizer],
    lr0: number('lr', YOLO_DEFAULT_HYPERPARAMETERS.lr0),
    lrf: number('lrf', YOLO_DEFAULT_HYPERPARAMETERS.lrf),
    momentum: number('momentum', YOLO_DEFAULT_HYPERPARAMETERS.momentum),
    weightDecay: number('weightDecay', YOLO_DEFAULT_HYPERPARAMETERS.weightDecay),
    warmupEpochs: number('warmupEpochs', YOLO_DEFAULT_HYPERPARAMETERS.warmupEpochs),
    warmupMomentum: number('warmupMomentum', YOLO_DEFAULT_HYPERPARAMETERS.warmupMomentum),
    warmupBiasLr: number('warmupBiasLr', YOLO_DEFAULT_HYPERPARAMETERS.warmupBiasLr),
    nbs: number('nbs', YOLO_DEFAULT_HYPERPARAMETERS.nbs),
    cosLr: flags.scheduler === 'cosine',
  };
}

export interface YoloRecipe {
  settings: YoloOptimizerSettings;
  optimizer: TrainerOptions['optimizer'];
  /** The Trainer options the recipe sets: warm-up per batch, accumulation, clipping and the EMA. */
  trainer: Pick<TrainerOptions, 'onBatchStart' | 'accumulate' | 'accumulateReduction' | 'clipGradNorm'> & { emaDecay: number; emaTau: number };
}

/** Builds the optimizer and schedule of a YOLO run over `epochs` epochs of `batchesPerEpoch` batches. */
export function yoloRecipe(model: Detector, flags: Values, run: { trainImages: number; batchSize: number; epochs: number; batchesPerEpoch: number }): YoloRecipe {
  const hyp = yoloHyperparameters(flags);
  const settings = resolveYoloOptimizer(hyp, { numClasses: model.numClasses - 1, datasetSize: run.trainImages, batchSize: run.batchSize, epochs: run.epochs });
  const optimizer = buildYoloOptimizer(model, settings);
  const schedule = new YoloSchedule(optimizer, { epochs: run.epochs, batchesPerEpoch: run.batchesPerEpoch, batchSize: run.batchSize, hyp, settings });
  return {
    settings,
    optimizer,
    trainer: {
      onBatchStart: ({ globalBatch, epoch }) => schedule.apply(globalBatch, epoch),
      accumulate: (globalBatch) => schedule.accumulate(globalBatch),
      // Ultralytics' loss is already scaled by the batch size, and the accumulated batches' losses add up.
      accumulateReduction: 'sum',
      clipGradNorm: flags.clipGrad === undefined ? 10 : Number(flags.clipGrad),
      emaDecay: flags.ema === undefined ? 0.9999 : Number(flags.ema),
      emaTau: 2000,
    },
  };
}

/** The line Ultralytics prints about its optimizer, for the log. */
export function describeYoloOptimizer(s: YoloOptimizerSettings, requested: string): string {
  const auto = requested === 'auto' ? `'optimizer=auto' chose ${s.name} from ${s.iterations} iterations; ` : '';
  return `optimizer: ${auto}${s.name}(lr=${s.lr}, momentum=${s.momentum}) with weight decay ${s.weightDecay} on weights, accumulation to ${s.accumulate} batches`;
}

/** Every evaluation of a YOLO run (validation each epoch, the final split, iris eval) uses Ultralytics' validator settings. */
export const YOLO_EVAL_OPTIONS = { ...YOLO_VAL_SETTINGS };
