import { elementSize } from '../dtype.js';
import { swapByteOrder } from './bytes.js';
import { describe, unpickle } from './pickle.js';
import { objectGlobals, PickledObject, type PickleClass } from './pickled-object.js';
import { isRawTensor, type RawTensor } from './raw.js';
import { allowedGlobals, findGlobal, StorageType, TorchStorage } from './torch-globals.js';
import { ZipArchive } from './zip.js';

export { TorchDType, TorchStorage } from './torch-globals.js';

// Reads what torch.save writes since PyTorch 1.6: a zip of `<top>/data.pkl` (the pickled object, tensors
// referring to storages by persistent id), `<top>/data/<key>` (raw storage bytes) and `<top>/byteorder`.

export interface TorchCheckpointOptions {
  /**
   * Classes whose instances may appear (whole pickled modules): returns the stand-in for `module.name`, or
   * undefined to refuse it. Their instances become PickledObject records; nothing of theirs runs.
   */
  findClass?(module: string, name: string): PickleClass | undefined;
}

/**
 * Unpickles a torch.save (zip format) checkpoint without running any of its code. dicts become Maps (order
 * kept), lists and tuples arrays, tensors and parameters RawTensors (contiguous; data may be views into `bytes`,
 * shared between tensors that shared a storage), ints numbers (bigint beyond 2^53), None null, bytes Uint8Array,
 * instances of the classes `options.findClass` allows PickledObjects. Every error message starts with `source`.
 */
export function readTorchCheckpoint(bytes: Uint8Array, source: string, options: TorchCheckpointOptions = {}): unknown {
  function fail(reason: string): never {
    throw new Error(`${source}: ${reason}`);
  }
  if (bytes.byteLength < 4) fail(`file is ${bytes.byteLength} bytes, too short to be a PyTorch checkpoint (file truncated?)`);
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) fail(notZipReason(bytes));

  const zip = ZipArchive.open(bytes, source);
  const names = [...zip.entries.keys()];
  const pickles = names.filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    fail(pickles.length === 0 ? 'zip archive has no <folder>/data.pkl; not a torch.save checkpoint' : `zip archive has several data.pkl files (${pickles.join(', ')})`);
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || names.some((name) => name.startsWith(`${prefix}code/`))) {
    fail('is a TorchScript archive (torch.jit.save), which holds code; load it in PyTorch and save model.state_dict() with torch.save instead');
  }
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`));
    if (order !== 'little' && order !== 'big') fail(`unknown byte order ${JSON.stringify(order)} in ${prefix}byteorder`);
    bigEndian = order === 'big';
  }

  const globals = allowedGlobals(source);
  const { findClass } = options;
  if (findClass) for (const [name, value] of objectGlobals(source)) globals.set(name, value);
  const storages = new Map<string, TorchStorage>();
  const loadStorage = (pid: unknown): TorchStorage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) fail(`unsupported persistent id ${describe(pid)} in ${prefix}data.pkl`);
    const [, type, key, , numel] = pid;
    if (!(type instanceof StorageType)) fail(`persistent id names storage type ${describe(type)}, not a tensor storage class`);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) fail(`persistent id has storage key ${describe(key)}`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) fail(`storage '${key}' has element count ${describe(numel)}`);
    const { dtype } = type;
    const cached = storages.get(key);
    if (cached) {
      if (cached.dtype !== dtype || cached.numel !== numel) fail(`storage '${key}' is referenced as both ${cached.dtype}[${cached.numel}] and ${dtype}[${numel}]`);
      return cached;
    }
    const record = `${prefix}data/${key}`;
    if (!zip.has(record)) fail(`storage '${key}' is missing from the archive (no ${record})`);
    const byteLength = numel * elementSize[dtype];
    let data = zip.read(record);
    if (data.byteLength < byteLength) fail(`${record} holds ${data.byteLength} bytes but its ${dtype} storage needs ${byteLength} (file truncated?)`);
    data = data.subarray(0, byteLength);
    if (bigEndian) data = swapByteOrder(data, elementSize[dtype]);
    const storage = new TorchStorage(dtype, key, numel, data);
    storages.set(key, storage);
    return storage;
  };

  return unpickle(zip.read(pickles[0]), {
    source,
    part: pickles[0],
    findGlobal: (module, name) => findClass?.(module, name) ?? findGlobal(module, name, source, globals),
    persistentLoad: loadStorage,
    build(target, state) {
      if (target instanceof PickledObject) return target.setState(state, source);
      // OrderedDict state is its attributes (a state dict's `_metadata` of module versions), which we do not need.
      if (target instanceof Map) return;
      throw new Error(`${source}: cannot restore the state of ${describe(target)} (state ${describe(state)})`);
    },
  });
}

function notZipReason(bytes: Uint8Array): string {
  if (bytes[0] === 0x80 && bytes[1] <= 5) {
    return 'legacy (pre-1.6) torch.save format is not supported; re-save with torch.save(obj, path) in PyTorch ≥ 1.6';
  }
  if (bytes.byteLength >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
    return 'legacy tar-based torch.save format is not supported; re-save with torch.save(obj, path) in PyTorch ≥ 1.6';
  }
  if (bytes.byteLength >= 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0) {
    return 'is not a torch.save zip archive; it looks like a safetensors file (use parseSafetensors)';
  }
  return 'is not a PyTorch checkpoint (no zip signature; truncated or another format)';
}

const stateDictKeys = ['state_dict', 'model', 'model_state_dict', 'ema'];

function isStateDict(value: unknown): value is Map<string, RawTensor> {
  if (!(value instanceof Map) || value.size === 0) return false;
  for (const [key, tensor] of value) if (typeof key !== 'string' || !isRawTensor(tensor)) return false;
  return true;
}

/**
 * The state dict (name → tensor) in a checkpoint: the checkpoint itself, or the first of its
 * 'state_dict', 'model', 'model_state_dict', 'ema' entries that is one.
 */
export function findStateDict(obj: unknown, source: string): Map<string, RawTensor> {
  if (isStateDict(obj)) return obj;
  if (!(obj instanceof Map)) throw new Error(`${source}: checkpoint holds ${describe(obj)}, not a dict of tensors`);
  for (const key of stateDictKeys) {
    if (isStateDict(obj.get(key))) return obj.get(key) as Map<string, RawTensor>;
  }
  const keys = [...obj.keys()].slice(0, 20).map((k) => (typeof k === 'string' ? `'${k}'` : describe(k)));
  const more = obj.size > 20 ? `, ... (${obj.size} in all)` : '';
  throw new Error(
    `${source}: no state dict found: top-level keys are ${keys.join(', ')}${more}; expected a dict of tensors, or one under ${stateDictKeys.map((k) => `'${k}'`).join(', ')}`,
  );
}
