// yoloMetrics and DetectionConfusionMatrix against yolo_metrics_ref.py (Ultralytics' formulas in
// numpy/PyTorch, run at test time) on seeded random scenes: several classes, jittered, duplicated
// (some exactly) and wrong-class predictions, tied confidences, images without labels or without predictions, a
// class never predicted and predictions of a class with no labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { yoloMetrics, DetectionConfusionMatrix, matchDetections, type EvalPrediction, type EvalTarget } from '../src/detection/index.js';
import { Rng } from '../src/data/rng.js';
import { runPython } from './helpers/reference.js';

interface Scene {
  pred: { boxes: number[][]; scores: number[]; labels: number[] };
  gt: { boxes: number[][]; labels: number[] };
}

/** A random scene set of `nc` classes: class nc - 1 has labels but is never predicted, class nc - 2 is predicted but has no labels. */
function scenes(seed: number, count: number, nc: number): Scene[] {
  const rng = new Rng(BigInt(seed));
  const box = (): number[] => {
    const [x, y] = [rng.uniform(0, 500), rng.uniform(0, 400)];
    return [x, y, x + rng.uniform(8, 140), y + rng.uniform(8, 140)];
  };
  return Array.from({ length: count }, (_, i) => {
    const nGt = i % 5 === 3 ? 0 : rng.int(1, 7);
    const gt = { boxes: Array.from({ length: nGt }, box), labels: Array.from({ length: nGt }, () => {
      const c = rng.int(0, nc - 1);
      return c === nc - 2 ? nc - 1 : c;
    }) };
    const pred: Scene['pred'] = { boxes: [], scores: [], labels: [] };
    if (i % 5 !== 1) {
      gt.boxes.forEach((b, k) => {
        const copies = rng.random() < 0.3 ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          if (rng.random() < 0.15) continue;
          const w = b[2] - b[0];
          const jitter = () => rng.normal() * 0.08 * w;
          // Some second copies repeat the first exactly: equal IoUs for the matcher to order.
          const exact = c === 1 && rng.random() < 0.5;
          pred.boxes.push(exact ? [...pred.boxes[pred.boxes.length - 1]] : [b[0] + jitter(), b[1] + jitter(), b[2] + jitter(), b[3] + jitter()]);
          const wrong = rng.random() < 0.15;
          pred.labels.push(wrong ? rng.int(0, nc - 1) : Math.min(gt.labels[k], nc - 2));
          // Confidences on a 0.05 grid, so many are tied.
          pred.scores.push(Math.round(rng.uniform(0.01, 1) * 20) / 20);
        }
      });
      const extra = rng.int(0, 4);
      for (let e = 0; e < extra; e++) {
        pred.boxes.push(box());
        pred.labels.push(rng.int(0, nc - 1));
        pred.scores.push(Math.round(rng.uniform(0.01, 0.7) * 20) / 20);
      }
    }
    return { pred, gt };
  });
}

function closeArrays(actual: number[], expected: number[], what: string, tol = 1e-6): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  actual.forEach((a, i) => {
    const d = Math.abs(a - expected[i]);
    worst = Math.max(worst, d);
    assert.ok(d <= tol, `${what}[${i}]: ${a}, reference ${expected[i]}`);
  });
  return worst;
}

for (const [seed, nc] of [
  [1, 4],
  [7, 6],
]) {
  test(`yoloMetrics matches Ultralytics' ap_per_class and match_predictions (seed ${seed}, ${nc} classes)`, () => {
    const data = scenes(seed, 40, nc);
    // Iris labels: 0 is the background, classes start at 1.
    const predictions: EvalPrediction[] = data.map((s) => ({ boxes: s.pred.boxes, scores: s.pred.scores, labels: s.pred.labels.map((l) => l + 1) }));
    const targets: EvalTarget[] = data.map((s) => ({ boxes: s.gt.boxes, labels: s.gt.labels.map((l) => l + 1) }));
    const ref = runPython('yolo_metrics_ref.py', { nc, images: data });
    const matched = matchDetections(predictions, targets, { numClasses: nc, labelOffset: 1 });
    assert.deepEqual(matched.tp.map((row) => row.map(Number)), ref.tpFlags, 'true-positive flags at IoU 0.50:0.05:0.95');
    const m = yoloMetrics(predictions, targets, { numClasses: nc, labelOffset: 1 });
    assert.deepEqual(m.classes, ref.classes);
    let worst = 0;
    m.ap.forEach((row, ci) => (worst = Math.max(worst, closeArrays(row, ref.ap[ci], `AP of class ${m.classes[ci]}`))));
    for (const key of ['pCurve', 'rCurve', 'f1Curve', 'prCurve'] as const) m[key].forEach((row, ci) => (worst = Math.max(worst, closeArrays(row, ref[key][ci], `${key}[${m.classes[ci]}]`))));
    // Within a flat stretch of the smoothed mean F1 the argmax is float noise: ours must be a maximum of theirs.
    assert.ok(Math.abs(ref.smoothed[m.bestIndex] - Math.max(...ref.smoothed)) <= 1e-12, `best-F1 index ${m.bestIndex}, reference ${ref.bestIndex}`);
    for (const key of ['p', 'r', 'f1', 'tp', 'fp'] as const) worst = Math.max(worst, closeArrays(m[key], ref[key], key));
    for (const key of ['precision', 'recall', 'map50', 'map75', 'map', 'fitness'] as const) worst = Math.max(worst, closeArrays([m[key]], [ref[key]], key));
    assert.ok(m.map50 > 0.2 && m.map < m.map50, `a meaningful case: mAP50 ${m.map50}, mAP50-95 ${m.map}`);
    assert.equal(m.targetsPerClass.reduce((s, v) => s + v, 0), data.reduce((s, d) => s + d.gt.labels.length, 0));
    console.log(`seed ${seed}: mAP50 ${m.map50.toFixed(4)} mAP50-95 ${m.map.toFixed(4)}, max |diff| vs reference ${worst.toExponential(2)}`);

    const cm = new DetectionConfusionMatrix(nc, { labelOffset: 1 }).process(predictions, targets);
    assert.deepEqual(cm.matrix, ref.confusion, 'confusion matrix');
    const total = cm.matrix.flat().reduce((s, v) => s + v, 0);
    assert.ok(total > 0);
    const normalized = cm.normalized();
    for (let j = 0; j < nc; j++) {
      const col = normalized.reduce((s, row) => s + row[j], 0);
      if (cm.matrix.some((row) => row[j] > 0)) assert.ok(Math.abs(col - 1) < 1e-6, `normalised column ${j} sums to 1`);
    }
  });
}

test('yoloMetrics: no correct prediction gives zeros (as DetectionValidator.get_stats), empty input too', () => {
  const far = yoloMetrics([{ boxes: [[0, 0, 10, 10]], scores: [0.9], labels: [0] }], [{ boxes: [[100, 100, 120, 120]], labels: [0] }], { numClasses: 2 });
  assert.deepEqual([far.map, far.map50, far.precision, far.recall, far.fitness, far.classes.length], [0, 0, 0, 0, 0, 0]);
  const none = yoloMetrics([], [], { numClasses: 3 });
  assert.equal(none.map, 0);
});

test('yoloMetrics and the confusion matrix name bad input', () => {
  assert.throws(() => yoloMetrics([{ boxes: [[0, 0, 1, 1]], scores: [0.5], labels: [3] }], [{ boxes: [], labels: [] }], { numClasses: 3 }), /predictions\[0\]\.labels\[0\]: label 3 is not a class/);
  assert.throws(() => yoloMetrics([{ boxes: [[0, 0, 1, 1]], scores: [], labels: [0] }], [{ boxes: [], labels: [] }], { numClasses: 1 }), /1 boxes but 0 scores/);
  assert.throws(() => yoloMetrics([], [{ boxes: [], labels: [] }], { numClasses: 1 }), /0 predictions for 1 targets/);
  assert.throws(() => new DetectionConfusionMatrix(2, { labelOffset: 1 }).processBatch({ boxes: [], scores: [], labels: [] }, { boxes: [[0, 0, 1, 1]], labels: [0] }), /target\.labels\[0\]: label 0 is not a class/);
});
