import { Module } from '../module.js';

function checkModule(value: unknown, where: string): Module {
  if (!(value instanceof Module)) throw new TypeError(`${where}: expected a Module, got ${value === null ? 'null' : typeof value}`);
  return value;
}

/** Sequential and ModuleList: modules in order, named '0', '1', ... and reachable as `list[i]`. */
abstract class ModuleSequence extends Module {
  readonly [index: number]: Module;

  get length(): number {
    return this.childList().length;
  }

  /** The module at `index`; negative counts from the end, as Python's `seq[-1]`. */
  at(index: number): Module {
    const children = this.childList();
    const i = index < 0 ? index + children.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= children.length) {
      throw new RangeError(`${this.constructor.name}.at(${index}): index out of range for ${children.length} modules`);
    }
    return children[i][1];
  }

  /** Adds `module` at the end, under the key `String(length)`. */
  append(module: Module): this {
    this.registerChild(String(this.length), checkModule(module, `${this.constructor.name}.append`));
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  *[Symbol.iterator](): IterableIterator<Module> {
    for (const [, m] of this.childList()) yield m;
  }
}

/**
 * PyTorch's `nn.Sequential`: calls its modules in order, each on the previous one's output.
 * `new Sequential(a, b, c)` names them '0', '1', '2'; a Map names them by its keys.
 */
export class Sequential extends ModuleSequence {
  constructor(...modules: Module[] | [Map<string, Module>]) {
    super();
    const [first] = modules;
    if (modules.length === 1 && first instanceof Map) {
      for (const [key, module] of first) this.registerChild(key, checkModule(module, `Sequential: entry '${key}'`));
    } else {
      (modules as Module[]).forEach((m, i) => this.append(checkModule(m, `Sequential: argument ${i}`)));
    }
  }

  forward(input: any): any {
    let x = input;
    for (const module of this) x = module.call(x);
    return x;
  }
}

/** PyTorch's `nn.ModuleList`: a list of submodules that the parent registers; it has no forward. */
export class ModuleList extends ModuleSequence {
  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  /** Inserts `module` before `index`, shifting later modules up. */
  insert(index: number, module: Module): this {
    checkModule(module, 'ModuleList.insert');
    const n = this.length;
    const i = index < 0 ? Math.max(0, index + n) : Math.min(index, n);
    const self = this as unknown as Record<string, Module>;
    this.append(module);
    for (let k = n; k > i; k--) self[k] = self[k - 1];
    self[i] = module;
    return this;
  }

  /** Removes and returns the module at `index` (default the last), shifting later modules down. */
  pop(index = -1): Module {
    const removed = this.at(index);
    const n = this.length;
    const i = index < 0 ? index + n : index;
    const self = this as unknown as Record<string, Module>;
    for (let k = i; k < n - 1; k++) self[k] = self[k + 1];
    this.unregister(String(n - 1));
    return removed;
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it and call each module');
  }
}

/** PyTorch's `nn.ModuleDict`: submodules by name, in insertion order; it has no forward. */
export class ModuleDict extends Module {
  constructor(modules: Map<string, Module> | Record<string, Module> = {}) {
    super();
    this.update(modules);
  }

  get size(): number {
    return this.childList().length;
  }

  get(key: string): Module | undefined {
    return this.childList().find(([k]) => k === key)?.[1];
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, module: Module): this {
    this.registerChild(key, checkModule(module, `ModuleDict.set('${key}')`));
    return this;
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    this.unregister(key);
    return true;
  }

  update(modules: Map<string, Module> | Record<string, Module>): this {
    for (const [key, module] of modules instanceof Map ? modules : Object.entries(modules)) this.set(key, module);
    return this;
  }

  keys(): string[] {
    return this.childList().map(([k]) => k);
  }

  values(): Module[] {
    return this.childList().map(([, m]) => m);
  }

  entries(): [string, Module][] {
    return this.childList();
  }

  [Symbol.iterator](): IterableIterator<[string, Module]> {
    return this.entries()[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleDict has no forward: call its modules by key');
  }
}
