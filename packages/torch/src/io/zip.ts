import { crc32, inflateRawSync } from 'node:zlib';
import { dataViewOf, decodeLatin1, decodeUtf8, readU64AsNumber } from './bytes.js';

// A read-only zip reader for what torch.save writes (stored entries, a zip64 end record, data descriptors)
// and what Python's zipfile writes (deflate). Sizes and offsets come from the central directory; local
// headers are only checked and skipped, because torch's writer leaves their sizes to a data descriptor.

const localHeaderSignature = 0x04034b50;
const centralHeaderSignature = 0x02014b50;
const endSignature = 0x06054b50;
const zip64EndSignature = 0x06064b50;
const zip64LocatorSignature = 0x07064b50;
const endRecordBytes = 22;
const maxCommentBytes = 0xffff;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipArchive {
  private constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  /** Parses the central directory; entry contents are read (and checked) on demand. */
  static open(bytes: Uint8Array, source: string): ZipArchive {
    const view = dataViewOf(bytes);
    const end = findEndRecord(bytes, view);
    if (end < 0) fail(source, 'no zip end-of-central-directory record (file truncated or not a zip archive)');
    let count = view.getUint16(end + 10, true);
    let directorySize: number | undefined = view.getUint32(end + 12, true);
    let directoryOffset: number | undefined = view.getUint32(end + 16, true);
    const locator = end - 20;
    if (locator >= 0 && view.getUint32(locator, true) === zip64LocatorSignature) {
      const record = readU64AsNumber(view, locator + 8);
      if (record === undefined || record + 56 > locator) fail(source, 'zip64 end record lies outside the file (file truncated?)');
      if (view.getUint32(record, true) !== zip64EndSignature) fail(source, 'zip64 end record is missing or corrupt');
      const count64 = readU64AsNumber(view, record + 32);
      if (count64 === undefined) fail(source, 'zip64 entry count is implausible');
      count = count64;
      directorySize = readU64AsNumber(view, record + 40);
      directoryOffset = readU64AsNumber(view, record + 48);
    }
    if (directorySize === undefined || directoryOffset === undefined || directoryOffset + directorySize > end) {
      fail(source, 'central directory lies outside the file (file truncated?)');
    }
    const entries = new Map<string, ZipEntry>();
    let position = directoryOffset;
    const directoryEnd = directoryOffset + directorySize;
    for (let i = 0; i < count; i++) {
      if (position + 46 > directoryEnd || view.getUint32(position, true) !== centralHeaderSignature) {
        fail(source, `central directory entry ${i} of ${count} is missing or corrupt`);
      }
      const flags = view.getUint16(position + 8, true);
      const method = view.getUint16(position + 10, true);
      const crc = view.getUint32(position + 16, true);
      let compressedSize: number | undefined = view.getUint32(position + 20, true);
      let size: number | undefined = view.getUint32(position + 24, true);
      const nameLength = view.getUint16(position + 28, true);
      const extraLength = view.getUint16(position + 30, true);
      const commentLength = view.getUint16(position + 32, true);
      let localHeaderOffset: number | undefined = view.getUint32(position + 42, true);
      const nameStart = position + 46;
      const extraStart = nameStart + nameLength;
      const next = extraStart + extraLength + commentLength;
      if (next > directoryEnd) fail(source, `central directory entry ${i} runs past the directory`);
      const rawName = bytes.subarray(nameStart, extraStart);
      // Bit 11 marks UTF-8 names; others are CP437, which agrees with Latin-1 on the ASCII names torch writes.
      const name = flags & 0x800 ? decodeUtf8(rawName) : decodeLatin1(rawName);
      if (name === undefined) fail(source, `central directory entry ${i} has a name that is not valid UTF-8`);
      if (size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
        // Zip64 extended information: only the fields whose 32-bit value saturated, in this order.
        const extra = findExtraField(view, extraStart, extraLength, 0x0001);
        if (!extra) fail(source, `entry '${name}' lacks its zip64 size field`);
        let field = extra.start;
        const take = (): number | undefined => {
          if (field + 8 > extra.end) fail(source, `entry '${name}' has a short zip64 size field`);
          const value = readU64AsNumber(view, field);
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        if (size === undefined || compressedSize === undefined || localHeaderOffset === undefined) fail(source, `entry '${name}' has implausible zip64 sizes`);
      }
      if (entries.has(name)) fail(source, `archive has two entries named '${name}'`);
      entries.set(name, { name, method, flags, crc, compressedSize, size, localHeaderOffset });
      position = next;
    }
    return new ZipArchive(bytes, source, entries);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's contents: a view into the archive for stored entries, a new buffer for deflated ones. */
  read(name: string): Uint8Array {
    const { source } = this;
    const entry = this.entries.get(name);
    if (!entry) fail(source, `archive has no entry '${name}'`);
    const { bytes } = this;
    const view = dataViewOf(bytes);
    const header = entry.localHeaderOffset;
    if (header + 30 > bytes.byteLength || view.getUint32(header, true) !== localHeaderSignature) {
      fail(source, `local header of '${name}' is missing or corrupt (file truncated?)`);
    }
    if (entry.flags & 0x1) fail(source, `entry '${name}' is encrypted`);
    const nameLength = view.getUint16(header + 26, true);
    const extraLength = view.getUint16(header + 28, true);
    const localName = bytes.subarray(header + 30, header + 30 + nameLength);
    const expectedName = new TextEncoder().encode(name);
    if (entry.flags & 0x800 ? !sameBytes(localName, expectedName) : decodeLatin1(localName) !== name) {
      fail(source, `local header of '${name}' names a different file; the archive is corrupt`);
    }
    const start = header + 30 + nameLength + extraLength;
    const end = start + entry.compressedSize;
    if (end > bytes.byteLength) fail(source, `entry '${name}' needs bytes ${start}..${end} but the file has ${bytes.byteLength} (file truncated?)`);
    const stored = bytes.subarray(start, end);
    let contents: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) fail(source, `stored entry '${name}' has different compressed and uncompressed sizes`);
      contents = stored;
    } else if (entry.method === 8) {
      try {
        contents = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.size) });
      } catch (error) {
        fail(source, `entry '${name}' does not inflate (${(error as Error).message})`);
      }
      if (contents.byteLength !== entry.size) fail(source, `entry '${name}' inflates to ${contents.byteLength} bytes, expected ${entry.size}`);
    } else {
      fail(source, `entry '${name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    }
    if (crc32(contents) >>> 0 !== entry.crc) fail(source, `entry '${name}' fails its CRC-32 check; the file is corrupt`);
    return contents;
  }
}

function fail(source: string, reason: string): never {
  throw new Error(`${source}: ${reason}`);
}

/** Offset of the end-of-central-directory record: the last signature whose comment length reaches exactly the end of the file. */
function findEndRecord(bytes: Uint8Array, view: DataView): number {
  const lowest = Math.max(0, bytes.byteLength - endRecordBytes - maxCommentBytes);
  for (let at = bytes.byteLength - endRecordBytes; at >= lowest; at--) {
    if (view.getUint32(at, true) === endSignature && at + endRecordBytes + view.getUint16(at + 20, true) === bytes.byteLength) return at;
  }
  return -1;
}

function findExtraField(view: DataView, start: number, length: number, id: number): { start: number; end: number } | undefined {
  let at = start;
  while (at + 4 <= start + length) {
    const fieldId = view.getUint16(at, true);
    const fieldLength = view.getUint16(at + 2, true);
    if (at + 4 + fieldLength > start + length) return undefined;
    if (fieldId === id) return { start: at + 4, end: at + 4 + fieldLength };
    at += 4 + fieldLength;
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
