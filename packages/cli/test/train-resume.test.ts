// A classification run killed with SIGKILL mid-epoch (EMA, cosine schedule, a checkpoint every 3
// steps) resumes to the same final weights and metrics as an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertResumesExactly } from './helpers/runs.js';

const args = (out: string) => [
  'train', '--dataset', 'fashion-mnist', '--model', 'simple_cnn', '--epochs', '3', '--limit', '1280', '--batch-size', '64',
  '--optimizer', 'sgd', '--lr', '0.05', '--scheduler', 'cosine', '--ema', '0.9', '--checkpoint-every', '3', '--threads', '1', '--out', out,
];

test('a training run killed with SIGKILL mid-epoch resumes to the same final weights', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-resume-'));
  try {
    // 20 steps per epoch: kill once step 31 (the middle of epoch 2) is logged.
    const { straight, resumed } = await assertResumesExactly(root, args, 31, 120_000);
    assert.equal(resumed.test_accuracy, straight.test_accuracy);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
