// What the Trainer needs from a task (classification, detection, ...): the loss of a training batch,
// an evaluation pass, and the one number model selection maximises. The loop itself (accumulation,
// clipping, EMA, checkpoints, resume, early stopping) is the same for every task.
import type { nn, Tensor } from '@iris/torch';

/** The run's precision, device and memory format, applied the same way by every task. */
export interface TaskContext {
  /** Runs fn under the run's autocast, if any. */
  autocast<T>(fn: () => T): T;
  /** Moves a tensor to the run's device; a 4-d image batch also to channels-last when asked. */
  toDevice(t: Tensor, options?: { images?: boolean }): Tensor;
}

/** The training loss of one batch, and what the epoch's running totals need from it. */
export interface TrainLoss {
  /** The loss to backpropagate (fp32, a scalar). */
  loss: Tensor;
  /** Images in the batch (weights the epoch's mean loss). */
  samples: number;
  /** Training hits, for tasks with a train accuracy. */
  correct?: number;
  /** The loss's named terms (a detector's loss dict), averaged per epoch into the log as train_NAME. */
  parts?: Record<string, number>;
}

/** B: a batch; R: an evaluation report; O: what evaluate may call back with each batch's results. */
export interface TrainingTask<B, R, O = never> {
  /** The metric that selects the best epoch and drives early stopping, e.g. 'top1' or 'map'. */
  readonly metric: string;
  /** Whether the train accuracy of `TrainLoss.correct` means something for this task. */
  readonly hasTrainAccuracy: boolean;
  trainLoss(model: nn.Module, batch: B, context: TaskContext, step: number): TrainLoss;
  evaluate(model: nn.Module, data: AsyncIterable<B>, context: TaskContext, observe?: O): Promise<R>;
  /** The value of `metric` in a report (higher is better). */
  score(report: R): number;
  /** Report fields for metrics.jsonl, without the `val_` prefix (e.g. {top1, top5, loss}). */
  logFields(report: R): Record<string, number | undefined>;
  batchSize(batch: B): number;
  disposeBatch(batch: B): void;
}
