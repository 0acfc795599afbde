/** Reads a little-endian u64 as a number; undefined when it exceeds 2^53 (no file we can hold in memory is that big). */
export function readU64AsNumber(view: DataView, offset: number): number | undefined {
  const value = view.getBigUint64(offset, true);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, returning undefined for malformed input instead of substituting U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Each byte as the code point of the same value (Python's 'latin1' codec). */
export function decodeLatin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

/** Reverses the bytes of every element, turning big-endian data into little-endian (or back) in a new array. */
export function swapByteOrder(bytes: Uint8Array, elementBytes: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  if (elementBytes === 1) {
    out.set(bytes);
    return out;
  }
  for (let i = 0; i + elementBytes <= bytes.length; i += elementBytes) {
    for (let j = 0; j < elementBytes; j++) out[i + j] = bytes[i + elementBytes - 1 - j];
  }
  return out;
}
