// A model's layer table, parameter count and FLOPs (multiply-adds, as torchvision publishes them).
import * as torch from '@iris/torch';
import { nn, Tensor } from '@iris/torch';
import { modelInfo, type ImageModel } from './registry.js';
import { modelConfig } from './create.js';

export interface SummaryRow {
  /** Dotted path, as in namedModules ('layer1.0.conv1'). */
  name: string;
  /** The class name ('Conv2d'). */
  type: string;
  /** Nesting depth (1 for the model's children). */
  depth: number;
  /** Shape of the (first tensor of the) output of its first call; null when the forward pass never called it. */
  outputShape: number[] | null;
  /** Parameters of the module and everything below it. */
  params: number;
  /** Multiply-adds of this module's own computation, summed over its calls (0 for containers). */
  flops: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  inputShape: number[];
  totalParams: number;
  trainableParams: number;
  /** Multiply-adds of one forward pass at `inputShape` (convolutions, linear layers, attention). */
  flops: number;
}

/** Counts the multiply-adds of one call of a module from its inputs and output. */
export type FlopCounter = (module: any, inputs: any[], output: any) => number;

const prod = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// torchvision's reported GFLOPS count multiply-adds of convolutions, matrix products and linear
// layers only; norms, activations and pooling are left out, so their numbers are reproduced here.
const flopCounters = new Map<Function, FlopCounter>([
  [nn.Conv1d, convFlops],
  [nn.Conv2d, convFlops],
  [nn.ConvTranspose2d, (m: nn.ConvTranspose2d, [x]: Tensor[]) => prod(x.shape) * (m.outChannels / m.groups) * prod(m.kernelSize)],
  [nn.Linear, (m: nn.Linear, _inputs, out: Tensor) => prod(out.shape) * m.inFeatures],
  [nn.MultiheadAttention, attentionFlops],
]);

function convFlops(m: nn.Conv2d, _inputs: unknown[], out: Tensor): number {
  return prod(out.shape) * (m.inChannels / m.groups) * prod(m.kernelSize);
}

/** Projections, the two attention matmuls (q·kᵀ and weights·v) and the output projection. */
function attentionFlops(m: nn.MultiheadAttention, [query, key]: Tensor[]): number {
  const [l, s] = m.batchFirst && query.ndim === 3 ? [query.shape[1], key.shape[1]] : [query.shape[0], key.shape[0]];
  const batch = query.ndim === 3 ? (m.batchFirst ? query.shape[0] : query.shape[1]) : 1;
  const e = m.embedDim;
  return batch * (l * e * e + s * m.kdim * e + s * m.vdim * e + 2 * l * s * e + l * e * e);
}

/** Counts a module class's multiply-adds in summaries (for layers that compute with functional ops). */
export function registerFlopCounter(moduleClass: abstract new (...args: any[]) => nn.Module, counter: FlopCounter): void {
  flopCounters.set(moduleClass, counter);
}

function counterFor(module: nn.Module): FlopCounter | undefined {
  for (let proto = Object.getPrototypeOf(module); proto && proto !== nn.Module.prototype; proto = Object.getPrototypeOf(proto)) {
    const counter = flopCounters.get(proto.constructor);
    if (counter) return counter;
  }
  return undefined;
}

function firstTensor(value: unknown): Tensor | null {
  if (value instanceof Tensor) return value;
  if (Array.isArray(value)) for (const v of value) if (v instanceof Tensor) return v;
  return null;
}

/**
 * Runs one eval-mode forward pass on zeros and tabulates every submodule: output shape,
 * parameters, multiply-adds. torchvision reports resnet50 at 4.09 GFLOPS (multiply-adds at 224x224).
 * @param inputShape [C, H, W] (batch 1) or [N, C, H, W]; default the registered model's defaultInput
 */
export function summarizeModel(model: ImageModel, inputShape?: number[]): ModelSummary {
  const config = modelConfig(model);
  const shape = inputShape ?? (config ? modelInfo(config.name).defaultInput : undefined);
  if (!shape) throw new Error('summarizeModel: pass inputShape ([C, H, W]) for a model not built by createModel');
  const fullShape = shape.length === 3 ? [1, ...shape] : shape;
  const named = model.namedModules().filter(([name]) => name !== '');
  const rows: SummaryRow[] = named.map(([name, m]) => ({
    name,
    type: m.constructor.name,
    depth: name.split('.').length,
    outputShape: null,
    params: m.numParameters(),
    flops: 0,
  }));
  // Hooks fire only through `call`, and families call `child.forward` directly too, so the pass
  // wraps each module's forward instead; the wrappers are removed afterwards.
  const unwrap = named.map(([, m], i) => {
    const original = m.forward;
    const counter = counterFor(m);
    const row = rows[i];
    (m as { forward: unknown }).forward = (...args: any[]) => {
      const out = original.apply(m, args);
      row.outputShape ??= firstTensor(out)?.shape ?? null;
      if (counter) row.flops += counter(m, args, out);
      return out;
    };
    return () => delete (m as { forward?: unknown }).forward;
  });
  const wasTraining = model.training;
  try {
    model.eval();
    torch.tidy(() => torch.noGrad(() => void model.call(torch.zeros(fullShape, { device: deviceOf(model) }))));
  } finally {
    for (const restore of unwrap) restore();
    model.train(wasTraining);
  }
  return {
    rows,
    inputShape: fullShape,
    totalParams: model.numParameters(),
    trainableParams: model.numParameters({ onlyTrainable: true }),
    flops: rows.reduce((n, r) => n + r.flops, 0),
  };
}

function deviceOf(model: nn.Module): string {
  return model.parameters()[0]?.device ?? 'cpu';
}

/** The summary as a text table (torchinfo's layout): layer, output shape, parameters, then totals. */
export function formatSummary(summary: ModelSummary, options: { maxDepth?: number } = {}): string {
  const maxDepth = options.maxDepth ?? Infinity;
  const shown = summary.rows.filter((r) => r.depth <= maxDepth);
  const layer = (r: SummaryRow) => `${'  '.repeat(r.depth - 1)}${r.name.split('.').pop()} (${r.type})`;
  const cells = shown.map((r) => [layer(r), r.outputShape ? `[${r.outputShape.join(', ')}]` : '--', r.params.toLocaleString('en-US')]);
  const header = ['Layer (type)', 'Output shape', 'Param #'];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  const rule = '='.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    rule,
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Input shape: [${summary.inputShape.join(', ')}]`,
    `Total params: ${summary.totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${summary.trainableParams.toLocaleString('en-US')}`,
    `Multiply-adds: ${(summary.flops / 1e9).toFixed(3)} G`,
    rule,
  ].join('\n');
}
