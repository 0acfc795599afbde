// COCO instances and detection results as pycocotools reads them (`COCO(annFile)`, `loadRes`),
// checked once up front so the evaluator can trust every number.
import { describe } from './arrays.js';

export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
}

export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: number[];
  /** The area that picks the small/medium/large range (pycocotools reads this field, not the box); w*h when absent. */
  area?: number;
  iscrowd?: number | boolean;
  /** Honoured only with `useIgnoreFlag` (pycocotools overwrites it with `iscrowd`). */
  ignore?: number | boolean;
}

/** A COCO instances file: `{images, annotations, categories}`. */
export interface CocoGroundTruth {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One detection result, as `COCO.loadRes` takes them. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: number[];
  score: number;
}

/** Ground truth and detections as columns; row i of each is annotation or detection i. */
export interface CocoColumns {
  imageIds: number[];
  categories: CocoCategory[];
  gt: {
    count: number;
    imageId: Float64Array;
    categoryId: Float64Array;
    /** [x, y, w, h] per annotation. */
    bbox: Float64Array;
    area: Float64Array;
    iscrowd: Uint8Array;
    ignore: Uint8Array;
  };
  dt: {
    count: number;
    imageId: Float64Array;
    categoryId: Float64Array;
    bbox: Float64Array;
    area: Float64Array;
    score: Float64Array;
  };
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function readBbox(bbox: unknown, where: string, out: Float64Array, row: number): void {
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isFiniteNumber)) {
    throw new TypeError(`${where}: bbox must be 4 finite numbers [x, y, width, height], got ${describe(bbox)}`);
  }
  if (bbox[2] < 0 || bbox[3] < 0) throw new RangeError(`${where}: bbox has negative size (width ${bbox[2]}, height ${bbox[3]}); COCO boxes are [x, y, width, height], not corners`);
  for (let j = 0; j < 4; j++) out[row * 4 + j] = bbox[j];
}

function readFlag(value: unknown, where: string, field: string): number {
  if (value === undefined || value === null) return 0;
  if (value === true || value === false) return Number(value);
  if (value === 0 || value === 1) return value;
  throw new TypeError(`${where}: ${field} must be 0, 1 or a boolean, got ${describe(value)}`);
}

/** Validates `groundTruth` and `detections` and lays them out as typed columns; errors name the entry and the problem. */
export function readCocoInput(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]): CocoColumns {
  if (groundTruth === null || typeof groundTruth !== 'object') throw new TypeError(`groundTruth: expected a COCO object {images, annotations, categories}, got ${describe(groundTruth)}`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(groundTruth[key])) throw new TypeError(`groundTruth.${key}: expected an array, got ${describe(groundTruth[key])}`);
  }
  if (!Array.isArray(detections)) throw new TypeError(`detections: expected an array of {image_id, category_id, bbox, score}, got ${describe(detections)}`);

  const images = new Set<number>();
  groundTruth.images.forEach((image, i) => {
    if (!isFiniteNumber(image?.id)) throw new TypeError(`groundTruth.images[${i}]: id must be a number, got ${describe(image?.id)}`);
    if (images.has(image.id)) throw new RangeError(`groundTruth.images[${i}]: image id ${image.id} appears twice`);
    images.add(image.id);
  });
  const categoryIds = new Set<number>();
  groundTruth.categories.forEach((category, i) => {
    if (!isFiniteNumber(category?.id)) throw new TypeError(`groundTruth.categories[${i}]: id must be a number, got ${describe(category?.id)}`);
    if (categoryIds.has(category.id)) throw new RangeError(`groundTruth.categories[${i}]: category id ${category.id} appears twice`);
    categoryIds.add(category.id);
  });
  const knownCategories = () => [...categoryIds].sort((a, b) => a - b).slice(0, 20).join(', ') + (categoryIds.size > 20 ? ', …' : '');

  const anns = groundTruth.annotations;
  const gt: CocoColumns['gt'] = {
    count: anns.length,
    imageId: new Float64Array(anns.length),
    categoryId: new Float64Array(anns.length),
    bbox: new Float64Array(anns.length * 4),
    area: new Float64Array(anns.length),
    iscrowd: new Uint8Array(anns.length),
    ignore: new Uint8Array(anns.length),
  };
  // pycocotools indexes annotations by id, so a repeated id would silently evaluate one box twice.
  const annotationIds = new Set<number>();
  anns.forEach((ann, i) => {
    const where = `groundTruth.annotations[${i}]`;
    if (ann === null || typeof ann !== 'object') throw new TypeError(`${where}: expected an annotation object, got ${describe(ann)}`);
    if (!isFiniteNumber(ann.id)) throw new TypeError(`${where}: id must be a number, got ${describe(ann.id)}`);
    if (annotationIds.has(ann.id)) throw new RangeError(`${where}: annotation id ${ann.id} appears twice`);
    annotationIds.add(ann.id);
    if (!images.has(ann.image_id)) throw new RangeError(`${where}: image_id ${describe(ann.image_id)} is not in groundTruth.images`);
    if (!categoryIds.has(ann.category_id)) throw new RangeError(`${where}: category_id ${describe(ann.category_id)} is not in groundTruth.categories (${knownCategories()})`);
    readBbox(ann.bbox, where, gt.bbox, i);
    if (ann.area !== undefined && (!isFiniteNumber(ann.area) || ann.area < 0)) throw new TypeError(`${where}: area must be a finite number >= 0, got ${describe(ann.area)}`);
    gt.imageId[i] = ann.image_id;
    gt.categoryId[i] = ann.category_id;
    gt.area[i] = ann.area ?? ann.bbox[2] * ann.bbox[3];
    gt.iscrowd[i] = readFlag(ann.iscrowd, where, 'iscrowd');
    gt.ignore[i] = readFlag(ann.ignore, where, 'ignore');
  });

  const dt: CocoColumns['dt'] = {
    count: detections.length,
    imageId: new Float64Array(detections.length),
    categoryId: new Float64Array(detections.length),
    bbox: new Float64Array(detections.length * 4),
    area: new Float64Array(detections.length),
    score: new Float64Array(detections.length),
  };
  detections.forEach((det, i) => {
    const where = `detections[${i}]`;
    if (det === null || typeof det !== 'object') throw new TypeError(`${where}: expected {image_id, category_id, bbox, score}, got ${describe(det)}`);
    if (!images.has(det.image_id)) throw new RangeError(`${where}: image_id ${describe(det.image_id)} is not an image of the ground truth`);
    if (!categoryIds.has(det.category_id)) throw new RangeError(`${where}: category_id ${describe(det.category_id)} is not a category of the ground truth (${knownCategories()})`);
    readBbox(det.bbox, where, dt.bbox, i);
    if (!isFiniteNumber(det.score)) throw new TypeError(`${where}: score must be a finite number, got ${describe(det.score)}`);
    dt.imageId[i] = det.image_id;
    dt.categoryId[i] = det.category_id;
    // loadRes: a result's area is its box's, w*h.
    dt.area[i] = det.bbox[2] * det.bbox[3];
    dt.score[i] = det.score;
  });

  return { imageIds: [...images], categories: groundTruth.categories, gt, dt };
}
