// iris train on inputs that used to hang, mislead or silently mix runs: errors mid-run with
// worker threads, splits too small to train on, an --out folder holding another run, and
// model selection that must never see the test split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@iris/torch';
import { encodePng } from '@iris/vision/data';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');
const iris = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

/** Runs the CLI; resolves with its exit code and stderr, killing it if it outlives `limitMs`. */
function runLimited(args: string[], limitMs: number, whileRunning?: (child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; signal: string | null; stderr: string; ms: number; timedOut: boolean }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started, timedOut });
    });
    whileRunning?.(child);
  });
}

const quick = (out: string, ...extra: string[]) => ['train', '--dataset', 'fashion-mnist', '--preset', 'quick', '--threads', '1', '--out', out, ...extra];

test('an error in the middle of a run with worker threads ends the process within 10 s', async () => {
  const out = mkdtempSync(join(tmpdir(), 'iris-guard-error-'));
  // best.safetensors cannot be written (a folder is in the way): the run fails after epoch 1's
  // validation, while the validation loader has a worker that was never given a batch.
  mkdirSync(join(out, 'best.safetensors', 'blocker'), { recursive: true });
  const run = await runLimited(quick(out, '--limit', '1024', '--epochs', '2', '--workers', '2', '--batch-size', '256'), 10_000);
  assert.equal(run.timedOut, false, `still running after 10 s: ${run.stderr}`);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /best\.safetensors/);
});

test('a signal in the middle of a run with worker threads ends the process within 10 s', async () => {
  const out = mkdtempSync(join(tmpdir(), 'iris-guard-signal-'));
  const run = await runLimited(quick(out, '--limit', '4096', '--epochs', '5', '--workers', '2', '--batch-size', '64'), 60_000, (child) => {
    const poll = setInterval(() => {
      const log = join(out, 'metrics.jsonl');
      if (existsSync(log) && readFileSync(log, 'utf8').includes('"step":3,')) {
        clearInterval(poll);
        child.kill('SIGTERM');
        const signalled = Date.now();
        child.once('exit', () => assert.ok(Date.now() - signalled < 10_000, 'took over 10 s to exit after SIGTERM'));
      }
    }, 20);
    child.once('exit', () => clearInterval(poll));
  });
  assert.equal(run.timedOut, false, 'the run never reached step 3, or did not exit after SIGTERM');
  assert.equal(run.signal, 'SIGTERM');
});

/** Two classes of six 28x28 PNGs, one truncated: the folder from the issue. */
async function tinyFolder(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'iris-guard-folder-'));
  torch.manualSeed(0);
  for (const cls of ['a', 'b']) {
    mkdirSync(join(root, cls));
    for (let i = 0; i < 6; i++) {
      const image = torch.randint(0, 256, [1, 28, 28]).to('uint8');
      const png = await encodePng(image);
      image.dispose();
      writeFileSync(join(root, cls, `${i}.png`), cls === 'a' && i === 0 ? png.subarray(0, 60) : png);
    }
  }
  return root;
}

test('a training split smaller than one batch is refused with the sizes; a tiny one trains and reports', async () => {
  const folder = await tinyFolder();
  const out = mkdtempSync(join(tmpdir(), 'iris-guard-small-'));
  const args = ['train', '--dataset', `folder:${folder}`, '--epochs', '1', '--model', 'simple_cnn', '--image-size', '28', '--threads', '1'];
  const refused = await runLimited([...args, '--out', join(out, 'a')], 20_000);
  assert.equal(refused.code, 2, refused.stderr);
  // 12 files, 1 held out for validation: 11 training images against the default batch of 128.
  assert.match(refused.stderr, /the training split has 11 images, fewer than one batch of 128/);
  assert.match(refused.stderr, /--batch-size 11 or less/);

  const small = await runLimited([...args, '--batch-size', '4', '--out', join(out, 'b')], 30_000);
  assert.equal(small.timedOut, false);
  assert.equal(small.code, 0, small.stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'b', 'metrics.json'), 'utf8'));
  assert.equal(metrics.train_samples, 11);
  assert.equal(metrics.validation_samples, 1);
  assert.equal(metrics.test_is_validation, true, 'a folder has no test split: its "test" result is the validation one, and says so');
  for (const f of ['loss.png', 'accuracy.png', 'confusion_matrix.png', 'predictions.png']) assert.ok(existsSync(join(out, 'b', f)), f);
});

test('an --out folder holding a run with other options is refused, naming them; --resume extends it on purpose', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'iris-guard-resume-')), 'run');
  const base = quick(out, '--limit', '256', '--epochs', '1');
  const first = iris(...base);
  assert.equal(first.status, 0, first.stderr);
  const firstMetrics = readFileSync(join(out, 'metrics.json'), 'utf8');

  const lr = iris(...base, '--lr', '0.1');
  assert.equal(lr.status, 2, lr.stderr);
  assert.match(lr.stderr, /--lr: 0\.004 in the run, 0\.1 now/);
  assert.match(lr.stderr, /--resume/);
  assert.match(lr.stderr, /--new/);
  const model = iris(...base, '--model', 'resnet18');
  assert.equal(model.status, 2);
  assert.match(model.stderr, /--model: "simple_cnn" in the run, "resnet18" now/);
  assert.doesNotMatch(model.stderr, /missing key/i);
  const longer = iris(...quick(out, '--limit', '256', '--epochs', '2'));
  assert.equal(longer.status, 2);
  assert.match(longer.stderr, /--epochs: 1 in the run, 2 now/);
  assert.match(longer.stderr, /--resume --epochs 2/);
  assert.equal(readFileSync(join(out, 'metrics.json'), 'utf8'), firstMetrics, 'a refused run leaves the folder as it was');

  // The same options resume (a finished run: nothing left to train, the same result).
  const same = iris(...base);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /resumed from/);
  assert.equal(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).test_accuracy, JSON.parse(firstMetrics).test_accuracy);

  // An explicit extension: the recorded options, one more epoch.
  const extended = iris('train', '--out', out, '--resume', '--epochs', '2', '--threads', '1');
  assert.equal(extended.status, 0, extended.stderr);
  assert.match(extended.stdout, /extending the run/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.epochs_run, 2);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).lr, 0.004, 'the extension kept the recorded options');
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'step');
  assert.deepEqual(steps.map((r) => r.step), [1, 2, 3, 4]);

  const fresh = iris(...base, '--lr', '0.1', '--new');
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.doesNotMatch(fresh.stdout, /resumed/);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).lr, 0.1);
});

test('the selected checkpoint is chosen on a split held out from train, never on the test split', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'iris-guard-select-')), 'run');
  const run = iris(...quick(out, '--limit', '1280', '--epochs', '3'));
  assert.equal(run.status, 0, run.stderr);
  const splits = JSON.parse(readFileSync(join(out, 'splits.json'), 'utf8')) as { train: number[]; validation: number[]; testIsValidation: boolean };
  const train = new Set(splits.train);
  assert.equal(splits.testIsValidation, false);
  assert.equal(splits.train.length, 1280);
  assert.equal(splits.validation.length, 256);
  assert.ok(splits.validation.every((i) => !train.has(i) && i >= 0 && i < 60000), 'validation indices are training-file indices, disjoint from the training ones');

  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.selected_on, 'validation');
  assert.equal(metrics.validation_samples, 256);
  assert.equal(metrics.test_samples, 256);
  // The best epoch's validation score is reproduced by evaluating best.safetensors on the held-out
  // training images, and the reported test score by evaluating it on the test split.
  const onValidation = iris('eval', '--run', out, '--split', 'validation', '--batch-size', '128', '--json');
  assert.equal(onValidation.status, 0, onValidation.stderr);
  const validationReport = JSON.parse(onValidation.stdout);
  assert.equal(validationReport.samples, 256);
  assert.equal(validationReport.top1, metrics.best_val_top1);
  const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'epoch');
  assert.equal(Math.max(...epochs.map((r) => r.val_top1)), metrics.best_val_top1);
  const onTest = iris('eval', '--run', out, '--batch-size', '128', '--json');
  assert.equal(onTest.status, 0, onTest.stderr);
  assert.equal(JSON.parse(onTest.stdout).samples, 10000, 'iris eval without --limit uses the whole test split');
});
