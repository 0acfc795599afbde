// iris train --task detect end to end on Fashion-MNIST scenes: the run folder fills itself, iris
// eval reproduces the run's own COCO numbers, iris predict draws boxes, and a run killed with
// SIGKILL mid-epoch resumes to the same weights as an uninterrupted one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertResumesExactly, cli, iris } from './helpers/runs.js';
const root = mkdtempSync(join(tmpdir(), 'iris-detect-'));
const scenes = join(root, 'scenes');
after(() => rmSync(root, { recursive: true, force: true }));

before(() => {
  const made = iris('data', 'make', 'fashion-mnist-scenes', '--out', scenes, '--train', '40', '--val', '8', '--size', '160', '--seed', '3', '--max-items', '3');
  assert.equal(made.status, 0, made.stderr);
});

const trainArgs = (out: string, ...extra: string[]) => [
  cli, 'train', '--task', 'detect', '--model', 'ssdlite320_mobilenet_v3_large', '--dataset', `coco:${scenes}`, '--batch-size', '4',
  '--optimizer', 'adamw', '--lr', '0.001', '--scheduler', 'cosine', '--workers', '0', '--threads', '1', '--out', out, ...extra,
];

test('a detection run fills its folder; iris eval gives the run\'s own COCO numbers; iris predict draws boxes', () => {
  const out = join(root, 'run');
  const train = spawnSync(process.execPath, trainArgs(out, '--epochs', '1'), { encoding: 'utf8', timeout: 600_000 });
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /val mAP .* on 8 images with the weights of epoch 1/);
  for (const file of ['config.json', 'run.json', 'metrics.json', 'metrics.jsonl', 'last.ckpt', 'best.safetensors', 'loss.png', 'map.png', 'pr_curves.png', 'predictions.png', 'ground_truth.png']) {
    assert.ok(existsSync(join(out, file)), `run folder lacks ${file}`);
  }
  // Ultralytics' run folder, for a torchvision detector too.
  for (const file of ['results.csv', 'results.png', 'PR_curve.png', 'F1_curve.png', 'P_curve.png', 'R_curve.png', 'confusion_matrix.png', 'confusion_matrix_normalized.png', 'labels.png', 'train_batch0.png']) {
    assert.ok(existsSync(join(out, file)), `run folder lacks ${file}`);
  }
  const csvLines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  assert.deepEqual(csvLines[0].split(','), ['epoch', 'train/bbox_regression_loss', 'train/classification_loss', 'metrics/precision(B)', 'metrics/recall(B)', 'metrics/mAP50(B)', 'metrics/mAP50-95(B)', 'lr/pg0']);
  assert.equal(csvLines.length, 2);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.task, 'detect');
  assert.equal(metrics.test_split, 'val');
  assert.equal(metrics.test_samples, 8);
  assert.equal(metrics.test_coco_stats.length, 12);
  assert.equal(Object.keys(metrics.per_class).length, 10);
  const epochRow = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.type === 'epoch');
  assert.ok(epochRow.train_loss_classification > 0 && epochRow.train_loss_bbox_regression > 0 && epochRow.train_loss > 0, 'the loss terms are logged per epoch');
  assert.ok(typeof epochRow.val_map === 'number' && typeof epochRow.val_map50 === 'number');

  const evaluation = iris('eval', '--run', out, '--json');
  assert.equal(evaluation.status, 0, evaluation.stderr);
  const report = JSON.parse(evaluation.stdout);
  assert.equal(report.split, 'val');
  assert.deepEqual(report.stats, metrics.test_coco_stats, 'iris eval reproduces the run\'s final evaluation');

  const images = join(scenes, 'images', 'val');
  const predict = iris('predict', images, '--run', out, '--json', '--save-txt', '--score-thresh', '0.0');
  assert.equal(predict.status, 0, predict.stderr);
  const results = JSON.parse(predict.stdout) as { file: string; width: number; detections: { label: string; score: number; box: number[] }[] }[];
  assert.equal(results.length, 8);
  for (const r of results) {
    assert.equal(r.width, 160);
    for (const d of r.detections) assert.ok(d.box.every((v) => v >= 0 && v <= 160) && d.box[2] >= d.box[0] && d.box[3] >= d.box[1], `${r.file}: box ${d.box} outside the image`);
  }
  const written = readdirSync(join(out, 'predict'));
  assert.ok(written.includes('000000.png') && written.includes('000000.txt') && written.includes('grid.png'), `predict wrote ${written}`);
});

test('a detection run killed with SIGKILL mid-epoch resumes to the same final weights', async () => {
  const args = (out: string) => trainArgs(out, '--epochs', '2', '--checkpoint-every', '2', '--augment', 'ssdlite').slice(1);
  // 9 steps per epoch (36 training images): kill once step 12, in epoch 2, is logged.
  const { straight, resumed } = await assertResumesExactly(join(root, 'resume'), args, 12);
  assert.deepEqual(resumed.test_coco_stats, straight.test_coco_stats);
});
