// Pascal VOC detection AP as the VOC devkit's VOCevaldet.m computes it: each detection, highest
// score first, goes to the ground truth it overlaps most; a hit on a difficult object counts for
// nothing, a second hit on a found object is a false positive. AP is VOC2007's 11-point mean or,
// from VOC2010 on, the area under the monotone precision envelope.
import { describe, readBoxes, readNumbers, type BoxesLike, type EvalPrediction, type EvalTarget, type NumbersLike } from './arrays.js';

export interface VocEvaluateOptions {
  /** Overlap a detection needs, compared with >= as the devkit does (default 0.5). */
  iouThreshold?: number;
  /** VOC2007's 11-point interpolated AP instead of the VOC2010+ area (default false), as voc_eval's use_07_metric. */
  use07Metric?: boolean;
  /** Boxes are inclusive pixel indices, so a box spans x2 - x1 + 1 pixels, as in the devkit (default true). */
  legacyCoordinates?: boolean;
  /** Labels to evaluate (default: every label in the targets); predictions of other labels are not read. */
  classes?: readonly number[];
}

export interface VocClassResult {
  label: number;
  /** -1 when the class has no object that is not difficult. */
  ap: number;
  /** Objects that are not difficult. */
  numPositives: number;
  numDetections: number;
  /** After each detection, highest score first. */
  recall: Float64Array;
  precision: Float64Array;
}

export interface VocResult {
  /** Mean AP over the classes with positives; -1 when none has. */
  map: number;
  perClass: VocClassResult[];
}

interface ImageTruth {
  boxes: Float64Array;
  labels: Float64Array;
  difficult: Float64Array;
}

interface ImagePrediction {
  boxes: Float64Array;
  scores: Float64Array;
  labels: Float64Array;
}

function readTargets(targets: readonly EvalTarget[]): ImageTruth[] {
  if (!Array.isArray(targets)) throw new TypeError(`targets: expected an array of {boxes, labels, difficult?}, got ${describe(targets)}`);
  return targets.map((target, i) => {
    const where = `targets[${i}]`;
    if (target === null || typeof target !== 'object') throw new TypeError(`${where}: expected {boxes, labels, difficult?}, got ${describe(target)}`);
    const boxes = readCorners(target.boxes, `${where}.boxes`);
    const n = boxes.length / 4;
    const labels = readColumn(target.labels, `${where}.labels`, n);
    const difficult = target.difficult === undefined ? new Float64Array(n) : readColumn(target.difficult, `${where}.difficult`, n);
    return { boxes, labels, difficult };
  });
}

function readPredictions(predictions: readonly EvalPrediction[], count: number): ImagePrediction[] {
  if (!Array.isArray(predictions)) throw new TypeError(`predictions: expected an array of {boxes, scores, labels}, got ${describe(predictions)}`);
  if (predictions.length !== count) throw new RangeError(`predictions: ${predictions.length} entries for ${count} targets; pass one prediction per image, in the targets' order`);
  return predictions.map((prediction, i) => {
    const where = `predictions[${i}]`;
    if (prediction === null || typeof prediction !== 'object') throw new TypeError(`${where}: expected {boxes, scores, labels}, got ${describe(prediction)}`);
    const boxes = readCorners(prediction.boxes, `${where}.boxes`);
    const n = boxes.length / 4;
    return { boxes, scores: readColumn(prediction.scores, `${where}.scores`, n), labels: readColumn(prediction.labels, `${where}.labels`, n) };
  });
}

function readCorners(value: BoxesLike, what: string): Float64Array {
  const { data } = readBoxes(value, what);
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 2] < data[i] || data[i + 3] < data[i + 1]) {
      throw new RangeError(`${what}[${i / 4}]: box [${Array.from(data.subarray(i, i + 4)).join(', ')}] has x2 < x1 or y2 < y1; boxes are x1, y1, x2, y2`);
    }
  }
  return data;
}

function readColumn(value: NumbersLike, what: string, n: number): Float64Array {
  const { data } = readNumbers(value, what);
  if (data.length !== n) throw new RangeError(`${what}: ${data.length} values for ${n} boxes`);
  return data;
}

/** Pascal VOC mAP: per class AP at one IoU threshold (0.5), and their mean. */
export function vocEvaluate(targets: readonly EvalTarget[], predictions: readonly EvalPrediction[], options: VocEvaluateOptions = {}): VocResult {
  const truth = readTargets(targets);
  const preds = readPredictions(predictions, truth.length);
  const threshold = options.iouThreshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw new RangeError(`options.iouThreshold: expected a number in [0, 1], got ${describe(threshold)}`);
  const one = (options.legacyCoordinates ?? true) ? 1 : 0;
  let classes = options.classes;
  if (classes === undefined) {
    const seen = new Set<number>();
    for (const t of truth) for (const label of t.labels) seen.add(label);
    classes = [...seen].sort((a, b) => a - b);
  } else if (!Array.isArray(classes) || !classes.every((c) => Number.isFinite(c))) {
    throw new TypeError(`options.classes: expected an array of labels, got ${describe(classes)}`);
  }

  const perClass = classes.map((label) => evaluateClass(label, truth, preds, threshold, one, options.use07Metric ?? false));
  const scored = perClass.filter((c) => c.ap >= 0);
  return { map: scored.length ? scored.reduce((s, c) => s + c.ap, 0) / scored.length : -1, perClass };
}

function evaluateClass(label: number, truth: ImageTruth[], preds: ImagePrediction[], threshold: number, one: number, use07Metric: boolean): VocClassResult {
  // This class's objects per image, and whether each is found yet.
  const gtIndex: number[][] = truth.map((t) => {
    const rows: number[] = [];
    for (let j = 0; j < t.labels.length; j++) if (t.labels[j] === label) rows.push(j);
    return rows;
  });
  let numPositives = 0;
  truth.forEach((t, i) => {
    for (const j of gtIndex[i]) if (!t.difficult[j]) numPositives++;
  });
  const found = gtIndex.map((rows) => new Uint8Array(rows.length));

  // Detections highest score first; equal scores keep image order (MATLAB's sort is stable).
  const detImage: number[] = [];
  const detRow: number[] = [];
  preds.forEach((p, i) => {
    for (let j = 0; j < p.labels.length; j++) {
      if (p.labels[j] !== label) continue;
      detImage.push(i);
      detRow.push(j);
    }
  });
  const nd = detImage.length;
  const order = Array.from({ length: nd }, (_, d) => d);
  const scoreOf = (d: number) => preds[detImage[d]].scores[detRow[d]];
  order.sort((a, b) => scoreOf(b) - scoreOf(a) || a - b);

  const tp = new Float64Array(nd);
  const fp = new Float64Array(nd);
  for (let k = 0; k < nd; k++) {
    const d = order[k];
    const img = detImage[d];
    const bb = preds[img].boxes.subarray(detRow[d] * 4, detRow[d] * 4 + 4);
    const gtBoxes = truth[img].boxes;
    let ovmax = -Infinity;
    let jmax = -1;
    gtIndex[img].forEach((row, j) => {
      const g = gtBoxes.subarray(row * 4, row * 4 + 4);
      const iw = Math.min(bb[2], g[2]) - Math.max(bb[0], g[0]) + one;
      const ih = Math.min(bb[3], g[3]) - Math.max(bb[1], g[1]) + one;
      if (iw > 0 && ih > 0) {
        const ua = (bb[2] - bb[0] + one) * (bb[3] - bb[1] + one) + (g[2] - g[0] + one) * (g[3] - g[1] + one) - iw * ih;
        const ov = (iw * ih) / ua;
        if (ov > ovmax) {
          ovmax = ov;
          jmax = j;
        }
      }
    });
    if (ovmax >= threshold && jmax >= 0) {
      if (truth[img].difficult[gtIndex[img][jmax]]) continue;
      if (!found[img][jmax]) {
        tp[k] = 1;
        found[img][jmax] = 1;
      } else {
        fp[k] = 1;
      }
    } else {
      fp[k] = 1;
    }
  }

  const recall = new Float64Array(nd);
  const precision = new Float64Array(nd);
  let tpSum = 0;
  let fpSum = 0;
  for (let k = 0; k < nd; k++) {
    tpSum += tp[k];
    fpSum += fp[k];
    recall[k] = tpSum / numPositives;
    // A first detection on a difficult object leaves 0/0: precision 0, as voc_eval's eps guard gives.
    precision[k] = tpSum / Math.max(tpSum + fpSum, Number.EPSILON);
  }
  const ap = numPositives === 0 ? -1 : use07Metric ? elevenPointAp(recall, precision) : areaAp(recall, precision);
  return { label, ap, numPositives, numDetections: nd, recall: numPositives ? recall : recall.fill(0), precision };
}

/** VOC2007: the mean over recall 0, 0.1, …, 1 of the best precision at that recall or more. */
function elevenPointAp(recall: Float64Array, precision: Float64Array): number {
  let ap = 0;
  for (let k = 0; k <= 10; k++) {
    const t = k * 0.1;
    let p = 0;
    for (let i = 0; i < recall.length; i++) if (recall[i] >= t && precision[i] > p) p = precision[i];
    ap += p / 11;
  }
  return ap;
}

/** VOC2010+: area under precision made monotone (each point the best precision at its recall or more). */
function areaAp(recall: Float64Array, precision: Float64Array): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec.set(recall, 1);
  mrec[n + 1] = 1;
  mpre.set(precision, 1);
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 0; i <= n; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}
