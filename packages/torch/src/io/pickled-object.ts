import { describe, PickleFunction } from './pickle.js';
import { isRawTensor, type RawTensor } from './raw.js';

// Whole-object pickles (a torch.save of an nn.Module, Ultralytics' DetectionModel) as data: an allowed class
// becomes a PickledObject holding its class path and the state BUILD gives it. No Python class is ever
// instantiated and no method runs, so allowing a class only lets its name appear in the result.

/** An instance of an allowed Python class: its class path, the arguments it was created with, and its state. */
export class PickledObject {
  #state: unknown = undefined;
  #built = false;

  constructor(
    readonly className: string,
    readonly args: unknown[],
  ) {}

  /** What BUILD passed (`obj.__setstate__(state)`); for plain objects the instance's `__dict__`. */
  get state(): unknown {
    return this.#state;
  }

  setState(state: unknown, source: string): void {
    if (this.#built) throw new Error(`${source}: ${this.className} has its state set twice (corrupt pickle)`);
    this.#state = state;
    this.#built = true;
  }

  /** The instance's attributes: the state dict, or the dict half of a `(dict, slots)` state. */
  get attributes(): Map<unknown, unknown> {
    const state = this.#state;
    if (state instanceof Map) return state;
    if (Array.isArray(state) && state.length === 2 && (state[0] instanceof Map || state[0] === null)) return state[0] ?? new Map();
    return new Map();
  }

  attr(name: string): unknown {
    return this.attributes.get(name);
  }
}

/** The stand-in for an allowed class: calling it (REDUCE, NEWOBJ, copyreg._reconstructor) makes a PickledObject. */
export class PickleClass extends PickleFunction {
  constructor(qualifiedName: string) {
    super(qualifiedName, (args) => new PickledObject(qualifiedName, args));
  }
}

/** `builtins.object`, the base class argument of copyreg._reconstructor; never called. */
class ObjectBase {}

/**
 * The globals that protocols 0 and 1 use to pickle instances of plain classes:
 * `copyreg._reconstructor(cls, object, None)` stands for `object.__new__(cls)`. Protocol 2+ uses NEWOBJ instead.
 */
export function objectGlobals(source: string): Map<string, unknown> {
  const objectBase = new ObjectBase();
  const reconstructor = new PickleFunction('copyreg._reconstructor', (a) => {
    const [cls, base, state] = a;
    if (a.length !== 3 || !(cls instanceof PickleClass) || base !== objectBase || state !== null) {
      throw new Error(`${source}: copyreg._reconstructor is only allowed as (allowed class, object, None), got (${a.map(describe).join(', ')})`);
    }
    return cls.call([]);
  });
  return new Map<string, unknown>([
    ['copyreg._reconstructor', reconstructor],
    ['builtins.object', objectBase],
  ]);
}

/**
 * torch.nn layer and container classes allowed as records in whole-module pickles (the ones detection and
 * classification models are built from); others are refused by name.
 */
export const torchModuleClasses: ReadonlySet<string> = new Set(
  [
    'container.Sequential',
    'container.ModuleList',
    'container.ModuleDict',
    'conv.Conv2d',
    'conv.ConvTranspose2d',
    'batchnorm.BatchNorm2d',
    'batchnorm.BatchNorm1d',
    'normalization.GroupNorm',
    'normalization.LayerNorm',
    'activation.SiLU',
    'activation.ReLU',
    'activation.ReLU6',
    'activation.LeakyReLU',
    'activation.Hardswish',
    'activation.Hardsigmoid',
    'activation.Sigmoid',
    'activation.GELU',
    'activation.Softmax',
    'activation.MultiheadAttention',
    'linear.Linear',
    'linear.Identity',
    'pooling.MaxPool2d',
    'pooling.AvgPool2d',
    'pooling.AdaptiveAvgPool2d',
    'upsampling.Upsample',
    'dropout.Dropout',
    'flatten.Flatten',
    'loss.BCEWithLogitsLoss',
  ].map((name) => `torch.nn.modules.${name}`),
);

/**
 * PyTorch's `state_dict()` of a pickled nn.Module record: its `_parameters` and persistent `_buffers`, then its
 * `_modules`' by dotted path, in PyTorch's order. Entries left None (a conv without bias) are skipped.
 */
export function moduleStateDict(module: PickledObject, source: string, prefix = ''): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  const visit = (record: PickledObject, path: string, seen: Set<PickledObject>): void => {
    if (seen.has(record)) throw new Error(`${source}: module '${path || '(root)'}' contains itself`);
    seen.add(record);
    const where = path ? `module '${path}' (${record.className})` : record.className;
    const table = (name: string): Map<unknown, unknown> => {
      const value = record.attr(name);
      if (value === undefined) return new Map();
      if (!(value instanceof Map)) throw new Error(`${source}: ${where}: ${name} is ${describe(value)}, not a dict`);
      return value;
    };
    const nonPersistent = record.attr('_non_persistent_buffers_set');
    const skip = nonPersistent instanceof Set ? nonPersistent : new Set<unknown>();
    for (const kind of ['_parameters', '_buffers']) {
      for (const [name, tensor] of table(kind)) {
        if (tensor === null || (kind === '_buffers' && skip.has(name))) continue;
        if (!isRawTensor(tensor)) throw new Error(`${source}: ${where}: ${kind}['${String(name)}'] is ${describe(tensor)}, not a tensor`);
        out.set(`${path}${path ? '.' : ''}${String(name)}`, tensor);
      }
    }
    for (const [name, child] of table('_modules')) {
      if (child === null) continue;
      const childPath = `${path}${path ? '.' : ''}${String(name)}`;
      if (!(child instanceof PickledObject)) throw new Error(`${source}: module '${childPath}' is ${describe(child)}, not a module`);
      visit(child, childPath, new Set(seen));
    }
  };
  visit(module, prefix, new Set());
  return out;
}
