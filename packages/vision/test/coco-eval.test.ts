// cocoEvaluate against pycocotools: the four shared fixtures (stats pycocotools printed), numpy's
// thresholds and Python's summary text at test time, and edge cases whose values follow from the
// protocol by hand (each case says how).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@iris/torch';
import { cocoEvaluate, convertToCoco, formatCocoSummary, COCO_STAT_NAMES, type CocoDetection, type CocoGroundTruth, type CocoAnnotation } from '../src/detection/index.js';
import { Rng } from '../src/data/rng.js';
import { runPython } from './helpers/reference.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'coco');

interface Fixture {
  ground_truth: CocoGroundTruth;
  detections: CocoDetection[];
  stats: number[];
  stats_names: string[];
}

function fixture(i: number): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES, `coco-bbox-${i}.json`), 'utf8')) as Fixture;
}

function assertStats(actual: number[], expected: number[], what: string, tol = 1e-4): number {
  assert.equal(actual.length, 12, `${what}: 12 stats`);
  let worst = 0;
  actual.forEach((a, i) => {
    const d = Math.abs(a - expected[i]);
    worst = Math.max(worst, d);
    assert.ok(d <= tol, `${what}: ${COCO_STAT_NAMES[i]} is ${a}, expected ${expected[i]}`);
  });
  return worst;
}

for (const i of [1, 2, 3, 4]) {
  test(`coco-bbox-${i}: the 12 stats equal pycocotools' within 1e-4`, () => {
    const f = fixture(i);
    const result = cocoEvaluate(f.ground_truth, f.detections);
    const worst = assertStats(result.stats, f.stats, `coco-bbox-${i}`);
    console.log(`# coco-bbox-${i}: max |stat - pycocotools| = ${worst.toExponential(2)}`);
    assert.deepEqual(result.counts, [10, 101, f.ground_truth.categories.length, 4, 3]);
    // stats[0] is the mean of every precision entry of area all, maxDets 100 that is not -1.
    const [T, R, K, A, M] = result.counts;
    let sum = 0;
    let n = 0;
    for (let t = 0; t < T; t++) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
      const v = result.precision[(((t * R + r) * K + k) * A + 0) * M + 2];
      if (v > -1) {
        sum += v;
        n++;
      }
    }
    assert.ok(Math.abs(sum / n - result.stats[0]) < 1e-12);
    // Per-class AP averages to stats[0] over the classes with ground truth.
    const aps = result.perClass.filter((c) => c.ap > -1).map((c) => c.ap);
    assert.ok(Math.abs(aps.reduce((s, a) => s + a, 0) / aps.length - result.stats[0]) < 1e-12);
  });
}

test('the per-image adapter (xyxy arrays and Iris tensors) reproduces the fixtures', () => {
  const f = fixture(2);
  const byImage = new Map(f.ground_truth.images.map((img) => [img.id, { gt: [] as CocoAnnotation[], dt: [] as CocoDetection[] }]));
  for (const a of f.ground_truth.annotations) byImage.get(a.image_id)!.gt.push(a);
  for (const d of f.detections) byImage.get(d.image_id)!.dt.push(d);
  const xyxy = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
  const ids = [...byImage.keys()];
  const targets = ids.map((id) => {
    const { gt } = byImage.get(id)!;
    return { imageId: id, boxes: gt.map((a) => xyxy(a.bbox)), labels: gt.map((a) => a.category_id), area: gt.map((a) => a.area!), iscrowd: gt.map((a) => Number(a.iscrowd)) };
  });
  const predictions = ids.map((id) => {
    const { dt } = byImage.get(id)!;
    return { boxes: dt.map((d) => xyxy(d.bbox)), scores: dt.map((d) => d.score), labels: dt.map((d) => d.category_id) };
  });
  const plain = convertToCoco(targets, predictions, { categories: f.ground_truth.categories });
  assertStats(cocoEvaluate(plain.groundTruth, plain.detections).stats, f.stats, 'plain arrays');

  torch.tidy(() => {
    const tensors = convertToCoco(
      targets.map((t) => ({ ...t, boxes: torch.tensor(t.boxes.flat(), { dtype: 'float64', shape: [t.boxes.length, 4] }), labels: torch.tensor(t.labels, { dtype: 'int64' }) })),
      predictions.map((p) => ({
        boxes: torch.tensor(p.boxes.flat(), { dtype: 'float64', shape: [p.boxes.length, 4] }),
        scores: torch.tensor(p.scores, { dtype: 'float64' }),
        labels: torch.tensor(p.labels, { dtype: 'int64' }),
      })),
      { categories: f.ground_truth.categories },
    );
    assert.deepEqual(tensors, plain);
  });
});

test('the adapter: float32 boxes subtract in float32 as torchvision does; categories default to every label seen', () => {
  torch.tidy(() => {
    const boxes = torch.tensor([0.1, 0.2, 10.3, 20.7], { dtype: 'float32', shape: [1, 4] });
    const twice = torch.tensor([0.1, 0.2, 10.3, 20.7, 0.1, 0.2, 10.3, 20.7], { dtype: 'float32', shape: [2, 4] });
    const { groundTruth, detections } = convertToCoco(
      [{ boxes, labels: torch.tensor([3], { dtype: 'int64' }) }],
      [{ boxes: twice, scores: torch.tensor([0.5, 0.4]), labels: torch.tensor([3, 7], { dtype: 'int64' }) }],
    );
    const f = Float32Array.from(boxes.toFlatArray());
    assert.deepEqual(detections[0].bbox, [f[0], f[1], Math.fround(f[2] - f[0]), Math.fround(f[3] - f[1])]);
    assert.deepEqual(groundTruth.categories, [{ id: 3 }, { id: 7 }]);
    assert.deepEqual(groundTruth.images, [{ id: 0 }]);
    // Category 7 has no ground truth: -1, and left out of the mean.
    const result = cocoEvaluate(groundTruth, detections);
    assert.equal(result.perClass[1].ap, -1);
    assert.ok(Math.abs(result.stats[0] - 1) < 1e-12);
  });
  assert.throws(() => convertToCoco([{ boxes: [[0, 0, 1, 1]], labels: [1] }], [{ boxes: [], scores: [], labels: [] }], { categories: [2] }), /targets\[0\]\.labels\[0\]: label 1 is not in options\.categories/);
  assert.throws(() => convertToCoco([{ boxes: [[5, 0, 1, 1]], labels: [1] }], [{ boxes: [], scores: [], labels: [] }]), /targets\[0\]\.boxes\[0\]: .*x2 < x1/);
  assert.throws(() => convertToCoco([{ boxes: [], labels: [] }], []), /predictions: 0 entries for 1 targets/);
  assert.throws(() => convertToCoco([{ boxes: [], labels: [] }], [{ boxes: [[0, 0, 1, 1]], scores: [], labels: [1] }]), /predictions\[0\]\.scores: 0 scores for 1 boxes/);
});

test('thresholds are numpy linspace values, and the summary is the text pycocotools prints', () => {
  const ties = [0.0625, 0.1875, -1, 0.5, 0.0005, 0.9995, 0.3125, 1, 0, 0.12345, 0.6875, -1];
  const results = [1, 2, 3, 4].map((i) => cocoEvaluate(fixture(i).ground_truth, fixture(i).detections));
  const reference = runPython<{ iouThrs: number[]; recThrs: number[]; summaries: string[] }>('coco_summary_ref.py', { stats: [...results.map((r) => r.stats), ties] });
  assert.deepEqual(Array.from(results[0].params.iouThrs), reference.iouThrs);
  assert.deepEqual(Array.from(results[0].params.recThrs), reference.recThrs);
  results.forEach((r, i) => assert.equal(formatCocoSummary(r), reference.summaries[i]));
  assert.equal(formatCocoSummary({ ...results[0], stats: ties }), reference.summaries[4]);
});

// ---- edge cases on tiny data, values worked out from the protocol

type Box = [number, number, number, number];

function gtOf(images: number[], anns: { image: number; cat?: number; bbox: Box; area?: number; iscrowd?: number; ignore?: number }[], cats = [1, 2]): CocoGroundTruth {
  return {
    images: images.map((id) => ({ id })),
    categories: cats.map((id) => ({ id, name: `c${id}` })),
    annotations: anns.map((a, i) => ({ id: i + 1, image_id: a.image, category_id: a.cat ?? 1, bbox: a.bbox, area: a.area ?? a.bbox[2] * a.bbox[3], iscrowd: a.iscrowd ?? 0, ...(a.ignore === undefined ? {} : { ignore: a.ignore }) })),
  };
}

function dt(image: number, bbox: Box, score: number, cat = 1): CocoDetection {
  return { image_id: image, category_id: cat, bbox, score };
}

const [AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl] = COCO_STAT_NAMES.map((_, i) => i);
// Precision is tp / (tp + fp + eps) in pycocotools, so a perfect AP reads 1 - 1e-16.
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a}, expected ${b}`);
const near = (actual: number[], expected: number[], what: string) => {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => close(a, expected[i], `${what}[${i}]`));
};

test('no detections: AP and AR 0 where there is ground truth, -1 where there is none', () => {
  const gt = gtOf([1, 2], [{ image: 1, bbox: [0, 0, 10, 10] }, { image: 2, bbox: [5, 5, 20, 20] }]);
  const { stats, perClass, recall } = cocoEvaluate(gt, []);
  // Both boxes are small (area < 32²): medium and large have no ground truth.
  assert.deepEqual(stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  assert.deepEqual(perClass.map((c) => c.ap), [0, -1]);
  assert.ok(recall.every((v) => v === 0 || v === -1));
});

test('a detection on an image without ground truth is a false positive; above the true one it halves the precision', () => {
  const gt = gtOf([1, 2], [{ image: 1, bbox: [0, 0, 10, 10] }]);
  // Sorted: TP (0.9), FP (0.5) -> precision 1 at recall 1: AP 1.
  close(cocoEvaluate(gt, [dt(1, [0, 0, 10, 10], 0.9), dt(2, [0, 0, 10, 10], 0.5)]).stats[AP], 1, 'FP below');
  // Sorted: FP (0.95), TP (0.9) -> precision [0, 1/2], envelope [1/2, 1/2]: AP 0.5, AR 1.
  const r = cocoEvaluate(gt, [dt(1, [0, 0, 10, 10], 0.9), dt(2, [0, 0, 10, 10], 0.95)]);
  close(r.stats[AP], 0.5, 'FP above');
  close(r.stats[AR100], 1, 'AR100');
  // One detection per image: AR1 still 1 (maxDets counts per image).
  close(r.stats[AR1], 1, 'AR1');
});

test('crowd regions: IoU over the detection area, any number of detections inside are ignored; all-crowd is -1', () => {
  const anns = [{ image: 1, bbox: [0, 0, 10, 10] as Box }, { image: 1, bbox: [100, 100, 100, 100] as Box, iscrowd: 1 }];
  // Two detections inside the crowd box (IoU with it = 1 by the crowd rule, though 0.0025 and 0.01 by union) and a TP.
  const dets = [dt(1, [110, 110, 5, 5], 0.99), dt(1, [150, 150, 10, 10], 0.98), dt(1, [0, 0, 10, 10], 0.5)];
  const crowd = cocoEvaluate(gtOf([1], anns), dets);
  close(crowd.stats[AP], 1, 'crowd AP');
  // Without the crowd flag the two become false positives above the TP, and the big box a missed object.
  const plain = cocoEvaluate(gtOf([1], anns.map((a) => ({ ...a, iscrowd: 0 }))), dets);
  // Sorted FP, FP, TP with 2 objects: precision 1/3 at recall 1/2, never more: 51 recall points of 101.
  close(plain.stats[AP], 51 / 101 / 3, 'no crowd AP');
  const allCrowd = cocoEvaluate(gtOf([1], [anns[1]]), dets);
  assert.deepEqual(allCrowd.stats, new Array(12).fill(-1));
});

test('maxDets truncation: AR1 sees one detection per image, and the 101st detection never counts', () => {
  const gt = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }, { image: 1, bbox: [20, 0, 10, 10] }, { image: 1, bbox: [40, 0, 10, 10] }]);
  const r = cocoEvaluate(gt, [dt(1, [0, 0, 10, 10], 0.9), dt(1, [20, 0, 10, 10], 0.8), dt(1, [40, 0, 10, 10], 0.7)]);
  close(r.stats[AR1], 1 / 3, 'AR1');
  close(r.stats[AR10], 1, 'AR10');
  close(r.stats[AP], 1, 'AP');
  // 100 misses scored above the one hit: it is the 101st and is cut, as are misses past 100.
  const one = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }]);
  const misses = Array.from({ length: 100 }, (_, i) => dt(1, [500 + i, 500, 5, 5], 0.9));
  const cut = cocoEvaluate(one, [...misses, dt(1, [0, 0, 10, 10], 0.1)]);
  assert.deepEqual([cut.stats[AP], cut.stats[AR100]], [0, 0]);
  const kept = cocoEvaluate(one, [...misses.slice(1), dt(1, [0, 0, 10, 10], 0.1)]);
  close(kept.stats[AR100], 1, 'the 100th counts');
  // Precision 1/100 at recall 1: every recall point.
  close(kept.stats[AP], 1 / 100, 'AP of the 100th');
  close(kept.stats[AR10], 0, 'AR10');
});

test('score ties keep the input order within an image and image-id order across images (numpy mergesort)', () => {
  const gt = gtOf([1, 2], [{ image: 1, bbox: [0, 0, 10, 10] }]);
  const hit = dt(1, [0, 0, 10, 10], 0.5);
  // Same image: whichever comes first is ranked first.
  close(cocoEvaluate(gt, [hit, dt(1, [50, 50, 10, 10], 0.5)]).stats[AP], 1, 'hit listed first');
  close(cocoEvaluate(gt, [dt(1, [50, 50, 10, 10], 0.5), hit]).stats[AP], 0.5, 'miss listed first');
  // Across images: image 1 before image 2, whatever the input order.
  close(cocoEvaluate(gt, [dt(2, [0, 0, 10, 10], 0.5), hit]).stats[AP], 1, 'hit on the lower image id');
  const gt2 = gtOf([1, 2], [{ image: 2, bbox: [0, 0, 10, 10] }]);
  close(cocoEvaluate(gt2, [dt(2, [0, 0, 10, 10], 0.5), dt(1, [0, 0, 10, 10], 0.5)]).stats[AP], 0.5, 'miss on the lower image id');
  // Two detections of one object with equal scores: the first listed takes it, the second is a FP.
  const twice = cocoEvaluate(gt, [dt(1, [0, 0, 10, 9], 0.5), dt(1, [0, 0, 10, 10], 0.5)]);
  // IoU 0.9 for the first: a TP up to threshold 0.9, then the second (IoU 1) matches instead, after a FP.
  const ap = (9 * 1 + 1 * 0.5) / 10;
  close(twice.stats[AP], ap, 'duplicate');
});

test('a category without ground truth is -1 and left out of the means', () => {
  const gt = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10], cat: 1 }]);
  const r = cocoEvaluate(gt, [dt(1, [0, 0, 10, 10], 0.9, 1), dt(1, [0, 0, 10, 10], 0.95, 2)]);
  assert.deepEqual(r.perClass.map((c) => [c.categoryId, c.name]), [[1, 'c1'], [2, 'c2']]);
  near(r.perClass.flatMap((c) => [c.ap, c.ap50, c.ap75, c.ar]), [1, 1, 1, 1, -1, -1, -1, -1], 'per class');
  close(r.stats[AP], 1, 'AP');
  const [T, R, K, A, M] = r.counts;
  for (let t = 0; t < T; t++) for (let a = 0; a < A; a++) for (let m = 0; m < M; m++) {
    assert.equal(r.recall[((t * K + 1) * A + a) * M + m], -1);
    for (let rr = 0; rr < R; rr++) assert.equal(r.precision[(((t * R + rr) * K + 1) * A + a) * M + m], -1);
  }
  // scores: the score of the detection reaching each recall point (0.9 for the one hit).
  assert.equal(r.scores[(((0 * R + 100) * K + 0) * A + 0) * M + 2], 0.9);
});

test('area ranges are closed at both ends: 32² is small and medium, 96² medium and large; gt area is the area field', () => {
  const gt = gtOf([1], [{ image: 1, bbox: [0, 0, 32, 32] }]);
  const hit = dt(1, [0, 0, 32, 32], 0.9);
  // An unmatched 96x96 box above the hit: outside small (ignored there), inside medium (a FP).
  const r = cocoEvaluate(gt, [hit, dt(1, [200, 200, 96, 96], 0.95)]);
  near([r.stats[APs], r.stats[APm], r.stats[APl], r.stats[AP]], [1, 0.5, -1, 0.5], 'APs APm APl AP');
  // Just over 96²: outside medium too.
  const over = cocoEvaluate(gt, [hit, dt(1, [200, 200, 96, 96.01], 0.95)]);
  near([over.stats[APs], over.stats[APm], over.stats[APl], over.stats[AP]], [1, 1, -1, 0.5], 'just over');
  // A 10x10 box whose annotation says area 5000 is medium.
  const big = cocoEvaluate(gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10], area: 5000 }]), [dt(1, [0, 0, 10, 10], 0.9)]);
  near([big.stats[APs], big.stats[APm], big.stats[APl], big.stats[ARm]], [-1, 1, -1, 1], 'area field');
});

test('IoU thresholds are inclusive: IoU exactly 0.5 is a hit at 0.50 only', () => {
  const r = cocoEvaluate(gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }]), [dt(1, [0, 0, 5, 10], 0.9)]);
  near([r.stats[AP50], r.stats[AP75]], [1, 0], 'AP50 AP75');
  close(r.stats[AP], 0.1, 'AP');
  close(r.stats[AR100], 0.1, 'AR');
});

test('useCats false pools categories; imgIds and catIds evaluate a subset', () => {
  const gt = gtOf([1, 2], [{ image: 1, bbox: [0, 0, 10, 10], cat: 1 }, { image: 2, bbox: [0, 0, 10, 10], cat: 2 }]);
  const dets = [dt(1, [0, 0, 10, 10], 0.9, 2), dt(2, [0, 0, 10, 10], 0.8, 2)];
  // With categories: class 1 missed (AP 0), class 2 found after a FP of class 2 on image 1 (AP 0.5).
  const withCats = cocoEvaluate(gt, dets);
  near(withCats.perClass.map((c) => c.ap), [0, 0.5], 'per class');
  close(withCats.stats[AP], 0.25, 'useCats');
  const pooled = cocoEvaluate(gt, dets, { useCats: false });
  assert.deepEqual(pooled.counts, [10, 101, 1, 4, 3]);
  close(pooled.stats[AP], 1, 'pooled');
  assert.deepEqual(pooled.perClass, []);
  // Pooled, an image's detections are concatenated category by category before the stable sort:
  // an equal-score miss of category 2 listed first still ranks after the hit of category 1.
  const tie = cocoEvaluate(gt, [dt(1, [50, 50, 10, 10], 0.5, 2), dt(1, [0, 0, 10, 10], 0.5, 1), dt(2, [0, 0, 10, 10], 0.4, 2)], { useCats: false });
  close(tie.stats[AP], (51 + 50 * (2 / 3)) / 101, 'pooled tie');
  // Image 2 alone: class 2 is found, class 1 has no ground truth there.
  const image2 = cocoEvaluate(gt, dets, { imgIds: [2] });
  near(image2.perClass.map((c) => c.ap), [-1, 1], 'image 2');
  assert.deepEqual(cocoEvaluate(gt, dets, { catIds: [1] }).perClass.map((c) => c.categoryId), [1]);
  assert.equal(cocoEvaluate(gt, dets, { catIds: [1] }).stats[AP], 0);
  assert.throws(() => cocoEvaluate(gt, dets, { imgIds: [3] }), /options\.imgIds\[0\]: 3 is not in the ground truth/);
  assert.throws(() => cocoEvaluate(gt, dets, { maxDets: [1, 10] }), /options\.maxDets: expected three positive integers/);
});

test('custom maxDets: stats 0 reads maxDets 100 as pycocotools does (-1 without it), the others the given budgets', () => {
  const gt = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }, { image: 1, bbox: [20, 0, 10, 10] }]);
  const dets = [dt(1, [0, 0, 10, 10], 0.9), dt(1, [20, 0, 10, 10], 0.8)];
  const r = cocoEvaluate(gt, dets, { maxDets: [1, 2, 5] });
  assert.equal(r.stats[AP], -1);
  near([r.stats[AP50], r.stats[AR1], r.stats[AR10], r.stats[AR100]], [1, 0.5, 1, 1], 'AP50 AR1 AR10 AR100');
  assert.deepEqual(r.params.maxDets, [1, 2, 5]);
});

test('the ignore field: overwritten by iscrowd as in pycocotools, honoured with useIgnoreFlag', () => {
  const gt = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }, { image: 1, bbox: [50, 50, 10, 10], ignore: 1 }]);
  const dets = [dt(1, [50, 50, 10, 10], 0.9), dt(1, [0, 0, 10, 10], 0.8)];
  close(cocoEvaluate(gt, dets).stats[AP], 1, 'ignore field ignored');
  // As an ignore region, the hit on it counts for nothing; one object, found: AP 1, AR 1 — but a
  // second detection on it is a false positive (an ignore region is not a crowd).
  const flagged = cocoEvaluate(gt, [...dets, dt(1, [50, 50, 10, 10], 0.85)], { useIgnoreFlag: true });
  close(flagged.stats[AR100], 1, 'AR with ignore');
  close(flagged.stats[AP], 0.5, 'second hit on an ignore region');
  // Without the flag: TP, FP, TP over 2 objects -> precision 1 up to recall 1/2, then 2/3.
  close(cocoEvaluate(gt, [...dets, dt(1, [50, 50, 10, 10], 0.85)]).stats[AP], (51 + 50 * (2 / 3)) / 101, 'without the flag both are objects');
});

test('bad input is refused with the entry and the problem', () => {
  const gt = gtOf([1, 2], [{ image: 1, bbox: [0, 0, 10, 10] }]);
  const cases: [unknown, RegExp][] = [
    [[dt(1, [0, 0, 1, 1], 0.5), dt(7, [0, 0, 1, 1], 0.5)], /^RangeError: detections\[1\]: image_id 7 is not an image of the ground truth/],
    [[dt(1, [0, 0, 1, 1], 0.5, 9)], /^RangeError: detections\[0\]: category_id 9 is not a category of the ground truth \(1, 2\)/],
    [[{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 0.5 }], /^TypeError: detections\[0\]: bbox must be 4 finite numbers \[x, y, width, height\], got \[0, 0, 1\]/],
    [[{ image_id: 1, category_id: 1, bbox: [0, 0, NaN, 1], score: 0.5 }], /detections\[0\]: bbox must be 4 finite numbers .*got \[0, 0, NaN, 1\]/],
    [[{ image_id: 1, category_id: 1, bbox: [0, 0, '3', 1], score: 0.5 }], /detections\[0\]: bbox must be 4 finite numbers/],
    [[dt(1, [0, 0, 1, 1], 0.5), dt(1, [5, 5, -2, 4], 0.5)], /^RangeError: detections\[1\]: bbox has negative size \(width -2, height 4\)/],
    [[{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }], /detections\[0\]: score must be a finite number, got undefined/],
    [{ image_id: 1 }, /detections: expected an array/],
  ];
  for (const [dets, message] of cases) assert.throws(() => cocoEvaluate(gt, dets as CocoDetection[]), (e: Error) => message.test(`${e.name}: ${e.message}`) || assert.fail(`${e.message} !~ ${message}`));
  const dup = gtOf([1], [{ image: 1, bbox: [0, 0, 10, 10] }, { image: 1, bbox: [0, 0, 10, 10] }]);
  dup.annotations[1].id = 1;
  assert.throws(() => cocoEvaluate(dup, []), /groundTruth\.annotations\[1\]: annotation id 1 appears twice/);
  assert.throws(() => cocoEvaluate(gtOf([1], [{ image: 3, bbox: [0, 0, 1, 1] }]), []), /groundTruth\.annotations\[0\]: image_id 3 is not in groundTruth\.images/);
  assert.throws(() => cocoEvaluate(gtOf([1], [{ image: 1, bbox: [0, 0, -1, 1] }]), []), /groundTruth\.annotations\[0\]: bbox has negative size/);
  assert.throws(() => cocoEvaluate({ images: [] } as unknown as CocoGroundTruth, []), /groundTruth\.annotations: expected an array/);
});

test('5000 images x 100 detections, 80 categories: time it', () => {
  const rng = new Rng(9);
  const images = Array.from({ length: 5000 }, (_, i) => ({ id: i + 1 }));
  const categories = Array.from({ length: 80 }, (_, i) => ({ id: i + 1 }));
  const annotations: CocoAnnotation[] = [];
  const detections: CocoDetection[] = [];
  for (const { id } of images) {
    const objects = rng.int(1, 15);
    const boxes: [number, Box][] = [];
    for (let j = 0; j < objects; j++) {
      const w = rng.uniform(4, 300);
      const h = rng.uniform(4, 300);
      const box: Box = [rng.uniform(0, 600), rng.uniform(0, 600), w, h];
      const cat = rng.int(1, 81);
      boxes.push([cat, box]);
      annotations.push({ id: annotations.length + 1, image_id: id, category_id: cat, bbox: box, area: w * h, iscrowd: rng.bernoulli(0.02) ? 1 : 0 });
    }
    for (let j = 0; j < 100; j++) {
      const [cat, b] = boxes[j % boxes.length];
      const jitter = j < 2 * boxes.length ? 0.1 : 1;
      const bbox: Box = [b[0] + rng.normal() * jitter * b[2], b[1] + rng.normal() * jitter * b[3], b[2] * (1 + rng.uniform(-0.3, 0.3)), b[3] * (1 + rng.uniform(-0.3, 0.3))];
      detections.push({ image_id: id, category_id: rng.bernoulli(0.8) ? cat : rng.int(1, 81), bbox, score: Math.round(rng.random() * 1000) / 1000 });
    }
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const r = cocoEvaluate({ images, annotations, categories }, detections);
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  // CPU time too: on a shared machine the wall time mostly measures the neighbours.
  console.log(`# cocoEvaluate, 5000 images, ${annotations.length} objects, ${detections.length} detections: ${seconds.toFixed(2)} s wall, ${((user + system) / 1e6).toFixed(2)} s CPU; AP ${r.stats[0].toFixed(3)}`);
  assert.ok(r.stats.every((s) => s >= 0 && s <= 1));
  assert.ok(seconds < 60, `${seconds} s`);
});
