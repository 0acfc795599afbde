// Image classification: cross-entropy (label smoothing, MixUp/CutMix soft labels) and top-1/top-5
// with per-class metrics on evaluation.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { ClassificationMetrics, type EvaluationReport } from '../metrics.js';
import type { LabeledBatch } from '../../transforms/transform.js';
import type { TaskContext, TrainingTask, TrainLoss } from './task.js';

const F = nn.functional;

export interface ClassificationTaskOptions {
  numClasses: number;
  labelSmoothing?: number;
  /** Batch-level augmentation (MixUp/CutMix): returns images and soft or hard labels. */
  batchTransform?: (images: Tensor, labels: Tensor, step: number) => [Tensor, Tensor];
}

type Classifier = nn.Module & { forward(x: Tensor): Tensor };

export type ClassificationObserver = (predicted: number[], confidence: number[], labels: number[]) => void;

export class ClassificationTask implements TrainingTask<LabeledBatch, EvaluationReport, ClassificationObserver> {
  readonly metric = 'top1';
  readonly hasTrainAccuracy = true;

  constructor(readonly options: ClassificationTaskOptions) {}

  trainLoss(model: nn.Module, batch: LabeledBatch, context: TaskContext, step: number): TrainLoss {
    const { labelSmoothing = 0, batchTransform } = this.options;
    let images = context.toDevice(batch.images, { images: true });
    let labels = context.toDevice(batch.labels);
    const hardLabels = labels;
    if (batchTransform) [images, labels] = batchTransform(images, labels, step);
    const logits = context.autocast(() => (model as Classifier).forward(images));
    const loss = F.crossEntropy(logits.float(), labels, { labelSmoothing });
    const correct = hardLabels.ndim === 1 ? logits.argmax(1).eq(hardLabels).sum().item() : undefined;
    return { loss, samples: hardLabels.shape[0], correct };
  }

  async evaluate(model: nn.Module, data: AsyncIterable<LabeledBatch>, context: TaskContext, onBatch?: ClassificationObserver): Promise<EvaluationReport> {
    const metrics = new ClassificationMetrics(this.options.numClasses);
    for await (const batch of data) {
      torch.noGrad(() =>
        torch.tidy(() => {
          const images = context.toDevice(batch.images, { images: true });
          const labels = context.toDevice(batch.labels);
          const logits = context.autocast(() => (model as Classifier).forward(images)).float();
          const loss = F.crossEntropy(logits, labels).item();
          const { predicted, confidence } = metrics.update(logits, labels, loss);
          onBatch?.(predicted, confidence, labels.toFlatArray());
        }),
      );
      this.disposeBatch(batch);
    }
    return metrics.report();
  }

  score(report: EvaluationReport): number {
    return report.top1;
  }

  logFields(report: EvaluationReport): Record<string, number | undefined> {
    return { loss: report.loss, top1: report.top1, top5: report.top5, macro_f1: report.macroF1, ece: report.ece };
  }

  batchSize(batch: LabeledBatch): number {
    return batch.images.shape[0];
  }

  disposeBatch(batch: LabeledBatch): void {
    batch.images.dispose();
    batch.labels.dispose();
  }
}
