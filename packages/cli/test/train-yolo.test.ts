// iris train --task detect with a YOLO on Fashion-MNIST scenes: Ultralytics' recipe and run folder
// (results.csv with its box/cls/dfl columns, its curves and confusion matrix), its validator's
// settings recorded so iris eval reproduces the run's numbers, iris predict, and a run killed with
// SIGKILL mid-epoch (mosaic, warm-up with accumulation, EMA with tau) resumes to the same weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertResumesExactly, iris } from './helpers/runs.js';

const root = mkdtempSync(join(tmpdir(), 'iris-yolo-'));
const scenes = join(root, 'scenes');
after(() => rmSync(root, { recursive: true, force: true }));

before(() => {
  const made = iris('data', 'make', 'fashion-mnist-scenes', '--out', scenes, '--train', '40', '--val', '8', '--size', '160', '--seed', '4', '--max-items', '3');
  assert.equal(made.status, 0, made.stderr);
});

const trainArgs = (out: string, ...extra: string[]) => [
  'train', '--task', 'detect', '--model', 'yolo11n', '--dataset', `coco:${scenes}`, '--imgsz', '160', '--batch-size', '4', '--nbs', '16',
  '--epochs', '2', '--close-mosaic', '1', '--warmup-epochs', '1', '--workers', '0', '--threads', '1', '--out', out, ...extra,
];

test('a YOLO run trains with Ultralytics\' recipe and fills its folder; iris eval reproduces it with the validator\'s settings; iris predict', () => {
  const out = join(root, 'run');
  const train = iris(...trainArgs(out));
  assert.equal(train.status, 0, train.stderr);
  // 36 training scenes after the held-out 4: ceil(36 / nbs 16) x 2 epochs = 6 iterations -> Ultralytics' rule: AdamW at 0.002 * 5 / (4 + 10).
  assert.match(train.stdout, /optimizer: 'optimizer=auto' chose AdamW from 6 iterations; AdamW\(lr=0\.000714, momentum=0\.9\)/);
  for (const file of ['results.csv', 'results.png', 'PR_curve.png', 'F1_curve.png', 'confusion_matrix.png', 'labels.png', 'train_batch0.png', 'best.safetensors', 'last.ckpt', 'predictions.png']) {
    assert.ok(existsSync(join(out, file)), `run folder lacks ${file}`);
  }
  const header = readFileSync(join(out, 'results.csv'), 'utf8').split('\n')[0].split(',');
  for (const column of ['train/box_loss', 'train/cls_loss', 'train/dfl_loss', 'metrics/mAP50(B)', 'metrics/mAP50-95(B)']) assert.ok(header.includes(column), `results.csv lacks ${column}: ${header}`);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  assert.deepEqual(run.evalOptions, { scoreThresh: 0.001, nmsThresh: 0.7, detectionsPerImage: 300, multiLabel: true });
  assert.equal(run.buildOptions.imgsz, 160);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  const evaluation = iris('eval', '--run', out, '--json');
  assert.equal(evaluation.status, 0, evaluation.stderr);
  assert.deepEqual(JSON.parse(evaluation.stdout).stats, metrics.test_coco_stats, 'iris eval reproduces the run\'s final evaluation');

  // A quoted pattern is matched by iris itself (here: the 8 val images).
  const predict = iris('predict', join(scenes, 'images', 'val', '*.png'), '--run', out, '--json', '--score-thresh', '0.0');
  assert.equal(predict.status, 0, predict.stderr);
  const results = JSON.parse(predict.stdout) as { width: number; detections: { box: number[] }[] }[];
  assert.equal(results.length, 8);
  for (const r of results) for (const d of r.detections) assert.ok(d.box.every((v) => v >= 0 && v <= 160), `box ${d.box} outside the 160 px image`);
});

test('a YOLO run killed with SIGKILL mid-epoch resumes to the same final weights (mosaic, warm-up, accumulation, EMA)', async () => {
  const args = (out: string) => trainArgs(out, '--checkpoint-every', '2');
  // 9 batches per epoch, accumulating 1-2 of them during the warm-up: step 8 lies in epoch 2.
  const { straight, resumed } = await assertResumesExactly(join(root, 'resume'), args, 8);
  assert.deepEqual(resumed.test_coco_stats, straight.test_coco_stats);
});
