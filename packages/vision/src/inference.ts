// The one inference path for classifiers: eval mode, conv–BN folding, channels-last on CPU, an
// autocast precision (bf16 where the CPU or GPU has it, fp16 on CUDA), and many inputs in batches.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { resolvePrecision, type Precision } from './train/precision.js';

export interface InferenceOptions {
  /** 'fp32' (default), 'bf16' autocast (fp32 where the CPU lacks native bf16, said in `fallback`), 'fp16' autocast (CUDA only). */
  precision?: Precision;
  /** Fold each conv→BN pair into its conv for the session (default true). */
  fuse?: boolean;
  /** Run weights and inputs channels-last (default: on CPU, where oneDNN's convolutions are faster in NHWC). */
  channelsLast?: boolean;
  /** Inputs per forward pass when `forward` gets more (default 32). */
  batchSize?: number;
}

export interface InferenceSession {
  /** The precision the forward passes run in. */
  readonly precision: Precision;
  /** Why `precision` is not the one asked for, one printable line. */
  readonly fallback?: string;
  /** The conv→BN pairs folded (the BatchNorms' paths). */
  readonly fusedPairs: string[];
  /**
   * The model's forward pass without gradients, `batchSize` inputs at a time.
   * @param x [N, C, H, W] on the model's device @returns float32 outputs [N, ...], concatenated
   */
  forward(x: Tensor): Tensor;
  /** Puts the model back as it was (unfused, its memory format and training mode). */
  close(): void;
}

/** The device a model's parameters are on ('cpu' for a model without any). */
export function modelDevice(model: nn.Module): string {
  return model.parameters()[0]?.device ?? 'cpu';
}

/**
 * Prepares `model` for inference and returns its forward pass; `close()` undoes the changes, so a
 * model still being trained can be used. A session over a model only ever used for inference
 * (`iris predict`) can be left open.
 */
export function inferenceSession(model: nn.Module, options: InferenceOptions = {}): InferenceSession {
  const device = modelDevice(model);
  const requested = options.precision ?? 'fp32';
  if (requested === 'fp16' && !device.startsWith('cuda')) {
    throw new RangeError(`precision 'fp16' needs a CUDA device, and the model is on '${device}'; use 'bf16' (autocast on CPUs with avx512_bf16/AMX) or 'fp32'`);
  }
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`inference batchSize must be a positive integer, got ${batchSize}`);
  const plan = resolvePrecision(requested, device);
  const channelsLast = options.channelsLast ?? device === 'cpu';
  const wasTraining = model.training;
  model.eval();
  const fusion = options.fuse ?? true ? nn.utils.fuseConvBn(model) : null;
  const firstWeight = model.parameters().find((p) => p.ndim === 4);
  const wasChannelsLast = firstWeight !== undefined && firstWeight.isContiguous('channelsLast') && !firstWeight.isContiguous();
  if (channelsLast && !wasChannelsLast) model.toMemoryFormat('channelsLast');
  const ac = plan.autocast;
  const run = (x: Tensor): Tensor =>
    torch.tidy(() => {
      const input = channelsLast && x.ndim === 4 ? x.contiguous({ memoryFormat: 'channelsLast' }) : x;
      const out = (ac ? torch.autocast(ac.deviceType, () => model.call(input), { dtype: ac.dtype }) : model.call(input)) as Tensor;
      return out.float();
    });
  return {
    precision: plan.used,
    fallback: plan.fallback?.replace(/training in fp32$/, 'running in fp32'),
    fusedPairs: fusion?.pairs ?? [],
    forward: (x) =>
      torch.noGrad(() => {
        const n = x.shape[0] ?? 0;
        if (n <= batchSize) return run(x);
        return torch.tidy(() => {
          const outs: Tensor[] = [];
          for (let start = 0; start < n; start += batchSize) outs.push(run(x.narrow(0, start, Math.min(batchSize, n - start))));
          return torch.cat(outs, 0);
        });
      }),
    close: () => {
      fusion?.restore();
      if (channelsLast && !wasChannelsLast) model.toMemoryFormat('contiguous');
      model.train(wasTraining);
    },
  };
}
