import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { ZipArchive } from '../../src/io/zip.js';
import { writeStoredZip } from './zip-writer.js';

const text = (s: string) => new TextEncoder().encode(s);
const files: [string, Uint8Array][] = [
  ['top/data.pkl', text('pickle bytes')],
  ['top/data/0', Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)],
  ['top/empty', new Uint8Array(0)],
];

function fails(bytes: Uint8Array, pattern: RegExp, read?: string): void {
  assert.throws(
    () => {
      const zip = ZipArchive.open(bytes, 'a.zip');
      if (read) zip.read(read);
    },
    (error: Error) => {
      assert.ok(error.message.startsWith('a.zip: '), error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

/** Offset of the first central directory entry, from the end record. */
function centralOffset(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return view.getUint32(bytes.byteLength - 22 + 16, true);
}

describe('ZipArchive', () => {
  test('lists and reads stored entries as views of the archive', () => {
    const bytes = writeStoredZip(files);
    const zip = ZipArchive.open(bytes, 'a.zip');
    assert.deepEqual([...zip.entries.keys()], files.map(([name]) => name));
    for (const [name, data] of files) assert.deepEqual([...zip.read(name)], [...data], name);
    assert.equal(zip.read('top/data/0').buffer, bytes.buffer);
    assert.throws(() => zip.read('top/nope'), /^Error: a\.zip: archive has no entry 'top\/nope'$/);
  });

  test('an archive comment holding a fake end-record signature', () => {
    const plain = writeStoredZip(files);
    const comment = Uint8Array.of(0x50, 0x4b, 0x05, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
    const bytes = new Uint8Array(plain.byteLength + comment.byteLength);
    bytes.set(plain);
    bytes.set(comment, plain.byteLength);
    new DataView(bytes.buffer).setUint16(plain.byteLength - 2, comment.byteLength, true);
    assert.deepEqual([...ZipArchive.open(bytes, 'a.zip').read('top/data.pkl')], [...files[0][1]]);
  });

  test('deflated entries inflate; a wrong size or CRC is caught', () => {
    const data = text('abc'.repeat(100));
    const bytes = writeStoredZip([['f', deflateRawSync(data)]]);
    const view = new DataView(bytes.buffer);
    const central = centralOffset(bytes);
    // Mark the entry deflated in both headers, with the CRC and size of the inflated data.
    view.setUint16(8, 8, true);
    view.setUint16(central + 10, 8, true);
    view.setUint32(central + 16, crc32(data) >>> 0, true);
    view.setUint32(central + 24, data.byteLength, true);
    assert.deepEqual([...ZipArchive.open(bytes, 'a.zip').read('f')], [...data]);

    const badCrc = bytes.slice();
    new DataView(badCrc.buffer).setUint32(central + 16, (crc32(data) ^ 1) >>> 0, true);
    fails(badCrc, /entry 'f' fails its CRC-32 check; the file is corrupt/, 'f');
    const tooSmall = bytes.slice();
    new DataView(tooSmall.buffer).setUint32(central + 24, data.byteLength - 1, true);
    fails(tooSmall, /entry 'f' does not inflate/, 'f');
    const tooLarge = bytes.slice();
    new DataView(tooLarge.buffer).setUint32(central + 24, data.byteLength + 1, true);
    fails(tooLarge, /entry 'f' inflates to 300 bytes, expected 301/, 'f');
    const garbage = bytes.slice();
    garbage.fill(0xff, 31, 40);
    fails(garbage, /entry 'f' does not inflate|CRC-32/, 'f');
  });

  test('unsupported methods, encryption, mismatched local headers, duplicates', () => {
    const bytes = writeStoredZip(files);
    const central = centralOffset(bytes);
    const method = bytes.slice();
    new DataView(method.buffer).setUint16(central + 10, 12, true);
    fails(method, /uses compression method 12; only stored \(0\) and deflate \(8\) are supported/, 'top/data.pkl');
    const encrypted = bytes.slice();
    new DataView(encrypted.buffer).setUint16(central + 8, 0x801, true);
    fails(encrypted, /entry 'top\/data\.pkl' is encrypted/, 'top/data.pkl');
    const renamed = bytes.slice();
    renamed[30] = 'X'.charCodeAt(0);
    fails(renamed, /local header of 'top\/data\.pkl' names a different file/, 'top/data.pkl');
    fails(writeStoredZip([files[0], files[0]]), /archive has two entries named 'top\/data\.pkl'/);
  });

  test('truncated, empty and foreign files', () => {
    const bytes = writeStoredZip(files);
    for (let cut = 0; cut < bytes.byteLength; cut++) {
      assert.throws(() => ZipArchive.open(bytes.subarray(0, cut), 'a.zip'), /^Error: a\.zip: /, `cut at ${cut}`);
    }
    fails(new Uint8Array(0), /no zip end-of-central-directory record/);
    const pointsPastEnd = bytes.slice();
    new DataView(pointsPastEnd.buffer).setUint32(pointsPastEnd.byteLength - 22 + 16, 1 << 30, true);
    fails(pointsPastEnd, /central directory lies outside the file/);
  });
});
