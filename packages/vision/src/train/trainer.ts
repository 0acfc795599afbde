// The training loop: one epoch is `for batch: forward, loss, backward, step`, everything else
// (accumulation, clipping, EMA, NaN guard, checkpoints, validation, early stopping) hangs off it.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { existsSync, mkdirSync } from 'node:fs';
import { saveSafetensors } from '@iris/torch/io';
import { join } from 'node:path';
import { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
import { ModelEma } from './ema.js';
import type { EvaluationReport } from './metrics.js';
import { MetricsLog } from './metrics-log.js';
import { resolvePrecision, type Precision, type PrecisionPlan } from './precision.js';
import type { LabeledBatch } from '../transforms/transform.js';
import { ClassificationTask, type ClassificationObserver } from './tasks/classification.js';
import type { TaskContext, TrainingTask } from './tasks/task.js';

type Optimizer = InstanceType<typeof torch.optim.Optimizer>;
interface Scheduler {
  step(): void;
  getLastLr(): number[];
  stateDict(): Record<string, unknown>;
  loadStateDict(state: Record<string, unknown>): void;
}

/** What the trainer needs from a data loader: batches, epoch seeding and a resumable position. */
export interface BatchSource<B = LabeledBatch> {
  /** Batches per epoch. */
  readonly length: number;
  setEpoch(epoch: number): void;
  /** The position to resume from: restored with `loadState` before iterating. */
  state(): unknown;
  loadState(state: unknown): void;
  [Symbol.asyncIterator](): AsyncIterator<B>;
}

export interface TrainerOptions<B = LabeledBatch, R = EvaluationReport, O = ClassificationObserver> {
  model: nn.Module;
  /**
   * What is trained: the loss of a batch, the evaluation and the metric that selects the best
   * epoch. Default: classification with `numClasses`, `labelSmoothing` and `batchTransform`.
   */
  task?: TrainingTask<B, R, O>;
  optimizer: Optimizer;
  /** Stepped after every optimizer step. */
  scheduler?: Scheduler;
  /** Epochs to train; with maxSteps, an upper bound (default: none, maxSteps decides). */
  epochs?: number;
  /** Stop after this many optimizer steps, in the middle of an epoch if need be. */
  maxSteps?: number;
  /** Classes of the default classification task. */
  numClasses?: number;
  outDir: string;
  labelSmoothing?: number;
  /**
   * Optimizer step every N batches, or a function of the run's batch index (Ultralytics' warm-up
   * ramps it): a step is taken once that many batches have passed since the last one, and at
   * every epoch end.
   */
  accumulate?: number | ((globalBatch: number) => number);
  /** How the accumulated batches' losses combine: 'mean' (default) or 'sum' (Ultralytics, whose loss is already scaled by the batch size). */
  accumulateReduction?: 'mean' | 'sum';
  /** Clip the gradients' global norm to this. */
  clipGradNorm?: number;
  /**
   * A second model of the same architecture for an EMA of the weights, and its decay; with `tau`,
   * the decay ramps up as decay * (1 - exp(-updates / tau)) (Ultralytics' ModelEMA).
   */
  ema?: { shadow: nn.Module; decay: number; tau?: number };
  /**
   * Mixed precision (default 'fp32'): 'bf16' runs the forward pass under bfloat16 autocast, on CUDA
   * or on a CPU with native bf16 (avx512_bf16 / AMX; see torch.cpu.isBf16Supported), 'fp16' under
   * float16 autocast, CUDA only. Where the device cannot, training runs in fp32 and
   * `trainer.precision.fallback` says why. The loss is computed in fp32 either way.
   */
  precision?: Precision;
  /** The older spelling of `precision`: 'bfloat16' is 'bf16', 'float16' is 'fp16' (now on CPU too). */
  autocast?: 'bfloat16' | 'float16';
  /**
   * Channels-last (NHWC) memory format: the model's (and the EMA shadow's) 4-d weights are
   * converted in place when the Trainer is made (`Module.toMemoryFormat`, so the optimizer built
   * before stays valid) and every 4-d input batch before the forward pass. With bf16 on CPU,
   * oneDNN's convolutions then run without a layout change around each one.
   */
  channelsLast?: boolean;
  device?: string;
  /** Stop when the task's validation metric (top-1, mAP) has not improved for this many epochs. */
  earlyStopPatience?: number;
  /** Also write a checkpoint every N optimizer steps (besides every epoch end). */
  checkpointEverySteps?: number;
  /** Batch-level augmentation (MixUp/CutMix): returns images and soft or hard labels. */
  batchTransform?: (images: Tensor, labels: Tensor, step: number) => [Tensor, Tensor];
  /** Called after each optimizer step, e.g. for a progress bar; accuracy is the epoch's running train top-1 (scored against the unmixed labels under MixUp/CutMix). */
  onStep?: (info: { epoch: number; step: number; stepsPerEpoch: number; loss: number; accuracy: number; lr: number; imagesPerSecond: number }) => void;
  /**
   * Called before each epoch, and for the epoch a resumed run continues in; it must depend on
   * the epoch alone (e.g. `GradualUnfreezing.apply`), so that a resumed run repeats it exactly.
   */
  onEpochStart?: (epoch: number) => void;
  /**
   * Called before each batch's forward pass with its index in the epoch and in the run (Ultralytics'
   * per-batch warm-up of lr and momentum); like onEpochStart it must depend on those alone.
   */
  onBatchStart?: (info: { epoch: number; batch: number; globalBatch: number; batchesPerEpoch: number }) => void;
  /** train.accuracy is NaN for tasks without one (detection); train.parts holds the loss's named terms, per-image means. */
  onEpoch?: (info: { epoch: number; train: { loss: number; accuracy: number; parts: Record<string, number> }; validation?: R }) => void;
}

export class TrainingDivergedError extends Error {}

export interface FitResult {
  /** Epochs begun and ended (a run stopped by maxSteps counts its last, partial epoch). */
  epochsRun: number;
  /** Optimizer steps taken. */
  steps: number;
  /** The best epoch by the task's metric (`metric`: 'top1' for classification, 'map' for detection). */
  best: { epoch: number; score: number; metric: string } | null;
  stoppedEarly: boolean;
}

export class Trainer<B = LabeledBatch, R = EvaluationReport, O = ClassificationObserver> {
  /** The precision this run trains and evaluates in; `fallback` says why it is not the one asked for. */
  readonly precision: PrecisionPlan;
  readonly task: TrainingTask<B, R, O>;
  private readonly context: TaskContext;
  private readonly ema?: ModelEma;
  private readonly log: MetricsLog;
  private epoch = 0;
  private stepInEpoch = 0;
  private globalStep = 0;
  private best: FitResult['best'] = null;
  private epochsWithoutImprovement = 0;
  private trainLossSum = 0;
  /** The loss's named terms summed over the epoch's images (detection's loss dict). */
  private trainPartSums: Record<string, number> = {};
  private trainCorrect = 0;
  private trainSeen = 0;

  constructor(private readonly options: TrainerOptions<B, R, O>) {
    if (options.epochs === undefined && options.maxSteps === undefined) throw new RangeError('Trainer: give epochs, maxSteps or both');
    for (const key of ['epochs', 'maxSteps'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`Trainer: ${key} must be a whole number >= 1, got ${v}`);
    }
    const fromAutocast = options.autocast === undefined ? undefined : ({ bfloat16: 'bf16', float16: 'fp16' } as const)[options.autocast];
    if (options.autocast !== undefined && fromAutocast === undefined) throw new RangeError(`Trainer: autocast must be 'bfloat16' or 'float16', got '${options.autocast}'`);
    if (options.precision !== undefined && fromAutocast !== undefined && options.precision !== fromAutocast) {
      throw new RangeError(`Trainer: precision '${options.precision}' and autocast '${options.autocast}' disagree; give precision alone`);
    }
    this.precision = resolvePrecision(options.precision ?? fromAutocast ?? 'fp32', options.device ?? 'cpu');
    if (options.task) this.task = options.task;
    else if (options.numClasses === undefined) throw new RangeError('Trainer: give numClasses (classification) or a task');
    else {
      const { numClasses, labelSmoothing, batchTransform } = options;
      this.task = new ClassificationTask({ numClasses, labelSmoothing, batchTransform }) as unknown as TrainingTask<B, R, O>;
    }
    this.context = this.makeContext();
    mkdirSync(options.outDir, { recursive: true });
    if (options.channelsLast) {
      options.model.toMemoryFormat('channelsLast');
      options.ema?.shadow.toMemoryFormat('channelsLast');
    }
    if (options.ema) {
      this.ema = new ModelEma(options.ema.shadow, options.ema.decay, options.ema.tau);
      this.ema.init(options.model);
    }
    this.log = new MetricsLog(options.outDir);
  }

  get checkpointPath(): string {
    return join(this.options.outDir, 'last.ckpt');
  }

  /**
   * Continues from `last.ckpt` in the output folder when one exists. Returns whether it did.
   * `schedule: 'replay'` is for a run given more epochs or steps than it was started with: the
   * checkpoint's scheduler state belongs to the old length, so the scheduler passed in (built
   * for the new length) is instead stepped from its start up to the checkpoint's step.
   */
  resumeIfPossible(train: BatchSource<B>, { schedule = 'restore' }: { schedule?: 'restore' | 'replay' } = {}): boolean {
    if (!existsSync(this.checkpointPath)) return false;
    const { scheduler, optimizer } = this.options;
    const start = scheduler && schedule === 'replay' ? { state: scheduler.stateDict(), lrs: optimizer.paramGroups.map((g) => (g as { lr: number }).lr) } : undefined;
    const extra = loadCheckpoint(this.checkpointPath, { ...this.parts(), scheduler: start ? undefined : scheduler });
    this.epoch = extra.epoch as number;
    this.stepInEpoch = extra.stepInEpoch as number;
    this.globalStep = extra.globalStep as number;
    this.best = bestFromCheckpoint(extra.best, this.task.metric);
    this.epochsWithoutImprovement = (extra.epochsWithoutImprovement as number) ?? 0;
    [this.trainLossSum, this.trainCorrect, this.trainSeen] = (extra.trainTotals as number[]) ?? [0, 0, 0];
    this.trainPartSums = { ...((extra.trainParts as Record<string, number>) ?? {}) };
    if (this.ema) this.ema.updates = (extra.emaUpdates as number | undefined) ?? this.globalStep;
    train.loadState(extra.loader);
    if (start && scheduler) {
      scheduler.loadStateDict(start.state);
      optimizer.paramGroups.forEach((g, i) => ((g as { lr: number }).lr = start.lrs[i]));
      for (let i = 0; i < this.globalStep; i++) scheduler.step();
    }
    return true;
  }

  async fit(train: BatchSource<B>, validation?: BatchSource<B>): Promise<FitResult> {
    const { model, epochs = Infinity } = this.options;
    let stoppedEarly = false;
    while (this.epoch < epochs && !this.stepsDone()) {
      if (this.stepInEpoch === 0) train.setEpoch(this.epoch);
      this.options.onEpochStart?.(this.epoch);
      model.train();
      await this.trainEpoch(train);
      const validationReport = validation ? await this.evaluate(validation) : undefined;
      const seen = Math.max(1, this.trainSeen);
      const parts = Object.fromEntries(Object.entries(this.trainPartSums).map(([k, v]) => [k, v / seen]));
      const trainSummary = { loss: this.trainLossSum / seen, accuracy: this.task.hasTrainAccuracy ? this.trainCorrect / seen : NaN, parts };
      this.epoch++;
      this.stepInEpoch = 0;
      [this.trainLossSum, this.trainCorrect, this.trainSeen] = [0, 0, 0];
      this.trainPartSums = {};
      if (validationReport) stoppedEarly = this.trackBest(validationReport);
      this.log.epoch({ epoch: this.epoch, train: trainSummary, validation: validationReport && this.task.logFields(validationReport), lr: this.currentLr() });
      this.options.onEpoch?.({ epoch: this.epoch, train: trainSummary, validation: validationReport });
      this.writeCheckpoint(train);
      if (stoppedEarly) break;
    }
    this.log.close();
    return { epochsRun: this.epoch, steps: this.globalStep, best: this.best, stoppedEarly };
  }

  private stepsDone(): boolean {
    return this.options.maxSteps !== undefined && this.globalStep >= this.options.maxSteps;
  }

  private async trainEpoch(train: BatchSource<B>): Promise<void> {
    const { checkpointEverySteps, onBatchStart } = this.options;
    const started = performance.now();
    let imagesThisRun = 0;
    // Batches since the last optimizer step: zero at every checkpoint (they follow a step), so resumable.
    let pending = 0;
    for await (const batch of train) {
      const globalBatch = this.epoch * train.length + this.stepInEpoch;
      onBatchStart?.({ epoch: this.epoch, batch: this.stepInEpoch, globalBatch, batchesPerEpoch: train.length });
      const accumulate = this.accumulateAt(globalBatch);
      imagesThisRun += this.task.batchSize(batch);
      const loss = torch.tidy(() => this.trainStep(batch, accumulate));
      this.task.disposeBatch(batch);
      this.stepInEpoch++;
      pending++;
      if (pending >= accumulate || this.stepInEpoch === train.length) {
        pending = 0;
        this.optimizerStep();
        this.globalStep++;
        const elapsed = (performance.now() - started) / 1000;
        this.options.onStep?.({
          epoch: this.epoch,
          step: this.stepInEpoch,
          stepsPerEpoch: train.length,
          loss,
          accuracy: this.task.hasTrainAccuracy ? this.trainCorrect / Math.max(1, this.trainSeen) : NaN,
          lr: this.currentLr(),
          imagesPerSecond: imagesThisRun / Math.max(elapsed, 1e-9),
        });
        this.log.step({ step: this.globalStep, epoch: this.epoch, loss, lr: this.currentLr() });
        if (checkpointEverySteps && this.globalStep % checkpointEverySteps === 0) this.writeCheckpoint(train);
        // The epoch ends here: validation, the log and the checkpoint follow as after a full one.
        if (this.stepsDone()) break;
      }
    }
  }

  private accumulateAt(globalBatch: number): number {
    const { accumulate = 1 } = this.options;
    const n = typeof accumulate === 'function' ? accumulate(globalBatch) : accumulate;
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`Trainer: accumulate must be a whole number >= 1, got ${n} at batch ${globalBatch}`);
    return n;
  }

  /** Forward and backward of one batch; returns the loss. Gradients accumulate until optimizerStep. */
  private trainStep(batch: B, accumulate: number): number {
    const { model, accumulateReduction = 'mean' } = this.options;
    const { loss, samples, correct, parts } = this.task.trainLoss(model, batch, this.context, this.globalStep);
    const value = loss.item();
    if (!Number.isFinite(value)) this.diverged(value);
    (accumulate > 1 && accumulateReduction === 'mean' ? loss.div(accumulate) : loss).backward();
    this.trainLossSum += value * samples;
    this.trainSeen += samples;
    this.trainCorrect += correct ?? 0;
    for (const [name, v] of Object.entries(parts ?? {})) this.trainPartSums[name] = (this.trainPartSums[name] ?? 0) + v * samples;
    return value;
  }

  /** The run's precision, device and memory format, as the task applies them to its batches. */
  private makeContext(): TaskContext {
    const { device, channelsLast } = this.options;
    const onDevice = device !== undefined && device !== 'cpu';
    return {
      autocast: <T>(fn: () => T): T => {
        const ac = this.precision.autocast;
        return ac ? torch.autocast(ac.deviceType, fn, { dtype: ac.dtype }) : fn();
      },
      toDevice: (t: Tensor, { images = false } = {}): Tensor => {
        if (onDevice) t = t.to({ device, nonBlocking: true });
        return images && channelsLast && t.ndim === 4 ? t.contiguous({ memoryFormat: 'channelsLast' }) : t;
      },
    };
  }

  private optimizerStep(): void {
    const { model, optimizer, scheduler, clipGradNorm } = this.options;
    torch.tidy(() => {
      if (clipGradNorm) {
        const norm = nn.utils.clipGradNorm_(model.parameters(), clipGradNorm).item();
        if (!Number.isFinite(norm)) this.diverged(norm);
      }
      optimizer.step();
      optimizer.zeroGrad();
      scheduler?.step();
      this.ema?.update(model);
    });
  }

  /** Names the step and the first layer whose gradient or weight is not finite. */
  private diverged(value: number): never {
    const bad = torch.tidy(() => {
      for (const [name, p] of this.options.model.namedParameters()) {
        if (!p.isfinite().all().item()) return `weight ${name}`;
        const g = p.grad;
        if (g && !g.isfinite().all().item()) return `gradient of ${name}`;
      }
      return 'the loss (weights and gradients are finite)';
    });
    throw new TrainingDivergedError(
      `training diverged at epoch ${this.epoch + 1}, step ${this.stepInEpoch + 1} (global step ${this.globalStep + 1}): loss is ${value}; first non-finite value: ${bad}. Lower the learning rate or enable gradient clipping.`,
    );
  }

  /** The task's evaluation on `data` (top-1/top-5 and per-class metrics; COCO mAP), with the EMA weights if any. */
  async evaluate(data: BatchSource<B>, observe?: O): Promise<R> {
    const model = this.ema?.shadow ?? this.options.model;
    model.eval();
    data.setEpoch(0);
    return this.task.evaluate(model, data, this.context, observe);
  }

  private trackBest(report: R): boolean {
    const score = this.task.score(report);
    if (!this.best || score > this.best.score) {
      this.best = { epoch: this.epoch, score, metric: this.task.metric };
      this.epochsWithoutImprovement = 0;
      const model = this.ema?.shadow ?? this.options.model;
      saveSafetensors(join(this.options.outDir, 'best.safetensors'), model.stateDict());
      return false;
    }
    this.epochsWithoutImprovement++;
    return this.options.earlyStopPatience !== undefined && this.epochsWithoutImprovement >= this.options.earlyStopPatience;
  }

  private writeCheckpoint(train: BatchSource<B>): void {
    saveCheckpoint(this.checkpointPath, this.parts(), {
      epoch: this.epoch,
      stepInEpoch: this.stepInEpoch,
      globalStep: this.globalStep,
      best: this.best,
      epochsWithoutImprovement: this.epochsWithoutImprovement,
      trainTotals: [this.trainLossSum, this.trainCorrect, this.trainSeen],
      trainParts: this.trainPartSums,
      emaUpdates: this.ema?.updates ?? 0,
      loader: train.state(),
    });
  }

  private parts() {
    return { model: this.options.model, optimizer: this.options.optimizer, scheduler: this.options.scheduler, ema: this.ema?.shadow };
  }

  private currentLr(): number {
    return (this.options.optimizer.paramGroups[0] as { lr: number }).lr;
  }
}

/** The best epoch a checkpoint recorded; checkpoints written before tasks existed say `top1`. */
function bestFromCheckpoint(saved: unknown, metric: string): FitResult['best'] {
  if (!saved || typeof saved !== 'object') return null;
  const b = saved as { epoch: number; score?: number; top1?: number; metric?: string };
  return { epoch: b.epoch, score: b.score ?? b.top1 ?? 0, metric: b.metric ?? metric };
}
