// The ONNX graph under construction: nodes, initializers and unique names, as plain objects that
// protobufjs encodes (field names as in onnx.proto). Attribute values say their type through
// the small constructors below, because a JS number cannot tell an ONNX INT from a FLOAT.
import type { DType } from '../dtype.js';
import { onnxDataType } from './proto.js';

export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'tensor'; value: InitializerProto };

export const attr = {
  int: (value: number | boolean): Attribute => ({ type: 'int', value: Number(value) }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
};

const attributeTypeCode = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export interface InitializerProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export interface NodeProto {
  name: string;
  opType: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

function encodeAttribute(name: string, a: Attribute): Record<string, unknown> {
  const base = { name, type: attributeTypeCode[a.type] };
  switch (a.type) {
    case 'int':
      return { ...base, i: a.value };
    case 'float':
      return { ...base, f: a.value };
    case 'string':
      return { ...base, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { ...base, ints: a.value };
    case 'floats':
      return { ...base, floats: a.value };
    case 'tensor':
      return { ...base, t: a.value };
  }
}

/** Little-endian bytes of plain numbers in a dtype (ONNX raw_data). */
export function numbersToBytes(values: readonly (number | bigint | boolean)[], dtype: DType): Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(values.map(Number)).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(values.map(Number)).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(typeof v === 'boolean' ? Number(v) : v))).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values.map(Number)).buffer);
    case 'bool':
    case 'uint8':
      return Uint8Array.from(values.map(Number));
    case 'int8':
      return new Uint8Array(Int8Array.from(values.map(Number)).buffer);
    default:
      throw new Error(`ONNX export: cannot write a ${dtype} constant from JS numbers`);
  }
}

export function onnxTypeCode(dtype: DType): number {
  const code = (onnxDataType as Record<string, number>)[dtype];
  if (code === undefined) throw new Error(`ONNX export: dtype ${dtype} has no ONNX type`);
  return code;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: InitializerProto[] = [];
  readonly #used = new Set<string>();
  readonly #counts = new Map<string, number>();

  constructor(readonly opset: number) {}

  /** A name not used yet, from a hint ('/layer1/0/conv1/Conv'). */
  fresh(hint: string): string {
    let name = hint;
    let n = this.#counts.get(hint) ?? 0;
    while (this.#used.has(name)) name = `${hint}_${++n}`;
    this.#counts.set(hint, n);
    this.#used.add(name);
    return name;
  }

  reserve(name: string): string {
    if (this.#used.has(name)) throw new Error(`ONNX export: the name '${name}' is used twice`);
    this.#used.add(name);
    return name;
  }

  initializer(hint: string, dims: number[], dtype: DType, rawData: Uint8Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType: onnxTypeCode(dtype), rawData });
    return name;
  }

  /** A constant from JS numbers; `dims` [] is a scalar. */
  constant(values: readonly (number | bigint | boolean)[], dtype: DType, dims: number[] = [values.length], hint = 'const'): string {
    return this.initializer(hint, dims, dtype, numbersToBytes(values, dtype));
  }

  /** Adds a node and returns its output names (`outputs` names or counts them). */
  add(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs: number | string[] = 1, scope = '', domain?: string): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => this.fresh(`${scope}/${opType}_output_${i}`)) : outputs;
    const node: NodeProto = {
      name: this.fresh(`${scope}/${opType}`),
      opType,
      input: inputs,
      output: names,
      attribute: Object.entries(attributes).map(([k, a]) => encodeAttribute(k, a)),
    };
    if (domain !== undefined) node.domain = domain;
    this.nodes.push(node);
    return names;
  }
}
