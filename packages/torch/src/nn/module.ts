import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';
import { keep } from '../scope.js';
import { native } from '../native.js';
import { scalarTypeCode, isFloatingPoint, type DType } from '../dtype.js';
import type { MemoryFormat } from '../dispatch.js';
import { setData_ } from '../generated/ops.js';
import { Parameter } from './parameter.js';

type Kind = 'parameter' | 'buffer' | 'module';

interface Entry {
  kind: Kind;
  /** The state-dict name: PyTorch's attribute name. */
  key: string;
  persistent: boolean;
}

/** What `Module.to` accepts: a dtype, a device, or both (plus a memory format for 4-D tensors). */
export type ModuleToTarget = DType | string | { device?: string; dtype?: DType; memoryFormat?: MemoryFormat };

export type StateDict = Map<string, Tensor> | Record<string, Tensor>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface HookHandle {
  remove(): void;
}

type ForwardPreHook = (module: Module, inputs: any[]) => any[] | void;
type ForwardHook = (module: Module, inputs: any[], output: any) => any;

/**
 * The state-dict key of a property: a lowerCamelCase name becomes PyTorch's snake_case
 * (`runningMean` → `running_mean`, `inProjWeight` → `in_proj_weight`); every other name is kept
 * (`layer1`, `bn1`, `ln_1`, `Mixed_5b`, `0`).
 */
export function stateDictKey(name: string): string {
  return /^[a-z][a-zA-Z0-9]*$/.test(name) ? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : name;
}

function describeValue(value: unknown): string {
  if (value instanceof Tensor) return `a Tensor of shape [${value.shape}]`;
  if (value instanceof Module) return `a ${value.constructor.name}`;
  return value === null ? 'null' : typeof value;
}

/** Python's repr of a float (`1e-05`, `0.1`, `1.0`), for PyTorch-identical module reprs. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** Python's repr of a value in an extraRepr: tuples for arrays, True/False/None. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return value.length === 1 ? `(${pyRepr(value[0])},)` : `(${value.map(pyRepr).join(', ')})`;
  return String(value);
}

/**
 * PyTorch's `nn.Module`. Parameters and submodules are registered by assignment
 * (`this.weight = new Parameter(t)`, `this.conv1 = new Conv2d(...)`): every query walks the
 * module's own properties in insertion order and registers new Parameters and Modules, so the
 * order is PyTorch's registration order. Buffers are plain tensors, so they need
 * `registerBuffer`; `registerParameter` and `registerModule` register a null placeholder or a
 * name that is not a plain property. State-dict keys follow `stateDictKey`.
 */
export abstract class Module {
  training = true;
  /** Property name → registration, in registration order. */
  readonly #registry = new Map<string, Entry>();
  readonly #forwardPreHooks = new Set<ForwardPreHook>();
  readonly #forwardHooks = new Set<ForwardHook>();

  abstract forward(...inputs: any[]): any;

  /** Runs the forward pre-hooks, `forward`, then the forward hooks (PyTorch's `module(x)`). */
  call(...inputs: Parameters<this['forward']>): ReturnType<this['forward']> {
    let args: any[] = inputs;
    for (const hook of this.#forwardPreHooks) args = hook(this, args) ?? args;
    let output = this.forward(...args);
    for (const hook of this.#forwardHooks) {
      const replaced = hook(this, args, output);
      if (replaced !== undefined) output = replaced;
    }
    return output;
  }

  /** `hook(module, inputs)` runs before `forward` in `call`; returning an array replaces the inputs. */
  registerForwardPreHook(hook: ForwardPreHook): HookHandle {
    this.#forwardPreHooks.add(hook);
    return { remove: () => this.#forwardPreHooks.delete(hook) };
  }

  /** `hook(module, inputs, output)` runs after `forward` in `call`; returning a value replaces the output. */
  registerForwardHook(hook: ForwardHook): HookHandle {
    this.#forwardHooks.add(hook);
    return { remove: () => this.#forwardHooks.delete(hook) };
  }

  // ---- registration

  /** Registers Parameters and Modules assigned to properties since the last look. */
  #discover(): void {
    const self = this as unknown as Record<string, unknown>;
    for (const name of Object.keys(this)) {
      if (this.#registry.has(name)) continue;
      const value = self[name];
      if (value instanceof Parameter) this.#add(name, 'parameter', stateDictKey(name));
      else if (value instanceof Module) this.#add(name, 'module', stateDictKey(name));
    }
  }

  #add(name: string, kind: Kind, key: string, persistent = true): void {
    if (key === '' || key.includes('.')) throw new RangeError(`${this.constructor.name}: name '${key}' must be non-empty and contain no '.'`);
    for (const [other, entry] of this.#registry) {
      if (other !== name && entry.key === key) {
        throw new RangeError(`${this.constructor.name}: properties '${other}' and '${name}' would both have the state-dict key '${key}'; rename one`);
      }
    }
    this.#registry.set(name, { kind, key, persistent });
  }

  #register(name: string, kind: Kind, value: unknown, key: string, persistent = true): void {
    this.#discover();
    const existing = this.#registry.get(name);
    const self = this as unknown as Record<string, unknown>;
    if (existing ? existing.kind !== kind : name in this && self[name] !== undefined) {
      throw new TypeError(`${this.constructor.name}: cannot register ${kind} '${name}': the name already holds ${existing ? `a ${existing.kind}` : describeValue(self[name])}`);
    }
    this.#add(name, kind, key, persistent);
    self[name] = value;
  }

  /** PyTorch's `register_parameter`; `null` registers a placeholder (PyTorch's `bias=None`). */
  registerParameter(name: string, parameter: Parameter | null): void {
    if (parameter !== null && !(parameter instanceof Parameter)) {
      throw new TypeError(`registerParameter('${name}'): expected a Parameter or null, got ${describeValue(parameter)}; wrap a tensor: new Parameter(t)`);
    }
    this.#register(name, 'parameter', parameter, stateDictKey(name));
  }

  /**
   * PyTorch's `register_buffer`: a tensor that is state but not a parameter (BatchNorm's running
   * stats). Non-persistent buffers are left out of the state dict. Assigning the property later
   * replaces the buffer.
   */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } = {}): void {
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`registerBuffer('${name}'): expected a Tensor or null, got ${describeValue(tensor)}`);
    if (tensor instanceof Parameter) throw new TypeError(`registerBuffer('${name}'): got a Parameter; use registerParameter, or pass a plain tensor`);
    if (tensor) keep(tensor);
    this.#register(name, 'buffer', tensor, stateDictKey(name), options.persistent ?? true);
  }

  /** PyTorch's `add_module`/`register_module`, for names that are not plain properties. */
  registerModule(name: string, module: Module | null): void {
    if (module !== null && !(module instanceof Module)) throw new TypeError(`registerModule('${name}'): expected a Module or null, got ${describeValue(module)}`);
    this.#register(name, 'module', module, stateDictKey(name));
  }

  /** Registers a child under a literal key (containers' '0', '1', ... and ModuleDict keys). */
  protected registerChild(key: string, module: Module | null): void {
    this.#register(key, 'module', module, key);
  }

  /** Registered children in order, a module listed under every key it has (a container's contents). */
  protected childList(): [string, Module][] {
    return this.#own('module').map(([, entry, child]): [string, Module] => [entry.key, child]);
  }

  /** Forgets a registered name and deletes its property (containers shrinking). */
  protected unregister(name: string): void {
    this.#registry.delete(name);
    delete (this as unknown as Record<string, unknown>)[name];
  }

  /** This module's own registered [property, entry, value] triples; null placeholders skipped. */
  #own(kind: Kind): [string, Entry, any][] {
    this.#discover();
    const self = this as unknown as Record<string, unknown>;
    const out: [string, Entry, any][] = [];
    for (const [name, entry] of this.#registry) {
      if (entry.kind !== kind) continue;
      const value = self[name];
      if (value === null || value === undefined) continue;
      const ok = kind === 'parameter' ? value instanceof Parameter : kind === 'buffer' ? value instanceof Tensor : value instanceof Module;
      if (!ok) {
        const fix = kind === 'parameter' ? '; wrap tensors: new Parameter(t)' : '';
        throw new TypeError(`${this.constructor.name}.${name} is a registered ${kind} but holds ${describeValue(value)}${fix}`);
      }
      out.push([name, entry, value]);
    }
    return out;
  }

  // ---- traversal (PyTorch's order: a module's own members, then its children's, depth first)

  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [, entry, child] of this.#own('module')) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push([entry.key, child]);
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all below it, each once, pre-order; names are dotted paths ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (module: Module, path: string) => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push([path, module]);
      for (const [, entry, child] of module.#own('module')) visit(child, path ? `${path}.${entry.key}` : entry.key);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  #namedMembers(kind: 'parameter' | 'buffer', options: { prefix?: string; recurse?: boolean }): [string, any][] {
    const prefix = options.prefix ?? '';
    const modules: [string, Module][] = options.recurse ?? true ? this.namedModules(prefix) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, any][] = [];
    for (const [path, module] of modules) {
      for (const [, entry, value] of module.#own(kind)) {
        if (seen.has(value)) continue;
        seen.add(value);
        out.push([path ? `${path}.${entry.key}` : entry.key, value]);
      }
    }
    return out;
  }

  /** [dotted name, parameter] pairs, each parameter once (shared ones under their first name). */
  namedParameters(options: { prefix?: string; recurse?: boolean } = {}): [string, Parameter][] {
    return this.#namedMembers('parameter', options);
  }

  parameters(options: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  namedBuffers(options: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    return this.#namedMembers('buffer', options);
  }

  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(options).map(([, b]) => b);
  }

  /** The submodule at a dotted path ('layer1.0.conv1'); '' is this module. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let module: Module = this;
    for (const part of target.split('.')) {
      const next = module.namedChildren().find(([key]) => key === part);
      if (!next) throw new RangeError(`getSubmodule('${target}'): ${module.constructor.name} has no submodule '${part}'; it has ${module.namedChildren().map(([k]) => `'${k}'`).join(', ') || 'none'}`);
      module = next[1];
    }
    return module;
  }

  /** Total number of parameter elements (each shared parameter once). */
  numParameters(options: { onlyTrainable?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !options.onlyTrainable || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }

  // ---- state dict

  /** Calls `fn(module, stateDictPrefix)` for this module and every one below it, as state_dict recurses (no de-duplication). */
  #walkStateDict(fn: (module: Module, prefix: string) => void, prefix = ''): void {
    fn(this, prefix);
    for (const [, entry, child] of this.#own('module')) child.#walkStateDict(fn, `${prefix}${entry.key}.`);
  }

  /** [key, tensor] of this module's own parameters then persistent buffers (PyTorch's _save_to_state_dict). */
  #ownState(): [string, Tensor][] {
    return [
      ...this.#own('parameter').map(([, e, v]): [string, Tensor] => [e.key, v]),
      ...this.#own('buffer')
        .filter(([, e]) => e.persistent)
        .map(([, e, v]): [string, Tensor] => [e.key, v]),
    ];
  }

  /**
   * PyTorch's `state_dict()`: parameters and persistent buffers by dotted key, in PyTorch's order.
   * Values are detached tensors sharing the model's storage (disposing them leaves the model
   * intact); `keepVars` returns the Parameters and buffers themselves.
   */
  stateDict(options: { keepVars?: boolean; prefix?: string } = {}): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.#walkStateDict((module, prefix) => {
      for (const [key, value] of module.#ownState()) out.set(prefix + key, options.keepVars ? value : value.detach());
    }, options.prefix ?? '');
    return out;
  }

  /**
   * This module's own state-dict keys (no prefix) that older versions of it did not save, each with
   * the value loadStateDict fills in when a state dict lacks it: the part of PyTorch's
   * `_load_from_state_dict` that upgrades files of module version None or < 2 (BatchNorm's
   * `num_batches_tracked`). Iris state dicts carry no `_metadata` versions, so every one is treated
   * as PyTorch treats a plain dict, version None. Modules with such state override this.
   */
  protected legacyStateDefaults(): Record<string, number> {
    return {};
  }

  /**
   * This module's own state-dict keys (no prefix) that loadStateDict drops from a state dict
   * rather than calling them unexpected: PyTorch modules that delete keys in
   * `_load_from_state_dict` (torchvision's FrozenBatchNorm2d drops BatchNorm's
   * `num_batches_tracked`). Modules that do so override this.
   */
  protected droppedStateKeys(): string[] {
    return [];
  }

  /** Every dotted key below this module that loadStateDict fills when missing, with its value (see legacyStateDefaults). */
  stateDictDefaults(): Map<string, number> {
    const out = new Map<string, number>();
    this.#walkStateDict((module, prefix) => {
      const own = new Set(module.#ownState().map(([key]) => key));
      // Only keys the module actually has: a buffer left null (no running stats) is not state.
      for (const [key, value] of Object.entries(module.legacyStateDefaults())) if (own.has(key)) out.set(prefix + key, value);
    });
    return out;
  }

  /**
   * PyTorch's `load_state_dict`: copies each tensor into the parameter or buffer of the same key,
   * in place, without autograd, converting dtype and device as `copy_` does. Everything is checked
   * before anything is copied, so a failed load leaves the model unchanged. Shape mismatches always
   * throw; missing and unexpected keys throw unless `strict` is false, and are returned. Keys in
   * `stateDictDefaults()` that the state dict lacks are filled, not missing (old BatchNorm files).
   */
  loadStateDict(stateDict: StateDict, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const source = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const targets = new Map<string, Tensor>();
    this.#walkStateDict((module, prefix) => {
      for (const [key, value] of module.#ownState()) targets.set(prefix + key, value);
    });
    const defaults = this.stateDictDefaults();
    const missingKeys = [...targets.keys()].filter((k) => !source.has(k) && !defaults.has(k));
    const dropped = new Set<string>();
    this.#walkStateDict((module, prefix) => {
      for (const key of module.droppedStateKeys()) dropped.add(prefix + key);
    });
    const unexpectedKeys = [...source.keys()].filter((k) => !targets.has(k) && !dropped.has(k));
    const mismatches: string[] = [];
    for (const [key, target] of targets) {
      const value = source.get(key);
      if (value === undefined) continue;
      if (!(value instanceof Tensor)) {
        mismatches.push(`key '${key}' holds ${describeValue(value)}, expected a Tensor`);
        continue;
      }
      const [got, want] = [value.shape, target.shape];
      if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
        mismatches.push(`key '${key}' has shape [${got.join(', ')}], model expects [${want.join(', ')}]`);
      }
    }
    const problems = [
      ...(strict && missingKeys.length > 0 ? [`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`] : []),
      ...(strict && unexpectedKeys.length > 0 ? [`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`] : []),
      ...mismatches,
    ];
    if (problems.length > 0) {
      const fix =
        mismatches.length > 0
          ? "build the model with the checkpoint's shapes, or drop those keys from the state dict"
          : 'pass { strict: false } to load the keys that match';
      throw new Error(`loadStateDict: the state dict does not fit ${this.constructor.name}:\n  ${problems.join('\n  ')}\nTo fix: ${fix}.`);
    }
    noGrad(() => {
      for (const [key, target] of targets) {
        const value = source.get(key);
        if (value) target.copy_(value);
        else if (defaults.has(key)) target.fill_(defaults.get(key)!);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- modes and conversion

  /** Sets training mode on this module and all below it (Dropout and BatchNorm read it). */
  train(mode = true): this {
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Sets `requiresGrad` on every parameter. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Stops gradients to every parameter (`requiresGrad_(false)`), e.g. a pretrained backbone. */
  freeze(): this {
    return this.requiresGrad_(false);
  }

  unfreeze(): this {
    return this.requiresGrad_(true);
  }

  /** Clears every parameter's gradient: to null (default, as PyTorch 2), or to zeros in place. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g === null) continue;
      if (options.setToNone ?? true) p.grad = null;
      else noGrad(() => g.zero_());
      g.dispose();
    }
  }

  /** Calls `fn` on every submodule (children first) and then on this module, as PyTorch's `apply`. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * PyTorch's `Module.to`: moves parameters and buffers to a device and/or casts floating-point
   * ones to a dtype (integer buffers such as `num_batches_tracked` keep theirs). A tensor that needs
   * no conversion is kept; any other is replaced by a new Parameter (or buffer) on the same
   * property, and the old one is disposed, so tensors taken from the module before — an optimizer's
   * parameter list included — must be fetched again. Tied parameters stay tied. For a memory format
   * alone, `toMemoryFormat` converts in place instead (an optimizer built before stays valid).
   */
  to(target: ModuleToTarget): this {
    const options = typeof target === 'string' ? (target in scalarTypeCode ? { dtype: target as DType } : { device: target }) : target;
    if (options.dtype !== undefined && !isFloatingPoint(options.dtype)) {
      throw new TypeError(`Module.to: only floating-point dtypes are supported, got '${options.dtype}'`);
    }
    const convert = (t: Tensor): Tensor =>
      t.to({
        device: options.device,
        dtype: t.isFloatingPoint() ? options.dtype : undefined,
        memoryFormat: options.memoryFormat && (t.ndim === 4 || t.ndim === 5) ? options.memoryFormat : undefined,
      });
    return this.#apply(convert);
  }

  /**
   * Converts the 4-d parameters and buffers (5-d for 'channelsLast3d'; both for 'contiguous') to
   * `format` as PyTorch's `model.to(memory_format=torch.channels_last)` does, and like PyTorch
   * (which assigns `param.data`) in place: every Parameter and buffer stays the same object with
   * new strides, and so does its gradient, so an optimizer built before keeps working. Values are
   * unchanged; a tensor already in the format (e.g. a 1×1 kernel, which is both) is left alone.
   */
  toMemoryFormat(format: MemoryFormat): this {
    const ranks = format === 'channelsLast' ? [4] : format === 'channelsLast3d' ? [5] : format === 'contiguous' ? [4, 5] : [];
    const convert = (t: Tensor): void => {
      if (!ranks.includes(t.ndim)) return;
      const converted = t.to({ memoryFormat: format });
      if (!native.isSame(converted.handle, t.handle)) setData_(t, converted);
      converted.dispose();
    };
    noGrad(() => {
      for (const t of new Set<Tensor>([...this.parameters(), ...this.buffers()])) {
        convert(t);
        const grad = t.grad;
        if (grad) {
          convert(grad);
          grad.dispose();
        }
      }
    });
    return this;
  }

  /** Replaces every parameter and buffer by `fn(tensor)` (PyTorch's `_apply`); see `to`. */
  #apply(fn: (t: Tensor) => Tensor): this {
    const replaced = new Map<Tensor, Tensor>();
    const convert = (old: Tensor, asParameter: boolean): Tensor => {
      const done = replaced.get(old);
      if (done) return done;
      const converted = noGrad(() => fn(old));
      if (native.isSame(converted.handle, old.handle)) {
        converted.dispose();
        replaced.set(old, old);
        return old;
      }
      let result: Tensor = converted;
      if (asParameter) {
        result = new Parameter(converted, old.requiresGrad);
        converted.dispose();
        const grad = old.grad;
        if (grad) {
          const newGrad = noGrad(() => fn(grad));
          result.grad = newGrad;
          newGrad.dispose();
          grad.dispose();
        }
      } else keep(result);
      replaced.set(old, result);
      return result;
    };
    for (const module of this.modules()) {
      const self = module as unknown as Record<string, unknown>;
      for (const [name, , value] of module.#own('parameter')) self[name] = convert(value, true);
      for (const [name, , value] of module.#own('buffer')) self[name] = convert(value, false);
    }
    for (const [old, result] of replaced) if (result !== old) old.dispose();
    return this;
  }

  // ---- printing

  /** The text inside this module's parentheses in `toString()` (PyTorch's `extra_repr`). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: the class name, `extraRepr()`, and children indented. */
  toString(): string {
    const extraLines = this.extraRepr() ? this.extraRepr().split('\n') : [];
    const childLines = this.#own('module').map(([, entry, child]) => `(${entry.key}): ${String(child).split('\n').join('\n  ')}`);
    const lines = [...extraLines, ...childLines];
    let body = '';
    if (lines.length === 1 && childLines.length === 0) body = extraLines[0];
    else if (lines.length > 0) body = `\n  ${lines.join('\n  ')}\n`;
    return `${this.constructor.name}(${body})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
