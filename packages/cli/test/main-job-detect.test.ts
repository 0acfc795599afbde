// Main job 2 shortened for CI: the quick detection preset (yolo11n, Ultralytics' recipe, 256 px,
// bf16) for 3 epochs on 1,000 Fashion-MNIST scenes must detect well above chance (a detector that
// has learned nothing scores mAP@0.5 ~0.00 here). The full job and its 15-minute target are in
// BENCHMARKS.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iris } from './helpers/runs.js';

// Measured 0.122 (mAP 0.064) in 111 s on the dev VM; the floor leaves room for another CPU's numerics (fp32 without bf16).
const FLOOR = 0.03;

test('main job 2, shortened: yolo11n on 1,000 Fashion-MNIST scenes for 3 epochs scores a val mAP@0.5 well above chance', () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-main-detect-'));
  try {
    const scenes = join(root, 'scenes');
    const made = iris('data', 'make', 'fashion-mnist-scenes', '--out', scenes, '--train', '1000', '--val', '100', '--size', '256', '--seed', '1');
    assert.equal(made.status, 0, made.stderr);
    const out = join(root, 'run');
    const run = iris('train', '--task', 'detect', '--dataset', `coco:${scenes}`, '--model', 'yolo11n', '--preset', 'quick', '--epochs', '3', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    console.log(`main job 2 (short): val mAP@0.5 ${metrics.test_map50.toFixed(4)}, mAP ${metrics.test_map.toFixed(4)} in ${metrics.seconds.toFixed(1)} s`);
    assert.ok(metrics.test_map50 >= FLOOR, `val mAP@0.5 ${metrics.test_map50} is below the floor ${FLOOR}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
