// Shared by the Faster R-CNN parity tests: torchvision kwargs as Iris options, saved outputs, and the
// comparison of detections (same count per image, boxes and scores to 1e-4 · max |ref|, equal labels).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import type { Detection } from '../../src/detection/index.js';
import { assertMaxRelClose } from './reference.js';

/** torchvision's snake_case keyword arguments as Iris's camelCase options (rpn_pre_nms_top_n_test → rpnPreNmsTopNTest). */
export function camelOptions(kwargs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v]));
}

export function loadIn(dir: string, name: string): Map<string, Tensor> {
  return loadStateDictFile(join(dir, name));
}

/** The saved input images img0, img1, ... */
export function savedImages(io: Map<string, Tensor>): Tensor[] {
  const images: Tensor[] = [];
  for (let i = 0; io.has(`img${i}`); i++) images.push(io.get(`img${i}`)!);
  return images;
}

/** Asserts Iris's detections equal torchvision's saved boxes<i>, scores<i>, labels<i>; returns the worst relative differences. */
export function assertDetectionsMatch(out: Detection[], io: Map<string, Tensor>, what: string): { boxes: number; scores: number; count: number } {
  let worstBoxes = 0;
  let worstScores = 0;
  let count = 0;
  out.forEach((det, i) => {
    const boxes = io.get(`boxes${i}`)!;
    const scores = io.get(`scores${i}`)!;
    const labels = io.get(`labels${i}`)!;
    assert.equal(det.boxes.shape[0], boxes.shape[0], `${what}: image ${i} has ${det.boxes.shape[0]} detections, torchvision ${boxes.shape[0]}`);
    count += boxes.shape[0];
    if (boxes.shape[0] === 0) return;
    assert.deepEqual(det.labels.toFlatArray(), labels.toFlatArray(), `${what}: labels of image ${i}`);
    assert.equal(det.labels.dtype, 'int64', `${what}: labels dtype`);
    const b = assertMaxRelClose(det.boxes, boxes, { what: `${what}: boxes of image ${i}` });
    const s = assertMaxRelClose(det.scores, scores, { what: `${what}: scores of image ${i}` });
    worstBoxes = Math.max(worstBoxes, b.maxDiff / b.maxRef);
    worstScores = Math.max(worstScores, s.maxDiff / s.maxRef);
  });
  return { boxes: worstBoxes, scores: worstScores, count };
}

/** Eval-mode detections without autograd. */
export function detect(model: torch.nn.Module, images: Tensor[]): Detection[] {
  model.eval();
  return torch.noGrad(() => model.call(images)) as Detection[];
}
