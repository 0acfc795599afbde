// A run folder written by `iris train`, read back by predict and eval.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, type ImageModel } from '@iris/vision';
import { loadStateDictFile } from '@iris/torch/io';
import type { RecipeTransformOptions } from '@iris/vision/train';
import { UsageError } from '../options.js';

export interface RunInfo {
  model: string;
  buildOptions: Record<string, unknown>;
  classes: string[];
  dataset: string;
  transform: RecipeTransformOptions;
  /** How the validation split was held out from train (runs made before it was recorded lack it). */
  split?: { valSplit: number; seed: number; limit: number | null };
}

/** The run's description and its model with the best weights (or `weights`, a file). */
export function openRun(runDir: string, weights?: string): { run: RunInfo; model: ImageModel } {
  const runPath = join(runDir, 'run.json');
  if (!existsSync(runPath)) throw new UsageError(`${runDir}: not a run folder of iris train (no run.json)`);
  const run = JSON.parse(readFileSync(runPath, 'utf8')) as RunInfo;
  const model = createModel(run.model, run.buildOptions);
  const weightsPath = weights ?? join(runDir, 'best.safetensors');
  if (!existsSync(weightsPath)) throw new UsageError(`${weightsPath}: no weights; the run may not have finished an epoch`);
  const stateDict = loadStateDictFile(weightsPath);
  model.loadStateDict(stateDict);
  for (const t of stateDict.values()) t.dispose();
  model.eval();
  return { run, model };
}
