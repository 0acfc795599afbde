import { elementSize, type DType } from '../dtype.js';

/**
 * A tensor as it sits in a weight file: contiguous row-major little-endian bytes,
 * `data.byteLength === numel(shape) * elementSize[dtype]`. `data` may be a view into the file's bytes.
 */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

export function isRawTensor(value: unknown): value is RawTensor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<RawTensor>;
  return typeof v.dtype === 'string' && Object.hasOwn(elementSize, v.dtype) && Array.isArray(v.shape) && v.data instanceof Uint8Array;
}

/** Element count of a shape, or undefined when a dimension is not a non-negative integer or the count is not exact in a double. */
export function numelOf(shape: readonly unknown[]): number | undefined {
  let numel = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) return undefined;
    numel *= dim;
    if (!Number.isSafeInteger(numel)) return undefined;
  }
  return numel;
}

/** Byte count a tensor of this dtype and shape must have, or undefined for an invalid shape. */
export function byteLengthOf(dtype: DType, shape: readonly unknown[]): number | undefined {
  const numel = numelOf(shape);
  if (numel === undefined) return undefined;
  const bytes = numel * elementSize[dtype];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
