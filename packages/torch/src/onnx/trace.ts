// Records one forward pass as a graph. Every op Iris runs goes through `native.callOp`, so the
// tracer swaps that one function for a recording twin while the model runs: each call becomes a
// TracedOp (schema, arguments, outputs, the module path it ran under), each tensor a TracedValue.
// Tensors that no traced op produced are leaves: the inputs, the model's parameters and buffers
// (by name), and constants (their bytes copied when first seen, before a scope can free them).
// Ops that read nothing from the inputs and no parameter are folded: their outputs become
// constants, so anchor grids and the like need no ONNX mapping.
import { native, type NativeTensor } from '../native.js';
import { dtypeFromCode, type DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../autograd.js';
import { opSchemaById, type OpSchema } from './schema.js';

export interface TracedValue {
  id: number;
  shape: number[];
  dtype: DType;
  /** 'input' | 'op' (a traced op's output) | 'parameter' (named in the model) | 'constant'. */
  kind: 'input' | 'op' | 'parameter' | 'constant';
  /** Depends on a graph input. */
  dynamic: boolean;
  /** Parameter or buffer path ('layer1.0.conv1.weight'); the input's index for inputs. */
  name?: string;
  inputIndex?: number;
  /** A constant's bytes (C order). */
  bytes?: Uint8Array;
}

export type TracedArgument =
  | { tensor: number | null }
  | { tensors: (number | null)[] }
  | { value: unknown };

export interface TracedOp {
  schema: OpSchema;
  args: TracedArgument[];
  /** One entry per schema return: a value id, a list of ids (Tensor[] returns), or a plain value. */
  outputs: (number | number[] | { value: unknown })[];
  modulePath: string;
}

export interface Trace {
  ops: TracedOp[];
  values: Map<number, TracedValue>;
  inputs: number[];
  /** The forward's result flattened in order (Tensor, arrays and objects of tensors). */
  outputs: number[];
}

/** Thrown when a forward reads tensor values, or runs different ops for different inputs. */
export class DynamicControlFlowError extends Error {
  override name = 'DynamicControlFlowError';
}

function isHandle(value: unknown): value is NativeTensor {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Recorder {
  readonly ops: TracedOp[] = [];
  readonly values = new Map<number, TracedValue>();
  readonly #ids = new WeakMap<NativeTensor, number>();
  readonly #names = new WeakMap<NativeTensor, string>();
  readonly #moduleStack: string[] = [];
  #next = 0;

  constructor(model: Module) {
    for (const [name, p] of model.namedParameters()) this.#names.set(p.handle, name);
    for (const [name, b] of model.namedBuffers()) this.#names.set(b.handle, name);
  }

  get modulePath(): string {
    return this.#moduleStack.at(-1) ?? '';
  }

  enter(path: string): void {
    this.#moduleStack.push(path);
  }

  leave(): void {
    this.#moduleStack.pop();
  }

  #newValue(handle: NativeTensor, kind: TracedValue['kind'], dynamic: boolean): TracedValue {
    const value: TracedValue = { id: this.#next++, shape: native.shape(handle), dtype: dtypeFromCode(native.dtype(handle)), kind, dynamic };
    this.values.set(value.id, value);
    this.#ids.set(handle, value.id);
    return value;
  }

  addInput(handle: NativeTensor, index: number): number {
    const value = this.#newValue(handle, 'input', true);
    value.inputIndex = index;
    return value.id;
  }

  /** The value a handle holds; a handle seen for the first time is a parameter or a constant. */
  valueOf(handle: NativeTensor): number {
    const known = this.#ids.get(handle);
    if (known !== undefined) return known;
    const name = this.#names.get(handle);
    const value = this.#newValue(handle, name === undefined ? 'constant' : 'parameter', false);
    if (name !== undefined) value.name = name;
    else value.bytes = new Uint8Array(native.toBuffer(handle));
    return value.id;
  }

  isDynamic(handle: NativeTensor): boolean {
    const id = this.#ids.get(handle);
    return id !== undefined && this.values.get(id)!.dynamic;
  }

  record(id: number, rawArgs: unknown[], result: unknown): void {
    const schema = opSchemaById(id);
    const args: TracedArgument[] = [];
    let dynamic = false;
    let readsParameter = false;
    const note = (tensorId: number): number => {
      const v = this.values.get(tensorId)!;
      dynamic ||= v.dynamic;
      readsParameter ||= v.kind === 'parameter';
      return tensorId;
    };
    schema.args.forEach((arg, i) => {
      const raw = rawArgs[i];
      if (arg.kind === 'tensor') args.push({ tensor: isHandle(raw) ? note(this.valueOf(raw)) : null });
      else if (arg.kind === 'tensors') args.push({ tensors: (raw as (NativeTensor | null)[]).map((h) => (h ? note(this.valueOf(h)) : null)) });
      else args.push({ value: raw === undefined ? arg.defaultValue : structuredClone(raw) });
    });
    const fold = !dynamic && !readsParameter;
    const results = schema.returns === 1 ? [result] : (result as unknown[]) ?? [];
    const outputs: TracedOp['outputs'] = results.map((r) => {
      if (r === null || r === undefined) return { value: null }; // an undefined tensor (e.g. attention weights not asked for)
      if (isHandle(r)) return this.#output(r, fold, dynamic);
      if (Array.isArray(r) && r.every(isHandle)) return r.map((h) => this.#output(h, fold, dynamic));
      if (dynamic) {
        throw new DynamicControlFlowError(
          `${schema.name} at module '${this.modulePath || '(root)'}' returns a value computed from the input (${String(r)}); a forward that branches on tensor values cannot be exported as a static graph`,
        );
      }
      return { value: r };
    });
    // In place: the mutated argument's handle now holds the op's output.
    schema.args.forEach((arg, i) => {
      const raw = rawArgs[i];
      if (arg.mutable && isHandle(raw) && typeof outputs[0] === 'number') this.#ids.set(raw, outputs[0]);
    });
    if (!fold) this.ops.push({ schema, args, outputs, modulePath: this.modulePath });
  }

  #output(handle: NativeTensor, fold: boolean, dynamic: boolean): number {
    const value = this.#newValue(handle, fold ? 'constant' : 'op', dynamic);
    if (fold) value.bytes = new Uint8Array(native.toBuffer(handle));
    return value.id;
  }
}

function flattenOutputs(result: unknown, out: Tensor[] = []): Tensor[] {
  if (result === null || result === undefined) return out;
  if (typeof result === 'object' && 'handle' in (result as object)) out.push(result as Tensor);
  else if (Array.isArray(result)) for (const r of result) flattenOutputs(r, out);
  else if (result instanceof Map) for (const r of result.values()) flattenOutputs(r, out);
  else if (typeof result === 'object') for (const r of Object.values(result as object)) flattenOutputs(r, out);
  return out;
}

/**
 * Runs `model.call(...inputs)` once in eval mode without grad and returns what it ran. The model's
 * training mode is restored afterwards; the forward's outputs are disposed.
 */
export function traceForward(model: Module, inputs: Tensor[]): Trace {
  const recorder = new Recorder(model);
  const inputIds = inputs.map((t, i) => recorder.addInput(t.handle, i));
  const hooks = model.namedModules().flatMap(([path, m]) => [
    m.registerForwardPreHook(() => recorder.enter(path)),
    m.registerForwardHook(() => recorder.leave()),
  ]);
  // Each module's own mode is put back: model.train(flag) would overwrite submodules set apart.
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  const { callOp, callOpAsync, item, toBuffer } = native;
  const guardRead = (what: string) => (handle: NativeTensor) => {
    if (recorder.isDynamic(handle)) {
      throw new DynamicControlFlowError(
        `module '${recorder.modulePath || '(root)'}' reads a tensor's values during forward (${what}); a forward that branches on tensor values cannot be exported as a static graph`,
      );
    }
  };
  const readItem = guardRead('item()');
  const readBuffer = guardRead('a copy to JS');
  const patched = native as { -readonly [K in keyof typeof native]: (typeof native)[K] };
  patched.callOp = (id: number, ...args: unknown[]) => {
    const result = callOp(id, ...args);
    recorder.record(id, args, result);
    return result;
  };
  patched.callOpAsync = () => {
    throw new Error(`module '${recorder.modulePath || '(root)'}' runs an async op during forward; export traces synchronous forwards only`);
  };
  patched.item = (t: NativeTensor) => (readItem(t), item(t));
  patched.toBuffer = (t: NativeTensor) => (readBuffer(t), toBuffer(t));
  let outputs: Tensor[] = [];
  try {
    model.eval();
    const result = noGrad(() => model.call(...(inputs as never[])));
    outputs = flattenOutputs(result);
    const outputIds = outputs.map((t) => recorder.valueOf(t.handle));
    return { ops: recorder.ops, values: recorder.values, inputs: inputIds, outputs: outputIds };
  } finally {
    Object.assign(patched, { callOp, callOpAsync, item, toBuffer });
    for (const h of hooks) h.remove();
    for (const [m, training] of modes) m.training = training;
    for (const t of outputs) if (!inputs.includes(t)) t.dispose();
  }
}
