// Shared by the transforms tests: seeded test images and the comparison with torchvision's output.
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor, DType } from '@iris/torch';
import { Rng } from '../src/data/rng.js';
import type { JsonTensor } from './helpers/reference.js';

/** A seeded image: uniform uint8 values, or float32 values in [0, 1). */
export function seededImage(shape: number[], dtype: DType, seed: number): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'uint8') return torch.tensor(Uint8Array.from({ length: n }, () => rng.int(0, 256)), { shape });
  return torch.tensor(Float32Array.from({ length: n }, () => rng.random()), { shape }).to(dtype);
}

/**
 * torchvision's result bit for bit by default: both run the same libtorch kernels in the same
 * order, so even float outputs agree exactly; `atol` loosens floats. The dtype must match.
 */
export function assertSameImage(actual: Tensor, expected: JsonTensor, what: string, atol = 0): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toFlatArray();
  const e = expected.data;
  const tol = actual.isFloatingPoint() ? atol : 0;
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= tol) && !(d <= worstDiff)) {
      worst = i;
      worstDiff = Number.isNaN(d) ? Infinity : d;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${a[worst]}, torchvision has ${e[worst]} (|Δ| ${worstDiff}, tolerance ${tol})`);
}

/** The random draws torchvision must see to make the choices Iris made (see transforms_ref.py). */
export interface Patch {
  /** Values torch.rand returns, in order. */
  rand?: number[];
  /** Values torch.randint returns, in order. */
  randint?: number[];
  /** lambda, as torch._sample_dirichlet([alpha, alpha])[0]. */
  dirichlet?: number;
  /** What torchvision.transforms.<class>.get_params returns. */
  get_params?: { class: string; result: unknown };
  /** The index random.choices picks. */
  choice?: number;
}

/** Mean and (population) variance. */
export function moments(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, variance };
}

/** Asserts two sample means agree within `sigmas` standard errors of their difference. */
export function assertSameMean(a: number[], b: number[], what: string, sigmas = 4): void {
  const ma = moments(a);
  const mb = moments(b);
  const se = Math.sqrt(ma.variance / a.length + mb.variance / b.length);
  assert.ok(Math.abs(ma.mean - mb.mean) <= sigmas * se + 1e-12, `${what}: mean ${ma.mean} (Iris, n=${a.length}) vs ${mb.mean} (torchvision, n=${b.length}); allowed ${sigmas} x ${se}`);
}

/** Asserts a frequency is within `sigmas` binomial standard errors of p. */
export function assertRate(hits: number, n: number, p: number, what: string, sigmas = 4): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(hits / n - p) <= sigmas * se, `${what}: rate ${hits / n} over ${n} draws, expected ${p} ± ${sigmas} x ${se}`);
}
