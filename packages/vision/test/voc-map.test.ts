// vocEvaluate against voc_ref.py (the VOC devkit's formula in numpy, run at test time) on seeded
// random scenes with difficult objects, duplicates and score ties, plus cases worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { vocEvaluate, type EvalPrediction, type VocEvaluateOptions } from '../src/detection/index.js';
import { Rng } from '../src/data/rng.js';
import { runPython } from './helpers/reference.js';

type Box = [number, number, number, number];
interface PlainTarget {
  boxes: Box[];
  labels: number[];
  difficult: number[];
}
interface PlainPrediction {
  boxes: Box[];
  scores: number[];
  labels: number[];
}

/** A scene set: integer pixel boxes as VOC's XML gives (or float ones), detections near objects and random misses. */
function scenes(seed: number, images: number, integer: boolean): { targets: PlainTarget[]; predictions: PlainPrediction[] } {
  const rng = new Rng(seed);
  const coord = (v: number) => (integer ? Math.round(v) : v);
  const targets: PlainTarget[] = [];
  const predictions: PlainPrediction[] = [];
  for (let i = 0; i < images; i++) {
    const t: PlainTarget = { boxes: [], labels: [], difficult: [] };
    const p: PlainPrediction = { boxes: [], scores: [], labels: [] };
    const objects = rng.int(0, 6);
    for (let j = 0; j < objects; j++) {
      const x = rng.uniform(0, 400), y = rng.uniform(0, 400), w = rng.uniform(5, 150), h = rng.uniform(5, 150);
      const box: Box = [coord(x), coord(y), coord(x + w), coord(y + h)];
      const label = rng.int(1, 5);
      t.boxes.push(box);
      t.labels.push(label);
      t.difficult.push(rng.bernoulli(0.15) ? 1 : 0);
      // 0-2 detections per object (duplicates are false positives), sometimes of the wrong class.
      for (let k = rng.int(0, 3); k > 0; k--) {
        const s = () => rng.normal() * 0.1;
        p.boxes.push([coord(x + s() * w), coord(y + s() * h), coord(x + w + s() * w), coord(y + h + s() * h)].map((v, c, a) => (c >= 2 ? Math.max(v, a[c - 2]) : v)) as Box);
        p.labels.push(rng.bernoulli(0.85) ? label : rng.int(1, 5));
        p.scores.push(Math.round(rng.random() * 20) / 20);
      }
    }
    for (let k = rng.int(0, 4); k > 0; k--) {
      const x = rng.uniform(0, 400), y = rng.uniform(0, 400);
      p.boxes.push([coord(x), coord(y), coord(x + rng.uniform(5, 100)), coord(y + rng.uniform(5, 100))]);
      p.labels.push(rng.int(1, 5));
      p.scores.push(Math.round(rng.random() * 20) / 20);
    }
    targets.push(t);
    predictions.push(p);
  }
  return { targets, predictions };
}

interface RefResult {
  map: number;
  perClass: { label: number; ap: number; recall: number[]; precision: number[] }[];
}

const CASES: { name: string; seed: number; images: number; integer: boolean; options: VocEvaluateOptions }[] = [
  { name: 'VOC2010+ area, integer boxes', seed: 1, images: 60, integer: true, options: {} },
  { name: 'VOC2007 11-point, integer boxes', seed: 2, images: 60, integer: true, options: { use07Metric: true } },
  { name: 'area, float boxes without the +1', seed: 3, images: 60, integer: false, options: { legacyCoordinates: false } },
  { name: '11-point, IoU 0.7', seed: 4, images: 40, integer: true, options: { use07Metric: true, iouThreshold: 0.7 } },
];

test('per-class AP, recall and precision equal the devkit formula (voc_ref.py)', () => {
  const data = CASES.map((c) => scenes(c.seed, c.images, c.integer));
  const reference = runPython<RefResult[]>('voc_ref.py', { cases: CASES.map((c, i) => ({ ...data[i], options: c.options })) });
  CASES.forEach((c, i) => {
    const result = vocEvaluate(data[i].targets, data[i].predictions, c.options);
    const ref = reference[i];
    assert.deepEqual(result.perClass.map((k) => k.label), ref.perClass.map((k) => k.label), `${c.name}: classes`);
    let worst = 0;
    result.perClass.forEach((k, j) => {
      const r = ref.perClass[j];
      worst = Math.max(worst, Math.abs(k.ap - r.ap));
      assert.ok(Math.abs(k.ap - r.ap) < 1e-12, `${c.name}: class ${k.label} AP ${k.ap}, reference ${r.ap}`);
      assert.deepEqual(Array.from(k.recall), r.recall, `${c.name}: class ${k.label} recall`);
      assert.deepEqual(Array.from(k.precision), r.precision, `${c.name}: class ${k.label} precision`);
    });
    assert.ok(Math.abs(result.map - ref.map) < 1e-12, `${c.name}: mAP ${result.map}, reference ${ref.map}`);
    console.log(`# ${c.name}: mAP ${result.map.toFixed(4)}, max |AP - reference| ${worst.toExponential(1)}`);
  });
});

test('Iris tensors give the same result as plain arrays', () => {
  const { targets, predictions } = scenes(5, 20, true);
  const plain = vocEvaluate(targets, predictions);
  const fromTensors = torch.tidy(() =>
    vocEvaluate(
      targets.map((t) => ({ boxes: torch.tensor(t.boxes.flat(), { dtype: 'float32', shape: [t.boxes.length, 4] }), labels: torch.tensor(t.labels, { dtype: 'int64' }), difficult: torch.tensor(t.difficult, { dtype: 'int64' }) })),
      predictions.map((p) => ({ boxes: torch.tensor(p.boxes.flat(), { dtype: 'float32', shape: [p.boxes.length, 4] }), scores: torch.tensor(p.scores, { dtype: 'float64' }), labels: torch.tensor(p.labels, { dtype: 'int64' }) })),
    ),
  );
  assert.deepEqual(fromTensors, plain);
});

test('hand cases: a miss above the hit, a hit on a difficult object, duplicates, the +1 pixel', () => {
  const one = [{ boxes: [[0, 0, 9, 9]], labels: [1] }];
  const pred = (boxes: number[][], scores: number[]): EvalPrediction[] => [{ boxes, scores, labels: boxes.map(() => 1) }];
  assert.equal(vocEvaluate(one, pred([[0, 0, 9, 9]], [0.9])).map, 1);
  // Miss (0.9) then hit (0.8): precision [0, 1/2] at recall [0, 1]: area 1/2; 11-point 1/2 at every recall.
  const missFirst = pred([[50, 50, 60, 60], [0, 0, 9, 9]], [0.9, 0.8]);
  assert.equal(vocEvaluate(one, missFirst).map, 0.5);
  assert.ok(Math.abs(vocEvaluate(one, missFirst, { use07Metric: true }).map - 0.5) < 1e-15);
  // A hit on a difficult object is neither a TP nor a FP.
  const withDifficult = [{ boxes: [[0, 0, 9, 9], [50, 50, 60, 60]], labels: [1, 1], difficult: [0, 1] }];
  const r = vocEvaluate(withDifficult, missFirst);
  assert.equal(r.perClass[0].numPositives, 1);
  assert.deepEqual(Array.from(r.perClass[0].precision), [0, 1]);
  assert.equal(r.map, 1);
  // A second detection of a found object is a false positive: [1, 1/2] at recall [1, 1] -> AP 1.
  const dup = vocEvaluate(one, pred([[0, 0, 9, 9], [0, 0, 9, 9]], [0.9, 0.8]));
  assert.deepEqual(Array.from(dup.perClass[0].precision), [1, 0.5]);
  // [0,0,4,9] in a 10x10 object: 50 of 100 pixels with the devkit's +1 (a hit at >= 0.5), 36/81 without.
  assert.equal(vocEvaluate(one, pred([[0, 0, 4, 9]], [0.9])).map, 1);
  assert.equal(vocEvaluate(one, pred([[0, 0, 4, 9]], [0.9]), { legacyCoordinates: false }).map, 0);
  // A class without positives is -1 and out of the mean.
  const two = vocEvaluate([{ boxes: [[0, 0, 9, 9], [20, 20, 30, 30]], labels: [1, 2], difficult: [0, 1] }], pred([[0, 0, 9, 9]], [0.9]));
  assert.deepEqual(two.perClass.map((c) => c.ap), [1, -1]);
  assert.equal(two.map, 1);
});

test('bad input is refused with the entry and the problem', () => {
  const t = [{ boxes: [[0, 0, 9, 9]], labels: [1] }];
  assert.throws(() => vocEvaluate(t, []), /predictions: 0 entries for 1 targets/);
  assert.throws(() => vocEvaluate([{ boxes: [[0, 0, 9]], labels: [1] }], [{ boxes: [], scores: [], labels: [] }]), /targets\[0\]\.boxes\[0\]: expected 4 numbers/);
  assert.throws(() => vocEvaluate(t, [{ boxes: [[5, 5, 1, 9]], scores: [1], labels: [1] }]), /predictions\[0\]\.boxes\[0\]: box \[5, 5, 1, 9\] has x2 < x1/);
  assert.throws(() => vocEvaluate(t, [{ boxes: [[0, 0, 1, 1]], scores: [NaN], labels: [1] }]), /predictions\[0\]\.scores\[0\]: expected a finite number, got NaN/);
  assert.throws(() => vocEvaluate(t, [{ boxes: [[0, 0, 1, 1]], scores: [], labels: [1] }]), /predictions\[0\]\.scores: 0 values for 1 boxes/);
  assert.throws(() => vocEvaluate([{ boxes: [[0, 0, 9, 9]], labels: [1], difficult: [0, 1] }], [{ boxes: [], scores: [], labels: [] }]), /targets\[0\]\.difficult: 2 values for 1 boxes/);
  assert.throws(() => vocEvaluate(t, [{ boxes: [], scores: [], labels: [] }], { iouThreshold: 2 }), /options\.iouThreshold: expected a number in \[0, 1\]/);
});
