// ONNX's protobuf schema, loaded once with protobufjs from the copy of onnx.proto shipped in the
// package (proto/), so .onnx files are written and read by a maintained protobuf library.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

let modelType: protobuf.Type | undefined;

function protoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'proto', 'onnx.proto'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('@iris/torch: cannot find proto/onnx.proto in the package');
    dir = parent;
  }
  return join(dir, 'proto', 'onnx.proto');
}

/** `onnx.ModelProto`. */
export function modelProto(): protobuf.Type {
  modelType ??= protobuf.loadSync(protoPath()).lookupType('onnx.ModelProto');
  return modelType;
}

/** ONNX TensorProto.DataType codes. */
export const onnxDataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
} as const;

export type OnnxDType = keyof typeof onnxDataType;

export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX model does not fit onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

export function decodeModel(bytes: Uint8Array): protobuf.Message & Record<string, any> {
  return modelProto().decode(bytes) as protobuf.Message & Record<string, any>;
}
