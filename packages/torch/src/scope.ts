// Deterministic memory: tensors created inside `tidy` are freed when it returns, except those it
// returns or `keep`s. `using t = ...` and `t.dispose()` free one tensor; the addon's finalizer
// frees what JS forgets, later.
import type { Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function trackTensor(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Takes a tensor out of every open scope, so `tidy` leaves it alive. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, seen);
}

let isTensor: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
/** Set by tensor.ts; avoids an import cycle. */
export function setTensorCheck(check: (v: unknown) => v is Tensor): void {
  isTensor = check;
}

/**
 * Runs `fn` and disposes every tensor created meanwhile that is not part of its result (a
 * tensor, or arrays/objects/Maps of them). Synchronous only: an async function would let other
 * work interleave with the scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new TypeError('tidy: the function returned a Promise; tidy only scopes synchronous work');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) {
    if (kept.has(t)) trackTensor(t);
    else t.dispose();
  }
  return result;
}
