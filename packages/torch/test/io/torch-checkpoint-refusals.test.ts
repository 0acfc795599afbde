import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readTorchCheckpoint } from '../../src/io/torch-checkpoint.js';
import { ZipArchive } from '../../src/io/zip.js';
import { makeCheckpointFixtures, readBytes } from './fixtures.js';
import { writeStoredZip } from './zip-writer.js';

let dir: string;
let remove: () => void;

before(() => {
  ({ dir, remove } = makeCheckpointFixtures());
});
after(() => remove?.());

/** Asserts that loading fails with an Error whose message starts with the path and matches `pattern`. */
function assertRefused(bytes: Uint8Array, path: string, pattern: RegExp): void {
  assert.throws(
    () => readTorchCheckpoint(bytes, path),
    (error: unknown) => {
      assert.ok(error instanceof Error, `threw ${String(error)}`);
      assert.ok(error.message.startsWith(`${path}: `), `message does not start with the path: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

function refusesFile(name: string, pattern: RegExp): void {
  const path = join(dir, name);
  assertRefused(readBytes(path), path, pattern);
}

/** Loads and returns the outcome: 'ok', or the error (which must be an Error starting with the path). */
function outcome(bytes: Uint8Array, path: string): 'ok' | Error {
  try {
    readTorchCheckpoint(bytes, path);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
    assert.ok(error.message.startsWith(`${path}: `), `message does not start with the path: ${error.stack}`);
    return error;
  }
}

/** Entries of a checkpoint archive, to rebuild it with changes. */
function entriesOf(name: string): [string, Uint8Array][] {
  const path = join(dir, name);
  const zip = ZipArchive.open(readBytes(path), path);
  return [...zip.entries.keys()].map((entry) => [entry, zip.read(entry)]);
}

/** xorshift32, so fuzzed inputs are the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

describe('pickles that would run code are refused and nothing runs', () => {
  test('os.system via GLOBAL + REDUCE', () => {
    refusesFile('evil_system.pth', /refuses to load global 'posix\.system' \(only tensor and container types are allowed; this file may run code when loaded by pickle\)/);
    assert.equal(existsSync(join(dir, 'pwned')), false);
  });

  test('os.system via STACK_GLOBAL (protocol 4)', () => {
    refusesFile('evil_system_p4.pth', /refuses to load global 'posix\.system'/);
    assert.equal(existsSync(join(dir, 'pwned')), false);
  });

  test('builtins.eval next to a real tensor', () => {
    refusesFile('evil_eval.pth', /refuses to load global 'builtins\.eval'/);
    assert.equal(existsSync(join(dir, 'pwned')), false);
  });

  test('torch.storage._load_from_bytes (which would run torch.load on nested bytes)', () => {
    refusesFile('evil_load_from_bytes.pth', /refuses to load global 'torch\.storage\._load_from_bytes'/);
  });

  test('a whole pickled nn.Module is refused with advice to save its state dict', () => {
    refusesFile('whole_module.pth', /refuses to load global 'torch\.nn\.modules\.linear\.Linear'.*save model\.state_dict\(\) instead/);
  });
});

describe('unsupported formats', () => {
  test('legacy (pre-1.6) torch.save format', () => {
    refusesFile('legacy.pth', /legacy \(pre-1\.6\) torch\.save format is not supported; re-save with torch\.save\(obj, path\) in PyTorch ≥ 1\.6/);
  });

  test('TorchScript archive', () => {
    refusesFile('script.pt', /TorchScript archive \(torch\.jit\.save\)/);
  });

  test('a safetensors file and other files', () => {
    refusesFile('resnet18.safetensors', /looks like a safetensors file/);
    assertRefused(new TextEncoder().encode('hello, world'), 'notes.txt', /not a PyTorch checkpoint/);
    assertRefused(new Uint8Array(0), 'empty.pth', /file is 0 bytes, too short/);
  });
});

describe('views outside their storage are refused', () => {
  test('size beyond the storage', () => refusesFile('oob_size.pth', /reaches element 10 of a storage of 10/));
  test('offset plus size beyond the storage', () => refusesFile('oob_offset.pth', /reaches element 10 of a storage of 10/));
  test('strides beyond the storage', () => refusesFile('oob_stride.pth', /size \[2, 3\], stride \[5, 3\]\) reaches element 11 of a storage of 10/));
});

describe('truncated and corrupt archives fail with the path, never crash or hang', () => {
  test('resnet18.pth cut at many points', () => {
    const path = join(dir, 'resnet18.pth');
    const bytes = readBytes(path);
    const n = bytes.byteLength;
    for (const cut of [0, 1, 3, 4, 30, 100, 1000, 70_000, n >> 2, n >> 1, n - 100_000, n - 1000, n - 100, n - 23, n - 22, n - 21, n - 1]) {
      const result = outcome(bytes.subarray(0, cut), path);
      assert.notEqual(result, 'ok', `cut at ${cut} loaded`);
    }
  });

  test('nested.pth cut at every byte', () => {
    const path = join(dir, 'nested.pth');
    const bytes = readBytes(path);
    for (let cut = 0; cut < bytes.byteLength; cut++) assert.notEqual(outcome(bytes.subarray(0, cut), path), 'ok', `cut at ${cut} loaded`);
  });

  test('a flipped byte in a storage fails the CRC check', () => {
    const path = join(dir, 'nested.pth');
    const bytes = readBytes(path).slice();
    const zip = ZipArchive.open(bytes, path);
    const storage = [...zip.entries.values()].find((entry) => entry.name.endsWith('/data/0'))!;
    const view = zip.read(storage.name);
    const at = view.byteOffset - bytes.byteOffset;
    bytes[at + 1] ^= 0x40;
    assertRefused(bytes, path, /entry 'nested\/data\/0' fails its CRC-32 check/);
  });

  test('a rebuilt archive loads like the original (so the cases below test the pickle, not the rebuild)', () => {
    const path = join(dir, 'nested.pth');
    assert.deepEqual(readTorchCheckpoint(writeStoredZip(entriesOf('nested.pth')), path), readTorchCheckpoint(readBytes(path), path));
  });

  test('missing and short storage records', () => {
    const entries = entriesOf('nested.pth');
    const without = entries.filter(([name]) => name !== 'nested/data/0');
    assertRefused(writeStoredZip(without), 'x.pth', /storage '0' is missing from the archive \(no nested\/data\/0\)/);
    const short = entries.map(([name, data]): [string, Uint8Array] => [name, name === 'nested/data/0' ? data.subarray(0, 3) : data]);
    assertRefused(writeStoredZip(short), 'x.pth', /nested\/data\/0 holds 3 bytes but its float32 storage needs \d+ \(file truncated\?\)/);
  });

  test('data.pkl cut at every byte, in an otherwise valid archive', () => {
    const entries = entriesOf('nested.pth');
    const pickle = entries.find(([name]) => name === 'nested/data.pkl')![1];
    for (let cut = 0; cut < pickle.byteLength; cut++) {
      const changed = entries.map(([name, data]): [string, Uint8Array] => [name, name === 'nested/data.pkl' ? data.subarray(0, cut) : data]);
      const result = outcome(writeStoredZip(changed), 'cut.pth');
      assert.notEqual(result, 'ok', `data.pkl cut at ${cut} loaded`);
    }
  });

  test('data.pkl with random byte changes: loads or fails with the path', () => {
    const next = random(0x1f2e3d4c);
    for (const name of ['nested_p2.pth', 'nested_p4.pth', 'views.pth']) {
      const entries = entriesOf(name);
      const pickleName = entries.find(([entry]) => entry.endsWith('/data.pkl'))![0];
      let failures = 0;
      for (let round = 0; round < 400; round++) {
        const changed = entries.map(([entry, data]): [string, Uint8Array] => {
          if (entry !== pickleName) return [entry, data];
          const mutated = data.slice();
          const flips = 1 + Math.floor(next() * 3);
          for (let i = 0; i < flips; i++) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
          return [entry, mutated];
        });
        if (outcome(writeStoredZip(changed), 'fuzz.pth') !== 'ok') failures++;
      }
      // Most single-byte changes break a pickle; if none did, the mutation loop is not doing anything.
      assert.ok(failures > 100, `${name}: only ${failures} of 400 mutations failed`);
    }
  });
});
