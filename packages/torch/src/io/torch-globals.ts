import { elementSize, type DType } from '../dtype.js';
import { describe, PickleFunction } from './pickle.js';
import { isRawTensor, type RawTensor } from './raw.js';
import { checkStridedView, gatherStrided } from './strided.js';

// Our stand-ins for the Python globals a torch.save pickle may name. Everything else is refused.

/** One storage of a checkpoint: `numel` elements of `dtype`, little-endian. Tensors may share one. */
export class TorchStorage {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** A torch dtype object stored in a checkpoint (e.g. `{'dtype': torch.float16}`). */
export class TorchDType {
  constructor(readonly dtype: DType) {}
}

export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}

/** `torch.Tensor` / `torch.nn.Parameter` as the class argument of `_rebuild_from_type_v2`; never instantiated. */
class TensorClass {
  constructor(readonly name: string) {}
}

const storageTypes: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const dtypeNames: Record<string, DType> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** Globals that are harmless but describe data we cannot represent; refused with the reason instead of a security warning. */
const unsupportedGlobals: Record<string, string> = {
  'torch._utils._rebuild_tensor_v3': 'a tensor of a dtype Iris does not support (float8, uint16/32/64, ...)',
  'torch._utils._rebuild_qtensor': 'a quantized tensor',
  'torch._utils._rebuild_sparse_tensor': 'a sparse tensor',
  'torch._utils._rebuild_sparse_csr_tensor': 'a sparse tensor',
  'torch._utils._rebuild_meta_tensor_no_storage': 'a meta tensor, which has no data',
  'torch._utils._rebuild_wrapper_subclass': 'a tensor subclass',
  'torch._utils._rebuild_device_tensor_from_numpy': 'a tensor saved through numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor': 'a device tensor of an unsupported kind',
  'torch._utils._rebuild_nested_tensor': 'a nested tensor',
  'torch.ComplexFloatStorage': 'a complex64 tensor',
  'torch.ComplexDoubleStorage': 'a complex128 tensor',
  'torch.QInt8Storage': 'a quantized tensor',
  'torch.QUInt8Storage': 'a quantized tensor',
  'torch.QInt32Storage': 'a quantized tensor',
};

/** Largest materialized copy of an expanded (stride-0) view we accept beyond the size of its storage. */
const maxExpansionBytes = 1 << 30;

/** The stand-in for `module.name` from `globals` (or a storage class or dtype), or an Error saying why it is refused. */
export function findGlobal(module: string, name: string, source: string, globals: Map<string, unknown>): unknown {
  const qualified = `${module}.${name}`;
  const allowed = globals.get(qualified);
  if (allowed !== undefined) return allowed;
  if (module === 'torch' && Object.hasOwn(storageTypes, name)) return new StorageType(name, storageTypes[name]);
  if (module === 'torch' && Object.hasOwn(dtypeNames, name)) return new TorchDType(dtypeNames[name]);
  if (Object.hasOwn(unsupportedGlobals, qualified)) {
    throw new Error(`${source}: contains ${unsupportedGlobals[qualified]} (${qualified}), which Iris cannot load`);
  }
  const hint = module.startsWith('torch.nn.modules.') || module.startsWith('torchvision.models.')
    ? '; it holds a whole pickled model, so save model.state_dict() instead'
    : '';
  // A corrupt file can produce any bytes here; keep the message readable.
  const shown = qualified.length > 120 ? `${qualified.slice(0, 120)}...` : qualified;
  throw new Error(
    `${source}: refuses to load global '${shown}' (only tensor and container types are allowed; this file may run code when loaded by pickle)${hint}`,
  );
}

/** Stand-ins for the callable and class globals, by qualified name; their errors start with `source`. */
export function allowedGlobals(source: string): Map<string, unknown> {
  const fail = (reason: string): never => {
    throw new Error(`${source}: ${reason}`);
  };
  const args = (qualifiedName: string, given: unknown[], min: number, max: number): void => {
    if (given.length < min || given.length > max) fail(`${qualifiedName} called with ${given.length} arguments`);
  };
  const tensorArg = (qualifiedName: string, value: unknown): RawTensor => {
    if (!isRawTensor(value)) fail(`${qualifiedName} expects a tensor, got ${describe(value)}`);
    return value as RawTensor;
  };

  const rebuildTensor = new PickleFunction('torch._utils._rebuild_tensor_v2', (a) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    args('torch._utils._rebuild_tensor_v2', a, 6, 7);
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof TorchStorage)) return fail(`_rebuild_tensor_v2 expects a storage, got ${describe(storage)}`);
    const problem = checkStridedView(storage.numel, offset, size, stride);
    if (problem) fail(`tensor on storage '${storage.key}': ${problem}`);
    const shape = [...(size as number[])];
    const es = elementSize[storage.dtype];
    const outBytes = shape.reduce((x, y) => x * y, 1) * es;
    if (outBytes > storage.bytes.byteLength && outBytes > maxExpansionBytes) {
      fail(`tensor on storage '${storage.key}' would expand ${storage.bytes.byteLength} bytes to ${outBytes}; refusing`);
    }
    return { dtype: storage.dtype, shape, data: gatherStrided(storage.bytes, es, offset as number, shape, stride as number[]) } satisfies RawTensor;
  });
  const rebuildParameter = new PickleFunction('torch._utils._rebuild_parameter', (a) => {
    args('torch._utils._rebuild_parameter', a, 3, 3);
    return tensorArg('_rebuild_parameter', a[0]);
  });
  const rebuildParameterWithState = new PickleFunction('torch._utils._rebuild_parameter_with_state', (a) => {
    args('torch._utils._rebuild_parameter_with_state', a, 4, 4);
    return tensorArg('_rebuild_parameter_with_state', a[0]);
  });
  const tensorRebuilders = new Set([rebuildTensor, rebuildParameter, rebuildParameterWithState]);
  // Tensors with Python attributes (and Parameters in some versions) wrap their rebuild call; the attributes are dropped.
  const rebuildFromType = new PickleFunction('torch._tensor._rebuild_from_type_v2', (a) => {
    args('torch._tensor._rebuild_from_type_v2', a, 4, 4);
    const [func, type, inner] = a;
    if (!(func instanceof PickleFunction) || !tensorRebuilders.has(func)) fail(`_rebuild_from_type_v2 with rebuild function ${describe(func)}`);
    if (!(type instanceof TensorClass)) fail(`_rebuild_from_type_v2 with class ${describe(type)}, not a tensor class`);
    if (!Array.isArray(inner)) fail('_rebuild_from_type_v2 without an argument tuple');
    return tensorArg('_rebuild_from_type_v2', (func as PickleFunction).call(inner as unknown[]));
  });

  const iterableItems = (qualifiedName: string, value: unknown): unknown[] => {
    if (Array.isArray(value)) return value;
    if (value instanceof Set) return [...value];
    return fail(`${qualifiedName} of ${describe(value)}`);
  };
  const makeSet = (qualifiedName: string) =>
    new PickleFunction(qualifiedName, (a) => {
      args(qualifiedName, a, 0, 1);
      return new Set(a.length ? iterableItems(qualifiedName, a[0]) : []);
    });
  const makeList = (qualifiedName: string) =>
    new PickleFunction(qualifiedName, (a) => {
      args(qualifiedName, a, 0, 1);
      return a.length ? [...iterableItems(qualifiedName, a[0])] : [];
    });
  const makeDict = (qualifiedName: string) =>
    new PickleFunction(qualifiedName, (a) => {
      args(qualifiedName, a, 0, 1);
      if (a.length === 0) return new Map();
      if (a[0] instanceof Map) return new Map(a[0]);
      const map = new Map<unknown, unknown>();
      for (const pair of iterableItems(qualifiedName, a[0])) {
        if (!Array.isArray(pair) || pair.length !== 2) fail(`${qualifiedName} of an item that is not a pair`);
        map.set((pair as unknown[])[0], (pair as unknown[])[1]);
      }
      return map;
    });
  // Protocol 2 has no bytes opcode: Python 3 writes bytes as _codecs.encode(latin1_text, 'latin1').
  const encodeText = (qualifiedName: string, text: unknown, encoding: unknown): Uint8Array => {
    if (typeof text !== 'string') fail(`${qualifiedName} of ${describe(text)}`);
    const codec = typeof encoding === 'string' ? encoding.toLowerCase().replace(/_/g, '-') : 'utf-8';
    if (codec === 'latin1' || codec === 'latin-1' || codec === 'iso-8859-1') {
      const out = new Uint8Array((text as string).length);
      for (let i = 0; i < out.length; i++) {
        const code = (text as string).charCodeAt(i);
        if (code > 0xff) fail(`${qualifiedName}: character U+${code.toString(16)} is not Latin-1`);
        out[i] = code;
      }
      return out;
    }
    if (codec === 'utf-8' || codec === 'utf8' || codec === 'ascii') return new TextEncoder().encode(text as string);
    return fail(`${qualifiedName} with unsupported encoding ${describe(encoding)}`);
  };
  const makeBytes = (qualifiedName: string) =>
    new PickleFunction(qualifiedName, (a) => {
      args(qualifiedName, a, 0, 2);
      if (a.length === 0) return new Uint8Array(0);
      if (a[0] instanceof Uint8Array) return a[0].slice();
      if (typeof a[0] === 'string') return encodeText(qualifiedName, a[0], a[1]);
      return Uint8Array.from(iterableItems(qualifiedName, a[0]).map((v) => (typeof v === 'number' && v >= 0 && v < 256 ? v : fail(`${qualifiedName} of a non-byte value`))));
    });

  return new Map<string, unknown>([
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_parameter', rebuildParameter],
    ['torch._utils._rebuild_parameter_with_state', rebuildParameterWithState],
    ['torch._tensor._rebuild_from_type_v2', rebuildFromType],
    ['torch.Tensor', new TensorClass('torch.Tensor')],
    ['torch._tensor.Tensor', new TensorClass('torch.Tensor')],
    ['torch.nn.parameter.Parameter', new TensorClass('torch.nn.Parameter')],
    ['collections.OrderedDict', makeDict('collections.OrderedDict')],
    ['builtins.dict', makeDict('builtins.dict')],
    ['builtins.set', makeSet('builtins.set')],
    ['builtins.frozenset', makeSet('builtins.frozenset')],
    ['builtins.list', makeList('builtins.list')],
    ['builtins.tuple', makeList('builtins.tuple')],
    ['torch.Size', makeList('torch.Size')],
    ['builtins.bytes', makeBytes('builtins.bytes')],
    ['builtins.bytearray', makeBytes('builtins.bytearray')],
    [
      '_codecs.encode',
      new PickleFunction('_codecs.encode', (a) => {
        args('_codecs.encode', a, 1, 3);
        return encodeText('_codecs.encode', a[0], a[1]);
      }),
    ],
    [
      'torch.device',
      new PickleFunction('torch.device', (a) => {
        args('torch.device', a, 1, 2);
        if (typeof a[0] !== 'string') fail(`torch.device of ${describe(a[0])}`);
        return a.length === 2 && a[1] !== null ? `${a[0]}:${String(a[1])}` : a[0];
      }),
    ],
  ]);
}

