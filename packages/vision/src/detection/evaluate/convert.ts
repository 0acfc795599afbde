// torchvision's detection shapes (targets {boxes, labels}, outputs {boxes, scores, labels}, boxes
// as x1y1x2y2) to COCO ground truth and results, as torchvision's references/detection do with
// convert_to_coco_api and CocoEvaluator.prepare_for_coco_detection.
import { describe, readBoxes, readNumbers, type EvalPrediction, type EvalTarget, type NumbersLike } from './arrays.js';
import type { CocoAnnotation, CocoCategory, CocoDetection, CocoGroundTruth } from './coco-input.js';

export interface ConvertToCocoOptions {
  /** The categories to evaluate (ids or {id, name}); default: every label seen in targets or predictions, sorted. */
  categories?: readonly (number | CocoCategory)[];
}

/**
 * COCO ground truth and detection results for per-image targets and predictions (`predictions[i]`
 * belongs to `targets[i]`), ready for cocoEvaluate.
 */
export function convertToCoco(
  targets: readonly EvalTarget[],
  predictions: readonly EvalPrediction[],
  options: ConvertToCocoOptions = {},
): { groundTruth: CocoGroundTruth; detections: CocoDetection[] } {
  if (!Array.isArray(targets)) throw new TypeError(`targets: expected an array of {boxes, labels}, got ${describe(targets)}`);
  if (!Array.isArray(predictions)) throw new TypeError(`predictions: expected an array of {boxes, scores, labels}, got ${describe(predictions)}`);
  if (targets.length !== predictions.length) {
    throw new RangeError(`predictions: ${predictions.length} entries for ${targets.length} targets; pass one prediction per image, in the targets' order`);
  }
  const images: CocoGroundTruth['images'] = [];
  const annotations: CocoAnnotation[] = [];
  const detections: CocoDetection[] = [];
  // Each label with where it first appears, for the error about an unlisted one.
  const labelsSeen = new Map<number, string>();
  const imageIds = new Set<number>();
  targets.forEach((target, i) => {
    const where = `targets[${i}]`;
    if (target === null || typeof target !== 'object') throw new TypeError(`${where}: expected {boxes, labels}, got ${describe(target)}`);
    const imageId = target.imageId ?? i;
    if (!Number.isFinite(imageId)) throw new TypeError(`${where}.imageId: expected a number, got ${describe(target.imageId)}`);
    if (imageIds.has(imageId)) throw new RangeError(`${where}.imageId: ${imageId} is used by an earlier target`);
    imageIds.add(imageId);
    images.push({ id: imageId });
    const boxes = xywh(readBoxes(target.boxes, `${where}.boxes`), `${where}.boxes`);
    const labels = readNumbers(target.labels, `${where}.labels`).data;
    const count = boxes.length / 4;
    const column = (value: NumbersLike | undefined, name: string) => {
      if (value === undefined) return undefined;
      const data = readNumbers(value, `${where}.${name}`).data;
      if (data.length !== count) throw new RangeError(`${where}.${name}: ${data.length} values for ${count} boxes`);
      return data;
    };
    if (labels.length !== count) throw new RangeError(`${where}.labels: ${labels.length} labels for ${count} boxes`);
    const iscrowd = column(target.iscrowd, 'iscrowd');
    const area = column(target.area, 'area');
    for (let j = 0; j < count; j++) {
      if (!labelsSeen.has(labels[j])) labelsSeen.set(labels[j], `${where}.labels[${j}]`);
      const bbox = [boxes[j * 4], boxes[j * 4 + 1], boxes[j * 4 + 2], boxes[j * 4 + 3]];
      annotations.push({
        id: annotations.length + 1,
        image_id: imageId,
        category_id: labels[j],
        bbox,
        area: area ? area[j] : bbox[2] * bbox[3],
        iscrowd: iscrowd ? (iscrowd[j] ? 1 : 0) : 0,
      });
    }

    const prediction = predictions[i];
    const pwhere = `predictions[${i}]`;
    if (prediction === null || typeof prediction !== 'object') throw new TypeError(`${pwhere}: expected {boxes, scores, labels}, got ${describe(prediction)}`);
    const pboxes = xywh(readBoxes(prediction.boxes, `${pwhere}.boxes`), `${pwhere}.boxes`);
    const scores = readNumbers(prediction.scores, `${pwhere}.scores`).data;
    const plabels = readNumbers(prediction.labels, `${pwhere}.labels`).data;
    const pcount = pboxes.length / 4;
    if (scores.length !== pcount) throw new RangeError(`${pwhere}.scores: ${scores.length} scores for ${pcount} boxes`);
    if (plabels.length !== pcount) throw new RangeError(`${pwhere}.labels: ${plabels.length} labels for ${pcount} boxes`);
    for (let j = 0; j < pcount; j++) {
      if (!labelsSeen.has(plabels[j])) labelsSeen.set(plabels[j], `${pwhere}.labels[${j}]`);
      detections.push({
        image_id: imageId,
        category_id: plabels[j],
        bbox: [pboxes[j * 4], pboxes[j * 4 + 1], pboxes[j * 4 + 2], pboxes[j * 4 + 3]],
        score: scores[j],
      });
    }
  });
  // A label only predictions use becomes a category without ground truth, whose -1 the means
  // skip: the stats equal torchvision's evaluator's, which lists the targets' labels only.
  const categories: CocoCategory[] = options.categories
    ? options.categories.map((c) => (typeof c === 'number' ? { id: c } : { ...c }))
    : [...labelsSeen.keys()].sort((a, b) => a - b).map((id) => ({ id }));
  if (options.categories) {
    const known = new Set(categories.map((c) => c.id));
    for (const [label, where] of labelsSeen) {
      if (!known.has(label)) throw new RangeError(`${where}: label ${label} is not in options.categories`);
    }
  }
  return { groundTruth: { images, annotations, categories }, detections };
}

/** x1y1x2y2 to xywh; float32 inputs subtract in float32, as torchvision's tensors do. */
function xywh(boxes: { data: Float64Array; float32: boolean }, what: string): Float64Array {
  const out = boxes.data;
  for (let i = 0; i < out.length; i += 4) {
    let w = out[i + 2] - out[i];
    let h = out[i + 3] - out[i + 1];
    if (boxes.float32) {
      w = Math.fround(w);
      h = Math.fround(h);
    }
    if (w < 0 || h < 0) throw new RangeError(`${what}[${i / 4}]: box [${out[i]}, ${out[i + 1]}, ${out[i + 2]}, ${out[i + 3]}] has x2 < x1 or y2 < y1; boxes are x1, y1, x2, y2`);
    out[i + 2] = w;
    out[i + 3] = h;
  }
  return out;
}
