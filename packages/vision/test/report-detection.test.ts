// The detection run-folder plots: each renders to a valid PNG of the size its SVG asks for, with the
// curves, cells and bars its input implies; results.csv has Ultralytics' column names. Set
// IRIS_KEEP_PLOTS=DIR to keep the PNGs for a look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { yoloMetrics, DetectionConfusionMatrix, type EvalPrediction, type EvalTarget } from '../src/detection/index.js';
import { prCurveChart, confidenceCurveChart, detectionConfusionChart, labelsChart, resultsTable, formatResultsCsv, resultsChart, svgToPng, type MetricsRow } from '../src/report/index.js';
import { Rng } from '../src/data/rng.js';

const dir = process.env.IRIS_KEEP_PLOTS ?? mkdtempSync(join(tmpdir(), 'iris-detplots-'));
mkdirSync(dir, { recursive: true });

/** Renders `svg` to DIR/name and checks the PNG's signature and size against the SVG's. */
async function png(svg: string, name: string): Promise<void> {
  const path = join(dir, name);
  await svgToPng(svg, path);
  const bytes = readFileSync(path);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name}: PNG signature`);
  const meta = await sharp(path).metadata();
  const [, w, h] = svg.match(/^<svg [^>]*width="(\d+)" height="(\d+)"/)!;
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', Number(w), Number(h)], `${name}: format and size`);
}

const NAMES = ['shirt', 'trouser', 'pullover', 'dress', 'coat'];

function scenes(seed: number, count: number): { predictions: EvalPrediction[]; targets: EvalTarget[] } {
  const rng = new Rng(BigInt(seed));
  const predictions: EvalPrediction[] = [];
  const targets: EvalTarget[] = [];
  for (let i = 0; i < count; i++) {
    const boxes: number[][] = [];
    const labels: number[] = [];
    for (let k = rng.int(1, 5); k > 0; k--) {
      const [x, y] = [rng.uniform(0, 200), rng.uniform(0, 200)];
      boxes.push([x, y, x + rng.uniform(10, 100), y + rng.uniform(10, 100)]);
      labels.push(rng.int(0, NAMES.length));
    }
    targets.push({ boxes, labels });
    const pb = boxes.map((b) => b.map((v) => v + rng.normal() * 4));
    predictions.push({ boxes: pb, labels: labels.map((l) => (rng.random() < 0.2 ? rng.int(0, NAMES.length) : l)), scores: pb.map(() => rng.uniform(0.05, 1)) });
  }
  return { predictions, targets };
}

test('PR and metric-confidence curves: a curve per class and a bold mean, legend named, valid PNGs', async () => {
  const { predictions, targets } = scenes(3, 60);
  const m = yoloMetrics(predictions, targets, { numClasses: NAMES.length });
  const pr = prCurveChart(m, NAMES);
  const series = [...pr.matchAll(/<path class="series" data-name="([^"]*)"/g)].map((x) => x[1]);
  assert.deepEqual(series, [...m.classes.map((c, ci) => `${NAMES[c]} ${m.ap[ci][0].toFixed(3)}`), `all classes ${m.map50.toFixed(3)} mAP@0.5`]);
  await png(pr, 'PR_curve.png');
  for (const metric of ['F1', 'Precision', 'Recall'] as const) {
    const svg = confidenceCurveChart(m, NAMES, metric);
    assert.match(svg, /all classes \d\.\d\d at \d\.\d{3}/);
    await png(svg, `${metric === 'F1' ? 'F1' : metric[0]}_curve.png`);
  }
});

test('detection confusion matrix: counts and normalised, a background row and column', async () => {
  const { predictions, targets } = scenes(4, 60);
  const cm = new DetectionConfusionMatrix(NAMES.length).process(predictions, targets);
  const counts = detectionConfusionChart(cm.matrix, NAMES, false);
  assert.equal((counts.match(/>background</g) ?? []).length, 2);
  assert.match(counts, />Predicted</);
  await png(counts, 'confusion_matrix.png');
  const normalized = detectionConfusionChart(cm.matrix, NAMES, true);
  assert.match(normalized, />\d\.\d\d</);
  await png(normalized, 'confusion_matrix_normalized.png');
});

test('labels figure: one bar per class with its count', async () => {
  const { targets } = scenes(5, 80);
  const items = targets.map((t) => ({ boxes: t.boxes as number[][], labels: Array.from(t.labels as number[]), width: 300, height: 300 }));
  const svg = labelsChart(items, NAMES);
  const bars = [...svg.matchAll(/class="bar" data-count="(\d+)"/g)].map((x) => Number(x[1]));
  const expected = NAMES.map((_, c) => items.reduce((s, it) => s + it.labels.filter((l) => l === c).length, 0));
  assert.deepEqual(bars, expected);
  await png(svg, 'labels.png');
  assert.throws(() => labelsChart([{ boxes: [[0, 0, 1, 1]], labels: [9], width: 2, height: 2 }], NAMES), /label 9 is not a class index/);
});

test("results.csv: Ultralytics' column names and order from metrics.jsonl, results.png grid", async () => {
  const rows: MetricsRow[] = [1, 2, 3].map((epoch) => ({
    type: 'epoch',
    epoch,
    train_loss: 3 / epoch,
    train_loss_box: 1 / epoch,
    train_loss_cls: 1.5 / epoch,
    train_loss_dfl: 0.5 / epoch,
    lr: 0.01 / epoch,
    val_map: 0.1 * epoch,
    val_map50: 0.2 * epoch,
    val_precision: 0.3,
    val_recall: 0.25 * epoch,
    val_loss_box: 1.2 / epoch,
  }));
  rows.splice(1, 0, { type: 'step', step: 5, epoch: 1, loss: 2, lr: 0.01 });
  const table = resultsTable(rows);
  assert.deepEqual(table.columns, ['epoch', 'train/box_loss', 'train/cls_loss', 'train/dfl_loss', 'metrics/precision(B)', 'metrics/recall(B)', 'metrics/mAP50(B)', 'metrics/mAP50-95(B)', 'val/box_loss', 'lr/pg0']);
  const csv = formatResultsCsv(table).trim().split('\n');
  assert.equal(csv.length, 4);
  assert.equal(csv[3], '3,0.333333,0.5,0.166667,0.3,0.75,0.6,0.3,0.4,0.00333333');
  // torchvision's loss terms keep their names.
  assert.deepEqual(resultsTable([{ type: 'epoch', epoch: 1, train_loss_classifier: 1, train_loss_box_reg: 2, lr: 0.1 }]).columns, ['epoch', 'train/classifier_loss', 'train/box_reg_loss', 'lr/pg0']);
  const svg = resultsChart(table);
  assert.equal((svg.match(/<svg /g) ?? []).length, 1 + 8);
  await png(svg, 'results.png');
});
