// What a row of the symbolic table (symbolic.ts) sees of one traced op: its arguments as ONNX
// names or JS values, the recorded shapes and dtypes, and a way to add nodes. Integers that
// change with the batch size (a reshape to [N, -1] traced at two batch sizes) arrive as
// `BatchLinear` markers; `ints()` turns them into a computed ONNX tensor, `value()` refuses them.
import type { DType } from '../dtype.js';
import { attr, onnxTypeCode as onnxCode, type Attribute, type GraphBuilder } from './graph.js';
import type { TracedOp, TracedValue } from './trace.js';

/** An integer equal to `a * batch + c`. */
export interface BatchLinear {
  batchLinear: [number, number];
}

export function isBatchLinear(v: unknown): v is BatchLinear {
  return typeof v === 'object' && v !== null && 'batchLinear' in v;
}

export class ExportError extends Error {
  override name = 'OnnxExportError';
}

/** What the exporter provides to every op's context. */
export interface ExportState {
  graph: GraphBuilder;
  nameOf(valueId: number): string;
  value(valueId: number): TracedValue;
  /** The value's shape with batch-linear dims marked. */
  symbolicShape(valueId: number): (number | BatchLinear)[];
  /** ONNX int64 [1] tensor holding the batch size. */
  batchSize(): string;
}

export class SymbolicContext {
  readonly scope: string;

  constructor(
    readonly op: TracedOp,
    private readonly state: ExportState,
  ) {
    this.scope = '/' + op.modulePath.replaceAll('.', '/');
  }

  get opset(): number {
    return this.state.graph.opset;
  }

  get where(): string {
    return `${this.op.schema.name} at module '${this.op.modulePath || '(root)'}'`;
  }

  fail(problem: string): never {
    throw new ExportError(`ONNX export: ${this.where}: ${problem}`);
  }

  #arg(i: number) {
    const a = this.op.args[i];
    if (a === undefined) this.fail(`has no argument ${i}`);
    return a;
  }

  /** The ONNX name of tensor argument i. */
  input(i: number): string {
    const a = this.#arg(i);
    if (!('tensor' in a) || a.tensor === null) this.fail(`argument '${this.op.schema.args[i]?.name}' is not a tensor`);
    return this.state.nameOf(a.tensor);
  }

  hasInput(i: number): boolean {
    const a = this.op.args[i];
    return a !== undefined && 'tensor' in a && a.tensor !== null;
  }

  /** Tensor argument i's name, or '' (ONNX's "absent optional input") when it is None. */
  optionalInput(i: number): string {
    return this.hasInput(i) ? this.input(i) : '';
  }

  inputList(i: number): string[] {
    const a = this.#arg(i);
    if (!('tensors' in a)) this.fail(`argument '${this.op.schema.args[i]?.name}' is not a tensor list`);
    return a.tensors.map((id) => (id === null ? this.fail('has a None in a tensor list') : this.state.nameOf(id)));
  }

  /** The traced values of tensor-list argument i. */
  listMeta(i: number): TracedValue[] {
    const a = this.#arg(i);
    if (!('tensors' in a)) this.fail(`argument '${this.op.schema.args[i]?.name}' is not a tensor list`);
    return a.tensors.map((id) => (id === null ? this.fail('has a None in a tensor list') : this.state.value(id)));
  }

  /** The traced value of tensor argument i (shape, dtype). */
  meta(i: number): TracedValue {
    const a = this.#arg(i);
    if (!('tensor' in a) || a.tensor === null) this.fail(`argument '${this.op.schema.args[i]?.name}' is not a tensor`);
    return this.state.value(a.tensor);
  }

  rank(i: number): number {
    return this.meta(i).shape.length;
  }

  /** The traced value of output k. */
  output(k = 0): TracedValue {
    const o = this.op.outputs[k];
    if (typeof o !== 'number') this.fail(`output ${k} is not a single tensor`);
    return this.state.value(o);
  }

  /** A non-tensor argument as a static JS value. */
  value<T = unknown>(i: number): T {
    const a = this.#arg(i);
    if (!('value' in a)) this.fail(`argument '${this.op.schema.args[i]?.name}' is a tensor`);
    const v = a.value;
    if (isBatchLinear(v) || (Array.isArray(v) && v.some(isBatchLinear))) {
      this.fail(`argument '${this.op.schema.args[i]?.name}' changes with the batch size and ONNX needs it fixed here; export with dynamicBatch: false`);
    }
    return v as T;
  }

  /** An int or int-list argument as a list (a single int repeated `length` times). */
  intList(i: number, length?: number): number[] {
    const v = this.value<number | number[]>(i);
    if (typeof v === 'number') return new Array(length ?? 1).fill(v);
    if (length !== undefined && v.length === 1) return new Array(length).fill(v[0]);
    return v;
  }

  /** A dim argument made non-negative for a tensor of rank `rank`. */
  dim(i: number, rank: number): number {
    const d = this.value<number>(i);
    return d < 0 ? d + rank : d;
  }

  /** An int or int-list argument (possibly batch-dependent) as an ONNX int64 1-D tensor. */
  ints(i: number): string {
    const a = this.#arg(i);
    if (!('value' in a)) this.fail(`argument '${this.op.schema.args[i]?.name}' is a tensor`);
    const v = a.value as number | BatchLinear | (number | BatchLinear)[];
    return this.intsTensor(Array.isArray(v) ? v : [v]);
  }

  /** A list of ints, some of them batch-linear, as an ONNX int64 1-D tensor. */
  intsTensor(values: (number | BatchLinear)[]): string {
    if (!values.some(isBatchLinear)) return this.state.graph.constant(values as number[], 'int64', [values.length], `${this.scope}/ints`);
    const pieces: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) pieces.push(this.state.graph.constant(run, 'int64', [run.length], `${this.scope}/ints`));
      run = [];
    };
    for (const v of values) {
      if (!isBatchLinear(v)) {
        run.push(v);
        continue;
      }
      flush();
      const [a, c] = v.batchLinear;
      let piece = this.state.batchSize();
      if (a !== 1) piece = this.node('Mul', [piece, this.state.graph.constant([a], 'int64')])[0]!;
      if (c !== 0) piece = this.node('Add', [piece, this.state.graph.constant([c], 'int64')])[0]!;
      pieces.push(piece);
    }
    flush();
    return pieces.length === 1 ? pieces[0]! : this.node('Concat', pieces, { axis: attr.int(0) })[0]!;
  }

  /** Output k's shape as an ONNX int64 tensor (batch-dependent dims computed). */
  outputShape(k = 0): string {
    const o = this.op.outputs[k];
    if (typeof o !== 'number') this.fail(`output ${k} is not a single tensor`);
    return this.intsTensor(this.state.symbolicShape(o));
  }

  /** A scalar constant of a dtype (rank 0, so it broadcasts without changing the rank). */
  scalar(value: number | boolean, dtype: DType): string {
    return this.state.graph.constant([value], dtype, [], `${this.scope}/scalar`);
  }

  constant(values: number[], dtype: DType, dims: number[] = [values.length]): string {
    return this.state.graph.constant(values, dtype, dims, `${this.scope}/const`);
  }

  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1): string[] {
    return this.state.graph.add(opType, inputs, attributes, outputs, this.scope);
  }

  /** One-output node. */
  one(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** Casts a name to `dtype` when its traced dtype differs. */
  castTo(name: string, from: DType, to: DType): string {
    return from === to ? name : this.one('Cast', [name], { to: attr.int(onnxCode(to)) });
  }
}
