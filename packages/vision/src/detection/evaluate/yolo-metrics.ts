// Ultralytics' detection metrics (DetectionValidator + utils/metrics.py ap_per_class): each
// prediction is matched to ground truth at IoU 0.50:0.05:0.95, then per class P, R and F1 against
// confidence on 1000 points, AP by 101-point interpolation, and the P/R/F1 at the confidence with
// the best smoothed mean F1. Pure TypeScript; arithmetic follows theirs (float32 boxes and IoU,
// float64 curves), so numbers agree with Ultralytics' to float rounding.
import { readBoxes, readNumbers, type EvalPrediction, type EvalTarget } from './arrays.js';

/** torch.linspace(0.5, 0.95, 10) in float32, as Ultralytics' iouv. */
export const YOLO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => Math.fround(0.5 + 0.05 * i));

export interface YoloMetricsOptions {
  /** Classes are 0 .. numClasses - 1 after subtracting labelOffset. */
  numClasses: number;
  /** Subtracted from every label: 1 for Iris/torchvision labels, where 0 is the background (default 0). */
  labelOffset?: number;
}

export interface YoloMetrics {
  /** Class indices that have ground truth (ap_per_class's unique_classes); the per-class arrays follow this order. */
  classes: number[];
  /** Ground truth objects per class index (length numClasses). */
  targetsPerClass: number[];
  /** At the best-F1 confidence, per class: precision, recall, F1, and the true / false positive counts they imply. */
  p: number[];
  r: number[];
  f1: number[];
  tp: number[];
  fp: number[];
  /** [classes][10] AP at each IoU threshold. */
  ap: number[][];
  /** The 1000 confidence (and recall) points the curves are sampled at. */
  x: number[];
  /** [classes][1000] precision, recall and F1 against confidence x. */
  pCurve: number[][];
  rCurve: number[][];
  f1Curve: number[][];
  /** [classes][1000] interpolated precision against recall x at IoU 0.5 (zeros for a class with no predictions). */
  prCurve: number[][];
  /** Index into x of the best smoothed mean F1, and that confidence. */
  bestIndex: number;
  bestConfidence: number;
  /** metrics/precision(B), metrics/recall(B), metrics/mAP50(B), mAP75, metrics/mAP50-95(B). */
  precision: number;
  recall: number;
  map50: number;
  map75: number;
  map: number;
  /** 0.1 mAP50 + 0.9 mAP50-95: what Ultralytics selects best.pt by. */
  fitness: number;
}

/** Float32 boxes [N*4] and class indices of one image, checked. */
interface ImageBoxes {
  boxes: Float32Array;
  classes: Int32Array;
  count: number;
}

function classIndices(labels: Float64Array, options: YoloMetricsOptions, what: string): Int32Array {
  const offset = options.labelOffset ?? 0;
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i] - offset;
    if (!Number.isInteger(c) || c < 0 || c >= options.numClasses) {
      throw new RangeError(`${what}[${i}]: label ${labels[i]} is not a class (expected an integer in ${offset}..${offset + options.numClasses - 1}; labelOffset ${offset}, numClasses ${options.numClasses})`);
    }
    out[i] = c;
  }
  return out;
}

function readImage(boxes: unknown, labels: unknown, options: YoloMetricsOptions, what: string): ImageBoxes {
  const b = readBoxes(boxes, `${what}.boxes`);
  const l = readNumbers(labels, `${what}.labels`);
  if (l.data.length !== b.count) throw new TypeError(`${what}: ${b.count} boxes but ${l.data.length} labels`);
  return { boxes: Float32Array.from(b.data), classes: classIndices(l.data, options, `${what}.labels`), count: b.count };
}

const f = Math.fround;

/**
 * Ultralytics' box_iou(box1, box2) in float32, op by op as torch computes it.
 * @returns [N][M] IoU of box1 [N*4] against box2 [M*4], xyxy.
 */
export function boxIouFloat32(box1: Float32Array, box2: Float32Array): Float32Array[] {
  const n = box1.length / 4;
  const m = box2.length / 4;
  const eps = f(1e-7);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const [ax1, ay1, ax2, ay2] = box1.subarray(4 * i, 4 * i + 4);
    const area1 = f(f(ax2 - ax1) * f(ay2 - ay1));
    const row = new Float32Array(m);
    for (let j = 0; j < m; j++) {
      const [bx1, by1, bx2, by2] = box2.subarray(4 * j, 4 * j + 4);
      const w = Math.max(0, f(Math.min(ax2, bx2) - Math.max(ax1, bx1)));
      const h = Math.max(0, f(Math.min(ay2, by2) - Math.max(ay1, by1)));
      const inter = f(w * h);
      const area2 = f(f(bx2 - bx1) * f(by2 - by1));
      row[j] = f(inter / f(f(f(area1 + area2) - inter) + eps));
    }
    out.push(row);
  }
  return out;
}

/**
 * Indices of `values` sorted descending, equal values in reverse order of position: what
 * `argsort()[::-1]` gives with a stable sort (numpy's own sort is stable on the short arrays it
 * mostly sees here; on long ones its tie order is unspecified, so this fixes one).
 */
function argsortDescending(values: ArrayLike<number>): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[a] - values[b] || a - b);
  return order.reverse();
}

/**
 * DetectionValidator.match_predictions: which predictions are true positives at each threshold.
 * Pairs of a label and a same-class prediction with IoU >= t are taken best IoU first, one per
 * prediction; then one per label, the lowest-numbered prediction (Ultralytics does not re-sort by
 * IoU between the two steps).
 * @param iou [L][D] IoU of labels against predictions.
 * @returns [D][T] correct flags.
 */
export function matchPredictions(predClasses: ArrayLike<number>, trueClasses: ArrayLike<number>, iou: ArrayLike<number>[], thresholds: readonly number[] = YOLO_IOU_THRESHOLDS): boolean[][] {
  const correct = Array.from({ length: predClasses.length }, () => new Array<boolean>(thresholds.length).fill(false));
  thresholds.forEach((threshold, t) => {
    const pairs: [number, number][] = [];
    const values: number[] = [];
    for (let l = 0; l < trueClasses.length; l++) {
      for (let d = 0; d < predClasses.length; d++) {
        const v = trueClasses[l] === predClasses[d] ? iou[l][d] : 0;
        if (v >= threshold) {
          pairs.push([l, d]);
          values.push(v);
        }
      }
    }
    if (pairs.length === 1) correct[pairs[0][1]][t] = true;
    if (pairs.length <= 1) return;
    const byDetection = new Map<number, number>();
    for (const k of argsortDescending(values)) if (!byDetection.has(pairs[k][1])) byDetection.set(pairs[k][1], pairs[k][0]);
    const labelTaken = new Set<number>();
    for (const d of [...byDetection.keys()].sort((a, b) => a - b)) {
      const l = byDetection.get(d)!;
      if (labelTaken.has(l)) continue;
      labelTaken.add(l);
      correct[d][t] = true;
    }
  });
  return correct;
}

/** numpy.interp for non-decreasing xp: the last of equal xp wins, linear in between, left/right outside. */
export function interp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>, left = fp[0], right = fp[fp.length - 1]): number {
  const n = xp.length;
  if (x < xp[0]) return left;
  if (x > xp[n - 1]) return right;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= xp[mid]) lo = mid + 1;
    else hi = mid;
  }
  const j = lo - 1;
  if (j === n - 1 || xp[j] === x) return fp[j];
  const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  return slope * (x - xp[j]) + fp[j];
}

/** numpy.linspace(0, 1, n). */
function linspace01(n: number): number[] {
  const step = 1 / (n - 1);
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? 1 : k * step));
}

const X101 = linspace01(101);

/** compute_ap: 101-point interpolated area under the precision envelope, and the envelope (mpre) over mrec. */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): { ap: number; mpre: number[]; mrec: number[] } {
  const mrec = [0, ...Array.from(recall), 1];
  const mpre = [1, ...Array.from(precision), 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  const y = X101.map((x) => interp(x, mrec, mpre));
  let ap = 0;
  for (let k = 0; k < 100; k++) ap += ((X101[k + 1] - X101[k]) * (y[k + 1] + y[k])) / 2;
  return { ap, mpre, mrec };
}

/** Ultralytics' smooth(): a box filter over a fraction f of the points, the ends padded with the end values. */
export function smooth(y: number[], fraction = 0.05): number[] {
  const nf = Math.floor(roundHalfEven(y.length * fraction * 2) / 2) + 1;
  const half = Math.floor(nf / 2);
  const padded = [...new Array<number>(half).fill(y[0]), ...y, ...new Array<number>(half).fill(y[y.length - 1])];
  const weight = 1 / nf;
  return y.map((_, i) => {
    let s = 0;
    for (let k = 0; k < nf; k++) s += padded[i + k] * weight;
    return s;
  });
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** What ap_per_class takes: one row per prediction, and every ground truth object's class. */
export interface MatchedPredictions {
  /** [P][T] true positive at each IoU threshold. */
  tp: boolean[][];
  conf: number[];
  predClasses: number[];
  targetClasses: number[];
}

/** DetectionValidator.update_metrics over all images: the matched predictions ap_per_class takes. */
export function matchDetections(predictions: readonly EvalPrediction[], targets: readonly EvalTarget[], options: YoloMetricsOptions): MatchedPredictions {
  if (predictions.length !== targets.length) throw new TypeError(`yoloMetrics: ${predictions.length} predictions for ${targets.length} targets; pass one of each per image`);
  const out: MatchedPredictions = { tp: [], conf: [], predClasses: [], targetClasses: [] };
  predictions.forEach((prediction, i) => {
    const truth = readImage(targets[i].boxes, targets[i].labels, options, `targets[${i}]`);
    const pred = readImage(prediction.boxes, prediction.labels, options, `predictions[${i}]`);
    const scores = readNumbers(prediction.scores, `predictions[${i}].scores`).data;
    if (scores.length !== pred.count) throw new TypeError(`predictions[${i}]: ${pred.count} boxes but ${scores.length} scores`);
    out.targetClasses.push(...truth.classes);
    if (pred.count === 0) return;
    const tp = truth.count > 0 ? matchPredictions(pred.classes, truth.classes, boxIouFloat32(truth.boxes, pred.boxes)) : Array.from({ length: pred.count }, () => new Array<boolean>(YOLO_IOU_THRESHOLDS.length).fill(false));
    out.tp.push(...tp);
    // Ultralytics holds confidences in float32.
    for (const s of scores) out.conf.push(f(s));
    out.predClasses.push(...pred.classes);
  });
  return out;
}

/** ap_per_class over matched predictions; Ultralytics' metric summary (mp, mr, map50, map, fitness) on top. */
export function apPerClass(matched: MatchedPredictions, numClasses: number): YoloMetrics {
  const eps = 1e-16;
  const targetsPerClass = new Array<number>(numClasses).fill(0);
  for (const c of matched.targetClasses) targetsPerClass[c]++;
  const x = linspace01(1000);
  const empty: YoloMetrics = { classes: [], targetsPerClass, p: [], r: [], f1: [], tp: [], fp: [], ap: [], x, pCurve: [], rCurve: [], f1Curve: [], prCurve: [], bestIndex: 0, bestConfidence: 0, precision: 0, recall: 0, map50: 0, map75: 0, map: 0, fitness: 0 };
  // DetectionValidator.get_stats computes nothing when no prediction is right at any threshold.
  if (!matched.tp.some((row) => row.some(Boolean))) return empty;
  const T = matched.tp[0].length;
  // np.argsort(-conf), stable: equal confidences keep image and detection order.
  const order = Array.from({ length: matched.conf.length }, (_, i) => i).sort((a, b) => matched.conf[b] - matched.conf[a] || a - b);
  const classes = targetsPerClass.flatMap((n, c) => (n > 0 ? [c] : []));
  const zeros = () => new Array<number>(1000).fill(0);
  const ap = classes.map(() => new Array<number>(T).fill(0));
  const pCurve = classes.map(zeros);
  const rCurve = classes.map(zeros);
  const prCurve = classes.map(zeros);
  classes.forEach((c, ci) => {
    const rows = order.filter((k) => matched.predClasses[k] === c);
    const nl = targetsPerClass[c];
    if (rows.length === 0) return;
    const negConf = rows.map((k) => -matched.conf[k]);
    const recall: number[][] = Array.from({ length: T }, () => []);
    const precision: number[][] = Array.from({ length: T }, () => []);
    for (let j = 0; j < T; j++) {
      let tpc = 0;
      let fpc = 0;
      for (const k of rows) {
        if (matched.tp[k][j]) tpc++;
        else fpc++;
        recall[j].push(tpc / (nl + eps));
        precision[j].push(tpc / (tpc + fpc));
      }
    }
    rCurve[ci] = x.map((v) => interp(-v, negConf, recall[0], 0));
    pCurve[ci] = x.map((v) => interp(-v, negConf, precision[0], 1));
    for (let j = 0; j < T; j++) {
      const result = computeAp(recall[j], precision[j]);
      ap[ci][j] = result.ap;
      if (j === 0) prCurve[ci] = x.map((v) => interp(v, result.mrec, result.mpre));
    }
  });
  const f1Curve = pCurve.map((pc, ci) => pc.map((p, k) => (2 * p * rCurve[ci][k]) / (p + rCurve[ci][k] + eps)));
  const meanF1 = x.map((_, k) => f1Curve.reduce((s, row) => s + row[k], 0) / classes.length);
  const smoothed = smooth(meanF1, 0.1);
  const bestIndex = smoothed.indexOf(Math.max(...smoothed));
  const p = pCurve.map((row) => row[bestIndex]);
  const r = rCurve.map((row) => row[bestIndex]);
  const f1 = f1Curve.map((row) => row[bestIndex]);
  const tp = r.map((v, ci) => roundHalfEven(v * targetsPerClass[classes[ci]]));
  const fp = tp.map((v, ci) => roundHalfEven(v / (p[ci] + eps) - v));
  const mean = (values: number[]) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0);
  const map50 = mean(ap.map((row) => row[0]));
  const map = mean(ap.flat());
  return {
    classes,
    targetsPerClass,
    p,
    r,
    f1,
    tp,
    fp,
    ap,
    x,
    pCurve,
    rCurve,
    f1Curve,
    prCurve,
    bestIndex,
    bestConfidence: x[bestIndex],
    precision: mean(p),
    recall: mean(r),
    map50,
    map75: mean(ap.map((row) => row[5] ?? 0)),
    map,
    fitness: 0.1 * map50 + 0.9 * map,
  };
}

/** Ultralytics' detection metrics of per-image predictions against ground truth (DetectionValidator's numbers). */
export function yoloMetrics(predictions: readonly EvalPrediction[], targets: readonly EvalTarget[], options: YoloMetricsOptions): YoloMetrics {
  if (!Number.isInteger(options.numClasses) || options.numClasses < 1) throw new RangeError(`yoloMetrics: numClasses must be a positive integer, got ${options.numClasses}`);
  return apPerClass(matchDetections(predictions, targets, options), options.numClasses);
}
