// Seeded test tensors and their JSON for the parity suites (ops-parity, functional): specs
// describe inputs, a seeded generator fills them, and non-finite numbers cross as strings.
import { tensor, type DType } from '../../src/index.js';
import { Tensor } from '../../src/tensor.js';
import { isFloatingPoint } from '../../src/dtype.js';
import { assertClose, type JsonTensor } from './python.js';
import assert from 'node:assert/strict';

export interface TensorSpec {
  readonly kind: 'tensor';
  shape: number[];
  /** Default: the dtype of the run (random bools in a 'bool' run). */
  dtype?: DType;
  /** Floats drawn uniformly from [low, high); an integer run draws integers. */
  low: number;
  high: number;
  /** Round the drawn floats to integers (so comparisons meet ties). */
  round?: boolean;
  /** Exact values, row-major, instead of random ones. */
  values?: number[];
  /** Never requires grad (targets, running statistics, ops with no derivative for it). */
  noGrad?: boolean;
}

function spec(shape: number[], low: number, high: number, extra: Partial<TensorSpec> = {}): TensorSpec {
  return { kind: 'tensor', shape, low, high, ...extra };
}
/** Floats in [-2, 2) (integers in [-2, 2) in an int64 run). */
export const t = (...shape: number[]) => spec(shape, -2, 2);
/** Positive: [0.5, 2) (integers in [1, 4)). */
export const pos = (...shape: number[]) => spec(shape, 0.5, 2);
/** Probabilities in [0.05, 0.95). */
export const unit = (...shape: number[]) => spec(shape, 0.05, 0.95);
export const range = (low: number, high: number, ...shape: number[]) => spec(shape, low, high);
/** Whole numbers in [-3, 3], in the run's dtype. */
export const rounded = (...shape: number[]) => spec(shape, -3, 3, { round: true });
export const noGrad = (s: TensorSpec): TensorSpec => ({ ...s, noGrad: true });
/** int64 in [low, high). */
export const ints = (shape: number[], low: number, high: number) => spec(shape, low, high, { dtype: 'int64' });
export const bools = (...shape: number[]) => spec(shape, 0, 1, { dtype: 'bool' });
/** Exact values; dtype defaults to the run's. */
export function vals(values: number[], shape: number[] = [values.length], dtype?: DType): TensorSpec {
  return spec(shape, 0, 0, { values, dtype });
}
export const longs = (values: number[], shape?: number[]) => vals(values, shape, 'int64');

export function isSpec(a: unknown): a is TensorSpec {
  return typeof a === 'object' && a !== null && (a as TensorSpec).kind === 'tensor';
}

/** mulberry32: small, seedable, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor for `s`, its values from `random`; `runDtype` stands in where the spec names none. */
export function makeTensor(s: TensorSpec, runDtype: DType, random: () => number): Tensor {
  const dtype = s.dtype ?? runDtype;
  const numel = s.shape.reduce((a, b) => a * b, 1);
  let values: number[];
  if (s.values) values = s.values;
  else if (dtype === 'bool') values = Array.from({ length: numel }, () => (random() < 0.5 ? 1 : 0));
  else if (!isFloatingPoint(dtype)) {
    // A float spec in an integer run: [-2, 2) keeps both signs, positive specs start at 1 (no zero divisors).
    const [low, high] = s.dtype ? [s.low, s.high] : s.low > 0 ? [1, 4] : [Math.floor(s.low), Math.ceil(s.high)];
    values = Array.from({ length: numel }, () => Math.floor(low + random() * (high - low)));
  } else {
    values = Array.from({ length: numel }, () => s.low + random() * (s.high - s.low));
    if (s.round) values = values.map(Math.round);
  }
  if (dtype === 'bool') return tensor(values.map((v) => v !== 0), { shape: s.shape });
  return tensor(values, { dtype, shape: s.shape });
}

export function encodeTensor(x: Tensor): JsonTensor {
  const data = x.toFlatArray().map((v) => (Number.isFinite(v) ? v : String(v))) as number[];
  return { shape: x.shape, dtype: x.dtype, data };
}

export function decodeTensor(j: JsonTensor): JsonTensor {
  return { ...j, data: j.data.map(Number) };
}

/**
 * Compares with PyTorch's result: integers and bools (and `exact` floats) bit for bit; float32
 * to 1e-5 of each value plus 1e-5 of the tensor's largest magnitude (so sums that cancel to
 * near zero are judged against their terms' size), float64 to 1e-10.
 */
export function compareTensor(actual: Tensor, expectedJson: JsonTensor, what: string, exact = false): void {
  const expected = decodeTensor(expectedJson);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  if (exact || !isFloatingPoint(actual.dtype)) return assertClose(actual, expected, { rtol: 0, atol: 0, what });
  const tol = actual.dtype === 'float64' ? 1e-10 : actual.dtype === 'float32' ? 1e-5 : 1e-2;
  const scale = expected.data.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 1);
  assertClose(actual, expected, { rtol: tol, atol: tol * scale, what });
}
