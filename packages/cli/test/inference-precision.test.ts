// iris predict / iris eval on the inference fast path: batched predictions equal the run's own
// in-memory evaluation (predictions.csv, the plain fp32 path), --precision bf16 with
// --compare-precision reports the change against fp32, and the flags' misuse is a clear error.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { FashionMnist, encodePng } from '@iris/vision/data';
import { iris } from './helpers/runs.js';

const root = mkdtempSync(join(tmpdir(), 'iris-cli-fast-'));
const out = join(root, 'run');
const images = join(root, 'images');

before(async () => {
  const train = iris('train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--limit', '512', '--steps', '8', '--threads', '1', '--precision', 'fp32', '--out', out);
  assert.equal(train.status, 0, train.stderr);
  const testSet = new FashionMnist(undefined, { train: false });
  mkdirSync(images);
  for (let i = 0; i < 7; i++) writeFileSync(join(images, `${i}.png`), await encodePng((await testSet.get(i)).image));
});

test('predict in batches of 3 gives the run’s own evaluation: same top-1, probability within 1e-4', () => {
  const rows = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const predict = iris('predict', images, '--run', out, '--json', '--batch-size', '3', '--precision', 'fp32');
  assert.equal(predict.status, 0, predict.stderr);
  const results = JSON.parse(predict.stdout) as { file: string; predictions: { index: number; probability: number }[] }[];
  assert.equal(results.length, 7);
  for (const r of results) {
    const i = Number(r.file.match(/(\d+)\.png$/)![1]);
    const [, , predicted, confidence] = rows[i];
    assert.equal(r.predictions[0].index, predicted, `${r.file}: top-1`);
    assert.ok(Math.abs(r.predictions[0].probability - confidence) <= 1e-4, `${r.file}: probability ${r.predictions[0].probability} vs ${confidence}`);
  }
});

test('eval --precision bf16 --compare-precision reports top-1 in both precisions and their agreement', (t) => {
  if (!torch.cpu.bf16Support().supported) return t.skip('no native bf16 on this CPU');
  const evaluation = iris('eval', '--run', out, '--precision', 'bf16', '--compare-precision', '--json');
  assert.equal(evaluation.status, 0, evaluation.stderr);
  const report = JSON.parse(evaluation.stdout);
  const fp32 = JSON.parse(iris('eval', '--run', out, '--json').stdout);
  const c = report.precisionComparison;
  assert.equal(c.precision, 'bf16');
  assert.equal(c.top1, report.top1);
  assert.equal(c.fp32Top1, fp32.top1, 'the fp32 side is what iris eval reports in fp32');
  assert.ok(Math.abs(c.top1ChangePoints - (c.top1 - c.fp32Top1) * 100) < 1e-9);
  assert.ok(c.top1Agreement >= 0.99, `bf16 and fp32 agree on ${c.top1Agreement} of top-1 classes`);
  console.log(`# bf16 vs fp32 on ${report.samples} test images: top-1 ${c.top1} vs ${c.fp32Top1} (${c.top1ChangePoints.toFixed(2)} points), agreement ${c.top1Agreement}`);
  const text = iris('eval', '--run', out, '--precision', 'bf16', '--compare-precision');
  assert.match(text.stdout, /bf16 vs fp32: top-1 \d+\.\d\d% vs \d+\.\d\d% \([+-]\d+\.\d\d points\), same top-1 class on \d+\.\d\d% of images/);
});

test('misused precision flags are clear errors', () => {
  const fp16 = iris('predict', images, '--run', out, '--precision', 'fp16');
  assert.equal(fp16.status, 2, fp16.stderr);
  assert.match(fp16.stderr, /--precision fp16 needs a CUDA device, and the model runs on 'cpu'; use --precision bf16/);
  const compare = iris('eval', '--run', out, '--precision', 'fp32', '--compare-precision');
  assert.equal(compare.status, 2, compare.stderr);
  assert.match(compare.stderr, /--compare-precision: compares a lower precision with fp32; add --precision bf16/);
  const batch = iris('predict', images, '--run', out, '--batch-size', '0');
  assert.equal(batch.status, 2);
  assert.match(batch.stderr, /--batch-size 0: expected a whole number >= 1/);
});
