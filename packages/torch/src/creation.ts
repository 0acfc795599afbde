// Tensor creation with PyTorch's signatures: these wrap the generated ops to add `requiresGrad`
// and JS data (nested arrays, typed arrays).
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { scalarTypeCode, elementSize, assertDType, type DType, type AnyTypedArray } from './dtype.js';
import * as ops from './generated/ops.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | bigint | Nested[];

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function dtypeOfTypedArray(data: AnyTypedArray | Uint16Array): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError('tensor: unsupported typed array; use Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array or Uint8Array');
}

function inferShape(data: Nested, where = 'data'): number[] {
  if (!Array.isArray(data)) return [];
  if (data.length === 0) return [0];
  const inner = inferShape(data[0], `${where}[0]`);
  for (let i = 1; i < data.length; i++) {
    const s = inferShape(data[i], `${where}[${i}]`);
    if (s.length !== inner.length || s.some((d, k) => d !== inner[k])) {
      throw new RangeError(`tensor: ragged nested array: ${where}[${i}] has shape [${s}] but ${where}[0] has [${inner}]`);
    }
  }
  return [data.length, ...inner];
}

function flatten(data: Nested, out: (number | boolean | bigint)[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
}

/** Bytes of `values` as `dtype`; 16-bit floats are written as float32 and converted by libtorch. */
function typedArrayFor(values: (number | boolean | bigint)[], dtype: DType): AnyTypedArray {
  switch (dtype) {
    case 'float64':
      return Float64Array.from(values, Number);
    case 'int64':
      return BigInt64Array.from(values, (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))));
    case 'int32':
      return Int32Array.from(values, Number);
    case 'int16':
      return Int16Array.from(values, Number);
    case 'int8':
      return Int8Array.from(values, Number);
    case 'uint8':
      return Uint8Array.from(values, Number);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    default:
      return Float32Array.from(values, Number);
  }
}

/**
 * PyTorch's `torch.tensor(data)`. Nested JS numbers become float32 unless `dtype` says otherwise
 * (JS cannot tell 1 from 1.0); booleans become bool, bigints int64; a typed array keeps its type.
 */
export function tensor(data: Nested | AnyTypedArray, options: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (options.dtype !== undefined) assertDType(options.dtype, 'tensor');
  let bytes: AnyTypedArray;
  let shape: number[];
  let sourceDtype: DType;
  if (ArrayBuffer.isView(data)) {
    sourceDtype = dtypeOfTypedArray(data as AnyTypedArray);
    bytes = data as AnyTypedArray;
    shape = options.shape ?? [bytes.length];
  } else {
    shape = inferShape(data);
    const flat: (number | boolean | bigint)[] = [];
    flatten(data, flat);
    const first = flat[0];
    sourceDtype = options.dtype ?? (typeof first === 'boolean' ? 'bool' : typeof first === 'bigint' ? 'int64' : 'float32');
    if (sourceDtype === 'float16' || sourceDtype === 'bfloat16') sourceDtype = 'float32';
    bytes = typedArrayFor(flat, sourceDtype);
    if (options.shape) shape = options.shape;
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel * elementSize[sourceDtype] !== bytes.byteLength) {
    throw new RangeError(`tensor: shape [${shape}] needs ${numel} values, got ${bytes.byteLength / elementSize[sourceDtype]}`);
  }
  let t = new Tensor(native.fromBuffer(bytes, shape, scalarTypeCode[sourceDtype]));
  const dtype = options.dtype ?? sourceDtype;
  if (dtype !== sourceDtype || (options.device && options.device !== 'cpu')) {
    const moved = t.to({ dtype, device: options.device });
    t.dispose();
    t = moved;
  }
  return finish(t, options);
}

/** A tensor over raw little-endian bytes (weight files), copied into libtorch memory. */
export function fromBytes(bytes: Uint8Array, shape: number[], dtype: DType): Tensor {
  return new Tensor(native.fromBuffer(bytes, shape, scalarTypeCode[dtype]));
}

const withDefaults = (o: CreateOptions) => ({ dtype: o.dtype ?? 'float32', device: o.device });

export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.zeros(shape, withDefaults(options)), options);
}
export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.ones(shape, withDefaults(options)), options);
}
export function empty(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.empty(shape, withDefaults(options)), options);
}
export function full(shape: number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return finish(ops.full(shape, value, withDefaults(options)), options);
}
/** `arange(end)` or `arange(start, end, step?)`; float32 unless `dtype` says otherwise. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return finish(ops.arange(start, end, { step, ...withDefaults(options) }), options);
}
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return finish(ops.linspace(start, end, steps, withDefaults(options)), options);
}
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  return finish(ops.eye(n, m, withDefaults(options)), options);
}
/** Uniform on [0, 1), from the generator `manualSeed` sets. */
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.rand(shape, withDefaults(options)), options);
}
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.randn(shape, withDefaults(options)), options);
}
/** Integers in [low, high); int64 unless `dtype` says otherwise. */
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  return finish(ops.randint(low, high, shape, { dtype: options.dtype ?? 'int64', device: options.device }), options);
}
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return finish(ops.randperm(n, { dtype: options.dtype ?? 'int64', device: options.device }), options);
}
