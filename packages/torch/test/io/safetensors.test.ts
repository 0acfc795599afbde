import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DType } from '../../src/dtype.js';
import type { RawTensor } from '../../src/io/raw.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { makeCheckpointFixtures, readBytes } from './fixtures.js';
import { assertTensorMatches, decodeValues, type Expected } from './values.js';

/** A file with this exact header text (or object) and data buffer. */
function safetensorsFile(header: string | object, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(data, 8 + text.byteLength);
  return out;
}

function assertFails(bytes: Uint8Array, pattern: RegExp, path = 'weights.safetensors'): void {
  assert.throws(
    () => parseSafetensors(bytes, path),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

function tensorOf(dtype: DType, shape: number[], bytes: number[]): RawTensor {
  return { dtype, shape, data: Uint8Array.from(bytes) };
}

const allDtypes: Record<string, RawTensor> = {
  f32: tensorOf('float32', [2], [0, 0, 0xc0, 0x3f, 0, 0, 0x80, 0xbf]),
  f64: tensorOf('float64', [1], [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]),
  f16: tensorOf('float16', [3], [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]),
  bf16: tensorOf('bfloat16', [2, 1], [0xc0, 0x3f, 0x80, 0xff]),
  i64: tensorOf('int64', [1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  i32: tensorOf('int32', [1, 1], [0x00, 0x00, 0x00, 0x80]),
  i16: tensorOf('int16', [1], [0x01, 0x80]),
  i8: tensorOf('int8', [2], [0x80, 0x7f]),
  u8: tensorOf('uint8', [3], [0, 128, 255]),
  bool: tensorOf('bool', [2, 2], [1, 0, 0, 1]),
  scalar: tensorOf('float32', [], [0, 0, 0x20, 0x41]),
  empty: tensorOf('float32', [0, 4], []),
};

describe('serializeSafetensors / parseSafetensors round trip', () => {
  test('every dtype, scalars, empty tensors and metadata survive a round trip', () => {
    const bytes = serializeSafetensors(allDtypes, { format: 'pt', note: 'ünïcode' });
    const { tensors, metadata } = parseSafetensors(bytes, 'round.safetensors');
    assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode' });
    assert.deepEqual([...tensors.keys()], Object.keys(allDtypes));
    for (const [name, tensor] of Object.entries(allDtypes)) {
      const back = tensors.get(name)!;
      assert.equal(back.dtype, tensor.dtype, name);
      assert.deepEqual(back.shape, tensor.shape, name);
      assert.deepEqual([...back.data], [...tensor.data], name);
    }
    assert.deepEqual(decodeValues(tensors.get('f32')!), [1.5, -1]);
    assert.deepEqual(decodeValues(tensors.get('f16')!), [1, -2, 65504]);
    assert.deepEqual(decodeValues(tensors.get('bf16')!), [1.5, -Infinity]);
    assert.deepEqual(decodeValues(tensors.get('i32')!), [-(2 ** 31)]);
    assert.deepEqual(decodeValues(tensors.get('scalar')!), [10]);
  });

  test('layout: header padded with spaces to 8 bytes, tensors contiguous in insertion order', () => {
    const bytes = serializeSafetensors(new Map([['b', allDtypes.u8], ['a', allDtypes.f64]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    assert.match(header, / *$/);
    assert.deepEqual(JSON.parse(header), {
      b: { dtype: 'U8', shape: [3], data_offsets: [0, 3] },
      a: { dtype: 'F64', shape: [1], data_offsets: [3, 11] },
    });
    assert.equal(bytes.byteLength, 8 + headerLength + 11);
    assert.deepEqual([...bytes.subarray(8 + headerLength)], [0, 128, 255, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  test('a tensor named __proto__ and an empty file', () => {
    const tensors = new Map([['__proto__', allDtypes.u8]]);
    const parsed = parseSafetensors(serializeSafetensors(tensors), 'x');
    assert.deepEqual([...parsed.tensors.get('__proto__')!.data], [0, 128, 255]);
    const empty = parseSafetensors(serializeSafetensors({}), 'x');
    assert.equal(empty.tensors.size, 0);
    assert.deepEqual(empty.metadata, {});
  });

  test('the writer refuses tensors whose bytes do not match their shape', () => {
    assert.throws(() => serializeSafetensors({ w: tensorOf('float32', [2], [1, 2, 3]) }), /'w' has 3 bytes but float32 \[2\] needs 8/);
    assert.throws(() => serializeSafetensors({ __metadata__: allDtypes.u8 }), /'__metadata__' is reserved/);
  });
});

describe('parseSafetensors on files written by Python', () => {
  let dir: string;
  let remove: () => void;
  let expected: Expected;
  before(() => {
    ({ dir, remove } = makeCheckpointFixtures());
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  });
  after(() => remove?.());

  test('resnet18 state dict written by hand to the spec', () => {
    const path = join(dir, 'resnet18.safetensors');
    const { tensors, metadata } = parseSafetensors(readBytes(path), path);
    assert.deepEqual(metadata, { format: 'pt', source: 'make_checkpoints.py' });
    assert.deepEqual([...tensors.keys()], expected['resnet18.pth:order']);
    for (const [name, info] of Object.entries(expected['resnet18.pth'])) assertTensorMatches(tensors.get(name), info, name);
  });

  test('every dtype written by hand to the spec', () => {
    const path = join(dir, 'dtypes.safetensors');
    const { tensors } = parseSafetensors(readBytes(path), path);
    assert.equal(tensors.size, Object.keys(expected['dtypes.pth']).length);
    for (const [name, info] of Object.entries(expected['dtypes.pth'])) assertTensorMatches(tensors.get(name), info, name);
  });

  test('truncated at many points: an error naming the file', () => {
    const path = join(dir, 'dtypes.safetensors');
    const bytes = readBytes(path);
    for (let cut = 0; cut < bytes.byteLength; cut++) {
      assert.throws(() => parseSafetensors(bytes.subarray(0, cut), path), (error: Error) => error.message.startsWith(`${path}: `), `cut at ${cut}`);
    }
  });
});

describe('parseSafetensors refuses malformed files', () => {
  const four = new Uint8Array(4);
  const f32 = (begin: number, end: number, shape = [1]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  test('short file and implausible header length', () => {
    assertFails(new Uint8Array(5), /file is 5 bytes, too short/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffn, true);
    assertFails(huge, /header length 281474976710655 is implausible/);
    const beyond = safetensorsFile({});
    new DataView(beyond.buffer).setBigUint64(0, 1000n, true);
    assertFails(beyond, /header length 1000 exceeds the 2 bytes after it \(file truncated\?\)/);
  });

  test('header that is not JSON, not an object, or not UTF-8', () => {
    assertFails(safetensorsFile('{"a": '), /header is not valid JSON/);
    assertFails(safetensorsFile('[1, 2]'), /does not start with "\{"/);
    const invalidUtf8 = safetensorsFile('{ }');
    invalidUtf8[9] = 0xff;
    assertFails(invalidUtf8, /header is not valid UTF-8/);
  });

  test('unknown dtype, bad shape, bad offsets', () => {
    assertFails(safetensorsFile({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'w' has dtype "C64", which is not supported/);
    assertFails(safetensorsFile({ w: f32(0, 4, [-1]) }, four), /tensor 'w' has shape \[-1\]/);
    assertFails(safetensorsFile({ w: f32(0, 4, [1.5]) }, four), /tensor 'w' has shape \[1.5\]/);
    assertFails(safetensorsFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, four), /data_offsets \[4,0\]; expected \[begin, end\]/);
    assertFails(safetensorsFile({ w: { dtype: 'F32', shape: [1] } }, four), /tensor 'w' has data_offsets undefined/);
    assertFails(safetensorsFile({ w: f32(0, 8, [2]) }, four), /^weights\.safetensors: tensor 'w' data_offsets \[0, 8\] do not fit in 4 data bytes \(file truncated\?\)$/);
    assertFails(safetensorsFile({ w: f32(0, 4, [2]) }, four), /data_offsets \[0, 4\] span 4 bytes but F32 shape \[2\] needs 8/);
  });

  test('overlapping offsets, gaps and unclaimed trailing bytes', () => {
    assertFails(safetensorsFile({ a: f32(0, 8, [2]), b: f32(4, 8) }, new Uint8Array(8)), /tensors 'a' \[0, 8\] and 'b' \[4, 8\] overlap/);
    assertFails(safetensorsFile({ a: f32(0, 4), b: f32(0, 4) }, four), /overlap/);
    assertFails(safetensorsFile({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12)), /data bytes 4\.\.8 belong to no tensor/);
    assertFails(safetensorsFile({ a: f32(0, 4) }, new Uint8Array(6)), /data buffer has 6 bytes but the tensors cover only 4/);
  });

  test('metadata must map strings to strings', () => {
    assertFails(safetensorsFile({ __metadata__: { epoch: 3 } }), /__metadata__ entry 'epoch' is not a string/);
    assertFails(safetensorsFile({ __metadata__: 'x' }), /__metadata__ is not an object of strings/);
  });

  test('tensors listed out of offset order are accepted; data are views of the file', () => {
    const data = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0);
    const bytes = safetensorsFile({ second: { dtype: 'I32', shape: [1], data_offsets: [4, 8] }, first: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, data);
    const { tensors } = parseSafetensors(bytes, 'x');
    assert.deepEqual([...tensors.keys()], ['second', 'first']);
    assert.deepEqual(decodeValues(tensors.get('second')!), [2]);
    assert.deepEqual(decodeValues(tensors.get('first')!), [1]);
    assert.equal(tensors.get('first')!.data.buffer, bytes.buffer);
  });
});
