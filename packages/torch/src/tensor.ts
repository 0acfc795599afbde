import { native, type NativeTensor } from './native.js';
import { dtypeFromCode, scalarTypeCode, isFloatingPoint, type DType, type AnyTypedArray } from './dtype.js';
import { trackTensor, keep, setTensorCheck } from './scope.js';
import * as ops from './generated/ops.js';

export interface ToOptions {
  dtype?: DType;
  device?: string;
  memoryFormat?: 'contiguous' | 'preserve' | 'channelsLast' | 'channelsLast3d';
  copy?: boolean;
  nonBlocking?: boolean;
}

// Tensor is Disposable through this merged interface too: TypeScript otherwise sometimes fails to
// see the class's [Symbol.dispose] when checking `using` in a module that imports Tensor cyclically.
export interface Tensor extends Disposable {}

/**
 * A libtorch tensor. Most methods are generated from the op table (generated/tensor-methods.ts);
 * this class holds what is not an ATen op: metadata, data access, autograd and memory.
 */
export class Tensor {
  /** The addon's handle; pass it only to `native`. */
  readonly handle: NativeTensor;
  private cachedDtype?: DType;

  constructor(handle: NativeTensor) {
    if (handle === null || handle === undefined) throw new TypeError('Tensor: expected a native tensor handle');
    this.handle = handle;
    trackTensor(this);
  }

  get shape(): number[] {
    return native.shape(this.handle);
  }
  /** PyTorch's `size(dim?)`. */
  size(dim?: number): number {
    if (dim === undefined) throw new TypeError('size(): pass a dimension, or read .shape for all of them');
    const shape = this.shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`size(${dim}): tensor has ${shape.length} dimensions`);
    return shape[d];
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  stride(): number[] {
    return native.strides(this.handle);
  }
  get dtype(): DType {
    // In-place ops never change dtype, so it is read once.
    return (this.cachedDtype ??= dtypeFromCode(native.dtype(this.handle)));
  }
  get device(): string {
    return native.device(this.handle);
  }
  get isCuda(): boolean {
    return this.device.startsWith('cuda');
  }
  isFloatingPoint(): boolean {
    return isFloatingPoint(this.dtype);
  }
  isContiguous(memoryFormat: 'contiguous' | 'channelsLast' = 'contiguous'): boolean {
    return native.isContiguous(this.handle, memoryFormat === 'channelsLast' ? 2 : 0);
  }

  // ---- autograd
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this.handle, value);
  }
  /** PyTorch's `requires_grad_()`: sets the flag and returns this tensor. */
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.handle, value);
    return this;
  }
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value === null ? null : value.handle);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The name of the autograd node that made this tensor ('AddBackward0'), or null. */
  get gradFn(): string | null {
    return native.gradFn(this.handle);
  }
  retainGrad(): void {
    native.retainGrad(this.handle);
  }
  /** Accumulates d(this)/d(leaf) into every leaf's `.grad`; a non-scalar tensor needs `gradient`. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], [gradient ? gradient.handle : null], options.retainGraph, options.createGraph ?? false);
  }

  // ---- memory
  /** Frees the tensor's memory now (unless other tensors share it); later use throws. */
  dispose(): void {
    native.dispose(this.handle);
  }
  [Symbol.dispose](): void {
    native.dispose(this.handle);
  }
  get isDisposed(): boolean {
    return native.isDisposed(this.handle);
  }
  /** Keeps this tensor alive past the enclosing `tidy`. */
  keep(): this {
    return keep(this);
  }

  // ---- data
  /**
   * The values, row-major, in a typed array matching the dtype (float16/bfloat16 come back as
   * Float32Array; bool as Uint8Array). Copies from the device when needed.
   */
  dataSync(): AnyTypedArray {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const asFloat = this.to({ dtype: 'float32' });
      try {
        return asFloat.dataSync();
      } finally {
        asFloat.dispose();
      }
    }
    const buffer = native.toBuffer(this.handle);
    switch (dtype) {
      case 'float32':
        return new Float32Array(buffer);
      case 'float64':
        return new Float64Array(buffer);
      case 'int64':
        return new BigInt64Array(buffer);
      case 'int32':
        return new Int32Array(buffer);
      case 'int16':
        return new Int16Array(buffer);
      case 'int8':
        return new Int8Array(buffer);
      default:
        return new Uint8Array(buffer);
    }
  }
  /** Values as plain numbers (int64 converted with Number), row-major. */
  toFlatArray(): number[] {
    const data = this.dataSync();
    if (data instanceof BigInt64Array) return Array.from(data, (v) => Number(v));
    if (this.dtype === 'bool') return Array.from(data as Uint8Array, (v) => (v ? 1 : 0));
    return Array.from(data as ArrayLike<number>);
  }
  /** PyTorch's `tolist()`: nested arrays of numbers (booleans for bool tensors). */
  tolist(): unknown {
    const flat = this.dtype === 'bool' ? Array.from(this.dataSync() as Uint8Array, (v) => v !== 0) : this.toFlatArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    let index = 0;
    const build = (d: number): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? flat[index++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    const v = native.item(this.handle);
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }

  // ---- conversion (hand-written: PyTorch's `to` takes a dtype, a device or both)
  to(target: DType | string | ToOptions): Tensor {
    const options: ToOptions = typeof target === 'string' ? (target in scalarTypeCode ? { dtype: target as DType } : { device: target }) : target;
    return ops.to(this, options);
  }
  cpu(): Tensor {
    return this.to({ device: 'cpu' });
  }
  cuda(index = 0): Tensor {
    return this.to({ device: `cuda:${index}` });
  }
  float(): Tensor {
    return this.to({ dtype: 'float32' });
  }
  double(): Tensor {
    return this.to({ dtype: 'float64' });
  }
  half(): Tensor {
    return this.to({ dtype: 'float16' });
  }
  bfloat16(): Tensor {
    return this.to({ dtype: 'bfloat16' });
  }
  long(): Tensor {
    return this.to({ dtype: 'int64' });
  }
  int(): Tensor {
    return this.to({ dtype: 'int32' });
  }
  bool(): Tensor {
    return this.to({ dtype: 'bool' });
  }

  toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    const shape = this.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const values = n <= 20 ? ` ${JSON.stringify(this.tolist())}` : '';
    return `Tensor(shape=[${shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})${values}`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);
