import type { DType } from '../dtype.js';
import { dataViewOf, decodeUtf8, readU64AsNumber } from './bytes.js';
import { byteLengthOf, isRawTensor, numelOf, type RawTensor } from './raw.js';

// https://huggingface.co/docs/safetensors: u64 LE header length, JSON header, then one data buffer.

const dtypeByCode: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const codeByDtype = Object.fromEntries(Object.entries(dtypeByCode).map(([code, dtype]) => [dtype, code])) as Record<DType, string>;

/** The reference implementation's limit; a larger header is a corrupt length, not a real header. */
const maxHeaderBytes = 100_000_000;

export interface Safetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  begin: number;
  end: number;
}

/** Parses and fully validates a .safetensors file; tensor data are views into `bytes`. Errors start with `source`. */
export function parseSafetensors(bytes: Uint8Array, source: string): Safetensors {
  function fail(reason: string): never {
    throw new Error(`${source}: ${reason}`);
  }
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, too short for a safetensors header length (file truncated?)`);
  const headerLength = readU64AsNumber(dataViewOf(bytes), 0);
  if (headerLength === undefined || headerLength > maxHeaderBytes) {
    fail(`header length ${dataViewOf(bytes).getBigUint64(0, true)} is implausible (limit ${maxHeaderBytes}); not a safetensors file or corrupt`);
  }
  const dataStart = 8 + headerLength;
  if (dataStart > bytes.byteLength) {
    fail(`header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes after it (file truncated?)`);
  }
  const headerText = decodeUtf8(bytes.subarray(8, dataStart));
  if (headerText === undefined) fail('header is not valid UTF-8');
  if (!headerText.startsWith('{')) fail('header does not start with "{"; not a safetensors file');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const data = bytes.subarray(dataStart);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, RawTensor>();
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not an object of strings');
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__ entry '${key}' is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    const what = `tensor '${name}'`;
    if (typeof info !== 'object' || info === null) fail(`${what} has no {dtype, shape, data_offsets} description`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof code !== 'string' || !Object.hasOwn(dtypeByCode, code)) {
      fail(`${what} has dtype ${JSON.stringify(code)}, which is not supported (supported: ${Object.keys(dtypeByCode).join(', ')})`);
    }
    const dtype = dtypeByCode[code as string];
    if (!Array.isArray(shape) || numelOf(shape) === undefined) fail(`${what} has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
    const expectedBytes = byteLengthOf(dtype, shape as number[]);
    if (expectedBytes === undefined) fail(`${what} shape ${JSON.stringify(shape)} is too large`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(`${what} has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > data.byteLength) fail(`${what} data_offsets [${begin}, ${end}] do not fit in ${data.byteLength} data bytes (file truncated?)`);
    if (end - begin !== expectedBytes) {
      fail(`${what} data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${code} shape [${(shape as number[]).join(', ')}] needs ${expectedBytes}`);
    }
    entries.push({ name, begin, end });
    tensors.set(name, { dtype, shape: [...(shape as number[])], data: data.subarray(begin, end) });
  }

  // Like the reference implementation, tensors must tile the data buffer exactly: no overlaps (two names
  // aliasing the same bytes), no gaps, no trailing bytes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const entry of sorted) {
    if (entry.begin < covered) {
      fail(`tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}] and '${entry.name}' [${entry.begin}, ${entry.end}] overlap`);
    }
    if (entry.begin > covered) fail(`data bytes ${covered}..${entry.begin} belong to no tensor (the format requires tensors to cover the data buffer exactly)`);
    covered = entry.end;
    previous = entry;
  }
  if (covered !== data.byteLength) fail(`data buffer has ${data.byteLength} bytes but the tensors cover only ${covered}`);
  return { tensors, metadata };
}

/**
 * Writes tensors in the given order, contiguously, after a JSON header padded with spaces to a multiple
 * of 8 bytes so the data buffer starts 8-aligned (as the reference writer does).
 */
export function serializeSafetensors(tensors: Map<string, RawTensor> | Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  // The header is assembled by hand: a plain object would turn a tensor named "__proto__" into a prototype.
  const fields: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new TypeError(`serializeSafetensors: metadata '${key}' must be a string, got ${typeof value}`);
    }
    fields.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, tensor] of list) {
    if (name === '__metadata__') throw new Error(`serializeSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    if (!isRawTensor(tensor)) throw new TypeError(`serializeSafetensors: '${name}' is not a RawTensor`);
    const expected = byteLengthOf(tensor.dtype, tensor.shape);
    if (expected === undefined) throw new Error(`serializeSafetensors: '${name}' has invalid shape ${JSON.stringify(tensor.shape)}`);
    if (tensor.data.byteLength !== expected) {
      throw new Error(`serializeSafetensors: '${name}' has ${tensor.data.byteLength} bytes but ${tensor.dtype} [${tensor.shape.join(', ')}] needs ${expected}`);
    }
    const info = { dtype: codeByDtype[tensor.dtype], shape: tensor.shape, data_offsets: [offset, offset + expected] };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += expected;
  }
  const headerBytes = new TextEncoder().encode(`{${fields.join(',')}}`);
  const paddedLength = Math.ceil(headerBytes.byteLength / 8) * 8;
  const out = new Uint8Array(8 + paddedLength + offset);
  dataViewOf(out).setBigUint64(0, BigInt(paddedLength), true);
  out.set(headerBytes, 8);
  out.fill(0x20, 8 + headerBytes.byteLength, 8 + paddedLength);
  let position = 8 + paddedLength;
  for (const [, tensor] of list) {
    out.set(tensor.data, position);
    position += tensor.data.byteLength;
  }
  return out;
}
