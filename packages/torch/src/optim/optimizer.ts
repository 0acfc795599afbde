import { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { noGrad, enableGrad } from '../autograd.js';
import { zerosLike } from '../generated/ops.js';
import { camelCase, snakeCase } from './keys.js';

/** Hyper-parameters every optimizer has; subclasses add their own (momentum, betas, ...). */
export interface HyperParameters {
  lr: number;
}

/**
 * One parameter group: its tensors and its hyper-parameters. Schedulers add keys of their own
 * (`initialLr`, OneCycleLR's `maxLr`, ...), as they do to PyTorch's group dicts.
 */
export type ParamGroup<H extends HyperParameters = HyperParameters> = H & {
  params: Tensor[];
  initialLr?: number;
  [key: string]: unknown;
};

/** A group as passed in: any hyper-parameter left out takes the optimizer's default. */
export type ParamGroupInput<H extends HyperParameters = HyperParameters> = Partial<H> & {
  params: Iterable<Tensor> | Tensor;
  [key: string]: unknown;
};

/** What an optimizer optimizes: tensors (one group), or groups with their own settings. */
export type Params<H extends HyperParameters = HyperParameters> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/** Per-parameter state values: tensors (moments, buffers), numbers (RMSprop's step) or null. */
export type StateValue = Tensor | number | null;

/**
 * PyTorch's `optimizer.state_dict()` layout, snake_case keys included, so it can be compared with
 * or saved as PyTorch's: `state` maps a parameter's index (in group order) to its state, and each
 * of `param_groups` lists the indices of its parameters under `params`.
 */
export interface OptimizerStateDict {
  state: Map<number, Record<string, StateValue>>;
  param_groups: Record<string, unknown>[];
}

/**
 * Base class of the optimizers (PyTorch's `torch.optim.Optimizer`). A subclass implements
 * `updateGroup`, which runs under `noGrad` inside a `tidy`: temporaries are freed after each step,
 * so new state tensors must be `keep`t.
 */
export abstract class Optimizer<H extends HyperParameters = HyperParameters, S extends object = object> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on a parameter's first step with a gradient. */
  readonly state = new Map<Tensor, S>();

  constructor(params: Params<H>, defaults: H) {
    this.defaults = defaults;
    if (params instanceof Tensor) {
      throw new TypeError(`${this.constructor.name}: params must be an iterable of tensors or of param groups, got a single Tensor; wrap it in an array`);
    }
    const groups = [...(params as Iterable<Tensor | ParamGroupInput<H>>)];
    if (groups.length === 0) throw new RangeError(`${this.constructor.name}: got an empty parameter list`);
    if (groups[0] instanceof Tensor) this.addParamGroup({ params: groups as Tensor[] } as Partial<H> & { params: Tensor[] });
    else for (const group of groups as ParamGroupInput<H>[]) this.addParamGroup(group);
  }

  /** Adds a group (e.g. layers unfrozen for fine-tuning); its missing settings take the defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    const name = this.constructor.name;
    if (group === null || typeof group !== 'object' || group instanceof Tensor || !('params' in group)) {
      throw new TypeError(`${name}: a param group must be an object with 'params'`);
    }
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    const index = this.paramGroups.length;
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: param group ${index} holds a ${typeof p} at position ${i}; optimizers only take Tensors`);
      if (!p.isLeaf) throw new RangeError(`${name}: param group ${index}, parameter ${i} is not a leaf tensor; optimize the tensors the graph starts from`);
    });
    if (new Set(params).size !== params.length) throw new RangeError(`${name}: param group ${index} lists a parameter twice; pass each tensor once`);
    for (const other of this.paramGroups) {
      if (other.params.some((p) => params.includes(p))) throw new RangeError(`${name}: some parameters appear in more than one parameter group`);
    }
    const filled: Record<string, unknown> = { ...group, params };
    for (const [key, value] of Object.entries(this.defaults)) {
      if (filled[key] === undefined) {
        if (value === undefined) throw new TypeError(`${name}: param group ${index} sets no ${key}; pass ${key} to the group or to the optimizer`);
        filled[key] = Array.isArray(value) ? [...value] : value;
      }
    }
    this.paramGroups.push(filled as ParamGroup<H>);
  }

  /** Clears gradients: drops them (`setToNone`, the default, frees memory) or fills them with zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    tidy(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          if (setToNone) {
            p.grad = null;
          } else if (g.gradFn !== null) {
            // PyTorch's detach_(): the zeroed gradient must not keep the graph that made it alive.
            p.grad = g.detach().zero_();
          } else {
            g.requiresGrad = false;
            g.zero_();
          }
        }
      }
    });
  }

  /**
   * One update of every parameter that has a gradient. `closure`, when given, re-evaluates the
   * loss with autograd on (and calls backward) before the update; its result is returned.
   */
  step<T>(closure?: () => T): T | undefined {
    const loss = closure === undefined ? undefined : enableGrad(closure);
    noGrad(() => {
      for (const group of this.paramGroups) tidy(() => this.updateGroup(group));
    });
    return loss;
  }

  /** Updates a group's parameters in place, PyTorch's `_single_tensor_*` algorithm op for op. */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** The group's parameters that have a gradient, with it (PyTorch skips the others). */
  protected withGrads(group: ParamGroup<H>): [Tensor, Tensor][] {
    const out: [Tensor, Tensor][] = [];
    for (const p of group.params) {
      const g = p.grad;
      if (g !== null) out.push([p, g]);
    }
    return out;
  }

  /**
   * The optimizer's state in PyTorch's layout. Tensors are the optimizer's own (not copies): they
   * change with later steps; clone them for a snapshot.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const packed: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') packed[snakeCase(key)] = Array.isArray(value) ? [...value] : value;
      }
      packed.params = group.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return packed;
    });
    const state = new Map<number, Record<string, StateValue>>();
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const packed: Record<string, StateValue> = {};
      for (const [key, value] of Object.entries(s)) packed[snakeCase(key)] = value as StateValue;
      state.set(i, packed);
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Restores a `stateDict()` (this optimizer's, another's over same-shaped groups, or PyTorch's).
   * State tensors are copied, floating ones cast to their parameter's dtype and device (the step
   * count kept as saved); the state they replace is freed.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const name = this.constructor.name;
    const saved = stateDict.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new RangeError(`${name}.loadStateDict: the state dict has ${saved.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const params: Tensor[] = [];
    this.paramGroups.forEach((group, i) => {
      const indices = saved[i].params as number[];
      if (!Array.isArray(indices) || indices.length !== group.params.length) {
        throw new RangeError(`${name}.loadStateDict: parameter group ${i} has ${group.params.length} parameters, the state dict's ${indices?.length}`);
      }
      indices.forEach((id, k) => (params[id] = group.params[k]));
    });
    for (const id of stateDict.state.keys()) {
      if (params[id] === undefined) throw new RangeError(`${name}.loadStateDict: the state dict has state for parameter ${id}, which no group lists`);
    }
    const state = new Map<Tensor, S>();
    tidy(() => {
      for (const [id, values] of stateDict.state) {
        const p = params[id];
        const restored: Record<string, StateValue> = {};
        for (const [key, value] of Object.entries(values)) {
          restored[camelCase(key)] = value instanceof Tensor ? copyStateTensor(value, p, key) : value;
        }
        state.set(p, restored as S);
      }
    });
    for (const s of this.state.values()) {
      for (const value of Object.values(s)) if (value instanceof Tensor) value.dispose();
    }
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    saved.forEach((group, i) => {
      const restored: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') restored[camelCase(key)] = Array.isArray(value) ? [...value] : value;
      }
      restored.params = this.paramGroups[i].params;
      this.paramGroups[i] = restored as ParamGroup<H>;
    });
  }
}

/** A zero state tensor shaped like `param`, kept past the step's `tidy`. */
export function zeroState(param: Tensor): Tensor {
  return zerosLike(param, { memoryFormat: 'preserve' }).keep();
}

/** A kept copy of a saved state tensor; PyTorch leaves `step` as saved (issue 74424). */
function copyStateTensor(value: Tensor, param: Tensor, key: string): Tensor {
  if (key === 'step') return value.clone().keep();
  const dtype = param.isFloatingPoint() ? param.dtype : value.dtype;
  return value.to({ dtype, device: param.device, copy: true }).keep();
}
