// Per-sample annotations beyond one class index (detection's { boxes, labels, ... }): how they ride
// along with an image through transforms, worker threads and collate.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';

type TypedArray = ReturnType<Tensor['dataSync']>;

/** A sample's annotations: an object of tensors (boxes, labels, ...), numbers (imageId) and strings (boxFormat). */
export type SampleTarget = object;

/** A SampleTarget as it crosses to a worker thread: tensors as typed arrays with their shape. */
export type PlainTarget = { [key: string]: { data: TypedArray; shape: number[] } | number | string };

/** A target's tensors, made from the plain form. */
export function targetFromPlain(plain: PlainTarget): SampleTarget {
  const target: Record<string, Tensor | number | string> = {};
  for (const [key, value] of Object.entries(plain)) target[key] = typeof value === 'object' ? torch.tensor(value.data, { shape: value.shape }) : value;
  return target;
}

/** The plain form of a target, for postMessage; bool tensors travel as uint8. */
export function targetToPlain(target: SampleTarget): PlainTarget {
  const plain: PlainTarget = {};
  for (const [key, value] of Object.entries(target)) {
    if (value === undefined) continue;
    if (typeof value === 'number' || typeof value === 'string') plain[key] = value;
    else if (!(value instanceof torch.Tensor)) throw new TypeError(`target.${key}: a target holds tensors, numbers and strings, got ${typeof value}`);
    else if (value.dtype !== 'bool') plain[key] = { data: value.dataSync(), shape: value.shape };
    else plain[key] = { data: torch.tidy(() => value.to({ dtype: 'uint8' }).dataSync()), shape: value.shape };
  }
  return plain;
}

/** Every tensor in a value made of tensors, arrays and plain objects (a batch, a sample). */
export function tensorsIn(value: unknown, out = new Set<Tensor>()): Set<Tensor> {
  if (value instanceof torch.Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) tensorsIn(v, out);
  return out;
}

/** Disposes the tensors of `value` that are not in `keep`. */
export function disposeTensors(value: unknown, keep: Set<Tensor> = new Set()): void {
  for (const t of tensorsIn(value)) if (!keep.has(t)) t.dispose();
}
