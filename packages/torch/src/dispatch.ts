// Runtime helpers for the generated op functions (generated/ops.ts): argument conversion and
// result wrapping live here once, so the generated code stays a thin list of calls.
import { native, type NativeTensor } from './native.js';
import { Tensor } from './tensor.js';
import { scalarTypeCode, type DType } from './dtype.js';
import { resolveOperator } from './library.js';

/** A Python number: integral JS numbers become integer scalars (as `2` does in Python), others floats. */
export type Scalar = number | boolean;
/** 'cpu', 'cuda', 'cuda:1'. */
export type Device = string;
export type MemoryFormat = 'contiguous' | 'preserve' | 'channelsLast' | 'channelsLast3d';

const memoryFormatCodes: Record<MemoryFormat, number> = { contiguous: 0, preserve: 1, channelsLast: 2, channelsLast3d: 3 };

/**
 * Resolves an operator to an addon id on first use, so start-up stays cheap; a torchvision:: op
 * loads torchvision's library first (library.ts).
 */
export function lazyOp(name: string, overload: string): () => number {
  let id: number | undefined;
  return () => (id ??= resolveOperator(name, overload));
}

export function handles(tensors: Tensor[]): NativeTensor[] {
  return tensors.map((t) => t.handle);
}

export function optionalHandles(tensors: (Tensor | null)[]): (NativeTensor | null)[] {
  return tensors.map((t) => (t === null ? null : t.handle));
}

export function wrapAll(result: (NativeTensor | null)[]): Tensor[] {
  return result.map((h) => (h === null ? (null as unknown as Tensor) : new Tensor(h)));
}

export function dtypeArg(dtype: DType | null | undefined): number | null | undefined {
  if (dtype === null || dtype === undefined) return dtype;
  const code = scalarTypeCode[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${dtype}'; expected one of ${Object.keys(scalarTypeCode).join(', ')}`);
  return code;
}

export function memoryFormatArg(format: MemoryFormat | null | undefined): number | null | undefined {
  if (format === null || format === undefined) return format;
  const code = memoryFormatCodes[format];
  if (code === undefined) throw new TypeError(`unknown memory format '${format}'; expected one of ${Object.keys(memoryFormatCodes).join(', ')}`);
  return code;
}

export function memoryFormatCode(format: MemoryFormat): number {
  return memoryFormatArg(format) as number;
}

export function wrapOne(result: NativeTensor): Tensor {
  return new Tensor(result);
}

/** Checks a device string before libtorch sees it, so a missing GPU gets a plain message. */
export function deviceArg(device: Device | null | undefined): Device | null | undefined {
  if (typeof device === 'string' && device.startsWith('cuda') && !native.cudaIsAvailable()) {
    throw new Error(
      `device '${device}': CUDA is not available (libtorch ${native.version()} was built without CUDA, or no GPU is visible); use 'cpu', or build against a CUDA libtorch with LIBTORCH=...`,
    );
  }
  return device;
}
