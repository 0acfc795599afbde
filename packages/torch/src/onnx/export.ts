// exportOnnx: trace the forward (trace.ts), map each recorded ATen op through the symbolic table
// (symbolic.ts), and write the ONNX model with protobufjs (proto.ts). A dynamic batch axis is found
// by tracing twice, at the example's batch size and one more: the two traces must run the same
// ops (otherwise the forward has control flow ONNX cannot hold), and every integer argument that
// differs between them is a linear function of the batch size, computed in the graph.
import { native } from '../native.js';
import type { Tensor } from '../tensor.js';
import type { Module } from '../nn/module.js';
import * as ops from '../generated/ops.js';
import { libtorchVersion } from '../runtime.js';
import { traceForward, DynamicControlFlowError, type Trace, type TracedValue } from './trace.js';
import { ExportError, SymbolicContext, isBatchLinear, type BatchLinear, type ExportState } from './context.js';
import { GraphBuilder, onnxTypeCode } from './graph.js';
import { symbolicTable } from './symbolic.js';
import { encodeModel } from './proto.js';

export interface ExportOnnxOptions {
  /** ONNX opset (default 17, the newest Debian's onnx 1.12 checks; 14–17 supported). */
  opset?: number;
  /** Leave the batch axis symbolic (default true). */
  dynamicBatch?: boolean;
  inputNames?: string[];
  outputNames?: string[];
  /** Written into the model's doc_string. */
  docString?: string;
}

export const SUPPORTED_OPSETS = [14, 15, 16, 17] as const;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Marks the integers that differ between the traces at batch sizes b1 and b2 as batch-linear. */
function batchLinear(v1: unknown, v2: unknown, b1: number, b2: number, where: () => string): unknown {
  if (typeof v1 === 'number' && typeof v2 === 'number' && Number.isInteger(v1) && Number.isInteger(v2)) {
    if (v1 === v2) return v1;
    const a = (v2 - v1) / (b2 - b1);
    const c = v1 - a * b1;
    if (!Number.isInteger(a) || !Number.isInteger(c)) {
      throw new DynamicControlFlowError(`${where()}: an integer argument (${v1} at batch ${b1}, ${v2} at batch ${b2}) is not linear in the batch size`);
    }
    return { batchLinear: [a, c] } satisfies BatchLinear;
  }
  if (Array.isArray(v1) && Array.isArray(v2) && v1.length === v2.length) return v1.map((x, i) => batchLinear(x, v2[i], b1, b2, where));
  if (!sameValue(v1, v2)) throw new DynamicControlFlowError(`${where()}: an argument differs between batch sizes ${b1} and ${b2} (${JSON.stringify(v1)} vs ${JSON.stringify(v2)})`);
  return v1;
}

/** Checks that two traces ran the same ops and marks batch-dependent integers in the first. */
function alignTraces(t1: Trace, t2: Trace, b1: number, b2: number): Set<number> {
  const label = (t: Trace, i: number) => (t.ops[i] ? `${t.ops[i]!.schema.name} at module '${t.ops[i]!.modulePath || '(root)'}'` : 'nothing');
  const n = Math.max(t1.ops.length, t2.ops.length);
  for (let i = 0; i < n; i++) {
    const a = t1.ops[i];
    const b = t2.ops[i];
    if (!a || !b || a.schema.text !== b.schema.text || a.modulePath !== b.modulePath) {
      throw new DynamicControlFlowError(
        `the forward runs different ops at batch sizes ${b1} and ${b2} (op ${i}: ${label(t1, i)} vs ${label(t2, i)}); a forward with control flow cannot be exported as a static graph`,
      );
    }
    a.args.forEach((arg, k) => {
      const other = b.args[k]!;
      if ('value' in arg && 'value' in other) arg.value = batchLinear(arg.value, other.value, b1, b2, () => `op ${i} (${label(t1, i)}), argument '${a.schema.args[k]?.name}'`);
    });
  }
  // Constants whose shape follows the batch size would be baked in at the example's size.
  const batchDependent = new Set<number>();
  for (const [id, v] of t1.values) {
    const w = t2.values.get(id);
    if (v.kind === 'constant' && w && !sameValue(v.shape, w.shape)) batchDependent.add(id);
  }
  return batchDependent;
}

/** Bytes of a parameter or buffer by name (C order). */
function tensorBytes(model: Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, p] of model.namedParameters()) out.set(name, p);
  for (const [name, b] of model.namedBuffers()) out.set(name, b);
  return out;
}

/**
 * Exports `model`'s forward on `exampleInput` as an ONNX model (bytes of a ModelProto), as
 * torch.onnx.export does: parameters become initializers under their state-dict names, the batch
 * axis stays symbolic unless `dynamicBatch` is false. An op without an ONNX mapping is an error
 * naming the op and the module it ran in.
 */
export function exportOnnx(model: Module, exampleInput: Tensor | Tensor[], options: ExportOnnxOptions = {}): Uint8Array {
  const opset = options.opset ?? 17;
  if (!(SUPPORTED_OPSETS as readonly number[]).includes(opset)) throw new ExportError(`ONNX export: opset ${opset} is not supported; use one of ${SUPPORTED_OPSETS.join(', ')}`);
  const inputs = Array.isArray(exampleInput) ? exampleInput : [exampleInput];
  if (inputs.length === 0) throw new ExportError('ONNX export: no example input');
  const dynamicBatch = options.dynamicBatch ?? true;
  const b1 = inputs[0]!.shape[0] ?? 1;
  if (dynamicBatch && inputs.some((t) => t.shape.length === 0 || t.shape[0] !== b1)) {
    throw new ExportError(`ONNX export: every example input needs the same batch size on axis 0 for a dynamic batch (shapes ${inputs.map((t) => `[${t.shape}]`).join(', ')})`);
  }

  const trace = traceForward(model, inputs);
  let second: Trace | undefined;
  let batchDependent = new Set<number>();
  if (dynamicBatch) {
    const grown = inputs.map((t) => ops.cat([t, ops.narrow(t, 0, 0, 1)], 0));
    try {
      second = traceForward(model, grown);
    } finally {
      for (const t of grown) t.dispose();
    }
    batchDependent = alignTraces(trace, second, b1, b1 + 1);
  }

  const graph = new GraphBuilder(opset);
  const names = new Map<number, string>();
  const stored = tensorBytes(model);
  const inputNames = options.inputNames ?? inputs.map((_, i) => (inputs.length === 1 ? 'input' : `input_${i}`));
  trace.inputs.forEach((id, i) => names.set(id, graph.reserve(inputNames[i] ?? `input_${i}`)));
  let batchName: string | undefined;

  const symbolicShape = (id: number): (number | BatchLinear)[] => {
    const v = trace.values.get(id)!;
    const w = second?.values.get(id);
    return v.shape.map((d, k) => {
      const d2 = w?.shape[k];
      return d2 === undefined || d2 === d ? d : (batchLinear(d, d2, b1, b1 + 1, () => `the shape of a value`) as BatchLinear);
    });
  };

  const state: ExportState = {
    graph,
    value: (id) => trace.values.get(id)!,
    symbolicShape,
    nameOf(id) {
      const known = names.get(id);
      if (known !== undefined) return known;
      const v = trace.values.get(id)!;
      if (batchDependent.has(id)) throw new ExportError(`ONNX export: a constant of shape [${v.shape}] is computed from the batch size outside the traced ops; export with dynamicBatch: false`);
      if (v.kind === 'op' || v.kind === 'input') throw new ExportError(`ONNX export: internal: value ${id} used before it was produced`);
      const bytes = v.kind === 'parameter' ? new Uint8Array(native.toBuffer(stored.get(v.name!)!.handle)) : v.bytes!;
      const name = graph.initializer(v.name ?? 'constant', v.shape, v.dtype, bytes);
      names.set(id, name);
      return name;
    },
    batchSize() {
      if (batchName === undefined) {
        const first = names.get(trace.inputs[0]!)!;
        batchName =
          opset >= 15
            ? graph.add('Shape', [first], { start: { type: 'int', value: 0 }, end: { type: 'int', value: 1 } }, 1, '/batch')[0]!
            : graph.add('Gather', [graph.add('Shape', [first], {}, 1, '/batch')[0]!, graph.constant([0], 'int64')], { axis: { type: 'int', value: 0 } }, 1, '/batch')[0]!;
      }
      return batchName;
    },
  };

  for (const op of trace.ops) {
    const key = `${op.schema.name}.${op.schema.overload}`;
    const row = symbolicTable[key] ?? symbolicTable[op.schema.name];
    if (!row) {
      throw new ExportError(
        `ONNX export: no ONNX mapping for ${op.schema.name}${op.schema.overload ? '.' + op.schema.overload : ''} (called in module '${op.modulePath || '(root)'}'); add a row to packages/torch/src/onnx/symbolic.ts`,
      );
    }
    const result = row(new SymbolicContext(op, state));
    const produced = typeof result === 'string' ? [result] : result;
    op.outputs.forEach((out, k) => {
      if (typeof out === 'number') names.set(out, produced[k] as string);
      else if (Array.isArray(out)) out.forEach((id, j) => names.set(id, (produced[k] as string[])[j]!));
    });
  }

  const valueInfo = (name: string, v: TracedValue, id: number) => ({
    name,
    type: {
      tensorType: {
        elemType: onnxTypeCode(v.dtype),
        shape: {
          dim: symbolicShape(id).map((d) =>
            isBatchLinear(d) ? { dimParam: d.batchLinear[0] === 1 && d.batchLinear[1] === 0 ? 'batch' : `batch*${d.batchLinear[0]}+${d.batchLinear[1]}` } : { dimValue: d },
          ),
        },
      },
    },
  });
  const outputNames = options.outputNames ?? trace.outputs.map((_, i) => (trace.outputs.length === 1 ? 'output' : `output_${i}`));
  const graphOutputs = trace.outputs.map((id, i) => {
    const name = graph.reserve(outputNames[i] ?? `output_${i}`);
    graph.add('Identity', [state.nameOf(id)], {}, [name], '/output');
    return valueInfo(name, trace.values.get(id)!, id);
  });

  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'iris',
    producerVersion: `libtorch ${libtorchVersion()}`,
    docString: options.docString ?? '',
    graph: {
      name: model.constructor.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: trace.inputs.map((id) => valueInfo(names.get(id)!, trace.values.get(id)!, id)),
      output: graphOutputs,
    },
  });
}
