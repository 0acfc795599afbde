// Every row of the op table against PyTorch: each row's samples (test/op-samples.ts) run
// through the generated function, and test/ops_ref.py runs the overload Iris called (aten's, or
// torchvision's for torch.ops.torchvision rows) with the same arguments, by schema name. Forward values, dtypes and the gradients of
// sum(output * w) must agree; a row without a sample fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '../src/index.js';
import * as ops from '../src/generated/ops.js';
import { native } from '../src/native.js';
import { resolveOperator } from '../src/library.js';
import { Tensor } from '../src/tensor.js';
import { isFloatingPoint, type DType } from '../src/dtype.js';
import { runPython, testSourceDir, type JsonTensor } from './helpers/python.js';
import { seededRandom, makeTensor, isSpec, encodeTensor, compareTensor, type TensorSpec } from './helpers/parity.js';
import { opSamples, DTYPE, type OpSample, type SampleArg } from './op-samples.js';

type Row = [name: string, overloads: string, flags: string, positionalDefaults?: string];
interface SchemaArg {
  name: string;
  type: { base: string; list: boolean };
  default?: string;
  kwargOnly: boolean;
}
interface Schema {
  namespace: string;
  name: string;
  overload: string;
  args: SchemaArg[];
}

const packageRoot = dirname(testSourceDir());
const importModule = (file: string) => import(pathToFileURL(join(packageRoot, 'ops', file)).href);
const { opTable } = (await importModule('table.mjs')) as { opTable: Row[] };
const { parseSchema } = (await importModule('schema.mjs')) as { parseSchema: (line: string) => Schema };

// ---- schemas, read from libtorch itself so the test needs no yaml

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** The generated function's name for a schema argument. */
const argName = (a: SchemaArg) => (a.name === 'self' ? 'input' : camel(a.name));
const isHidden = (a: SchemaArg) => ['layout', 'pin_memory', 'generator'].includes(a.name) || a.type.base === 'Generator' || a.type.base === 'Layout';
const schemaOfId = (id: number) => parseSchema(native.opSchema(id));
/** The namespace of a row's overload key: 'torchvision::nms' is torchvision's, 'add.Tensor' aten's. */
const namespaceOf = (key: string) => (key.includes('::') ? key.slice(0, key.indexOf('::')) : 'aten');
function schemaOf(key: string): Schema {
  const [qualified, overload = ''] = key.split('.');
  return schemaOfId(resolveOperator(qualified.includes('::') ? qualified : `aten::${qualified}`, overload));
}
const overloadKey = (s: Schema) => (s.overload ? `${s.name}.${s.overload}` : s.name);
/** The generated function's positional parameters: the first overload's required arguments, then the row's promoted ones. */
function positionalParams(row: Row): string[] {
  const required = schemaOf(row[1].split(' ')[0]).args.filter((a) => !isHidden(a) && a.default === undefined && !a.kwargOnly);
  return [...required.map(argName), ...(row[3] ?? '').split(' ').filter(Boolean)];
}

const random = seededRandom(20240611);

// ---- one case: a sample in one dtype

interface PyCase {
  namespace: string;
  name: string;
  overload: string;
  args: Record<string, unknown>;
  tensors: JsonTensor[];
  gradInputs: number[];
  weights: (JsonTensor | null)[];
  mutated: string[];
  seed: number;
}
type Output = Tensor | number | boolean;
interface Case {
  row: string;
  label: string;
  sample: OpSample;
  dtype: DType;
  overload?: string;
  outputs?: Output[];
  /** The async twin's outputs, for rows flagged 'a'. */
  asyncOutputs?: Output[];
  mutated?: Tensor[];
  grads?: (Tensor | null)[];
  request?: PyCase;
  error?: string;
}

let recordedOps: number[] | null = null;
const callOp = native.callOp;
native.callOp = (id: number, ...args: unknown[]) => {
  recordedOps?.push(id);
  return callOp(id, ...args);
};

async function runCase(row: Row, sample: OpSample, dtype: DType, label: string, seed: number): Promise<Case> {
  const [name] = row;
  const c: Case = { row: name, label, sample, dtype };
  try {
    const tensors: Tensor[] = [];
    const specs: TensorSpec[] = [];
    const materialize = (a: SampleArg): unknown => {
      if (isSpec(a)) {
        const t = makeTensor(a, dtype, random);
        tensors.push(t);
        specs.push(a);
        return t;
      }
      if (Array.isArray(a)) return a.map(materialize);
      return a === DTYPE ? dtype : a;
    };
    const args = sample.args.map(materialize);
    const options = sample.options ? Object.fromEntries(Object.entries(sample.options).map(([k, v]) => [k, materialize(v)])) : undefined;
    const differentiable = isFloatingPoint(dtype) && !name.endsWith('_');
    const gradInputs = differentiable ? tensors.map((t, i) => i).filter((i) => tensors[i].isFloatingPoint() && !specs[i].noGrad) : [];
    for (const i of gradInputs) tensors[i].requiresGrad = true;
    const tensorsJson = tensors.map(encodeTensor);

    const positional = positionalParams(row);
    if (args.length > positional.length) throw new Error(`sample has ${args.length} positional arguments; the op takes ${positional.length}`);
    if (options && args.length < positional.length) {
      throw new Error(`sample has options after ${args.length} positional arguments; give all ${positional.length} (null for defaults)`);
    }
    const namespace = namespaceOf(row[1].split(' ')[0]);
    const generated = (namespace === 'aten' ? ops : (torch.ops as unknown as Record<string, object>)[namespace]) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const fn = generated[name];
    if (typeof fn !== 'function') throw new Error(`generated ops have no function '${name}'`);
    recordedOps = [];
    torch.manualSeed(seed);
    const result = options ? fn(...args, options) : fn(...args);
    const called = recordedOps;
    recordedOps = null;
    if (called.length !== 1) throw new Error(`expected one libtorch call, saw ${called.length}`);
    if (row[2].includes('a')) {
      const twin = generated[`${name}Async`];
      if (typeof twin !== 'function') throw new Error(`row '${name}' is flagged 'a' but generated ops have no ${name}Async`);
      torch.manualSeed(seed);
      const twinResult = await (options ? twin(...args, options) : twin(...args));
      c.asyncOutputs = Array.isArray(twinResult) ? twinResult : [twinResult as Output];
    }

    const schema = schemaOfId(called[0]);
    c.overload = overloadKey(schema);
    const encode = (value: unknown, arg: SchemaArg): unknown => {
      if (value instanceof Tensor) return { $t: tensors.indexOf(value) };
      if (Array.isArray(value)) return value.map((v) => encode(v, arg));
      if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
      if (typeof value === 'string' && arg.type.base === 'ScalarType') return { $dtype: value };
      if (typeof value === 'string' && arg.type.base === 'MemoryFormat') return { $memoryFormat: value };
      if (typeof value === 'string' && arg.type.base === 'Device') return { $device: value };
      return value;
    };
    const pyArgs: Record<string, unknown> = {};
    args.forEach((value, i) => {
      const arg = schema.args.find((a) => argName(a) === positional[i] && !isHidden(a));
      // A positional argument of the row's first overload that this overload lacks (scatter's src) is left null.
      if (!arg && value === null) return;
      if (!arg) throw new Error(`${c.overload} has no argument '${positional[i]}'`);
      pyArgs[arg.name] = encode(value, arg);
    });
    for (const [key, value] of Object.entries(options ?? {})) {
      const arg = schema.args.find((a) => argName(a) === key && !isHidden(a));
      if (!arg) throw new Error(`option '${key}' is not an argument of ${c.overload}`);
      pyArgs[arg.name] = encode(value, arg);
    }

    // An op that returns nothing (set_data) is judged by the inputs it mutates.
    const outputs: Output[] = result === undefined ? [] : Array.isArray(result) ? result : [result as Output];
    c.outputs = outputs;
    c.mutated = (sample.mutates ?? []).map((i) => args[i] as Tensor);
    const weights = outputs.map((o) =>
      gradInputs.length > 0 && o instanceof Tensor && o.requiresGrad ? makeTensor({ kind: 'tensor', shape: o.shape, low: -1, high: 1 }, o.dtype, random) : null,
    );
    const weighted = outputs.flatMap((o, i) => (weights[i] ? [ops.sum(ops.mul(o as Tensor, weights[i]!))] : []));
    if (weighted.length > 0) {
      const loss = weighted.reduce((a, b) => ops.add(a, b));
      c.grads = torch.grad(loss, gradInputs.map((i) => tensors[i]), { allowUnused: true });
    }
    c.request = {
      namespace: schema.namespace,
      name: schema.name,
      overload: schema.overload,
      args: pyArgs,
      tensors: tensorsJson,
      gradInputs,
      weights: weights.map((w) => (w ? encodeTensor(w) : null)),
      mutated: (sample.mutates ?? []).map((i) => schema.args.find((a) => argName(a) === positional[i])!.name),
      seed,
    };
  } catch (e) {
    recordedOps = null;
    c.error = (e as Error).message;
  }
  return c;
}

const cases: Case[] = [];
for (const row of opTable) {
  const entry = opSamples[row[0]];
  if (!entry) continue;
  const samples = Array.isArray(entry) ? entry : [entry];
  for (const [s, sample] of samples.entries()) {
    for (const dtype of sample.dtypes ?? ['float32', 'float64']) {
      cases.push(await runCase(row, sample, dtype, `${row[0]} sample ${s} (${dtype})`, 1000 + cases.length));
    }
  }
}
const requests = cases.filter((c) => c.request);
const { results } = runPython<{ results: any[] }>('ops_ref.py', { cases: requests.map((c) => c.request) });
const reference = new Map(requests.map((c, i) => [c, results[i]]));

// ---- comparison

function check(c: Case): void {
  if (c.error) assert.fail(`${c.label}: Iris threw: ${c.error}`);
  const ref = reference.get(c);
  if (ref.error) assert.fail(`${c.label}: PyTorch (${c.overload}) threw: ${ref.error}`);
  const what = `${c.label} [${c.overload}]`;
  const outputs = c.outputs!;
  assert.equal(outputs.length, ref.outputs.length, `${what}: number of outputs`);
  outputs.forEach((o, i) => {
    const expected = ref.outputs[i];
    if (o instanceof Tensor) {
      assert.ok(expected.tensor, `${what}: output ${i} is a Tensor in Iris but ${JSON.stringify(expected.scalar)} in PyTorch`);
      if (c.sample.shapeOnly) {
        assert.deepEqual(o.shape, expected.tensor.shape, `${what}: output ${i} shape`);
        assert.equal(o.dtype, expected.tensor.dtype, `${what}: output ${i} dtype`);
      } else compareTensor(o, expected.tensor, `${what}: output ${i}`, c.sample.random);
    } else {
      assert.equal(Number(o), Number(expected.scalar), `${what}: output ${i}`);
    }
  });
  c.asyncOutputs?.forEach((o, i) => compareTensor(o as Tensor, ref.outputs[i].tensor, `${what}: async twin output ${i}`, c.sample.random));
  assert.deepEqual(
    outputs.map((o) => o instanceof Tensor && o.requiresGrad),
    ref.requiresGrad,
    `${what}: which outputs require grad`,
  );
  c.mutated!.forEach((t, i) => compareTensor(t, ref.mutated[i], `${what}: mutated argument ${c.sample.mutates![i]}`));
  if (c.grads || ref.grads) {
    assert.ok(c.grads && ref.grads, `${what}: gradients computed by ${c.grads ? 'Iris' : 'PyTorch'} only`);
    c.grads.forEach((g, i) => {
      const expected = ref.grads[i];
      assert.equal(g === null, expected === null, `${what}: gradient ${i} is ${g === null ? 'missing' : 'present'} in Iris only`);
      if (g) compareTensor(g, expected, `${what}: gradient of input ${i}`);
    });
  }
}

for (const row of opTable) {
  const [name, overloads] = row;
  test(`op ${name}`, () => {
    if (!opSamples[name]) assert.fail(`op table row '${name}' has no sample in test/op-samples.ts`);
    const rowCases = cases.filter((c) => c.row === name);
    for (const c of rowCases) check(c);
    const called = new Set(rowCases.map((c) => c.overload));
    for (const key of overloads.split(' ')) {
      const overload = overloadKey(schemaOf(key));
      assert.ok(called.has(overload), `op table row '${name}': no sample calls overload ${overload}; add one to test/op-samples.ts`);
    }
  });
}

test('every sample belongs to an op table row', () => {
  const rows = new Set(opTable.map((r) => r[0]));
  for (const name of Object.keys(opSamples)) assert.ok(rows.has(name), `test/op-samples.ts has a sample for '${name}', which is not in the op table`);
});
