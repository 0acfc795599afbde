// Parity checks shared by mobilenet.test.ts and efficientnet.test.ts, against mobile_ref.py.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createModel, modelInfo, type ModelOptions } from '../../src/models/index.js';
import { runPython, tempDir, assertMaxRelClose } from './reference.js';
import { assertRegistryMatches, type StructureRef } from './zoo-parity.js';

/** Iris prints StochasticDepth's p as a JS number ('p=0'), Python as a float ('p=0.0'). */
export function pythonRepr(model: torch.nn.Module): string {
  return String(model).replace(/StochasticDepth\(p=(\d+),/g, 'StochasticDepth(p=$1.0,');
}

export interface ForwardCase {
  name: string;
  options: ModelOptions;
  /** torchvision builder kwargs equal to `options`. */
  kwargs: Record<string, unknown>;
  /** [N, C, H, W] */
  input: number[];
  seed: number;
  /** Also compare a train-mode pass (dropout, stochastic depth, batch stats) after this seed. */
  trainSeed?: number;
}

/**
 * Builds `name` after manualSeed and torchvision's model after torch.manual_seed: the initial
 * state dicts must be equal (same init calls in the same order) and so must the reprs. Then,
 * with torchvision's perturbed weights loaded, the eval-mode stages, features and logits must
 * agree to 1e-4 · max |ref| (and the train-mode pass, when asked, with its gradients to 1e-3).
 * @returns the logits' figures, for the test's diagnostics
 */
export function checkForwardParity(c: ForwardCase): string {
  const dir = tempDir();
  let summary = '';
  try {
    torch.manualSeed(c.seed);
    const model = createModel(c.name, c.options);
    const stages = model.featureInfo.map((f) => Number(f.module.split('.')[1]));
    const ref = runPython<{ repr: string }>('mobile_ref.py', {
      op: 'forward', model: c.name, kwargs: c.kwargs, seed: c.seed, input: c.input, stages, dir: dir.path,
      ...(c.trainSeed === undefined ? {} : { train_seed: c.trainSeed }),
    });
    assert.equal(pythonRepr(model), ref.repr, `${c.name}: repr`);
    const init = loadStateDictFile(join(dir.path, 'init.pt'));
    const own = model.stateDict();
    assert.deepEqual([...own.keys()], [...init.keys()], `${c.name}: state-dict keys`);
    for (const [k, v] of own) {
      assert.deepEqual(v.shape, init.get(k)!.shape, `${c.name}: shape of ${k}`);
      assert.ok(v.equal(init.get(k)!), `${c.name}: seeded init of ${k} differs from torchvision's`);
    }
    model.loadStateDict(loadStateDictFile(join(dir.path, 'weights.pt')));
    const io = loadStateDictFile(join(dir.path, 'io.pt'));
    const x = io.get('input')!;
    model.eval();
    torch.noGrad(() => {
      const outs = model.forwardStages(x);
      assert.equal(outs.length, stages.length);
      outs.forEach((out, i) => {
        assert.equal(out.shape[1], model.featureInfo[i].channels);
        assert.equal(x.shape[2] / out.shape[2], model.featureInfo[i].reduction);
        assertMaxRelClose(out, io.get(`stage${stages[i]}`)!, { what: `${c.name} ${model.featureInfo[i].module}` });
      });
      const features = model.forwardFeatures(x);
      assertMaxRelClose(features, io.get('features')!, { what: `${c.name} features` });
      const { maxDiff, maxRef } = assertMaxRelClose(model.forwardHead(features), io.get('logits')!, { what: `${c.name} logits` });
      summary = `eval logits max|Δ| ${maxDiff.toExponential(2)}, max|ref| ${maxRef.toExponential(2)}`;
      assertMaxRelClose(model.call(x), io.get('logits')!, { what: `${c.name} forward` });
    });
    if (c.trainSeed !== undefined) {
      model.train();
      torch.manualSeed(c.trainSeed);
      const logits = model.call(x);
      const train = assertMaxRelClose(logits, io.get('train_logits')!, { what: `${c.name} train-mode logits` });
      summary += `; train logits max|Δ| ${train.maxDiff.toExponential(2)}, max|ref| ${train.maxRef.toExponential(2)}`;
      logits.pow(2).sum().backward();
      // Biases right before a train-mode BatchNorm have zero gradient up to rounding: judge those on the largest gradient's scale.
      const grads = model.namedParameters().map(([k, p]): [string, torch.Tensor, torch.Tensor] => [k, p.grad!, io.get(`grad.${k}`)!]);
      const floor = 1e-3 * Math.max(...grads.map(([, , ref]) => ref.abs().amax().item()));
      for (const [k, grad, ref] of grads) assertMaxRelClose(grad, ref, { tol: 1e-3, floor, what: `${c.name} gradient of ${k}` });
      for (const [k, v] of model.stateDict()) {
        if (/running_(mean|var)$/.test(k)) assertMaxRelClose(v, io.get(`after_train.${k}`)!, { what: `${c.name} ${k} after a train step` });
      }
    }
  } finally {
    dir.cleanup();
  }
  return summary;
}

export interface StructureCase {
  name: string;
  options?: ModelOptions;
  kwargs?: Record<string, unknown>;
}

/**
 * For each case: state-dict keys and shapes, repr and parameter count equal torchvision's. For
 * the default configuration, the registry entry also equals torchvision's weights metadata:
 * paramCount, and every weights file's tag, URL, metrics and preprocessing.
 */
export function checkStructure(cases: StructureCase[]): void {
  const ref = runPython<(StructureRef & { param_count: number; repr: string; all_weights?: unknown[][] })[]>('mobile_ref.py', {
    op: 'structure',
    models: cases.map((c) => ({ model: c.name, kwargs: c.kwargs ?? {} })),
  });
  cases.forEach((c, i) => {
    const what = `${c.name} ${JSON.stringify(c.options ?? {})}`;
    const model = createModel(c.name, c.options ?? {});
    assert.deepEqual([...model.stateDict()].map(([k, v]) => [k, v.shape]), ref[i].keys, `${what}: state-dict keys and shapes`);
    assert.equal(pythonRepr(model), ref[i].repr, `${what}: repr`);
    assert.equal(model.numParameters(), ref[i].param_count, `${what}: parameter count`);
    if (c.options) return;
    const entry = modelInfo(c.name);
    assertRegistryMatches(entry, ref[i]);
    assert.equal(entry.defaultInput[1], ref[i].crop_size, `${c.name}: defaultInput`);
    const own = entry.weights.map((w) => {
      const p = w.preprocessing ?? entry.preprocessing;
      return [w.tag, w.url, w.metrics!.top1, w.metrics!.top5, p.resizeSize, p.cropSize, p.interpolation, p.mean, p.std];
    });
    const byTag = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    assert.deepEqual(own.sort(byTag), ref[i].all_weights!.sort(byTag), `${c.name}: weights`);
  });
}
