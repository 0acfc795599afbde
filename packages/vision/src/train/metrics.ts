// Classification metrics, accumulated batch by batch: top-k accuracy, confusion matrix, per-class
// precision/recall/F1 and expected calibration error.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvaluationReport {
  samples: number;
  top1: number;
  top5: number;
  /** Mean loss, when the caller passed losses. */
  loss?: number;
  /** confusion[truth][predicted] counts. */
  confusion: number[][];
  perClass: ClassMetrics[];
  macroF1: number;
  /** Expected calibration error over 15 equal-width confidence bins (Guo et al. 2017). */
  ece: number;
}

export class ClassificationMetrics {
  private readonly confusion: number[][];
  private samples = 0;
  private top1Hits = 0;
  private top5Hits = 0;
  private lossSum = 0;
  private lossCount = 0;
  private readonly binCount = new Float64Array(15);
  private readonly binConfidence = new Float64Array(15);
  private readonly binCorrect = new Float64Array(15);

  constructor(readonly numClasses: number) {
    this.confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  /**
   * @param logits [N, numClasses]
   * @param labels int64 [N]
   * @returns the batch's predicted classes and their probabilities, for a predictions file
   */
  update(logits: Tensor, labels: Tensor, loss?: number): { predicted: number[]; confidence: number[] } {
    return torch.tidy(() => {
      const n = labels.shape[0];
      const probabilities = logits.float().softmax(1);
      const k = Math.min(5, this.numClasses);
      const [topProb, topIndex] = probabilities.topk(k, 1);
      const top = topIndex.toFlatArray();
      const topP = topProb.toFlatArray();
      const truth = labels.toFlatArray();
      const predicted: number[] = [];
      const confidence: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = top.slice(i * k, (i + 1) * k);
        const p = row[0];
        predicted.push(p);
        confidence.push(topP[i * k]);
        this.confusion[truth[i]][p]++;
        if (p === truth[i]) this.top1Hits++;
        if (row.includes(truth[i])) this.top5Hits++;
        // Bins are (lower, upper], as in the usual ECE definition.
        const bin = Math.min(14, Math.max(0, Math.ceil(topP[i * k] * 15) - 1));
        this.binCount[bin]++;
        this.binConfidence[bin] += topP[i * k];
        if (p === truth[i]) this.binCorrect[bin]++;
      }
      this.samples += n;
      if (loss !== undefined) {
        this.lossSum += loss * n;
        this.lossCount += n;
      }
      return { predicted, confidence };
    });
  }

  report(): EvaluationReport {
    const perClass: ClassMetrics[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      const tp = this.confusion[c][c];
      const predictedC = this.confusion.reduce((sum, row) => sum + row[c], 0);
      const support = this.confusion[c].reduce((a, b) => a + b, 0);
      const precision = predictedC ? tp / predictedC : 0;
      const recall = support ? tp / support : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      perClass.push({ precision, recall, f1, support });
    }
    let ece = 0;
    for (let b = 0; b < 15; b++) {
      if (this.binCount[b] === 0) continue;
      ece += (this.binCount[b] / this.samples) * Math.abs(this.binCorrect[b] / this.binCount[b] - this.binConfidence[b] / this.binCount[b]);
    }
    return {
      samples: this.samples,
      top1: this.samples ? this.top1Hits / this.samples : 0,
      top5: this.samples ? this.top5Hits / this.samples : 0,
      loss: this.lossCount ? this.lossSum / this.lossCount : undefined,
      confusion: this.confusion.map((row) => [...row]),
      perClass,
      macroF1: perClass.reduce((a, m) => a + m.f1, 0) / this.numClasses,
      ece,
    };
  }
}
