import { native } from './native.js';
import { Tensor } from './tensor.js';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** PyTorch's `with torch.no_grad():` — runs `fn` without recording autograd history. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** PyTorch's `with torch.enable_grad():`. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(enabled);
}

/** PyTorch's `torch.autograd.grad`: gradients of `outputs` with respect to `inputs`, not accumulated. */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  options: { gradOutputs?: (Tensor | null)[]; retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gradOutputs = (options.gradOutputs ?? outs.map(() => null)).map((g, i) => {
    if (g) return g.handle;
    if (outs[i].numel() !== 1) throw new Error(`grad: output ${i} has shape [${outs[i].shape}]; pass gradOutputs for non-scalar outputs`);
    return null;
  });
  const result = native.autogradGrad(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    gradOutputs,
    options.retainGraph,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h === null ? null : new Tensor(h)));
}

/** Backpropagates several outputs at once. */
export function backward(outputs: Tensor[], gradients?: (Tensor | null)[], options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(
    outputs.map((t) => t.handle),
    outputs.map((_, i) => gradients?.[i]?.handle ?? null),
    options.retainGraph,
    options.createGraph ?? false,
  );
}
