// Weight files as tensors: the byte-level readers (safetensors, torch.save) meet libtorch here.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { Tensor } from '../tensor.js';
import { fromBytes } from '../creation.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';
import { readTorchCheckpoint, findStateDict } from './torch-checkpoint.js';
import type { RawTensor } from './raw.js';
import { isRawTensor } from './raw.js';

function rawToTensor(raw: RawTensor): Tensor {
  return fromBytes(raw.data, raw.shape, raw.dtype);
}

function tensorToRaw(t: Tensor): RawTensor {
  const cpu = t.device === 'cpu' ? t : t.cpu();
  // 16-bit floats keep their exact bits: reinterpret them as int16 for the byte copy.
  const bits = cpu.dtype === 'float16' || cpu.dtype === 'bfloat16' ? viewAsInt16(cpu) : cpu;
  const values = bits.dataSync();
  const data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (bits !== cpu) bits.dispose();
  if (cpu !== t) cpu.dispose();
  return { dtype: t.dtype, shape: t.shape, data };
}

function viewAsInt16(t: Tensor): Tensor {
  return t.contiguous().viewDtype('int16');
}

/** True for safetensors files, which start with a little-endian header length then '{'. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[8] === 0x7b;
}

/**
 * Reads a state dict from a safetensors file or a PyTorch `torch.save` checkpoint (the restricted
 * unpickler never runs code). Nested checkpoints ({model: ..., epoch: ...}) yield their state dict.
 */
export function loadStateDictFile(path: string): Map<string, Tensor> {
  const bytes = readFileSync(path);
  const raw = looksLikeSafetensors(bytes) ? parseSafetensors(bytes, path).tensors : findStateDict(readTorchCheckpoint(bytes, path), path);
  const out = new Map<string, Tensor>();
  for (const [name, t] of raw) out.set(name, rawToTensor(t));
  return out;
}

/** Reads any torch.save checkpoint; tensors inside become Tensors, containers stay Maps/arrays. */
export function loadCheckpointFile(path: string): unknown {
  const convert = (v: unknown): unknown => {
    if (isRawTensor(v)) return rawToTensor(v);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, convert(x)]));
    if (Array.isArray(v)) return v.map(convert);
    return v;
  };
  return convert(readTorchCheckpoint(readFileSync(path), path));
}

/** Writes tensors as safetensors, atomically (temp file, then rename). */
export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const raw = new Map(entries.map(([name, t]) => [name, tensorToRaw(t)]));
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, serializeSafetensors(raw, metadata));
  renameSync(tmp, path);
}

export { rawToTensor, tensorToRaw };
