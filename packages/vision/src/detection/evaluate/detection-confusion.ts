// Ultralytics' detection confusion matrix (utils/metrics.py ConfusionMatrix, task "detect"):
// predictions above a confidence are matched to ground truth class-agnostically at IoU > 0.45,
// one to one by best IoU; a matched pair counts under (predicted class, true class), an unmatched
// label under the background row, an unmatched prediction under the background column.
import { readBoxes, readNumbers, type EvalPrediction, type EvalTarget } from './arrays.js';
import { boxIouFloat32 } from './yolo-metrics.js';

export interface DetectionConfusionOptions {
  /** Predictions with a score above this count (default 0.25, Ultralytics' plotting confidence). */
  conf?: number;
  /** A prediction and a label match above this IoU (default 0.45). */
  iouThreshold?: number;
  /** Subtracted from every label: 1 for Iris/torchvision labels, where 0 is the background (default 0). */
  labelOffset?: number;
}

/** Indices of `values` by value descending, equal values last-first (argsort()[::-1] of a stable sort). */
function descending(values: number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[a] - values[b] || a - b).reverse();
}

export class DetectionConfusionMatrix {
  /** [numClasses + 1][numClasses + 1]: rows the predicted class, columns the true class, the last of each the background. */
  readonly matrix: number[][];
  readonly conf: number;
  readonly iouThreshold: number;
  readonly labelOffset: number;

  constructor(readonly numClasses: number, options: DetectionConfusionOptions = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`DetectionConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    this.conf = options.conf ?? 0.25;
    this.iouThreshold = options.iouThreshold ?? 0.45;
    this.labelOffset = options.labelOffset ?? 0;
    this.matrix = Array.from({ length: numClasses + 1 }, () => new Array<number>(numClasses + 1).fill(0));
  }

  /** Adds one image's predictions and ground truth (process_batch). */
  processBatch(prediction: EvalPrediction, target: EvalTarget): void {
    const nc = this.numClasses;
    const gt = readBoxes(target.boxes, 'target.boxes');
    const gtClasses = this.classes(readNumbers(target.labels, 'target.labels').data, 'target.labels');
    if (gtClasses.length !== gt.count) throw new TypeError(`target: ${gt.count} boxes but ${gtClasses.length} labels`);
    const det = readBoxes(prediction.boxes, 'prediction.boxes');
    const scores = readNumbers(prediction.scores, 'prediction.scores').data;
    const detLabels = this.classes(readNumbers(prediction.labels, 'prediction.labels').data, 'prediction.labels');
    if (scores.length !== det.count || detLabels.length !== det.count) throw new TypeError(`prediction: ${det.count} boxes, ${scores.length} scores and ${detLabels.length} labels; expected one of each per box`);
    const kept = Array.from(scores.keys()).filter((k) => Math.fround(scores[k]) > this.conf);
    const detClasses = kept.map((k) => detLabels[k]);
    if (gt.count === 0) {
      for (const dc of detClasses) this.matrix[dc][nc]++;
      return;
    }
    const detBoxes = new Float32Array(kept.length * 4);
    kept.forEach((k, i) => detBoxes.set(det.data.subarray(4 * k, 4 * k + 4), 4 * i));
    const iou = boxIouFloat32(Float32Array.from(gt.data), detBoxes);
    let matches: [number, number, number][] = [];
    for (let g = 0; g < gt.count; g++) for (let d = 0; d < kept.length; d++) if (iou[g][d] > this.iouThreshold) matches.push([g, d, iou[g][d]]);
    if (matches.length > 1) {
      // Best IoU first, one per prediction (np.unique orders by prediction); again best first, one per label.
      matches = firstBy(descending(matches.map((m) => m[2])).map((k) => matches[k]), 1);
      matches = firstBy(descending(matches.map((m) => m[2])).map((k) => matches[k]), 0);
    }
    gtClasses.forEach((gc, g) => {
      const m = matches.filter((row) => row[0] === g);
      if (m.length === 1) this.matrix[detClasses[m[0][1]]][gc]++;
      else this.matrix[nc][gc]++;
    });
    if (matches.length) detClasses.forEach((dc, d) => {
      if (!matches.some((row) => row[1] === d)) this.matrix[dc][nc]++;
    });
  }

  /** Adds every image (predictions[i] against targets[i]). */
  process(predictions: readonly EvalPrediction[], targets: readonly EvalTarget[]): this {
    if (predictions.length !== targets.length) throw new TypeError(`DetectionConfusionMatrix: ${predictions.length} predictions for ${targets.length} targets; pass one of each per image`);
    predictions.forEach((p, i) => this.processBatch(p, targets[i]));
    return this;
  }

  /** The matrix with each column (true class) divided by its sum, as Ultralytics' normalised plot. */
  normalized(): number[][] {
    const sums = this.matrix[0].map((_, j) => this.matrix.reduce((s, row) => s + row[j], 0));
    return this.matrix.map((row) => row.map((v, j) => v / (sums[j] + 1e-9)));
  }

  /** True and false positives per class (tp_fp): the diagonal, and the rest of each predicted row. */
  tpFp(): { tp: number[]; fp: number[] } {
    const tp = this.matrix.map((row, i) => row[i]);
    const fp = this.matrix.map((row, i) => row.reduce((s, v) => s + v, 0) - tp[i]);
    return { tp: tp.slice(0, -1), fp: fp.slice(0, -1) };
  }

  private classes(labels: Float64Array, what: string): number[] {
    return Array.from(labels, (label, i) => {
      const c = label - this.labelOffset;
      if (!Number.isInteger(c) || c < 0 || c >= this.numClasses) throw new RangeError(`${what}[${i}]: label ${label} is not a class (expected an integer in ${this.labelOffset}..${this.labelOffset + this.numClasses - 1})`);
      return c;
    });
  }
}

/** The first row for each distinct value of column `col`, ordered by that value (np.unique(..., return_index=True)). */
function firstBy(rows: [number, number, number][], col: 0 | 1): [number, number, number][] {
  const first = new Map<number, [number, number, number]>();
  for (const row of rows) if (!first.has(row[col])) first.set(row[col], row);
  return [...first.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}
