import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadStateDictFile } from '@iris/torch/io';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iris.js');
const args = (out: string) => [
  cli, 'train', '--dataset', 'fashion-mnist', '--model', 'simple_cnn', '--epochs', '3', '--limit', '1280', '--batch-size', '64',
  '--optimizer', 'sgd', '--lr', '0.05', '--scheduler', 'cosine', '--ema', '0.9', '--checkpoint-every', '3', '--threads', '1', '--out', out,
];

function stepsLogged(out: string): number[] {
  const path = join(out, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'step').map((r) => r.step);
}

test('a training run killed with SIGKILL mid-epoch resumes to the same final weights', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-resume-'));
  const straight = join(root, 'straight');
  const first = spawnSync(process.execPath, args(straight), { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);

  const killed = join(root, 'killed');
  const child = spawn(process.execPath, args(killed), { stdio: 'ignore' });
  // 20 steps per epoch: kill once step 31 (the middle of epoch 2) is logged.
  const deadline = Date.now() + 120_000;
  while (Math.max(0, ...stepsLogged(killed)) < 31) {
    assert.ok(Date.now() < deadline, 'the run did not reach epoch 2 in time');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(existsSync(join(killed, 'last.ckpt')), 'a checkpoint was written before the kill');
  const resumed = spawnSync(process.execPath, args(killed), { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed from/);

  const a = loadStateDictFile(join(straight, 'last.ckpt'));
  const b = loadStateDictFile(join(killed, 'last.ckpt'));
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [key, value] of a) {
    if (key === 'rng.cpu') continue;
    assert.ok(value.equal(b.get(key)!), `${key} differs between the uninterrupted and the resumed run`);
  }
  const metricsA = JSON.parse(readFileSync(join(straight, 'metrics.json'), 'utf8'));
  const metricsB = JSON.parse(readFileSync(join(killed, 'metrics.json'), 'utf8'));
  assert.equal(metricsB.test_accuracy, metricsA.test_accuracy);
});
