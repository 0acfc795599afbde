// Parity cases for @iris/vision/ops: each case calls an Iris function and names the torchvision
// call with the same tensors; ops_ref.py runs the torchvision side. Outputs and the gradients
// of sum(output · w) (w random, the same on both sides) with respect to every input that
// requires grad are compared.
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { runPython, toJson, fromJson, type JsonTensor } from './reference.js';

/** An argument of the torchvision call: tensors (alone or in lists, as roi_align's boxes), numbers, strings, booleans, nested lists. */
export type PyArg = Tensor | number | string | boolean | null | PyArg[];

export interface OpCase {
  /** What the case checks, for messages. */
  label: string;
  /** torchvision's function, e.g. 'ops.box_iou' or 'ops.roi_align' (see ops_call.py). */
  fn: string;
  args: PyArg[];
  kwargs?: Record<string, PyArg>;
  /** The Iris call on the same tensors. */
  iris: () => Tensor;
  /** Relative tolerance (of the largest reference magnitude); default 1e-6, float64 1e-12. */
  tol?: number;
}

interface Encoded {
  fn: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  weight: JsonTensor | null;
}

interface PyResult {
  error?: string;
  output?: JsonTensor;
  grads?: (JsonTensor | null)[];
}

/** The tensors of the arguments, depth first, args then kwargs: the order ops_call.py uses. */
function tensorsOf(c: OpCase): Tensor[] {
  const out: Tensor[] = [];
  const visit = (a: PyArg) => {
    if (a instanceof torch.Tensor) out.push(a);
    else if (Array.isArray(a)) a.forEach(visit);
  };
  c.args.forEach(visit);
  Object.values(c.kwargs ?? {}).forEach(visit);
  return out;
}

function encodeArg(a: PyArg): unknown {
  if (a instanceof torch.Tensor) return { $t: toJson(a), grad: a.requiresGrad };
  if (Array.isArray(a)) return a.map(encodeArg);
  if (typeof a === 'number' && !Number.isFinite(a)) return { $num: String(a) };
  return a;
}

export interface CaseOutcome {
  label: string;
  /** max |Δ| over the output and every gradient, and the reference's largest magnitude. */
  maxDiff: number;
  maxRef: number;
}

function compare(actual: Tensor, expected: JsonTensor, tol: number, what: string): { maxDiff: number; maxRef: number } {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = actual.toFlatArray();
  const e = expected.data.map(Number);
  if (!actual.isFloatingPoint()) {
    assert.deepEqual(a, e, `${what}: values`);
    return { maxDiff: 0, maxRef: Math.max(0, ...e.map(Math.abs)) };
  }
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]) || Number.isNaN(a[i])) {
      assert.ok(Number.isNaN(e[i]) && Number.isNaN(a[i]), `${what}: element ${i} is ${a[i]}, torchvision has ${e[i]}`);
      continue;
    }
    if (!Number.isFinite(e[i]) || !Number.isFinite(a[i])) {
      assert.equal(a[i], e[i], `${what}: element ${i}`);
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - e[i]));
    maxRef = Math.max(maxRef, Math.abs(e[i]));
  }
  assert.ok(maxDiff <= tol * Math.max(maxRef, 1e-6), `${what}: max |Δ| ${maxDiff} > ${tol} · max |ref| ${maxRef}`);
  return { maxDiff, maxRef };
}

/**
 * Runs every case in Iris, asks torchvision (one Python process, `script`) for the same, and
 * compares. Returns the largest differences seen, per case, for the test's diagnostics.
 */
export function checkCases(script: string, cases: OpCase[]): CaseOutcome[] {
  const prepared = cases.map((c) => {
    const inputs = tensorsOf(c).filter((t) => t.requiresGrad);
    const output = c.iris();
    const weight = inputs.length > 0 && output.isFloatingPoint() && output.requiresGrad ? torch.randn(output.shape, { dtype: output.dtype }) : null;
    const grads = weight ? torch.grad(output.mul(weight).sum(), inputs, { allowUnused: true }) : [];
    const encoded: Encoded = {
      fn: c.fn,
      args: c.args.map(encodeArg),
      kwargs: Object.fromEntries(Object.entries(c.kwargs ?? {}).map(([k, v]) => [k, encodeArg(v)])),
      weight: weight ? toJson(weight) : null,
    };
    return { c, output: output.detach(), grads, encoded };
  });
  const { results } = runPython<{ results: PyResult[] }>(script, { cases: prepared.map((p) => p.encoded) });
  return prepared.map(({ c, output, grads }, i) => {
    const ref = results[i];
    if (ref.error) assert.fail(`${c.label}: torchvision threw: ${ref.error}`);
    const tol = c.tol ?? (output.dtype === 'float64' ? 1e-12 : 1e-6);
    let { maxDiff, maxRef } = compare(output, ref.output!, tol, `${c.label}: output`);
    assert.equal(grads.length, ref.grads!.length, `${c.label}: number of gradients`);
    grads.forEach((g, j) => {
      const expected = ref.grads![j];
      assert.equal(g === null, expected === null, `${c.label}: gradient ${j} ${g === null ? 'missing in Iris' : 'missing in torchvision'}`);
      if (g && expected) {
        const r = compare(g, expected, tol, `${c.label}: gradient ${j}`);
        maxDiff = Math.max(maxDiff, r.maxDiff);
        maxRef = Math.max(maxRef, r.maxRef);
      }
    });
    return { label: c.label, maxDiff, maxRef };
  });
}

/** `n` random (x1, y1, x2, y2) boxes inside [0, size)², sides in [minSide, size / 2). */
export function randomBoxes(n: number, size: number, options: { minSide?: number; dtype?: 'float32' | 'float64' } = {}): Tensor {
  return torch.tidy(() => {
    const dtype = options.dtype ?? 'float32';
    const minSide = options.minSide ?? 0.5;
    const xy = torch.rand([n, 2], { dtype }).mul(size);
    const wh = torch.rand([n, 2], { dtype }).mul(size / 2 - minSide).add(minSide);
    return torch.cat([xy, xy.add(wh)], 1);
  });
}

/** Degenerate and special boxes: zero width, zero height, a point, identical pairs, containment, far apart. */
export function specialBoxes(dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return fromJson({
    shape: [8, 4],
    dtype,
    data: [5, 5, 5, 9, 2, 3, 8, 3, 4, 4, 4, 4, 1, 1, 6, 6, 1, 1, 6, 6, 2, 2, 3, 3, 40, 40, 41, 45, 0, 0, 100, 100],
  });
}

export { fromJson, toJson };
