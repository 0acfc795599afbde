import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FashionMnist, encodePng } from '@iris/vision/data';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');
const iris = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('train writes a complete run folder; predict on PNG files agrees with the in-memory evaluation', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-cli-'));
  const out = join(root, 'run');
  const train = iris('train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--epochs', '2', '--limit', '2560', '--out', out);
  assert.equal(train.status, 0, train.stderr);
  for (const file of ['config.json', 'run.json', 'metrics.json', 'metrics.jsonl', 'last.ckpt', 'best.safetensors', 'predictions.csv', 'loss.png', 'accuracy.png', 'confusion_matrix.png', 'predictions.png']) {
    assert.ok(existsSync(join(out, file)), `run folder lacks ${file}`);
  }
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.ok(metrics.test_accuracy > 0.6 && metrics.test_accuracy <= 1, `test accuracy ${metrics.test_accuracy} after 2 short epochs`);
  assert.ok(metrics.seconds > 0);
  assert.equal(metrics.confusion_matrix.length, 10);

  // The test split's first images, as PNG files: decoding + preprocessing must give the same
  // predictions as the training pipeline's in-memory evaluation (predictions.csv).
  const rows = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const test = new FashionMnist(undefined, { train: false });
  const images = join(root, 'images');
  mkdirSync(images);
  for (let i = 0; i < 8; i++) writeFileSync(join(images, `${i}.png`), await encodePng((await test.get(i)).image));
  const predict = iris('predict', images, '--run', out, '--json', '--topk', '3');
  assert.equal(predict.status, 0, predict.stderr);
  const results = JSON.parse(predict.stdout) as { file: string; predictions: { index: number; probability: number }[] }[];
  assert.equal(results.length, 8);
  for (const r of results) {
    const i = Number(r.file.match(/(\d+)\.png$/)![1]);
    const [, , predicted, confidence] = rows[i];
    assert.equal(r.predictions[0].index, predicted, `${r.file}: top-1 differs from the run's evaluation`);
    // The quick preset trains and evaluates in bf16; predict folds each BN into its conv before the
    // bf16 rounding, so the probabilities agree to bf16's rounding (~3e-3 seen), not to the last fp32 digit.
    assert.ok(Math.abs(r.predictions[0].probability - confidence) < 1e-2, `${r.file}: probability ${r.predictions[0].probability} vs ${confidence}`);
  }

  const evaluation = iris('eval', '--run', out, '--json');
  assert.equal(evaluation.status, 0, evaluation.stderr);
  const report = JSON.parse(evaluation.stdout);
  assert.equal(report.samples, 10000);
  assert.ok(report.top1 > 0.6);
});

test('bad input gets a clear error, not a stack trace', () => {
  const unknown = iris('train', '--dataset', 'fashion-mnist', '--learning-rate', '0.1');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option --learning-rate/);
  const badDataset = iris('train', '--dataset', 'imagenet-22k');
  assert.equal(badDataset.status, 2);
  assert.match(badDataset.stderr, /--dataset 'imagenet-22k'/);
  const noRun = iris('predict', '/tmp', '--run', '/nonexistent-run');
  assert.notEqual(noRun.status, 0);
  assert.match(noRun.stderr, /not a run folder/);
  const models = iris('models', 'info', 'resnet5');
  assert.equal(models.status, 1);
  assert.match(models.stderr, /unknown model 'resnet5'/);
});

test('train --steps stops after that many optimizer steps; --gradual-unfreeze and per-group rates show in the log', () => {
  const out = mkdtempSync(join(tmpdir(), 'iris-cli-steps-'));
  // 640 training images at 64 a batch: 10 batches an epoch, so 13 steps end inside epoch 2.
  const train = iris(
    'train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--limit', '640', '--batch-size', '64', '--steps', '13',
    '--gradual-unfreeze', '1', '--backbone-lr-scale', '0.1', '--layer-decay', '0.5', '--threads', '1', '--out', out,
  );
  assert.equal(train.status, 0, train.stderr);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const steps = lines.filter((r) => r.type === 'step');
  assert.equal(steps.length, 13);
  assert.deepEqual(steps.map((r) => r.step), Array.from({ length: 13 }, (_, i) => i + 1));
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.steps, 13);
  assert.equal(metrics.epochs_run, 2);
  assert.match(train.stdout, /epoch 1: training head\n/);
  assert.match(train.stdout, /epoch 2: training bn2, head\n/);
  // One-cycle's peak is 4e-3 for the head; the log records the first group's (the stem: 4e-3 × 0.1 × 0.5²) rate.
  const peak = Math.max(...steps.map((r) => r.lr));
  assert.ok(peak <= 4e-3 * 0.1 * 0.25 * (1 + 1e-9) && peak > 4e-3 * 0.1 * 0.25 * 0.5, `stem's peak lr ${peak}`);

  const contradict = iris('train', '--dataset', 'fashion-mnist', '--freeze-backbone', '--gradual-unfreeze', '1', '--out', out);
  assert.equal(contradict.status, 2);
  assert.match(contradict.stderr, /--freeze-backbone and --gradual-unfreeze contradict/);
  const badSteps = iris('train', '--dataset', 'fashion-mnist', '--steps', '2.5', '--out', out);
  assert.equal(badSteps.status, 2);
  assert.match(badSteps.stderr, /--steps 2\.5: expected a whole number >= 1/);
});

test('train --mixup-alpha/--cutmix-alpha mix the batches the loss sees', () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-cli-mix-'));
  const firstLosses = (out: string, ...extra: string[]) => {
    const run = iris('train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--limit', '256', '--steps', '2', '--threads', '1', '--out', out, ...extra);
    assert.equal(run.status, 0, run.stderr);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return lines.filter((r) => r.type === 'step').map((r) => r.loss as number);
  };
  const plain = firstLosses(join(root, 'plain'));
  const again = firstLosses(join(root, 'again'));
  const mixed = firstLosses(join(root, 'mixed'), '--mixup-alpha', '0.2', '--cutmix-alpha', '1.0');
  // Same seed, same first batch, same initial weights: only the mixing can change the first loss.
  assert.equal(again[0], plain[0], 'runs are deterministic');
  assert.ok(Number.isFinite(mixed[0]) && mixed[0] !== plain[0], `first loss ${mixed[0]} (mixed) vs ${plain[0]} (plain)`);
});
