// Reads MNIST-style IDX files (gzipped or not), as shipped by Debian's dataset-fashion-mnist.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (type 0x08), the type MNIST and Fashion-MNIST use. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${path}: not an IDX file (bad magic number)`);
  if (bytes[2] !== 0x08) throw new Error(`${path}: IDX element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const ndim = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * ndim;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== count) {
    throw new Error(`${path}: header says ${count} values of shape [${shape}], file has ${bytes.length - offset} (truncated?)`);
  }
  return { shape, data: bytes.subarray(offset) };
}
