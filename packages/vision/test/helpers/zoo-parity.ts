// Shared by the model-zoo parity tests: state-dict comparisons, registry entries against
// torchvision's weights metadata, and a throwaway weights cache.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo, weightsFile, type ImageModel, type ModelEntry, type ModelOptions } from '../../src/models/index.js';
import { runPython, assertMaxRelClose } from './reference.js';

/** Same keys in the same order, and bit-identical tensors (seeded initialisation). */
export function assertSameTensors(actual: Map<string, Tensor>, expected: Map<string, Tensor>, what: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${what}: keys`);
  for (const [k, v] of expected) {
    const a = actual.get(k)!;
    assert.deepEqual(a.shape, v.shape, `${what}: ${k} shape`);
    assert.ok(torch.equal(a, v), `${what}: ${k} differs`);
  }
}

/** Same keys; float tensors within tol · max|expected| (default 1e-4), others equal. */
export function assertStateDictsClose(actual: Map<string, Tensor>, expected: Map<string, Tensor>, what: string, tol = 1e-4): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${what}: keys`);
  for (const [k, v] of expected) {
    const a = actual.get(k)!;
    assert.deepEqual(a.shape, v.shape, `${what}: ${k} shape`);
    if (!v.isFloatingPoint()) {
      assert.ok(torch.equal(a, v), `${what}: ${k} is ${a.toFlatArray()}, PyTorch has ${v.toFlatArray()}`);
      continue;
    }
    const maxDiff = a.sub(v).abs().amax().item();
    const maxRef = v.abs().amax().item();
    assert.ok(maxDiff <= tol * maxRef, `${what}: ${k}: max |Δ| ${maxDiff} > ${tol} · max |ref| ${maxRef}`);
  }
}

/** What densenet_inception_ref.py's "structure" op reports for one architecture. */
export interface StructureRef {
  keys: [string, number[]][];
  param_count: number;
  url: string;
  num_params: number;
  top1: number;
  top5: number;
  crop_size: number;
  resize_size: number;
  interpolation: string;
  mean: number[];
  std: number[];
}

/** The entry's default weights, paramCount and preprocessing are torchvision's DEFAULT weights' meta. */
export function assertRegistryMatches(entry: ModelEntry, ref: StructureRef): void {
  const weights = entry.weights[0];
  assert.equal(entry.paramCount, ref.num_params, `${entry.name}: registry paramCount`);
  assert.equal(weights.url, ref.url, `${entry.name}: weights url`);
  assert.deepEqual(weights.metrics, { top1: ref.top1, top5: ref.top5 }, `${entry.name}: metrics`);
  assert.equal(weights.numClasses, 1000);
  const p = entry.preprocessing;
  assert.deepEqual(
    [p.resizeSize, p.cropSize, p.interpolation, p.mean, p.std],
    [ref.resize_size, ref.crop_size, ref.interpolation, ref.mean, ref.std],
    `${entry.name}: preprocessing`,
  );
}

/**
 * Runs `fn` with IRIS_CACHE set to a fresh temp dir: pretrained files written there (in torchvision's
 * format, under the registered file name) are what createModel(name, { pretrained: true }) loads.
 */
export function withWeightsCache<T>(fn: (cacheDir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'iris-weights-'));
  const saved = process.env.IRIS_CACHE;
  process.env.IRIS_CACHE = dir;
  try {
    mkdirSync(join(dir, 'weights'));
    return fn(dir);
  } finally {
    if (saved === undefined) delete process.env.IRIS_CACHE;
    else process.env.IRIS_CACHE = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What densenet_inception_ref.py's "builder" op replies: torchvision's model's keys and the warnings its builder gave. */
export interface BuilderRef {
  keys: string[];
  warnings: string[];
}

/** Runs `fn` and returns its value and the messages it passed to process.emitWarning (synchronously, unlike the 'warning' event). */
export function captureWarnings<T>(fn: () => T): { value: T; warnings: string[] } {
  const emit = process.emitWarning;
  const warnings: string[] = [];
  process.emitWarning = ((warning: string | Error) => {
    warnings.push(typeof warning === 'string' ? warning : warning.message);
  }) as typeof process.emitWarning;
  try {
    return { value: fn(), warnings };
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * createModel(name, { pretrained: true, ...options }) on a torchvision-format file in the cache
 * gives the eval output of torchvision's own builder, `<name>(weights="DEFAULT", **builder_kwargs)`,
 * reading the same file (its builder-time options: transform_input, dropped aux heads, densenet's
 * legacy key names), and the same state-dict keys and warnings. `check` sees the model, the
 * reference and the file's path before the cache is removed.
 */
export function assertPretrainedMatchesBuilder(
  name: string,
  request: { input_shape: number[]; file_kwargs?: object; builder_kwargs?: object; delete_aux_heads?: boolean; legacy_densenet?: boolean; drop_num_batches_tracked?: boolean },
  options: { createOptions?: ModelOptions; check?: (model: ImageModel, ref: BuilderRef, file: string) => void } = {},
): void {
  withWeightsCache((dir) => {
    const file = weightsFile(modelInfo(name).weights[0]);
    const ref = runPython<BuilderRef>('densenet_inception_ref.py', { op: 'builder', arch: name, seed: 41, input_seed: 42, threads: torch.getNumThreads(), file, dir, ...request });
    const io = loadStateDictFile(join(dir, 'builder_io.pt'));
    const { value: model, warnings } = captureWarnings(() => createModel(name, { ...options.createOptions, pretrained: true }));
    assert.deepEqual([...model.stateDict().keys()], ref.keys, `${name}: state-dict keys of the pretrained model`);
    assert.deepEqual(warnings, ref.warnings, `${name}: warnings`);
    model.eval();
    torch.noGrad(() => assertMaxRelClose(model.forward(io.get('input')!), io.get('eval')!, { what: `${name} with pretrained weights` }));
    options.check?.(model, ref, file);
  });
}
