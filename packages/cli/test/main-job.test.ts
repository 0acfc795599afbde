import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');

test('the main job (iris train --dataset fashion-mnist --preset quick) reaches at least 92.5% test accuracy', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'iris-main-')), 'run');
  const run = spawnSync(process.execPath, [cli, 'train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--out', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  // The 600 s budget is a speed target, measured and reported rather than asserted here.
  console.log(`main job: test_accuracy ${metrics.test_accuracy}, seconds ${metrics.seconds.toFixed(1)}`);
  assert.ok(metrics.test_accuracy >= 0.925, `test accuracy ${(metrics.test_accuracy * 100).toFixed(2)}% is below 92.5%`);
});
