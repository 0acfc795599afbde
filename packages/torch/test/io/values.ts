import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { RawTensor } from '../../src/io/raw.js';

/** What make_checkpoints.py records about a tensor. */
export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  sha256: string;
  sum: number | string;
  values?: (number | boolean | string)[];
  hex?: string;
}

export type Expected = Record<string, Record<string, ExpectedTensor>>;

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The elements of a raw tensor as JS values, in row-major order, decoded independently of the code under test. */
export function decodeValues(tensor: RawTensor): (number | boolean)[] {
  const view = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const out: (number | boolean)[] = [];
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    switch (tensor.dtype) {
      case 'float32': out.push(view.getFloat32(i * 4, true)); break;
      case 'float64': out.push(view.getFloat64(i * 8, true)); break;
      case 'float16': out.push(halfToNumber(view.getUint16(i * 2, true))); break;
      case 'bfloat16': {
        const scratch = new DataView(new ArrayBuffer(4));
        scratch.setUint32(0, view.getUint16(i * 2, true) << 16);
        out.push(scratch.getFloat32(0));
        break;
      }
      case 'int64': out.push(Number(view.getBigInt64(i * 8, true))); break;
      case 'int32': out.push(view.getInt32(i * 4, true)); break;
      case 'int16': out.push(view.getInt16(i * 2, true)); break;
      case 'int8': out.push(view.getInt8(i)); break;
      case 'uint8': out.push(view.getUint8(i)); break;
      case 'bool': out.push(view.getUint8(i) !== 0); break;
    }
  }
  return out;
}

function fromJson(value: number | boolean | string): number | boolean {
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  if (typeof value === 'string') throw new Error(`unexpected value ${value}`);
  return value;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Asserts a tensor matches what Python recorded: dtype, shape, exact bytes, values, and the float64 sum. */
export function assertTensorMatches(actual: RawTensor | undefined, expected: ExpectedTensor, name: string): void {
  assert.ok(actual, `${name} is missing`);
  assert.equal(actual.dtype, expected.dtype, `${name} dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${name} shape`);
  assert.equal(sha256Hex(actual.data), expected.sha256, `${name} bytes`);
  if (expected.hex !== undefined) assert.equal(hex(actual.data), expected.hex, `${name} bytes`);
  const values = decodeValues(actual);
  if (expected.values) assert.deepEqual(values, expected.values.map(fromJson), `${name} values`);
  const sum = values.reduce<number>((total, v) => total + Number(v), 0);
  const expectedSum = fromJson(expected.sum) as number;
  if (Number.isFinite(expectedSum)) assert.ok(Math.abs(sum - expectedSum) <= 1e-6 * Math.max(1, Math.abs(expectedSum)), `${name} sum ${sum} vs ${expectedSum}`);
  else assert.equal(sum, expectedSum, `${name} sum`);
}
