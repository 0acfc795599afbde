// ONNX export (torch.onnx's counterpart): trace a forward, map its ATen ops, write the protobuf.
export { exportOnnx, SUPPORTED_OPSETS, type ExportOnnxOptions } from './export.js';
export { traceForward, DynamicControlFlowError, type Trace, type TracedOp, type TracedValue } from './trace.js';
export { ExportError } from './context.js';
export { symbolicTable, type SymbolicRow } from './symbolic.js';
export { decodeModel, encodeModel, onnxDataType } from './proto.js';
