// Parity references for vision tests: Debian's torchvision 0.14 run at test time. Small values
// cross as JSON; weights and outputs cross as torch.save files in a temp dir, read by loadStateDictFile.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor, DType } from '@iris/torch';

export const PYTHON = process.env.IRIS_PYTHON ?? '/usr/bin/python3';

export interface JsonTensor {
  shape: number[];
  dtype: DType;
  data: number[];
}

/** The package's source folder (scripts live in test/, not in dist/). */
function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Runs `packages/vision/test/<script>` with `request` as JSON on stdin and returns its JSON reply; `from iris_ref import ...` works. */
export function runPython<T = any>(script: string, request: unknown, options: { timeoutMs?: number } = {}): T {
  const root = packageDir();
  const pythonPath = [join(root, 'test'), join(root, '..', 'torch', 'test', 'helpers')].join(':');
  const out = execFileSync(PYTHON, [join(root, 'test', script)], {
    input: JSON.stringify(request),
    env: { ...process.env, PYTHONPATH: pythonPath, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
    maxBuffer: 1 << 30,
    timeout: options.timeoutMs ?? 300_000,
  });
  return JSON.parse(out.toString('utf8')) as T;
}

/** A fresh temp dir for torch.save files, removed by the returned cleanup. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'iris-vision-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function toJson(t: Tensor): JsonTensor {
  return { shape: t.shape, dtype: t.dtype, data: t.toFlatArray() };
}

export function fromJson(j: JsonTensor): Tensor {
  return torch.tensor(j.data, { dtype: j.dtype, shape: j.shape });
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise, and equal shapes; names the worst element. */
export function assertClose(actual: Tensor, expected: Tensor | JsonTensor, options: { rtol?: number; atol?: number; what?: string } = {}): void {
  const what = options.what ?? 'tensor';
  const e = expected instanceof torch.Tensor ? expected.toFlatArray() : expected.data;
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-6;
  const a = actual.toFlatArray();
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= atol + rtol * Math.abs(e[i])) && !(Number.isNaN(a[i]) && Number.isNaN(e[i]))) {
      assert.fail(`${what}: element ${i} is ${a[i]}, PyTorch has ${e[i]} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/**
 * The model-zoo criterion: max |actual - expected| <= tol * max |expected| (default 1e-4), same
 * shape. `floor` is a least scale, for tensors that are zero up to rounding (e.g. the gradient of
 * a bias that a train-mode BatchNorm cancels), whose own max is noise.
 */
export function assertMaxRelClose(actual: Tensor, expected: Tensor, options: { tol?: number; floor?: number; what?: string } = {}): { maxDiff: number; maxRef: number } {
  const what = options.what ?? 'output';
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toFlatArray();
  const e = expected.toFlatArray();
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(e[i]));
  }
  const tol = options.tol ?? 1e-4;
  const scale = Math.max(maxRef, options.floor ?? 0);
  assert.ok(maxDiff <= tol * scale, `${what}: max |Δ| ${maxDiff} > ${tol} · ${scale === maxRef ? 'max |ref|' : 'floor'} ${scale}`);
  return { maxDiff, maxRef };
}
