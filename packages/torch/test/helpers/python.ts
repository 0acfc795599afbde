// Runs the PyTorch reference (Debian's python3-torch) for parity tests: JSON in on stdin, JSON out.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Tensor, tensor, type DType } from '../../src/index.js';

export const PYTHON = process.env.IRIS_PYTHON ?? '/usr/bin/python3';

export interface JsonTensor {
  shape: number[];
  dtype: DType;
  data: number[];
}

/** The package's source test folder (scripts live there, not in dist/). */
export function testSourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'test');
}

/** Runs `test/<script>` with `request` as JSON on stdin and returns its JSON reply. */
export function runPython<T = any>(script: string, request: unknown, options: { timeoutMs?: number } = {}): T {
  const path = join(testSourceDir(), script);
  const out = execFileSync(PYTHON, [path], {
    input: JSON.stringify(request),
    env: { ...process.env, PYTHONPATH: join(testSourceDir(), 'helpers'), OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
    maxBuffer: 1 << 30,
    timeout: options.timeoutMs ?? 300_000,
  });
  return JSON.parse(out.toString('utf8')) as T;
}

export function toJson(t: Tensor): JsonTensor {
  return { shape: t.shape, dtype: t.dtype, data: t.toFlatArray() };
}

export function fromJson(j: JsonTensor): Tensor {
  return tensor(j.data, { dtype: j.dtype, shape: j.shape });
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise, and equal shapes.
 * The message names the worst element.
 */
export function assertClose(actual: Tensor, expected: JsonTensor, options: { rtol?: number; atol?: number; what?: string } = {}): void {
  const what = options.what ?? 'tensor';
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-6;
  const a = actual.toFlatArray();
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const e = expected.data[i];
    const d = Math.abs(a[i] - e);
    const excess = d - (atol + rtol * Math.abs(e));
    if (Number.isNaN(a[i]) !== Number.isNaN(e) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      if (Number.isNaN(a[i]) !== Number.isNaN(e)) break;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${a[worst]}, PyTorch has ${expected.data[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
