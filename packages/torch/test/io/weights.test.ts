import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/index.js';
import { loadStateDictFile, saveSafetensors, loadCheckpointFile } from '../../src/io/index.js';
import { runPython, assertClose } from '../helpers/python.js';

test('a torch.save checkpoint loads as tensors equal to PyTorch values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-weights-'));
  const path = join(dir, 'ckpt.pth');
  const ref = runPython('io/weights_ref.py', { path });
  const sd = loadStateDictFile(path);
  assert.deepEqual([...sd.keys()], Object.keys(ref));
  for (const [name, expected] of Object.entries<any>(ref)) {
    const t = sd.get(name)!;
    assert.equal(t.dtype, expected.dtype, name);
    assertClose(t, expected, { rtol: 0, atol: 0, what: name });
  }
  const ckpt = loadCheckpointFile(path) as Map<string, unknown>;
  assert.equal(ckpt.get('epoch'), 2);
});

test('saveSafetensors round-trips every dtype bit for bit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-weights-'));
  const path = join(dir, 'w.safetensors');
  torch.manualSeed(5);
  const tensors = new Map<string, torch.Tensor>([
    ['f32', torch.randn([3, 4])],
    ['f16', torch.randn([7]).half()],
    ['bf16', torch.randn([7]).bfloat16()],
    ['i64', torch.randint(-100, 100, [5])],
    ['b', torch.randn([6]).gt(0)],
    ['strided', torch.randn([4, 3]).t()],
  ]);
  saveSafetensors(path, tensors, { format: 'pt' });
  const back = loadStateDictFile(path);
  for (const [name, t] of tensors) {
    const u = back.get(name)!;
    assert.equal(u.dtype, t.dtype, name);
    assert.deepEqual(u.shape, t.shape, name);
    assert.ok(u.equal(t), `${name} differs after the round trip`);
  }
});

test('a corrupt weight file is refused with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-weights-'));
  const path = join(dir, 'w.safetensors');
  saveSafetensors(path, { w: torch.ones([100]) });
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadStateDictFile(path), (e: Error) => e.message.startsWith(path));
});

