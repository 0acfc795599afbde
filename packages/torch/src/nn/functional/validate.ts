// Checks shared by the functional layer. Where PyTorch raises ValueError, Iris throws a
// RangeError for an option outside its accepted values and an Error for mismatched shapes (as
// libtorch's own shape errors are), each naming the function and what it accepts.

function listWords(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** `value` if it is one of `allowed`, else a RangeError such as "pad: mode must be 'constant' or 'reflect', got 'wrap'". */
export function oneOf<T extends string>(fn: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const got = typeof value === 'string' ? `'${value}'` : String(value);
  throw new RangeError(`${fn}: ${option} must be ${listWords(allowed)}, got ${got}`);
}

export type Reduction = 'none' | 'mean' | 'sum';
const reductionCodes: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

/** ATen's at::Reduction code for PyTorch's reduction string (default 'mean'). */
export function reductionCode(fn: string, reduction: Reduction | undefined): number {
  return reductionCodes[oneOf(fn, 'reduction', reduction ?? 'mean', ['none', 'mean', 'sum'] as const)];
}

export function checkProbability(fn: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`${fn}: dropout probability has to be between 0 and 1, but got ${p}`);
  }
}

/** PyTorch's broadcasting rule for two shapes; the error names both. */
export function broadcastShape(fn: string, a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${fn}: shapes [${a}] and [${b}] cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

const warned = new Set<string>();
/** Warns once per process and key, as Python's default warning filter does per call site. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, 'UserWarning');
}
