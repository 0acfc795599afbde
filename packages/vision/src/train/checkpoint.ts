// Training checkpoints: everything a run needs to continue exactly where it stopped — model,
// EMA weights, optimizer and scheduler state, libtorch's RNG and the caller's extra state (epoch,
// step, data-loader position) — in one safetensors file, written atomically (temp file + rename).
import * as torch from '@iris/torch';
import type { nn, Tensor } from '@iris/torch';
import { parseSafetensors, rawToTensor, saveSafetensors } from '@iris/torch/io';
import { readFileSync } from 'node:fs';

type Optimizer = InstanceType<typeof torch.optim.Optimizer>;
interface SchedulerLike {
  stateDict(): Record<string, unknown>;
  loadStateDict(state: Record<string, unknown>): void;
}

export interface CheckpointParts {
  model: nn.Module;
  optimizer?: Optimizer;
  scheduler?: SchedulerLike;
  /** A second copy of the weights (exponential moving average). */
  ema?: nn.Module;
}

const METADATA_KEY = 'iris.checkpoint';

/** Writes `parts` and `extra` (JSON-able) to `path` atomically. */
export function saveCheckpoint(path: string, parts: CheckpointParts, extra: Record<string, unknown> = {}): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, v] of parts.model.stateDict()) tensors.set(`model.${k}`, v);
  if (parts.ema) for (const [k, v] of parts.ema.stateDict()) tensors.set(`ema.${k}`, v);
  let optimizer: unknown = null;
  if (parts.optimizer) {
    const sd = parts.optimizer.stateDict();
    const state: Record<string, Record<string, unknown>> = {};
    for (const [index, values] of sd.state) {
      state[index] = {};
      for (const [name, value] of Object.entries(values)) {
        if (value instanceof torch.Tensor) {
          tensors.set(`optimizer.state.${index}.${name}`, value);
          state[index][name] = { tensor: `optimizer.state.${index}.${name}` };
        } else state[index][name] = value;
      }
    }
    optimizer = { state, param_groups: sd.param_groups };
  }
  const rng = torch.getRngState();
  tensors.set('rng.cpu', rng);
  const metadata = {
    version: 1,
    optimizer,
    scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
    extra,
  };
  saveSafetensors(path, tensors, { [METADATA_KEY]: JSON.stringify(metadata) });
  rng.dispose();
}

/** Restores what `saveCheckpoint` wrote into `parts` (including libtorch's RNG) and returns `extra`. */
export function loadCheckpoint(path: string, parts: CheckpointParts): Record<string, unknown> {
  const file = parseSafetensors(readFileSync(path), path);
  const raw = file.metadata[METADATA_KEY];
  if (!raw) throw new Error(`${path}: not an Iris checkpoint (no '${METADATA_KEY}' metadata); is it a plain weights file?`);
  const metadata = JSON.parse(raw) as { optimizer: unknown; scheduler: unknown; extra: unknown };
  const tensors = new Map([...file.tensors].map(([k, v]) => [k, rawToTensor(v)] as const));
  const section = (prefix: string) => {
    const out = new Map<string, Tensor>();
    for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
    return out;
  };
  parts.model.loadStateDict(section('model.'));
  if (parts.ema) parts.ema.loadStateDict(section('ema.'));
  if (parts.optimizer) {
    const saved = metadata.optimizer as { state: Record<string, Record<string, unknown>>; param_groups: Record<string, unknown>[] } | null;
    if (!saved) throw new Error(`${path}: the checkpoint has no optimizer state`);
    const state = new Map<number, Record<string, Tensor | number | null>>();
    for (const [index, values] of Object.entries(saved.state)) {
      const restored: Record<string, Tensor | number | null> = {};
      for (const [name, value] of Object.entries(values)) {
        const ref = value as { tensor?: string } | number | null;
        restored[name] = ref !== null && typeof ref === 'object' && ref.tensor ? tensors.get(ref.tensor)! : (ref as number | null);
      }
      state.set(Number(index), restored);
    }
    parts.optimizer.loadStateDict({ state, param_groups: saved.param_groups });
  }
  if (parts.scheduler && metadata.scheduler) parts.scheduler.loadStateDict(metadata.scheduler as Record<string, unknown>);
  const rng = tensors.get('rng.cpu');
  if (rng) torch.setRngState(rng);
  for (const t of tensors.values()) t.dispose();
  return (metadata.extra ?? {}) as Record<string, unknown>;
}
