// What the run-folder tests share: the iris command, the steps a run has logged, and the SIGKILL
// test itself (an uninterrupted run against one killed mid-epoch and resumed: same checkpoint).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadStateDictFile } from '@iris/torch/io';

export const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'iris.js');

/** Runs `iris ARGS...` to completion (10 minutes at most). */
export const iris = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000 });

/** The optimizer steps RUN/metrics.jsonl has logged so far. */
export function stepsLogged(out: string): number[] {
  const path = join(out, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'step').map((r) => r.step);
}

/**
 * Runs `iris ...args(dir)` straight through in one folder and, in another, kills it with SIGKILL
 * once step `killAfter` is logged, then runs it again (it must resume). Asserts that both end with
 * the same checkpoint (every tensor but the RNG state) and returns the two metrics.json.
 */
export async function assertResumesExactly(root: string, args: (out: string) => string[], killAfter: number, timeoutMs = 300_000): Promise<{ straight: any; resumed: any }> {
  const straight = join(root, 'straight');
  const first = iris(...args(straight));
  assert.equal(first.status, 0, first.stderr);

  const killed = join(root, 'killed');
  const child = spawn(process.execPath, [cli, ...args(killed)], { stdio: 'ignore' });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Math.max(0, ...stepsLogged(killed)) < killAfter) {
      assert.ok(Date.now() < deadline, `the run did not reach step ${killAfter} in time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  assert.ok(existsSync(join(killed, 'last.ckpt')), 'a checkpoint was written before the kill');
  const resumed = iris(...args(killed));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed from/);
  const a = loadStateDictFile(join(straight, 'last.ckpt'));
  const b = loadStateDictFile(join(killed, 'last.ckpt'));
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [key, value] of a) {
    if (key === 'rng.cpu') continue;
    assert.ok(value.equal(b.get(key)!), `${key} differs between the uninterrupted and the resumed run`);
  }
  const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
  return { straight: metrics(straight), resumed: metrics(killed) };
}
