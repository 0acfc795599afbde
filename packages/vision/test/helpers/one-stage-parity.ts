// Parity of a registered one-stage detector (SSD, SSDlite, RetinaNet, FCOS) with torchvision 0.14,
// against detection_one_stage_ref.py: the seeded initialisation, then with torchvision's perturbed
// weights loaded strictly, eval detections on images of different sizes and the train-mode loss
// dict and gradients; and the registry's COCO weights metadata.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createDetector, detectorInfo, type Detection, type DetectionTarget, type Detector, type DetectorOptions } from '../../src/detection/index.js';
import { runPython, tempDir, assertMaxRelClose } from './reference.js';

export interface DetectorCase {
  id: string;
  /** Registry name, equal to torchvision's builder. */
  name: string;
  /** createDetector options equal to `kwargs`. */
  options: DetectorOptions;
  /** torchvision builder kwargs (weights and weights_backbone are None). */
  kwargs: Record<string, unknown>;
  seed: number;
  /** [C, H, W] per image, each its own size. */
  images: number[][];
  /** Per image, boxes (xyxy, in its pixels) and labels. */
  targets: { boxes: number[][]; labels: number[] }[];
  /**
   * torchvision's weights_backbone ('ResNet50_Weights.IMAGENET1K_V1'): seeded stand-in weights
   * under its file name, loaded by both (`options` should then have pretrainedBackbone: true).
   */
  backboneWeights?: string;
  /** Also save the weights with RetinaNet's pre-0.13 head keys, as `file(id, 'legacy.pth')`. */
  legacyFile?: boolean;
}

export interface ParityFigures {
  detections: number[];
  gradients: string;
  losses: Record<string, number>;
  lossMaxRelDiff: number;
  gradMaxRelDiff: number;
}

/** torchvision's DEFAULT COCO weights of a builder, as detection_one_stage_ref.py reports them. */
export interface WeightsMeta {
  tag: string;
  url: string;
  num_params: number;
  box_map: number;
  categories: string[];
}

/** The registry entry's default weights and parameter count are torchvision's, and the model they load into has that many parameters. */
export function assertRegistryMatches(name: string, meta: WeightsMeta): void {
  const entry = detectorInfo(name);
  const w = entry.weights[0];
  assert.deepEqual([w.tag, w.url, w.metrics.boxMap, w.numClasses], [meta.tag, meta.url, meta.box_map, meta.categories.length], `${name}: default weights`);
  assert.deepEqual([...w.categories], meta.categories, `${name}: categories`);
  assert.equal(entry.paramCount, meta.num_params, `${name}: registered paramCount`);
  // Built as for its COCO weights (FrozenBatchNorm2d where torchvision's builder uses it), which is what num_params counts.
  const model = entry.build({}, w);
  assert.equal(model.numParameters(), meta.num_params, `${name}: parameters of the model its COCO weights load into`);
  for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
}

/**
 * Runs every case's torchvision side (and the weights metadata of `metaNames`) in one Python
 * process; returns a checker per case id.
 */
export function runDetectorCases(
  cases: DetectorCase[],
  metaNames: string[] = [],
  trainableQueries: { extractor: 'vgg' | 'mobilenet'; layers: number }[] = [],
): {
  check: (id: string) => ParityFigures;
  assertEvalMatches: (id: string, model: Detector) => Detection[];
  path: (id: string, suffix: string) => string;
  meta: Record<string, WeightsMeta>;
  /** Per trainable query, torchvision's trainable parameter names. */
  trainable: string[][];
  cleanup: () => void;
} {
  const dir = tempDir();
  const { cases: reply, meta, trainable } = runPython<{ cases: Record<string, { loss_keys: string[]; trainable: string[]; grad_names: string[] }>; meta: Record<string, WeightsMeta>; trainable: string[][] }>(
    'detection_one_stage_ref.py',
    {
      threads: torch.getNumThreads(),
      cases: cases.map((c) => ({ ...c, options: undefined, backbone_weights: c.backboneWeights, legacy_file: c.legacyFile, dir: dir.path })),
      meta: metaNames,
      trainable: trainableQueries,
    },
    { timeoutMs: 600_000 },
  );
  const check = (id: string): ParityFigures => {
    const c = cases.find((x) => x.id === id)!;
    const gradNames = reply[id].grad_names;
    // The stand-in backbone weights are in the temp dir's weights/ (the cache createDetector reads).
    const savedCache = process.env.IRIS_CACHE;
    if (c.backboneWeights) process.env.IRIS_CACHE = dir.path;
    torch.manualSeed(c.seed);
    let model: Detector;
    try {
      model = createDetector(c.name, c.options);
    } finally {
      if (savedCache === undefined) delete process.env.IRIS_CACHE;
      else process.env.IRIS_CACHE = savedCache;
    }
    assert.deepEqual(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k), reply[id].trainable, `${id}: trainable parameters`);
    const file = (suffix: string) => loadStateDictFile(join(dir.path, `${id}-${suffix}.pt`));
    // Same init calls in the same order as torchvision's builder: equal tensors after the same seed.
    const init = file('init');
    const own = model.stateDict();
    assert.deepEqual([...own.keys()], [...init.keys()], `${id}: state-dict keys (in order)`);
    for (const [k, v] of init) {
      assert.deepEqual(own.get(k)!.shape, v.shape, `${id}: shape of ${k}`);
      assert.ok(own.get(k)!.equal(v), `${id}: seeded init of ${k} differs from torchvision's`);
    }
    const result = model.loadStateDict(file('weights'));
    assert.deepEqual([result.missingKeys, result.unexpectedKeys], [[], []], `${id}: strict load`);

    const detections = assertEvalMatches(id, model);
    const images = c.images.map((_, i) => file('eval').get(`image.${i}`)!);

    model.train();
    model.zeroGrad();
    const targets: DetectionTarget[] = c.targets.map((t) => ({ boxes: torch.tensor(t.boxes, { dtype: 'float32' }), labels: torch.tensor(t.labels, { dtype: 'int64' }) }));
    const ref = file('train');
    torch.manualSeed(c.seed + 3);
    const losses = model.call(images, targets) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(losses), reply[id].loss_keys, `${id}: loss keys`);
    let lossMaxRelDiff = 0;
    for (const [k, v] of Object.entries(losses)) {
      const { maxDiff, maxRef } = assertMaxRelClose(v, ref.get(`loss.${k}`)!, { tol: 1e-5, what: `${id} loss ${k}` });
      lossMaxRelDiff = Math.max(lossMaxRelDiff, maxDiff / maxRef);
    }
    Object.values(losses).reduce((a, b) => a.add(b)).backward();
    const params = new Map(model.namedParameters());
    let gradMaxRelDiff = 0;
    let nonZero = 0;
    for (const name of gradNames) {
      const { maxDiff, maxRef } = assertMaxRelClose(params.get(name)!.grad!, ref.get(`grad.${name}`)!, { tol: 1e-4, what: `${id} gradient of ${name}` });
      // A head level without positives gets no box-loss gradient: zero on both sides is a match.
      if (maxRef > 0) {
        nonZero++;
        gradMaxRelDiff = Math.max(gradMaxRelDiff, maxDiff / maxRef);
      }
    }
    assert.ok(nonZero >= gradNames.length - 2, `${id}: most compared gradients should be non-zero (only ${nonZero} are)`);
    return { detections: detections.map((d) => d.scores.shape[0]), gradients: `${nonZero}/${gradNames.length} non-zero`, losses: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.item()])), lossMaxRelDiff, gradMaxRelDiff };
  };
  /** Eval mode on the case's images: per image the labels in order, the scores and boxes within 1e-4 · max |ref|. */
  const assertEvalMatches = (id: string, model: Detector): Detection[] => {
    const c = cases.find((x) => x.id === id)!;
    model.eval();
    const io = loadStateDictFile(join(dir.path, `${id}-eval.pt`));
    const images = c.images.map((_, i) => io.get(`image.${i}`)!);
    const detections = torch.noGrad(() => model.call(images)) as Detection[];
    assert.equal(detections.length, images.length);
    assert.ok(detections.every((_, i) => io.get(`scores.${i}`)!.shape[0] > 0), `${id}: torchvision should detect something in every image (the case is degenerate)`);
    detections.forEach((det, i) => {
      const what = `${id} image ${i} (${c.images[i].slice(1).join('x')})`;
      assert.deepEqual(det.labels.toFlatArray(), io.get(`labels.${i}`)!.toFlatArray(), `${what}: labels (in order)`);
      assertMaxRelClose(det.scores, io.get(`scores.${i}`)!, { what: `${what}: scores` });
      assertMaxRelClose(det.boxes, io.get(`boxes.${i}`)!, { what: `${what}: boxes` });
    });
    return detections;
  };
  return { check, assertEvalMatches, path: (id: string, suffix: string) => join(dir.path, `${id}-${suffix}`), meta, trainable, cleanup: dir.cleanup };
}

/** A full GC, then the addon's finalizers (they run after it, from the event loop): no garbage tensor is left pending. */
async function settleGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Memory discipline: an eval forward and a (second) train step of `name` leave exactly what they
 * return. Garbage from before is collected first, so the count moves only by what the calls keep
 * or forget (a forgotten tensor would be finalized at a random time: not deterministic freeing).
 */
export async function assertNoLeaks(name: string, options: DetectorOptions): Promise<void> {
  const model = createDetector(name, options);
  const images = [torch.rand([3, 96, 128]), torch.rand([3, 80, 64])];
  const targets: DetectionTarget[] = [
    { boxes: torch.tensor([[10, 10, 60, 50]]), labels: torch.tensor([1], { dtype: 'int64' }) },
    { boxes: torch.tensor([[5, 20, 40, 70], [30, 5, 60, 30]]), labels: torch.tensor([2, 1], { dtype: 'int64' }) },
  ];
  const trainStep = (): void => {
    const losses = Object.values(model.call(images, targets) as Record<string, Tensor>);
    const total = torch.tidy(() => losses.reduce((a, b) => a.add(b)));
    total.backward();
    for (const t of [total, ...losses]) t.dispose();
  };
  model.train();
  trainStep(); // creates the .grad tensors
  model.eval();
  await settleGarbage();
  let before = torch.liveTensors();
  const detections = torch.noGrad(() => model.call(images)) as Detection[];
  for (const d of detections) for (const t of [d.boxes, d.scores, d.labels]) t.dispose();
  assert.equal(torch.liveTensors(), before, `${name}: tensors left by an eval forward`);
  model.train();
  await settleGarbage();
  before = torch.liveTensors();
  trainStep();
  assert.equal(torch.liveTensors(), before, `${name}: tensors left by a train step`);
  for (const t of [...model.parameters(), ...model.buffers(), ...images]) t.dispose();
}
