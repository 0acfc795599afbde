import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PickleFunction, unpickle, type UnpickleOptions } from '../../src/io/pickle.js';

const PROTO2 = [0x80, 2];
const STOP = 0x2e;

function bytesOf(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part === 'string') out.push(...new TextEncoder().encode(part));
    else out.push(...part);
  }
  return Uint8Array.from(out);
}

function refuseAll(module: string, name: string): never {
  throw new Error(`test refuses ${module}.${name}`);
}

function load(bytes: Uint8Array, options: Partial<UnpickleOptions> = {}): unknown {
  return unpickle(bytes, { source: 'test.pkl', findGlobal: refuseAll, ...options });
}

describe('unpickle', () => {
  test('integers: BININT sign, LONG1 two’s complement, bigint beyond 2^53', () => {
    // (BININT -5, LONG1 [], LONG1 [ff], LONG1 2^63 as 9 bytes, LONG1 -2^63 as 8 bytes, BININT2 65535)
    const bytes = bytesOf(PROTO2, 0x28, 0x4a, [0xfb, 0xff, 0xff, 0xff], 0x8a, 0, 0x8a, 1, 0xff,
      0x8a, 9, [0, 0, 0, 0, 0, 0, 0, 0x80, 0], 0x8a, 8, [0, 0, 0, 0, 0, 0, 0, 0x80], 0x4d, [0xff, 0xff], 0x74, STOP);
    assert.deepEqual(load(bytes), [-5, 0, -1, 2n ** 63n, -(2n ** 63n), 65535]);
  });

  test('GLOBAL asks findGlobal (Python 2 module names mapped) and REDUCE calls only our stand-ins', () => {
    const calls: unknown[][] = [];
    const seen: string[] = [];
    const options: Partial<UnpickleOptions> = {
      findGlobal(module, name) {
        seen.push(`${module}.${name}`);
        return new PickleFunction('builtins.set', (args) => {
          calls.push(args);
          return 'made';
        });
      },
    };
    // __builtin__.set((1, 'a'))
    const bytes = bytesOf(PROTO2, 0x63, '__builtin__\nset\n', 0x4b, 1, 0x8c, 1, 'a', 0x86, 0x85, 0x52, STOP);
    assert.equal(load(bytes, options), 'made');
    assert.deepEqual(seen, ['builtins.set']);
    assert.deepEqual(calls, [[[1, 'a']]]);
  });

  test('refusals come from findGlobal; REDUCE on anything else is refused', () => {
    const reduceOs = bytesOf(PROTO2, 0x63, 'os\nsystem\n', 0x8c, 2, 'ls', 0x85, 0x52, STOP);
    assert.throws(() => load(reduceOs), /test refuses os\.system/);
    const notCallable = { findGlobal: () => ({ marker: true }) };
    assert.throws(() => load(reduceOs, notCallable), /^Error: test\.pkl: pickle byte 18: cannot call Object$/);
    // REDUCE on a string that was on the stack
    assert.throws(() => load(bytesOf(PROTO2, 0x8c, 1, 'x', 0x29, 0x52, STOP)), /cannot call string x/);
  });

  test('BUILD and persistent ids are refused unless the caller handles them', () => {
    assert.throws(() => load(bytesOf(PROTO2, 0x7d, 0x7d, 0x62, STOP)), /cannot set the state of a dict/);
    assert.throws(() => load(bytesOf(PROTO2, 0x4b, 1, 0x51, STOP)), /persistent ids are not supported here/);
    const built: unknown[] = [];
    const result = load(bytesOf(PROTO2, 0x4b, 1, 0x51, STOP), { persistentLoad: (pid) => ({ pid }) });
    assert.deepEqual(result, { pid: 1 });
    load(bytesOf(PROTO2, 0x7d, 0x4b, 7, 0x62, STOP), { build: (target, state) => built.push(target, state) });
    assert.deepEqual(built, [new Map(), 7]);
  });

  test('corrupt input: errors name the file and byte offset', () => {
    assert.throws(() => load(bytesOf(PROTO2, 0xff)), /^Error: test\.pkl: pickle byte 2: unknown opcode 0xff/);
    assert.throws(() => load(bytesOf(PROTO2, 0x68, 3, STOP)), /byte 2: memo 3 was never stored/);
    assert.throws(() => load(bytesOf(PROTO2, 0x61, STOP)), /stack underflow/);
    assert.throws(() => load(bytesOf(PROTO2, 0x58, [0xff, 0xff, 0xff, 0x7f], 'abc')), /byte 2: needs 2147483647 more bytes but the pickle ends/);
    assert.throws(() => load(bytesOf(PROTO2, 0x4b, 1)), /pickle ends without STOP/);
    assert.throws(() => load(bytesOf(0x80, 6, STOP)), /pickle protocol 6 is newer/);
    assert.throws(() => load(bytesOf(PROTO2, 0x8c, 2, [0xc3, 0x28], STOP)), /string is not valid UTF-8/);
    assert.throws(() => load(bytesOf(PROTO2, 0x75, STOP)), /no MARK to pop to/);
    assert.throws(() => load(bytesOf(PROTO2, 0x4b, 1, 0x4b, 2, 0x61, STOP)), /cannot append to number 1/);
    assert.throws(() => load(bytesOf(PROTO2, 0x97, STOP)), /out-of-band pickle buffers are not supported/, 'the part name defaults to "pickle"');
    assert.throws(() => load(bytesOf(PROTO2, 0x97, STOP), { part: 'archive/data.pkl' }), /^Error: test\.pkl: archive\/data\.pkl byte 2: /);
  });

  test('deep nesting does not overflow the JS stack', () => {
    const depth = 200_000;
    // EMPTY_LIST x depth, then APPEND x (depth - 1): each list holds the next.
    const bytes = new Uint8Array(2 + depth + (depth - 1) + 1);
    bytes.set(PROTO2);
    bytes.fill(0x5d, 2, 2 + depth);
    bytes.fill(0x61, 2 + depth, 2 + depth + depth - 1);
    bytes[bytes.length - 1] = STOP;
    let value = load(bytes);
    let levels = 1;
    while (Array.isArray(value) && value.length === 1) {
      value = value[0];
      levels++;
    }
    assert.deepEqual(value, []);
    assert.equal(levels, depth);
  });

  test('protocol 0 text opcodes: INT, LONG, FLOAT, STRING, UNICODE, DICT, PUT/GET', () => {
    // (dp0 / S'a\x00\n' / I01 / sV\u2713 / L-12345678901234567890L / sS"q" / F-0.5 / sg0 .
    const text = "(dp0\nS'a\\x00\\n'\nI01\nsV\\u2713\nL-12345678901234567890L\nsS\"q\"\nF-0.5\nsg0\n.";
    const result = load(new TextEncoder().encode(text));
    assert.ok(result instanceof Map);
    assert.deepEqual([...result], [['a\u0000\n', true], ['\u2713', -12345678901234567890n], ['q', -0.5]]);
  });
});
