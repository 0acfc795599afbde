import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/index.js';
import { runPython, assertClose, toJson } from './helpers/python.js';

test('async ops run off the event loop and equal the sync result', async () => {
  torch.manualSeed(1);
  const a = torch.randn([1024, 1024]);
  const b = torch.randn([1024, 1024]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  const results = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(() => torch.matmulAsync(a, b)));
  const elapsed = performance.now() - started;
  clearInterval(timer);
  // The timer fires while the thread pool multiplies; a blocking call would leave it at ~0.
  assert.ok(ticks >= Math.min(5, elapsed / 10), `event loop ticked ${ticks} times in ${elapsed.toFixed(0)} ms`);
  const sync = a.matmul(b);
  for (const r of results) assert.ok(r.equal(sync), 'async matmul differs from sync matmul');
});

test('async op errors reject with libtorch message', async () => {
  await assert.rejects(torch.mmAsync(torch.ones([2, 3]), torch.ones([2, 3])), /2x3 and 2x3/);
});

test('CPU thread count is settable', () => {
  const original = torch.getNumThreads();
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(2);
  assert.equal(torch.getNumThreads(), 2);
  torch.setNumThreads(original);
  assert.throws(() => torch.setNumThreads(0), TypeError);
});

test('CUDA reports unavailable on a CPU build, and moving there says so', () => {
  if (torch.cuda.isAvailable()) return;
  assert.equal(torch.cuda.deviceCount(), 0);
  assert.throws(() => torch.ones([2]).cuda(), Error);
});

test('RNG state saves and restores the generator, and equals torch.get_rng_state()', () => {
  torch.manualSeed(123);
  const state = torch.getRngState();
  const ref = runPython('tensor_ref.py', { op: 'rngState' });
  assertClose(state, ref.state, { rtol: 0, atol: 0, what: 'rng state bytes' });
  const a = torch.randn([5]);
  torch.setRngState(state);
  const b = torch.randn([5]);
  assert.ok(a.equal(b), 'restoring the state should replay the same draws');
});

test('autocast on CPU runs matmul in bfloat16 like torch.autocast', () => {
  torch.manualSeed(7);
  const a = torch.randn([8, 16]);
  const b = torch.randn([16, 4]);
  const out = torch.autocast('cpu', () => a.matmul(b));
  assert.equal(out.dtype, 'bfloat16');
  assert.equal(a.matmul(b).dtype, 'float32', 'autocast must end with its scope');
  const ref = runPython('tensor_ref.py', { op: 'autocast', a: toJson(a), b: toJson(b) });
  assertClose(out, ref.out, { rtol: 0, atol: 0, what: 'autocast matmul' });
});
