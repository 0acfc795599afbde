/** Element types, named as in PyTorch (`torch.float32` is `'float32'`). */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** c10::ScalarType codes; stable across libtorch versions. */
export const scalarTypeCode: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const dtypeByCode = new Map<number, DType>(Object.entries(scalarTypeCode).map(([name, code]) => [code, name as DType]));

export function dtypeFromCode(code: number): DType {
  const dtype = dtypeByCode.get(code);
  if (!dtype) throw new Error(`libtorch returned scalar type ${code}, which Iris does not support`);
  return dtype;
}

export const elementSize: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** The typed array that holds each dtype's values; 16-bit floats are read back as float32. */
export type TypedArrayFor<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int16'
        ? Int16Array
        : D extends 'int8'
          ? Int8Array
          : D extends 'uint8' | 'bool'
            ? Uint8Array
            : Float32Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export function assertDType(value: unknown, what: string): asserts value is DType {
  if (typeof value !== 'string' || !(value in scalarTypeCode)) {
    throw new TypeError(`${what}: unknown dtype ${JSON.stringify(value)}; expected one of ${Object.keys(scalarTypeCode).join(', ')}`);
  }
}
