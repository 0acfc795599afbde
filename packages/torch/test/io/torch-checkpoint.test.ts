import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseSafetensors } from '../../src/io/safetensors.js';
import type { RawTensor } from '../../src/io/raw.js';
import { findStateDict, readTorchCheckpoint, TorchDType } from '../../src/io/torch-checkpoint.js';
import { makeCheckpointFixtures, readBytes } from './fixtures.js';
import { assertTensorMatches, decodeValues, type Expected } from './values.js';

let dir: string;
let remove: () => void;
let expected: Expected;

before(() => {
  ({ dir, remove } = makeCheckpointFixtures());
  expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
});
after(() => remove?.());

function load(name: string): unknown {
  return readTorchCheckpoint(readBytes(join(dir, name)), join(dir, name));
}

function asMap(value: unknown): Map<unknown, unknown> {
  assert.ok(value instanceof Map, `expected a Map, got ${String(value)}`);
  return value;
}

function assertAllMatch(tensors: Map<unknown, unknown>, expectation: Record<string, unknown>, what: string): void {
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(expectation).sort(), `${what} keys`);
  for (const [name, info] of Object.entries(expectation)) {
    assertTensorMatches(tensors.get(name) as RawTensor, info as Expected[string][string], `${what}:${name}`);
  }
}

describe('readTorchCheckpoint on torch.save output (PyTorch 1.13)', () => {
  test('resnet18 state dict: every key in order, dtype, shape and byte', () => {
    const path = join(dir, 'resnet18.pth');
    const bytes = readBytes(path);
    const checkpoint = readTorchCheckpoint(bytes, path);
    const stateDict = findStateDict(checkpoint, path);
    assert.equal(stateDict, checkpoint);
    assert.deepEqual([...stateDict.keys()], expected['resnet18.pth:order']);
    assertAllMatch(stateDict, expected['resnet18.pth'], 'resnet18');
    const counters = [...stateDict].filter(([name]) => name.endsWith('num_batches_tracked'));
    assert.equal(counters.length, 20);
    for (const [name, tensor] of counters) {
      assert.equal(tensor.dtype, 'int64', name);
      assert.deepEqual(tensor.shape, []);
      assert.deepEqual(decodeValues(tensor), [1], name);
    }
    // Contiguous tensors are views of the file, not copies.
    assert.equal(stateDict.get('fc.weight')!.data.buffer, bytes.buffer);
  });

  test('resnet18 checkpoint agrees byte for byte with the safetensors file Python wrote by hand', () => {
    const fromTorch = findStateDict(load('resnet18.pth'), 'resnet18.pth');
    const path = join(dir, 'resnet18.safetensors');
    const { tensors, metadata } = parseSafetensors(readBytes(path), path);
    assert.deepEqual(metadata, { format: 'pt', source: 'make_checkpoints.py' });
    assert.deepEqual([...tensors.keys()], [...fromTorch.keys()]);
    for (const [name, tensor] of fromTorch) {
      const other = tensors.get(name)!;
      assert.equal(other.dtype, tensor.dtype, name);
      assert.deepEqual(other.shape, tensor.shape, name);
      assert.ok(Buffer.from(other.data).equals(Buffer.from(tensor.data)), name);
    }
  });

  test('views: shared storages, transposes, slices, steps, stride 0, 0-d and empty tensors', () => {
    const views = asMap(load('views.pth'));
    assertAllMatch(views, expected['views.pth'], 'views');
    const a = views.get('a') as RawTensor;
    const x = views.get('x') as RawTensor;
    assert.deepEqual(decodeValues(x), [2, 3, 4]);
    assert.deepEqual(decodeValues(views.get('y') as RawTensor), [0, 2, 4, 6, 8]);
    assert.deepEqual(decodeValues(views.get('mt') as RawTensor), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(decodeValues(views.get('expanded') as RawTensor), [1, 2, 3, 1, 2, 3]);
    assert.deepEqual((views.get('scalar') as RawTensor).shape, []);
    assert.deepEqual(decodeValues(views.get('scalar') as RawTensor), [4]);
    assert.deepEqual((views.get('empty') as RawTensor).shape, [0, 3]);
    // x is a contiguous slice of a's storage, so both view the same bytes.
    assert.equal(x.data.buffer, a.data.buffer);
    assert.equal(x.data.byteOffset, a.data.byteOffset + 2 * 4);
  });

  test('every supported dtype', () => {
    const tensors = asMap(load('dtypes.pth'));
    assertAllMatch(tensors, expected['dtypes.pth'], 'dtypes');
    assert.deepEqual(decodeValues(tensors.get('f16') as RawTensor), [0.5, -2, 65504, 2 ** -24, Infinity]);
    assert.deepEqual(decodeValues(tensors.get('bool') as RawTensor), [true, false, false, true]);
  });

  test('parameters, tensors with Python attributes, and parameters with state', () => {
    assertAllMatch(asMap(load('params.pth')), expected['params.pth'], 'params');
  });

  const plainValues: [string, unknown][] = [
    ['epoch', 3],
    ['lr', 0.1],
    ['name', 'x'],
    ['tup', [1, 2]],
    ['big', 2n ** 70n],
    ['neg', -123456789012],
    ['none', null],
    ['flag', true],
    ['raw', Uint8Array.from([0, 255, 97, 98])],
    ['empty_bytes', new Uint8Array(0)],
    ['floats', [1.5, -0, Infinity]],
    ['set', new Set([7])],
    ['unicode', 'h\u00e9llo \u2713'],
  ];

  for (const name of ['nested.pth', 'nested_p1.pth', 'nested_p2.pth', 'nested_p3.pth', 'nested_p4.pth', 'nested_p5.pth']) {
    test(`nested checkpoint with Python values: ${name}`, () => {
      const checkpoint = asMap(load(name));
      assert.deepEqual(
        [...checkpoint.keys()],
        ['model', ...plainValues.map(([key]) => key), 'dtype', 'size', 'device'],
      );
      for (const [key, value] of plainValues) assert.deepEqual(checkpoint.get(key), value, key);
      assert.deepEqual(checkpoint.get('dtype'), new TorchDType('float16'));
      assert.deepEqual(checkpoint.get('size'), [2, 3]);
      assert.equal(checkpoint.get('device'), 'cuda:1');
      const model = findStateDict(checkpoint, name);
      assert.equal(model, checkpoint.get('model'));
      assertAllMatch(model, expected.linear, 'model');
    });
  }

  test('pickle protocol 0 (text opcodes)', () => {
    const checkpoint = asMap(load('plain_p0.pth'));
    assert.deepEqual([...checkpoint.keys()], [...plainValues.map(([key]) => key), 'size']);
    for (const [key, value] of plainValues) assert.deepEqual(checkpoint.get(key), value, key);
    assert.deepEqual(checkpoint.get('size'), [2, 3]);
  });

  test('big-endian archive written by Python zipfile with deflate, under archive/', () => {
    assertAllMatch(asMap(load('four_byte.pth')), expected.four_byte, 'little-endian');
    assertAllMatch(asMap(load('bigendian.pth')), expected.four_byte, 'big-endian');
  });

  test('zip64 archive (sizes and offsets only in zip64 fields)', () => {
    assertAllMatch(asMap(load('zip64.pth')), expected.four_byte, 'zip64');
  });

  test('a view that exactly fills its storage loads', () => {
    const t = asMap(load('fits.pth')).get('t') as RawTensor;
    assert.deepEqual(t.shape, [2, 5]);
    assert.deepEqual(decodeValues(t), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('findStateDict', () => {
  test('explains what the checkpoint holds when no state dict is found', () => {
    const path = join(dir, 'plain_p0.pth');
    assert.throws(() => findStateDict(load('plain_p0.pth'), path), (error: Error) => {
      assert.ok(error.message.startsWith(`${path}: no state dict found`), error.message);
      assert.match(error.message, /'epoch', 'lr', 'name'/);
      assert.match(error.message, /'state_dict', 'model', 'model_state_dict', 'ema'/);
      return true;
    });
    assert.throws(() => findStateDict([1, 2], 'list.pth'), /^Error: list\.pth: checkpoint holds a tuple\/list of 2, not a dict of tensors$/);
  });

  test('picks the first state dict among the known keys', () => {
    const tensor: RawTensor = { dtype: 'uint8', shape: [1], data: Uint8Array.of(5) };
    const ema = new Map([['w', tensor]]);
    const model = new Map([['w', tensor]]);
    assert.equal(findStateDict(new Map<string, unknown>([['ema', ema], ['model', model], ['epoch', 1]]), 'x'), model);
    // 'state_dict' holding something else is skipped.
    assert.equal(findStateDict(new Map<string, unknown>([['state_dict', new Map([['a', 1]])], ['ema', ema]]), 'x'), ema);
  });
});
