// A run folder written by `iris train`, read back by predict and eval.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { createModel, inferenceSession, modelDevice, type ImageModel } from '@iris/vision';
import { loadStateDictFile } from '@iris/torch/io';
import { resolvePrecision, type Precision, type RecipeTransformOptions } from '@iris/vision/train';
import { UsageError, type OptionSpec } from '../options.js';

export interface RunInfo {
  model: string;
  buildOptions: Record<string, unknown>;
  classes: string[];
  dataset: string;
  transform: RecipeTransformOptions;
  /** How the validation split was held out from train (runs made before it was recorded lack it). */
  split?: { valSplit: number; seed: number; limit: number | null };
  /** The precision and memory format the run trained and evaluated in (config.json; fp32 for older runs). */
  precision: Precision;
  channelsLast: boolean;
}

/** The precision and memory format a run folder's config.json records (fp32, NCHW for runs made before them). */
export function recordedPrecision(runDir: string): { precision: Precision; channelsLast: boolean } {
  const configPath = join(runDir, 'config.json');
  const config = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as { precision?: Precision; channelsLast?: boolean }) : {};
  return { precision: config.precision ?? 'fp32', channelsLast: config.channelsLast === true };
}

/** The run's description and its model with the best weights (or `weights`, a file). */
export function openRun(runDir: string, weights?: string): { run: RunInfo; model: ImageModel } {
  const runPath = join(runDir, 'run.json');
  if (!existsSync(runPath)) throw new UsageError(`${runDir}: not a run folder of iris train (no run.json)`);
  const run = JSON.parse(readFileSync(runPath, 'utf8')) as RunInfo;
  Object.assign(run, recordedPrecision(runDir));
  const model = createModel(run.model, run.buildOptions);
  const weightsPath = weights ?? join(runDir, 'best.safetensors');
  if (!existsSync(weightsPath)) throw new UsageError(`${weightsPath}: no weights; the run may not have finished an epoch`);
  const stateDict = loadStateDictFile(weightsPath);
  model.loadStateDict(stateDict);
  for (const t of stateDict.values()) t.dispose();
  model.eval();
  return { run, model };
}

/**
 * The classifier's inference path (vision's inferenceSession: conv–BN folded, channels-last on CPU,
 * many inputs in batches) in `precision`, by default the run's own (so `iris eval` reproduces its
 * metrics.json). A precision the machine lacks: asked for, fp16 on CPU is an error; recorded by the
 * run (trained on CUDA), it runs in fp32, said once, as bf16 does on a CPU without native bf16.
 */
export function inferenceForward(run: RunInfo, model: ImageModel, precision?: Precision, options: { batchSize?: number } = {}): (x: Tensor) => Tensor {
  const device = modelDevice(model);
  let requested = precision ?? run.precision;
  if (requested === 'fp16' && !device.startsWith('cuda')) {
    if (precision) throw new UsageError(`--precision fp16 needs a CUDA device, and the model runs on '${device}'; use --precision bf16 (autocast on CPUs with avx512_bf16/AMX) or fp32`);
    console.warn(`warning: the run was trained in fp16, which needs CUDA: running in fp32 on '${device}'`);
    requested = 'fp32';
  }
  const session = inferenceSession(model, { precision: requested, batchSize: options.batchSize });
  if (session.fallback) console.warn(`warning: ${session.fallback}`);
  return (x) => session.forward(x);
}

/** Runs a forward pass under `precision`'s autocast; fp32 where the CPU lacks it, said once. */
export function inferenceAutocast(precision: Precision): <T>(fn: () => T) => T {
  const plan = resolvePrecision(precision);
  if (plan.fallback) console.warn(`warning: ${plan.fallback.replace(/training in fp32$/, 'running in fp32')}`);
  const ac = plan.autocast;
  return (fn) => (ac ? torch.autocast(ac.deviceType, fn, { dtype: ac.dtype }) : fn());
}

/** The --precision option of the commands that run a trained model. */
export const precisionOption: OptionSpec = {
  type: 'string',
  choices: ['fp32', 'bf16', 'fp16'],
  defaultText: "the run's (config.json)",
  description: 'inference precision (fp16: CUDA only); the run\'s own reproduces its metrics.json (to bf16 rounding in a bf16 run: BatchNorm is folded into the conv first)',
};
