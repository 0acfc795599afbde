/**
 * Copies the elements of a strided view out of `storage` into contiguous row-major order.
 * Returns a view of `storage` (no copy) when the layout is already contiguous.
 * Sizes, strides and offset are in elements; they must have been validated by `checkStridedView`.
 */
export function gatherStrided(storage: Uint8Array, elementBytes: number, offset: number, size: readonly number[], stride: readonly number[]): Uint8Array {
  const numel = size.reduce((a, b) => a * b, 1);
  if (numel === 0) return new Uint8Array(0);
  // Dimensions of extent 1 never move the index, so they cannot break contiguity.
  const dims = size.map((extent, i) => ({ extent, stride: stride[i] })).filter((d) => d.extent !== 1);
  let expected = 1;
  let contiguous = true;
  for (let i = dims.length - 1; i >= 0; i--) {
    if (dims[i].stride !== expected) contiguous = false;
    expected *= dims[i].extent;
  }
  if (contiguous) return storage.subarray(offset * elementBytes, (offset + numel) * elementBytes);

  // Copy runs along the innermost dimension when it is dense, element by element otherwise.
  const innermost = dims[dims.length - 1];
  const runElements = innermost.stride === 1 ? innermost.extent : 1;
  const outer = runElements === 1 ? dims : dims.slice(0, -1);
  const runBytes = runElements * elementBytes;
  const out = new Uint8Array(numel * elementBytes);
  const index = new Array<number>(outer.length).fill(0);
  let source = offset * elementBytes;
  for (let written = 0; written < out.length; written += runBytes) {
    if (runBytes <= 16) {
      for (let b = 0; b < runBytes; b++) out[written + b] = storage[source + b];
    } else {
      out.set(storage.subarray(source, source + runBytes), written);
    }
    // Advance the multi-index like an odometer, moving `source` by the strides.
    for (let d = outer.length - 1; d >= 0; d--) {
      source += outer[d].stride * elementBytes;
      if (++index[d] < outer[d].extent) break;
      source -= outer[d].stride * outer[d].extent * elementBytes;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Why a view cannot be read from a storage of `storageNumel` elements, or undefined when it can:
 * every element the view addresses must lie inside the storage.
 */
export function checkStridedView(storageNumel: number, offset: unknown, size: unknown, stride: unknown): string | undefined {
  const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!isIndex(offset)) return `storage offset ${String(offset)} is not a non-negative integer`;
  if (!Array.isArray(size) || !size.every(isIndex)) return `size ${JSON.stringify(size)} is not a list of non-negative integers`;
  if (!Array.isArray(stride) || !stride.every(isIndex)) return `stride ${JSON.stringify(stride)} is not a list of non-negative integers`;
  if (size.length !== stride.length) return `size has ${size.length} dimensions but stride has ${stride.length}`;
  if (size.includes(0)) return undefined;
  let last = offset;
  for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
  if (!Number.isSafeInteger(last) || last >= storageNumel) {
    return `view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of a storage of ${storageNumel}`;
  }
  return undefined;
}
